"""The classify worker: labels frames as they come, and folds a closed sequence into detections.

The interpreter is loaded once and owned by this thread. Frames the capture worker could not hand over
(queue full) or that a crash left unclassified are read back from disk when their sequence closes, so a
slow classifier delays results but never loses them.
"""

from __future__ import annotations

import io
import logging
import queue
import threading
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from station.pipeline.alerts import ProvisionalAlerts
from station.pipeline.compose import Composer, SequenceRecord
from station.pipeline.writer import StoreWriter
from station.stats import Stats
from station.store.media import MediaStore
from station.types import Frame, FrameResult, SequenceClosed
from station.vision.station_vision import Vision, model_label
from station.wire.ids import uuid7

log = logging.getLogger(__name__)

STOP = object()


class ClassifyWorker:
    def __init__(self, *, vision: Vision, frames_in: queue.Queue, writer: StoreWriter,
                 media: MediaStore, composer: Composer, stats: Stats,
                 on_sequence: Callable[[SequenceRecord], None] | None = None,
                 alerts: ProvisionalAlerts | None = None) -> None:
        self._vision = vision
        self._frames_in, self._writer, self._media = frames_in, writer, media
        self._composer, self._stats = composer, stats
        self._on_sequence = on_sequence
        self._alerts = alerts
        self._results: dict[str, dict[str, FrameResult]] = {}
        self._model_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="classify", daemon=True)
        self.heartbeat = time.monotonic()
        self.busy_since: float | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Finish everything queued before the stop, then end the thread."""
        if not self._thread.is_alive():
            return
        self._frames_in.put(STOP)
        self._thread.join()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def replace_model(self, vision: Vision, composer: Composer) -> None:
        """Swap the model (or only the composer) between two items of work; a new model was checked by loading it.

        Results an old model gave for frames of a sequence still open are forgotten: those frames are
        classified again (from disk) when their sequence closes, so no sequence mixes two models' species."""
        with self._model_lock:
            if vision is not self._vision:
                self._results.clear()
            self._vision, self._composer = vision, composer

    def _run(self) -> None:
        while (item := self._frames_in.get()) is not STOP:
            self.heartbeat = self.busy_since = time.monotonic()
            try:
                with self._model_lock:
                    if isinstance(item, SequenceClosed):
                        self._finish(item)
                    else:
                        self._alert(item, self._classify_frame(item))
            except Exception:  # one bad frame or sequence must not stop the station
                log.exception("classify worker: failed on %r", item)
                self._stats.add("classify_errors")
            self.busy_since = None

    def _classify_frame(self, frame: Frame) -> FrameResult | None:
        full = None
        pixels = frame.pixels
        if pixels is None:
            full = self._read_full(frame)
            if full is None:
                return None
            pixels = self._vision.prepare(full)
        # Crops for the classifier come from the stored full-resolution image, read only when a box needs it.
        crops = full if full is not None else (lambda: self._read_full(frame))
        result = self._vision.frame_result(frame.media_id, frame.sequence_id, pixels, crops)
        self._results.setdefault(frame.sequence_id, {})[frame.media_id] = result
        model = model_label(self._vision)
        self._writer.submit(lambda store: store.add_frame_result(result, model=model))
        self._stats.add("frames_classified")
        return result

    def _alert(self, frame: Frame, result: FrameResult | None) -> None:
        """A person or a big cat in a frame of an open sequence: the provisional alert goes out now."""
        if self._alerts is None or result is None:
            return
        message = self._alerts.check(frame, result, self._vision)
        if message is not None:
            self._writer.submit(lambda store: store.enqueue(message), outbox=True)
            self._stats.add("alerts_sent")

    def _read_full(self, frame: Frame) -> np.ndarray | None:
        try:
            with Image.open(io.BytesIO(self._media.read(frame.path))) as image:
                return np.asarray(image.convert("RGB"))
        except OSError as exc:
            log.error("cannot read %s to classify it: %s", frame.path, exc)
            self._stats.add("media_unreadable")
            return None

    def _finish(self, closed: SequenceClosed) -> None:
        done = self._results.pop(closed.sequence_id, {})
        results = []
        try:
            for frame in closed.frames:
                result = done.get(frame.media_id) or self._classify_frame(frame)
                if result is not None:
                    results.append(result)
        finally:  # a sequence that fails here must not stay remembered for ever
            self._results.pop(closed.sequence_id, None)
            if self._alerts is not None:
                self._alerts.forget(closed.sequence_id)
        detections = self._vision.aggregate(results, uuid7)
        record = self._composer.record(closed, detections, self._media.read)
        self._writer.submit(lambda store: store.close_sequence(record.closed, record.observations,
                                                               record.messages, record.model), outbox=True)
        self._stats.add("detections", len(detections))
        self._stats.add("sequences_finished")
        if self._on_sequence is not None:
            self._on_sequence(record)
