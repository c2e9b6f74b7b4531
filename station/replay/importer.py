"""`trapd replay`: import a conventional camera trap's photos into the station as if it had captured them.

Photos are found, dated and grouped by ``station.replay.scan``; each sequence is then decided by the
station's own vision (``station.vision.station_vision``: the detector first, the people card and the
classifier on its boxes when configured; or the classifier alone on whole frames) and stored through the
station's own parts — ``MediaStore`` for the files, ``aggregate`` for the detections, ``Composer`` for
observations and outbox messages (so an uplink forwards them), and ``StationStore`` for the rows — with one
difference from a live capture: a whole sequence, and the ``replay_imports`` rows that remember its files,
commit in one transaction. An import stopped at any point
(Ctrl-C, a power cut) therefore leaves whole sequences only, and the next run skips every file already
recorded (path under the imported folder, size, mtime) and imports the rest exactly once. Files that
cannot be read are recorded as skipped, with the reason.

A model whose card says ``field_model = false`` (the toy pipeline model, an ImageNet classifier) is refused
for an import unless the caller allows it explicitly: an SD card holds real photos. Each imported photo
can be reported (``on_photo``) once its sequence has committed: the per-photo report of ``trapd replay``.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import io
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, tzinfo
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from station.config.models import StationConfig
from station.pipeline.compose import Composer
from station.replay.scan import DatedPhoto, Photo, Rejected, date_photo, group_sequences, scan_folder
from station.store import retention
from station.store.db import write_transaction
from station.store.media import MediaStore
from station.store.paths import media_dir, station_db_path
from station.store.repo import StationStore
from station.types import Detection, Frame, FrameResult, SequenceClosed
from station.vision.station_vision import Vision, check_field_use, load_vision, model_label
from station.wire.ids import iso, utc_now, uuid7

log = logging.getLogger(__name__)

TRIGGER_SOURCE = "import"
PENDING_KEY = "replay_pending"  # kv row: the sequence whose files are being written, until it commits

Progress = Callable[[str, int, int], None]  # phase ("dating" or "importing"), files done, files in the phase


@dataclasses.dataclass(frozen=True)
class ImportedPhoto:
    """One photo as imported: where it was on the card, when it was taken (and how that is known), its
    sequence and what the station saw in it."""

    source_path: str
    taken_at: str
    time_source: str  # "exif" or "mtime" (a file date: the Camtrap DP export flags it)
    sequence_id: str
    media_id: str
    result: FrameResult


@dataclasses.dataclass(frozen=True)
class ImportSettings:
    gap_s: float = 60.0
    max_frames: int = 100
    camera_zone: tzinfo | None = UTC  # None: the zone of the machine running the import


@dataclasses.dataclass
class ImportReport:
    folder: str
    files_found: int = 0
    done_before: int = 0  # imported or skipped by an earlier run
    imported: int = 0
    sequences: int = 0
    detections: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    skipped: collections.Counter = dataclasses.field(default_factory=collections.Counter)  # reason -> files
    dated_by_mtime: int = 0
    models: str = ""
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


@dataclasses.dataclass(frozen=True)
class _Stored:
    """A photo written to the media store and classified, waiting for its sequence to commit."""

    item: DatedPhoto
    frame: Frame
    result: FrameResult
    size: int


class ReplayImporter:
    """Imports one folder into the station store of ``config``; use from one thread."""

    def __init__(self, config: StationConfig, *, vision: Vision | None = None, allow_non_field: bool = False) -> None:
        """``allow_non_field``: import with a model whose card says it is not for real photos (refused
        otherwise, with a ConfigError that says how to fix it); the config's model.allow_non_field also does."""
        self._config = config
        allowed = allow_non_field or config.model.allow_non_field
        if vision is None:
            vision = load_vision(config.model_copy(update={"model": config.model.model_copy(
                update={"allow_non_field": allowed})}), camera="sd-card")
        else:
            check_field_use(vision, "sd-card", allowed=allowed)
        self.vision = vision
        self.models = model_label(vision)
        self._media = MediaStore(media_dir(config.data_dir))
        self._db_path = station_db_path(config.data_dir)
        self._composer = Composer(station_id=config.station.id, deployment_id=config.station.deployment_id,
                                  vision=vision, thumbnail_max_bytes=config.mqtt.thumbnail_max_bytes,
                                  thumbnail_format=config.mqtt.thumbnail_format)

    def run(self, folder: Path, settings: ImportSettings = ImportSettings(), *,
            stop: threading.Event | None = None, progress: Progress | None = None,
            on_photo: Callable[[ImportedPhoto], None] | None = None) -> ImportReport:
        """Import every photo under ``folder`` not imported before; returns what was done. ``on_photo`` is
        called for each photo of a sequence once that sequence has committed."""
        started = time.monotonic()
        report = ImportReport(folder=str(folder), models=self.models)
        self._config.data_dir.mkdir(parents=True, exist_ok=True)
        store = StationStore(self._db_path)
        try:
            self._discard_unfinished(store)
            sequences, total = self._plan(store, folder, settings, report, progress)
            done = 0
            for group in sequences:
                if stop is not None and stop.is_set():
                    report.interrupted = True
                    break
                self._import_sequence(store, group, report, on_photo)
                done += len(group)
                if progress is not None:
                    progress("importing", done, total)
            store.log("replay", json.dumps(_summary(report), ensure_ascii=False))
        finally:
            store.close()
        report.seconds = time.monotonic() - started
        return report

    # -- planning ------------------------------------------------------------------------------------------
    def _plan(self, store: StationStore, folder: Path, settings: ImportSettings, report: ImportReport,
              progress: Progress | None) -> tuple[list[list[DatedPhoto]], int]:
        """Find the files, leave out those recorded before, date the rest and group them into sequences."""
        photos, rejected = scan_folder(folder)
        report.files_found = len(photos) + len(rejected)
        seen = _recorded(store)
        report.done_before = sum(1 for x in [*photos, *(r.photo for r in rejected)] if x.identity in seen)
        dated: list[DatedPhoto] = []
        rejected = [r for r in rejected if r.photo.identity not in seen]
        todo = [p for p in photos if p.identity not in seen]
        for done, photo in enumerate(todo, start=1):
            found = date_photo(photo, settings.camera_zone)
            if isinstance(found, DatedPhoto):
                dated.append(found)
            else:
                rejected.append(found)
            if progress is not None and (done % 100 == 0 or done == len(todo)):
                progress("dating", done, len(todo))
        if rejected:
            with write_transaction(store.db):
                _remember_rejected(store, rejected)
            report.skipped.update(r.reason for r in rejected)
        report.dated_by_mtime = sum(1 for d in dated if d.time_source == "mtime")
        return group_sequences(dated, gap_s=settings.gap_s, max_frames=settings.max_frames), len(dated)

    # -- one sequence --------------------------------------------------------------------------------------
    def _import_sequence(self, store: StationStore, group: list[DatedPhoto], report: ImportReport,
                         on_photo: Callable[[ImportedPhoto], None] | None = None) -> None:
        event_id = uuid7()
        _set_pending(store, event_id)
        stored: list[_Stored] = []
        rejected: list[Rejected] = []
        try:
            for item in group:
                found = self._store_photo(event_id, len(stored), item)
                if isinstance(found, Rejected):
                    rejected.append(found)
                else:
                    stored.append(found)
            detections = self._commit(store, event_id, stored, rejected)
        except BaseException:
            for photo in stored:  # nothing of a sequence that did not commit stays behind
                self._media.delete(photo.frame.path)
            raise
        report.skipped.update(r.reason for r in rejected)
        if stored:
            report.imported += len(stored)
            report.sequences += 1
            report.detections.update(d.species for d in detections)
            if on_photo is not None:
                for photo in stored:
                    on_photo(ImportedPhoto(source_path=photo.item.photo.key, taken_at=iso(photo.frame.captured_at),
                                           time_source=photo.item.time_source, sequence_id=event_id,
                                           media_id=photo.frame.media_id, result=photo.result))
            retention.enforce(store, self._media, min_free_bytes=self._config.storage.min_free_mb * 1_000_000)

    def _store_photo(self, event_id: str, index: int, item: DatedPhoto) -> _Stored | Rejected:
        """Read, decode and classify one photo, then write its bytes unchanged (EXIF kept) to the media store."""
        try:
            data = item.photo.path.read_bytes()
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                full = np.asarray(image.convert("RGB"))
        except UnidentifiedImageError:
            return Rejected(item.photo, "not an image Pillow can read")
        except OSError as exc:  # truncated or corrupt JPEG data, or the card failing under us
            return Rejected(item.photo, f"unreadable: {exc.strerror or exc}")
        except (SyntaxError, ValueError) as exc:
            return Rejected(item.photo, f"corrupt image ({exc})")
        media_id = uuid7()
        path = self._media.relative_path(event_id=event_id, media_id=media_id, burst_index=0, frame_index=index,
                                         captured_at=item.taken_at.astimezone(UTC))
        frame = Frame(media_id=media_id, sequence_id=event_id, burst_index=0, frame_index=index,
                      captured_at=item.taken_at, path=path, width=width, height=height)
        # The detector (or classifier) sees the whole photo at its input size; crops come from the full photo.
        result = self.vision.frame_result(media_id, event_id, self.vision.prepare(full), full)
        self._media.write(path, data)
        return _Stored(item, frame, result, len(data))

    def _commit(self, store: StationStore, event_id: str, stored: list[_Stored],
                rejected: list[Rejected]) -> list[Detection]:
        """The sequence's rows, its outbox messages and the import rows of its files: one transaction."""
        with write_transaction(store.db):
            _remember_rejected(store, rejected)
            store.db.execute("DELETE FROM kv WHERE key = ?", [PENDING_KEY])
            if not stored:
                return []
            frames = tuple(photo.frame for photo in stored)
            closed = SequenceClosed(sequence_id=event_id, frames=frames, started_at=frames[0].captured_at,
                                    ended_at=frames[-1].captured_at, trigger_source=TRIGGER_SOURCE)
            detections = self.vision.aggregate([photo.result for photo in stored], uuid7)
            record = self._composer.record(closed, detections, self._media.read)
            store.open_event(event_id=event_id, station_id=self._config.station.id,
                             deployment_id=self._config.station.deployment_id, trigger_source=TRIGGER_SOURCE,
                             start=iso(closed.started_at))
            for photo in stored:
                store.add_media(photo.frame, photo.size)
                store.add_frame_result(photo.result, model=self.models)
            store.close_sequence(record.closed, record.observations, record.messages, record.model)
            store.db.table("replay_imports").insert_all(
                [_row(p.item.photo, "imported", taken_at=iso(p.frame.captured_at), time_source=p.item.time_source,
                      event_id=event_id, media_id=p.frame.media_id) for p in stored], replace=True)
        return detections

    def _discard_unfinished(self, store: StationStore) -> None:
        """Files of a sequence whose commit never happened (the import was killed) are deleted, and so are
        the temp files of a write it was killed in (``.<name>.jpg.<random>.tmp``)."""
        row = store.db.execute("SELECT value FROM kv WHERE key = ?", [PENDING_KEY]).fetchone()
        if row is None:
            return
        if not store.event_exists(row[0]):
            leftovers = [path for path in self._media.root.glob(f"*/{row[0]}/*") if path.is_file()]
            for path in leftovers:
                path.unlink(missing_ok=True)
            for folder in {path.parent for path in leftovers}:
                with contextlib.suppress(OSError):
                    folder.rmdir()
            log.warning("replay: removed %d files of sequence %s, whose import did not finish",
                        len(leftovers), row[0])
        with write_transaction(store.db):
            store.db.execute("DELETE FROM kv WHERE key = ?", [PENDING_KEY])


def _set_pending(store: StationStore, event_id: str) -> None:
    with write_transaction(store.db):
        store.db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", [PENDING_KEY, event_id])


def _recorded(store: StationStore) -> set[tuple[str, int, int]]:
    return {tuple(row) for row in store.db.execute("SELECT source_path, size, mtime_ns FROM replay_imports")}


def _row(photo: Photo, status: str, **values: object) -> dict[str, object]:
    return {"source_path": photo.key, "size": photo.size, "mtime_ns": photo.mtime_ns, "status": status,
            "camera": photo.camera, "imported_at": iso(utc_now()), **values}


def _remember_rejected(store: StationStore, rejected: list[Rejected]) -> None:
    if rejected:
        store.db.table("replay_imports").insert_all([_row(r.photo, "skipped", reason=r.reason) for r in rejected],
                                                    replace=True)


def _summary(report: ImportReport) -> dict[str, object]:
    return {"folder": report.folder, "imported": report.imported, "sequences": report.sequences,
            "skipped": report.skipped_total, "done_before": report.done_before,
            "dated_by_mtime": report.dated_by_mtime, "models": report.models, "interrupted": report.interrupted}
