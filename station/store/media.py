"""Media files on disk: layout, durable writes, and the sweep that start-up recovery needs.

Layout: ``<media root>/<YYYY-MM-DD>/<event id>/<burst>-<frame>_<media id>.jpg``. The name alone carries
the event, the position in the burst and (through the UUIDv7 media id) the capture time, so a file whose
row was never committed (power cut between rename and commit) can be adopted again at start-up.
"""

from __future__ import annotations

import dataclasses
import errno
import re
import shutil
from datetime import datetime
from pathlib import Path

from station.fsutil import TMP_SUFFIX, write_atomic

#: Free space an image write never takes: the database's own room (WAL frames, the transaction that records
#: a deletion or an acknowledgement). Without it frames fill the card to the last byte, no commit can pass,
#: and retention — which must commit what it deletes — can never make room again.
DATABASE_ROOM_BYTES = 256 * 1024

_NAME = re.compile(r"^(?P<burst>\d{2,})-(?P<frame>\d{2,})_(?P<media_id>[0-9a-f-]{36})\.jpg$")


@dataclasses.dataclass(frozen=True)
class MediaName:
    event_id: str
    media_id: str
    burst_index: int
    frame_index: int
    relative_path: str


class MediaStore:
    def __init__(self, root: Path, *, keep_free_bytes: int = DATABASE_ROOM_BYTES) -> None:
        self.root = root
        self.keep_free_bytes = keep_free_bytes

    def relative_path(self, *, event_id: str, media_id: str, burst_index: int, frame_index: int,
                      captured_at: datetime) -> str:
        return f"{captured_at:%Y-%m-%d}/{event_id}/{burst_index:02d}-{frame_index:02d}_{media_id}.jpg"

    def write(self, relative_path: str, data: bytes) -> None:
        """Write durably; ENOSPC (like a full card) if the file would eat the database's room."""
        path = self.root / relative_path
        if self.keep_free_bytes:
            path.parent.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(path.parent).free
            if free - len(data) < self.keep_free_bytes:
                raise OSError(errno.ENOSPC, f"{free} bytes free: the last {self.keep_free_bytes} are kept for "
                                            "the database")
        write_atomic(path, data)

    def read(self, relative_path: str) -> bytes:
        return (self.root / relative_path).read_bytes()

    def delete(self, relative_path: str) -> int:
        """Remove a file; returns the bytes freed (0 if it was already gone)."""
        path = self.root / relative_path
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        return size

    def sweep_temp_files(self) -> int:
        """Delete half-written files left by a crash; returns how many."""
        removed = 0
        if self.root.is_dir():
            for tmp in self.root.rglob(f"*{TMP_SUFFIX}"):
                tmp.unlink(missing_ok=True)
                removed += 1
        return removed

    def list_files(self) -> list[MediaName]:
        found: list[MediaName] = []
        if not self.root.is_dir():
            return found
        for path in self.root.rglob("*.jpg"):
            match = _NAME.match(path.name)
            if match:
                found.append(MediaName(event_id=path.parent.name, media_id=match["media_id"],
                                       burst_index=int(match["burst"]), frame_index=int(match["frame"]),
                                       relative_path=path.relative_to(self.root).as_posix()))
        return found

    def free_bytes(self) -> int:
        self.root.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.root).free
