"""Day and night for the Pi camera: when night begins (with hysteresis), the libcamera controls each mode
sets, and whether a frame shows them yet. Pure, no I/O: :mod:`station.hardware.picamera` applies the modes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

#: Day returns only when the light is this many times the night threshold (no flapping at dusk).
DAY_HYSTERESIS = 2.0
#: After a switch between day and night, frames dropped at most while the new exposure takes effect.
SETTLE_FRAMES = 8


@dataclasses.dataclass(frozen=True)
class NightSettings:
    """Exposure for night (NoIR camera under the IR lamp) and when night begins."""

    lux_threshold: float = 10.0  # night below this; day again above DAY_HYSTERESIS times this
    exposure_us: int = 20_000  # short enough to freeze a walking animal under the lamp
    analogue_gain: float = 8.0
    lamp_level: float = 1.0
    monochrome: bool = True  # IR images carry no colour; saturation 0 removes the NoIR pink cast


class DayNight:
    """Night below ``night_below_lux``; day again only above ``DAY_HYSTERESIS`` times that."""

    def __init__(self, night_below_lux: float, *, night: bool = False) -> None:
        self._night_below = night_below_lux
        self.night = night

    def update(self, lux: float | None) -> bool:
        """The mode for a reading (None: unknown, the mode stays)."""
        if lux is not None:
            if self.night and lux > self._night_below * DAY_HYSTERESIS:
                self.night = False
            elif not self.night and lux < self._night_below:
                self.night = True
        return self.night


def mode_controls(settings: NightSettings, night: bool) -> dict[str, Any]:
    """The libcamera controls for night (fixed exposure and gain) or day (the camera's AE)."""
    if night:  # ExposureTime/AnalogueGain > 0 mean manual (picamera2 sets the libcamera modes for us)
        controls: dict[str, Any] = {"ExposureTime": settings.exposure_us,
                                    "AnalogueGain": settings.analogue_gain, "AeEnable": False}
        if settings.monochrome:
            controls["Saturation"] = 0.0
    else:  # 0 hands exposure and gain back to the AE algorithm
        controls = {"ExposureTime": 0, "AnalogueGain": 0.0, "AeEnable": True, "Saturation": 1.0}
    return controls


def settled(night: NightSettings, applied_night: bool, metadata: dict[str, Any]) -> bool:
    """Whether a frame was taken with the mode just applied (controls reach frames a few frames late)."""
    exposure, gain = metadata.get("ExposureTime"), metadata.get("AnalogueGain")
    if exposure is None:
        return True
    night_exposure = abs(exposure - night.exposure_us) <= 0.1 * night.exposure_us and (
        gain is None or abs(gain - night.analogue_gain) <= 0.1 * night.analogue_gain)
    if applied_night:
        return night_exposure
    return not night_exposure and bool(metadata.get("AeLocked", True))
