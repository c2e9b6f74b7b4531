"""EXIF written into every stored JPEG: when, where (station, deployment), why (trigger) and how (exposure).

Standard tags carry what photo tools already understand (capture time, exposure, ISO, ambient temperature,
the station id as the body serial number); ``UserComment`` carries the same facts and the rest (trigger,
frame index, lux, night mode, the sensor's own timestamp) as compact JSON, so a reader needs no guessing.

Pillow writes it (``Image.Exif``), so no other EXIF library is needed and any camera can use it.
"""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import UTC, datetime
from fractions import Fraction

import numpy as np
from PIL import ExifTags, Image, TiffImagePlugin

#: Before this the wall clock was never set (a Pi without network or RTC boots in the past): capture times
#: are then left out of the standard tags and marked unknown, never written as if they were real.
CLOCK_PLAUSIBLE_SINCE = datetime(2024, 1, 1, tzinfo=UTC)

#: EXIF UserComment starts with an 8-byte character-code prefix.
_ASCII_PREFIX = b"ASCII\x00\x00\x00"
_EXIF_TIME = "%Y:%m:%d %H:%M:%S"


@dataclasses.dataclass(frozen=True)
class PhotoFacts:
    """Everything a stored photo should say about itself."""

    station_id: str
    deployment_id: str | None
    trigger_source: str  # "pir", "schedule", "command", "manual"
    trigger_sensor: int
    frame_index: int  # position within the burst
    taken_at: datetime  # exposure start (UTC), from the sensor's timestamp
    sensor_timestamp_ns: int | None = None
    exposure_us: int | None = None
    analogue_gain: float | None = None
    lux: float | None = None
    night: bool = False
    temperature_c: float | None = None
    camera_model: str = ""
    software: str = "trapd"

    @property
    def clock_set(self) -> bool:
        return self.taken_at >= CLOCK_PLAUSIBLE_SINCE

    def comment(self) -> dict[str, object]:
        """The JSON document stored in UserComment (keys are stable: readers parse them)."""
        return {
            "station_id": self.station_id, "deployment_id": self.deployment_id,
            "trigger": self.trigger_source, "sensor": self.trigger_sensor, "frame": self.frame_index,
            "taken_at": self.taken_at.isoformat() if self.clock_set else None,
            "clock": "set" if self.clock_set else "unset",
            "sensor_timestamp_ns": self.sensor_timestamp_ns, "exposure_us": self.exposure_us,
            "analogue_gain": self.analogue_gain, "lux": self.lux, "night": self.night,
            "temperature_c": self.temperature_c,
        }


def exif_bytes(facts: PhotoFacts) -> bytes:
    """The EXIF block (``Exif\\0\\0`` + TIFF) for ``facts``, ready for ``Image.save(exif=...)``."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Raspberry Pi"
    if facts.camera_model:
        exif[ExifTags.Base.Model] = facts.camera_model
    exif[ExifTags.Base.Software] = facts.software
    exif[ExifTags.Base.ImageDescription] = _description(facts)
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    if facts.clock_set:
        when = facts.taken_at.astimezone(UTC)
        exif[ExifTags.Base.DateTime] = when.strftime(_EXIF_TIME)
        sub[ExifTags.Base.DateTimeOriginal] = when.strftime(_EXIF_TIME)
        sub[ExifTags.Base.SubsecTimeOriginal] = f"{when.microsecond // 1000:03d}"
        sub[ExifTags.Base.OffsetTimeOriginal] = "+00:00"
    if facts.exposure_us:
        sub[ExifTags.Base.ExposureTime] = _rational(Fraction(facts.exposure_us, 1_000_000))
    if facts.analogue_gain:
        sub[ExifTags.Base.ISOSpeedRatings] = max(1, min(65535, round(facts.analogue_gain * 100)))
    if facts.temperature_c is not None:
        sub[ExifTags.Base.AmbientTemperature] = _rational(Fraction(round(facts.temperature_c * 10), 10))
    sub[ExifTags.Base.BodySerialNumber] = facts.station_id
    comment = json.dumps(facts.comment(), separators=(",", ":"), ensure_ascii=True)
    sub[ExifTags.Base.UserComment] = _ASCII_PREFIX + comment.encode("ascii")
    return exif.tobytes()


def encode_jpeg(pixels: np.ndarray, *, quality: int, facts: PhotoFacts) -> bytes:
    """An RGB array as a JPEG carrying ``facts`` as EXIF."""
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=quality, exif=exif_bytes(facts))
    return out.getvalue()


def read_facts(jpeg: bytes) -> dict[str, object]:
    """The UserComment JSON of a JPEG written by :func:`encode_jpeg` ({} when it has none)."""
    with Image.open(io.BytesIO(jpeg)) as image:
        raw = image.getexif().get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.UserComment)
    if not isinstance(raw, bytes) or not raw.startswith(_ASCII_PREFIX):
        return {}
    try:
        return json.loads(raw[len(_ASCII_PREFIX):].decode("ascii"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}


def _description(facts: PhotoFacts) -> str:
    light = "night (IR)" if facts.night else "day"
    deployment = facts.deployment_id or "no deployment"
    return (f"{facts.station_id} / {deployment}: {facts.trigger_source} {facts.trigger_sensor}, "
            f"frame {facts.frame_index}, {light}")


def _rational(value: Fraction) -> TiffImagePlugin.IFDRational:
    # Integer numerator/denominator: Pillow packs them as (S)RATIONAL; negatives (Amur winters) stay signed.
    return TiffImagePlugin.IFDRational(value.numerator, value.denominator)
