"""Day and night for the Pi camera: when night begins (with hysteresis) and the exposure night gets.
Pure, no I/O: :mod:`station.hardware.picamera` applies the modes to the camera.
"""

from __future__ import annotations

import dataclasses

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
