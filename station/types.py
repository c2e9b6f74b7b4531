"""Frozen records passed between pipeline stages (trigger → capture → classify → store → outbox)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import numpy as np


@dataclasses.dataclass(frozen=True)
class Trigger:
    """Something asked for a burst: a PIR, a schedule, a remote command, a test."""

    source: str  # "pir", "schedule", "command", "manual"
    at: datetime
    sensor: int = 0
    #: Only for the simulated world: what walks past the lens (species key), and whether it is night.
    subject: str | None = None
    night: bool | None = None


@dataclasses.dataclass(frozen=True)
class Frame:
    """One captured image, already written to disk under ``path`` (relative to the media folder)."""

    media_id: str
    sequence_id: str
    burst_index: int  # the n-th burst of the sequence
    frame_index: int  # position within the burst
    captured_at: datetime
    path: str
    width: int
    height: int
    #: RGB pixels kept in memory for the classifier; None when it must read the file back.
    pixels: np.ndarray | None = dataclasses.field(default=None, compare=False, repr=False)
    #: When the frame's sequence started (the key a provisional alert shares with the full record).
    sequence_start: datetime | None = dataclasses.field(default=None, compare=False)


@dataclasses.dataclass(frozen=True)
class Box:
    """One detected object; ``x, y, width, height`` normalised to 0..1 with the origin at the top left."""

    x: float
    y: float
    width: float
    height: float
    score: float
    class_index: int
    species: str  # the catalogue key the detector's class maps to (human, vehicle, unknown_animal, ...)

    @property
    def area(self) -> float:
        return self.width * self.height

    def as_tuple(self) -> tuple[float, float, float, float]:
        """x, y, width, height rounded to 4 places (the box as stored and sent)."""
        return round(self.x, 4), round(self.y, 4), round(self.width, 4), round(self.height, 4)

    def as_list(self) -> list[float]:
        return list(self.as_tuple())


@dataclasses.dataclass(frozen=True)
class BoxVerdict:
    """One counted box and what it is."""

    box: Box
    species: str  # final species key (the classifier's when it named one, else the detector's)
    confidence: float  # the classifier's probability when it named the species, else the box score
    classified: bool = False  # True when the classifier named the species


@dataclasses.dataclass(frozen=True)
class FrameResult:
    """The classifier's verdict on one frame: probability per species key (mapped from model outputs)."""

    media_id: str
    sequence_id: str
    scores: dict[str, float]
    top_species: str
    top_score: float
    #: With a detector: every box that counted (empty: a blank frame). Without one: always empty.
    boxes: tuple[BoxVerdict, ...] = ()


@dataclasses.dataclass(frozen=True)
class Detection:
    """One species seen in a sequence (a Camtrap DP event-level observation)."""

    observation_id: str
    sequence_id: str
    species: str
    confidence: float
    best_media_id: str
    frames_seen: int
    count: int | None = None  # a classifier cannot count; with a detector: most boxes in one frame
    box: tuple[float, float, float, float] | None = None  # best box [x, y, w, h] on best_media_id (detector)


@dataclasses.dataclass(frozen=True)
class SequenceClosed:
    """The quiet period ended: classify whatever is left of the sequence and aggregate it."""

    sequence_id: str
    frames: tuple[Frame, ...]
    started_at: datetime
    ended_at: datetime
    trigger_source: str = "pir"
