"""Start-up recovery after a crash or power cut: nothing half-written stays, nothing captured is lost.

1. Temp files of interrupted writes are deleted (they never had a row).
2. Complete files whose row was never committed are adopted (their names carry event, burst, frame and,
   through the UUIDv7 media id, the capture time).
3. Sequences still open are returned so the classifier finishes them like any other closed sequence.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from datetime import UTC, datetime

from PIL import Image, UnidentifiedImageError

from station.store.media import MediaName, MediaStore
from station.store.repo import StationStore
from station.types import Frame, SequenceClosed
from station.wire.ids import iso, parse_iso

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RecoveryReport:
    temp_files_removed: int
    files_adopted: int
    unreadable_removed: int
    sequences_to_finish: tuple[SequenceClosed, ...]


def uuid7_time(value: str) -> datetime:
    return datetime.fromtimestamp((uuid.UUID(value).int >> 80) / 1000, tz=UTC)


def recover(store: StationStore, media: MediaStore, *, station_id: str) -> RecoveryReport:
    removed = media.sweep_temp_files()
    adopted = unreadable = 0
    known = store.known_media_ids()
    for name in media.list_files():
        if name.media_id in known:
            continue
        if _adopt(store, media, name, station_id=station_id):
            adopted += 1
        else:
            unreadable += 1
    finishing = tuple(_closed_from_rows(event, store.media_of(event["event_id"])) for event in store.open_events())
    if removed or adopted or unreadable or finishing:
        store.log("recovery", f"temp files removed {removed}, files adopted {adopted}, "
                              f"unreadable removed {unreadable}, open sequences {len(finishing)}")
    return RecoveryReport(removed, adopted, unreadable, finishing)


def _adopt(store: StationStore, media: MediaStore, name: MediaName, *, station_id: str) -> bool:
    path = media.root / name.relative_path
    try:
        with Image.open(path) as image:
            image.verify()
            width, height = image.size
    except (OSError, UnidentifiedImageError, SyntaxError):
        log.warning("recovery: %s is not a readable JPEG; removed", path)
        path.unlink(missing_ok=True)
        return False
    captured_at = uuid7_time(name.media_id)
    if not store.event_exists(name.event_id):
        store.open_event(event_id=name.event_id, station_id=station_id, deployment_id=None,
                         trigger_source="unknown", start=iso(captured_at))
    frame = Frame(media_id=name.media_id, sequence_id=name.event_id, burst_index=name.burst_index,
                  frame_index=name.frame_index, captured_at=captured_at, path=name.relative_path,
                  width=width, height=height)
    store.add_media(frame, path.stat().st_size)
    log.info("recovery: adopted %s", name.relative_path)
    return True


def _closed_from_rows(event: dict, media_rows: list[dict]) -> SequenceClosed:
    frames = tuple(Frame(media_id=row["media_id"], sequence_id=event["event_id"], burst_index=row["burst_index"],
                         frame_index=row["frame_index"], captured_at=parse_iso(row["timestamp"]),
                         path=row["file_path"], width=row["width"], height=row["height"]) for row in media_rows)
    started = parse_iso(event["start"])
    ended = frames[-1].captured_at if frames else started
    return SequenceClosed(sequence_id=event["event_id"], frames=frames, started_at=started, ended_at=ended,
                          trigger_source=event["trigger_source"])

