"""Finding, dating and grouping the photos of a camera trap's SD card (the first half of `trapd replay`).

Each folder that holds photos is one camera. A photo's time is its EXIF DateTimeOriginal (with
OffsetTimeOriginal when the camera wrote one, else in the time zone given for the camera clocks); a photo
without a readable one is dated by its file's modification time, and that is recorded. Within a camera,
photos closer together than the gap form one sequence (a Camtrap DP event), as bursts do on a station.
"""

from __future__ import annotations

import collections
import dataclasses
import os
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path

from PIL import ExifTags, Image, UnidentifiedImageError

PHOTO_SUFFIXES = {".jpg", ".jpeg"}
_EXIF_TIME = "%Y:%m:%d %H:%M:%S"


@dataclasses.dataclass(frozen=True)
class Photo:
    """One file on the card, identified by its path under the imported folder, its size and its mtime."""

    path: Path
    key: str  # path relative to the imported folder, '/'-separated
    size: int
    mtime_ns: int
    camera: str  # folder relative to the imported folder ('.' for the folder itself)

    @property
    def identity(self) -> tuple[str, int, int]:
        return self.key, self.size, self.mtime_ns


@dataclasses.dataclass(frozen=True)
class DatedPhoto:
    photo: Photo
    taken_at: datetime  # timezone-aware
    time_source: str  # "exif" or "mtime"


@dataclasses.dataclass(frozen=True)
class Rejected:
    """A file that will not be imported, and why (recorded so that a resumed import does not retry it)."""

    photo: Photo
    reason: str


def scan_folder(root: Path) -> tuple[list[Photo], list[Rejected]]:
    """Every file under ``root`` (hidden folders left out), sorted by path; non-JPEG files are rejected."""
    photos: list[Photo] = []
    rejected: list[Rejected] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        camera = Path(folder).relative_to(root).as_posix()
        for name in sorted(files):
            path = Path(folder) / name
            try:
                stat = path.stat()
            except OSError as exc:
                rejected.append(Rejected(Photo(path, path.relative_to(root).as_posix(), 0, 0, camera),
                                         f"cannot read its size and date ({exc.strerror})"))
                continue
            photo = Photo(path, path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns, camera)
            if name.startswith("._"):
                rejected.append(Rejected(photo, "macOS metadata file (._*), not a photo"))
            elif path.suffix.lower() not in PHOTO_SUFFIXES:
                rejected.append(Rejected(photo, f"not a JPEG photo ({path.suffix or 'no suffix'})"))
            elif stat.st_size == 0:
                rejected.append(Rejected(photo, "empty file"))
            else:
                photos.append(photo)
    return photos, rejected


def parse_utc_offset(text: str) -> tzinfo | None:
    """'+10:00' -> that fixed offset; 'local' -> None (the machine's zone). Raises ValueError otherwise."""
    if text.strip().lower() == "local":
        return None
    sign, rest = text.strip()[0], text.strip()[1:]
    hours, _, minutes = rest.partition(":")
    if sign not in "+-" or not hours.isdigit() or (minutes and not minutes.isdigit()):
        raise ValueError(f"{text!r} is not a UTC offset; write it like +10:00, -03:30 or local")
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if delta > timedelta(hours=14):
        raise ValueError(f"{text!r}: a UTC offset is at most 14 hours")
    return timezone(delta if sign == "+" else -delta)


def _exif_time(image: Image.Image, camera_zone: tzinfo | None) -> datetime | None:
    exif = image.getexif()
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    text = sub.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTimeOriginal)
    if not isinstance(text, str):
        return None
    try:
        naive = datetime.strptime(text.strip().rstrip("\x00"), _EXIF_TIME)
    except ValueError:  # "0000:00:00 00:00:00", blanks, garbage
        return None
    offset = sub.get(ExifTags.Base.OffsetTimeOriginal)
    if isinstance(offset, str) and offset.strip():
        try:
            return naive.replace(tzinfo=parse_utc_offset(offset.strip().rstrip("\x00")) or UTC)
        except ValueError:
            pass
    return naive.replace(tzinfo=camera_zone) if camera_zone is not None else naive.astimezone()


def date_photo(photo: Photo, camera_zone: tzinfo | None) -> DatedPhoto | Rejected:
    """The photo's capture time from its EXIF (header only; the pixels are read at import), else its mtime."""
    try:
        with Image.open(photo.path) as image:
            if image.format != "JPEG":
                return Rejected(photo, f"not a JPEG photo ({image.format} data)")
            taken = _exif_time(image, camera_zone)
    except UnidentifiedImageError:
        return Rejected(photo, "not an image Pillow can read")
    except OSError as exc:
        return Rejected(photo, f"cannot read it ({exc.strerror or exc})")
    except (SyntaxError, ValueError) as exc:  # a broken EXIF block
        return Rejected(photo, f"corrupt image header ({exc})")
    if taken is not None:
        return DatedPhoto(photo, taken, "exif")
    return DatedPhoto(photo, datetime.fromtimestamp(photo.mtime_ns / 1e9, UTC), "mtime")


def group_sequences(photos: list[DatedPhoto], *, gap_s: float, max_frames: int) -> list[list[DatedPhoto]]:
    """Sequences per camera folder: a new one when the gap to the previous photo exceeds ``gap_s``, or when
    one reaches ``max_frames`` (a trap on time-lapse would otherwise make one endless sequence)."""
    by_camera: dict[str, list[DatedPhoto]] = collections.defaultdict(list)
    for item in photos:
        by_camera[item.photo.camera].append(item)
    sequences: list[list[DatedPhoto]] = []
    for camera in sorted(by_camera):
        current: list[DatedPhoto] = []
        for item in sorted(by_camera[camera], key=lambda d: (d.taken_at, d.photo.key)):
            gap = (item.taken_at - current[-1].taken_at).total_seconds() if current else 0.0
            if current and (gap > gap_s or len(current) >= max_frames):
                sequences.append(current)
                current = []
            current.append(item)
        if current:
            sequences.append(current)
    return sequences
