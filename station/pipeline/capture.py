"""The capture worker: turns triggers into bursts, and bursts into sequences (Camtrap DP events).

A trigger opens a sequence, or extends the open one when it comes within the quiet period after the last
burst (re-triggers queued during a burst become one more burst, not one each). The sequence closes when the
quiet period passes with no trigger, or at its maximum length. Each frame is written to disk before it is
recorded or classified; if the classifier is behind, the frame is counted and classified later from disk.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime

from PIL import Image

from station.config.models import CaptureSection
from station.errors import HardwareError
from station.hardware.ports import Camera, Illuminator, Shot
from station.pipeline.writer import StoreWriter
from station.stats import Stats
from station.store.media import MediaStore
from station.types import Frame, SequenceClosed, Trigger
from station.wire.ids import iso, utc_now, uuid7

log = logging.getLogger(__name__)

STOP = object()


@dataclasses.dataclass
class _OpenSequence:
    sequence_id: str
    started_at: datetime
    trigger_source: str
    started_mono: float
    last_burst_end_mono: float
    bursts: int = 0
    frames: list[Frame] = dataclasses.field(default_factory=list)


class CaptureWorker:
    def __init__(self, *, camera: Camera, illuminator: Illuminator, settings: CaptureSection,
                 triggers: queue.Queue, frames_out: queue.Queue, writer: StoreWriter, media: MediaStore,
                 prepare: Callable, jpeg_quality: int, station_id: str, deployment_id: str | None,
                 stats: Stats) -> None:
        self._camera, self._lamp, self._settings = camera, illuminator, settings
        self._triggers, self._frames_out, self._writer, self._media = triggers, frames_out, writer, media
        self._prepare, self._quality = prepare, jpeg_quality
        self._station_id, self._deployment_id, self._stats = station_id, deployment_id, stats
        self._open: _OpenSequence | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self.heartbeat = time.monotonic()
        self.busy_since: float | None = None

    def start(self) -> None:
        self._thread.start()

    def set_deployment_id(self, deployment_id: str | None) -> None:
        """A new deployment began (None: it ended); sequences opened from now on carry it."""
        self._deployment_id = deployment_id

    def set_prepare(self, prepare: Callable) -> None:
        """A new model may want another input size (frames in flight are resized again if needed)."""
        self._prepare = prepare

    def stop(self) -> None:
        """Finish the burst in progress, close the open sequence, and end the thread."""
        if not self._thread.is_alive():
            return
        self._stopping.set()
        self._triggers.put(STOP)
        self._thread.join()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while True:
            self.heartbeat = time.monotonic()
            try:
                item = self._triggers.get(timeout=self._wait_time())
            except queue.Empty:
                self._close_sequence()
                continue
            if item is STOP:
                self._close_sequence()
                return
            coalesced = self._drain_retriggers()
            self.busy_since = time.monotonic()
            self._on_trigger(item)
            self.busy_since = None
            if coalesced is STOP:
                self._close_sequence()
                return

    def _wait_time(self) -> float | None:
        """Block forever when idle (no polling); otherwise until the open sequence must close."""
        if self._open is None:
            return None
        now = time.monotonic()
        quiet_left = self._open.last_burst_end_mono + self._settings.quiet_period_s - now
        max_left = self._open.started_mono + self._settings.max_sequence_s - now
        return max(0.0, min(quiet_left, max_left))

    def _drain_retriggers(self) -> object | None:
        """Triggers that queued up during the last burst become one more burst, not one each."""
        while True:
            try:
                item = self._triggers.get_nowait()
            except queue.Empty:
                return None
            if item is STOP:
                return STOP
            self._stats.add("triggers_coalesced")

    def _on_trigger(self, trigger: Trigger) -> None:
        wait = self._wait_time()  # None: no sequence is open
        if wait is not None and wait <= 0:
            self._close_sequence()
        if self._open is None:
            self._open_sequence(trigger)
        else:
            sequence_id = self._open.sequence_id
            self._writer.submit(lambda store: store.extend_event(sequence_id))
            self._stats.add("sequences_extended")
        self._capture_burst(trigger)

    def _open_sequence(self, trigger: Trigger) -> None:
        now = time.monotonic()
        sequence = _OpenSequence(sequence_id=uuid7(), started_at=utc_now(), trigger_source=trigger.source,
                                 started_mono=now, last_burst_end_mono=now)
        self._open = sequence
        self._writer.submit(lambda store: store.open_event(
            event_id=sequence.sequence_id, station_id=self._station_id, deployment_id=self._deployment_id,
            trigger_source=trigger.source, start=iso(sequence.started_at)))
        self._stats.add("sequences_opened")

    def _capture_burst(self, trigger: Trigger) -> None:
        sequence = self._open
        assert sequence is not None
        night = bool(trigger.night)
        if night:
            self._lamp.set_level(1.0)
        try:
            for index in range(self._settings.burst_frames):
                if index and self._stopping.wait(self._settings.burst_interval_s):
                    break
                self._capture_frame(trigger, sequence, index)
        finally:
            if night:
                self._lamp.set_level(0.0)
        sequence.bursts += 1
        sequence.last_burst_end_mono = time.monotonic()
        self._stats.add("bursts")

    def _capture_frame(self, trigger: Trigger, sequence: _OpenSequence, index: int) -> None:
        try:
            shot = self._camera.capture(trigger, index)
        except HardwareError as exc:
            log.error("capture failed: %s", exc)
            self._stats.add("capture_errors")
            return
        captured_at = utc_now()
        media_id = uuid7()
        jpeg = shot.jpeg if shot.jpeg is not None else _encode_jpeg(shot.pixels, self._quality)
        width, height = _stored_size(shot)
        path = self._media.relative_path(event_id=sequence.sequence_id, media_id=media_id,
                                         burst_index=sequence.bursts, frame_index=index, captured_at=captured_at)
        try:
            self._media.write(path, jpeg)
        except OSError as exc:  # a full card: the frame cannot be kept; retention is asked to free space
            log.error("cannot store frame %s: %s", media_id, exc)
            self._stats.add("media_write_errors")
            self._writer.request_maintenance()
            return
        frame = Frame(media_id=media_id, sequence_id=sequence.sequence_id, burst_index=sequence.bursts,
                      frame_index=index, captured_at=captured_at, path=path, width=width, height=height,
                      pixels=self._prepare(shot.pixels), sequence_start=sequence.started_at)
        self._writer.submit(lambda store: store.add_media(frame, len(jpeg)))
        sequence.frames.append(frame)
        self._stats.add("frames")
        try:
            self._frames_out.put_nowait(frame)
        except queue.Full:
            self._stats.add("frames_deferred")  # classified from disk when the sequence closes
            log.warning("classifier behind: frame %s deferred", media_id)

    def _close_sequence(self) -> None:
        sequence, self._open = self._open, None
        if sequence is None:
            return
        frames = tuple(dataclasses.replace(f, pixels=None) for f in sequence.frames)
        ended_at = frames[-1].captured_at if frames else utc_now()
        self._frames_out.put(SequenceClosed(sequence_id=sequence.sequence_id, frames=frames,
                                            started_at=sequence.started_at, ended_at=ended_at,
                                            trigger_source=sequence.trigger_source))
        self._stats.add("sequences_closed")


def _encode_jpeg(pixels, quality: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=quality)
    return out.getvalue()


def _stored_size(shot: Shot) -> tuple[int, int]:
    """The stored image's (width, height): a Pi camera's pixels are its low-resolution stream and its JPEG the
    main one, whose size it gives as ``image_size``; otherwise the pixels are the stored image."""
    match shot.metadata.get("image_size"):
        case (int() as width, int() as height):
            return width, height
    return shot.pixels.shape[1], shot.pixels.shape[0]
