"""Stored frames for the page: full files, and small thumbnails made once and kept in a little cache.

A thumbnail is decoded at reduced size straight from the JPEG (the decoder's DCT scaling), so making one
costs a few milliseconds even on a Pi Zero 2 W.
"""

from __future__ import annotations

import collections
import io
import re
import threading
from pathlib import Path

from PIL import Image, UnidentifiedImageError

MEDIA_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def inside(root: Path, relative: str) -> Path | None:
    """``root/relative`` if it stays inside ``root`` (a stored path is never trusted to)."""
    base = root.resolve()
    path = (base / relative).resolve()
    return path if path.is_relative_to(base) and path.is_file() else None


def make_thumbnail(path: Path, width: int, quality: int = 70) -> bytes | None:
    try:
        with Image.open(path) as image:
            image.draft("RGB", (width, width))
            small = image.convert("RGB")
    except (OSError, UnidentifiedImageError):
        return None
    small.thumbnail((width, width * 2))
    out = io.BytesIO()
    small.save(out, "JPEG", quality=quality)
    return out.getvalue()


class ThumbnailCache:
    """The last ``size`` thumbnails by media id (a media file never changes once written)."""

    def __init__(self, *, width: int = 320, size: int = 64) -> None:
        self._width = width
        self._size = size
        self._items: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, media_id: str, path: Path) -> bytes | None:
        with self._lock:
            if media_id in self._items:
                self._items.move_to_end(media_id)
                return self._items[media_id]
        data = make_thumbnail(path, self._width)
        if data is not None:
            with self._lock:
                self._items[media_id] = data
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        return data
