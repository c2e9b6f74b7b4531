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


@dataclasses.dataclass(frozen=True)
class FrameResult:
    """The classifier's verdict on one frame: probability per species key (mapped from model outputs)."""

    media_id: str
    sequence_id: str
    scores: dict[str, float]
    top_species: str
    top_score: float


@dataclasses.dataclass(frozen=True)
class Detection:
    """One species seen in a sequence (a Camtrap DP event-level observation)."""

    observation_id: str
    sequence_id: str
    species: str
    confidence: float
    best_media_id: str
    frames_seen: int
    count: int | None = None  # a classifier cannot count; detectors may


@dataclasses.dataclass(frozen=True)
class SequenceClosed:
    """The quiet period ended: classify whatever is left of the sequence and aggregate it."""

    sequence_id: str
    frames: tuple[Frame, ...]
    started_at: datetime
    ended_at: datetime
    trigger_source: str = "pir"
