"""Detector cards: the TOML beside a full-integer TFLite object detector (``kind = "detector"``).

A detector card says which file, its sha256, the input it wants, which output format it has, and what each
of its classes means in the project's catalogue: a species key (``human``, ``vehicle``, ``unknown_animal``,
or a species where the detector knows one). Classes not mapped are ignored (a COCO detector's chairs).

Two output formats are read:

- ``postprocessed``: TFLite's standard detection post-processing op (4 tensors: boxes ymin, xmin, ymax, xmax
  normalised; classes; scores; count);
- ``yolox``: the raw YOLOX head ``[1, N, 5 + classes]`` (tx, ty, tw, th, objectness, class scores), decoded
  on the grid of ``strides`` and reduced by non-maximum suppression in numpy.

``field_model`` says whether the model was trained (or shown) to work on real camera-trap photos; the
station refuses a non-field model on a real camera unless the config allows it explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from station.config.toml import read_toml
from station.errors import ModelError
from station.vision.card import CardInput, CardSpecies, validate_card


class DetectorOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["postprocessed", "yolox"] = Field(description="postprocessed (4 tensors) or yolox (raw head).")
    classes: int = Field(ge=1, le=10_000, description="Number of classes the detector has.")
    labels: list[str] = Field(default_factory=list, description="The detector's own name of each class (docs).")
    map: dict[int, str] = Field(description="Class index -> species key; classes not listed are ignored.")
    strides: list[int] = Field([8, 16, 32], description="yolox: the head's strides, in output order.")
    nms_iou: float = Field(0.45, gt=0.0, le=1.0, description="yolox: IoU above which a weaker box is dropped.")
    score_floor: float = Field(0.05, ge=0.0, le=1.0, description="yolox: boxes below this are not decoded.")
    max_boxes: int = Field(20, ge=1, le=1000, description="At most this many boxes per frame.")

    @model_validator(mode="after")
    def _indices(self) -> DetectorOutput:
        if any(not 0 <= i < self.classes for i in self.map):
            raise ValueError("output.map has a class index outside 0..classes-1")
        if self.labels and len(self.labels) != self.classes:
            raise ValueError(f"output.labels has {len(self.labels)} entries but output.classes is {self.classes}")
        return self


class DetectorCard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    kind: Literal["detector"]
    field_model: bool = Field(description="Trained or shown to work on real camera-trap photos.")
    model_file: str = Field(description="The .tflite file, relative to the card.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    summary: str = ""
    trained_on: str = ""
    not_for: str = ""
    licence: str = ""
    default_threshold: float = Field(0.25, ge=0.0, le=1.0, description="Box score threshold unless a species "
                                                                          "or the station config sets one.")
    input: CardInput
    output: DetectorOutput
    species: list[CardSpecies]

    @model_validator(mode="after")
    def _consistent(self) -> DetectorCard:
        keys = {s.key for s in self.species}
        missing = sorted(set(self.output.map.values()) - keys)
        if missing:
            raise ValueError(f"output.map names species not listed under [[species]]: {', '.join(missing)}")
        return self

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def species_by_key(self) -> dict[str, CardSpecies]:
        return {s.key: s for s in self.species}

    def threshold(self, key: str) -> float:
        entry = self.species_by_key().get(key)
        return self.default_threshold if entry is None or entry.threshold is None else entry.threshold

    def class_label(self, index: int) -> str:
        return self.output.labels[index] if self.output.labels else str(index)


def card_kind(path: Path) -> str:
    """``classifier`` or ``detector``: what the card at ``path`` describes (missing kind: classifier)."""
    kind = _read_toml(path).get("kind", "classifier")
    return kind if isinstance(kind, str) else "classifier"


def load_detector_card(path: Path) -> tuple[DetectorCard, Path]:
    """Read and validate a detector card; return it with the absolute path of its model file."""
    raw = _read_toml(path)
    card = validate_card(DetectorCard, raw, path)
    return card, (path.parent / card.model_file).resolve()


def _read_toml(path: Path) -> dict:
    return read_toml(path, error=ModelError, what="model card",
                     missing="model card not found; check [model] detector/classifier in station.toml")
