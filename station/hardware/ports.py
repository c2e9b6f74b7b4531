"""Small ports every piece of hardware sits behind. Adapters (real and simulated) implement them.

The pipeline only ever talks to these protocols; which adapter stands behind each is chosen explicitly in
station.toml (``[hardware]``) by ``station.hardware.factory``. There is no silent fallback to a fake.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

import numpy as np

from station.types import Trigger

TriggerCallback = Callable[[Trigger], None]


@dataclasses.dataclass(frozen=True)
class Shot:
    """One image from a camera: RGB pixels, and the encoded file when the camera already made one."""

    pixels: np.ndarray
    jpeg: bytes | None = None
    metadata: dict[str, object] = dataclasses.field(default_factory=dict)


class Camera(Protocol):
    """A camera kept running between triggers, so a trigger costs one frame interval, not a start-up."""

    def start(self) -> None: ...

    def capture(self, trigger: Trigger, frame_index: int) -> Shot: ...

    def stop(self) -> None: ...


class TriggerSource(Protocol):
    """Calls ``on_trigger`` from its own thread whenever something should be photographed."""

    def start(self, on_trigger: TriggerCallback) -> None: ...

    def stop(self) -> None: ...


class Illuminator(Protocol):
    """The IR lamp (level 0.0 off .. 1.0 full)."""

    def set_level(self, level: float) -> None: ...
