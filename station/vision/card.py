"""Model cards: the TOML file beside a ``.tflite`` that says what the model is and how to read its outputs.

A card names the model file and its sha256, the input the model expects, the species it reports (with
stable codes and names in four languages, and a threshold each), and how output indices map to species:
``labels`` (one species per output, for models trained by the project) or ``map`` (many output indices to
one species, for a foreign model such as an ImageNet classifier; indices not listed go to ``unmapped``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from station.config.toml import read_toml
from station.errors import ModelError
from station.vision.species import Species, catalogue

C = TypeVar("C", bound=BaseModel)  # a card model: ModelCard or DetectorCard


class CardInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    width: int = Field(ge=8, le=4096, description="Input width in pixels.")
    height: int = Field(ge=8, le=4096, description="Input height in pixels.")
    colour_order: Literal["RGB", "BGR"] = Field("RGB", description="Channel order the model expects.")
    dtype: Literal["uint8", "int8"] = Field(description="Input tensor type (full-integer models only).")
    value_range: tuple[float, float] = Field(
        (0.0, 255.0), description="Real input value of pixel 0 and of pixel 255 (e.g. [-1, 1] for MobileNet); "
                                  "quantized with the tensor's own scale and zero point.")


class CardOutputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=2, le=100_000, description="Number of output classes of the model.")
    labels: list[str] | None = Field(None, description="Species key of each output index, in order.")
    map: dict[int, str] | None = Field(None, description="Output index -> species key (many to one).")
    unmapped: str = Field("blank", description="Species key for output indices not in `map`.")
    softmax: bool = Field(True, description="Outputs are probabilities already (false: logits, apply softmax).")

    @model_validator(mode="after")
    def _one_way(self) -> CardOutputs:
        if (self.labels is None) == (self.map is None):
            raise ValueError("give exactly one of outputs.labels (own model) or outputs.map (foreign model)")
        if self.labels is not None and len(self.labels) != self.count:
            raise ValueError(f"outputs.labels has {len(self.labels)} entries but outputs.count is {self.count}")
        if self.map is not None and any(not 0 <= i < self.count for i in self.map):
            raise ValueError("outputs.map has an index outside 0..count-1")
        return self


class CardSpecies(Species):
    threshold: float | None = Field(None, ge=0.0, le=1.0, description="Per-species confidence threshold.")


class ModelCard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    kind: Literal["classifier"] = "classifier"
    field_model: bool = Field(False, description="Trained or shown to work on real camera-trap photos.")
    model_file: str = Field(description="The .tflite file, relative to the card.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    summary: str = ""
    trained_on: str = ""
    not_for: str = ""
    licence: str = ""
    empty_species: str = Field("blank", description="Species key that means 'nothing there'.")
    default_threshold: float = Field(0.5, ge=0.0, le=1.0)
    input: CardInput
    outputs: CardOutputs
    species: list[CardSpecies]
    training: dict[str, object] = Field(default_factory=dict, description="Free-form training summary.")

    @model_validator(mode="after")
    def _consistent(self) -> ModelCard:
        keys = {s.key for s in self.species}
        used = set(self.outputs.labels or []) | set((self.outputs.map or {}).values()) | {self.outputs.unmapped}
        missing = sorted(used - keys)
        if missing:
            raise ValueError(f"outputs name species not listed under [[species]]: {', '.join(missing)}")
        if self.empty_species not in keys:
            raise ValueError(f"empty_species {self.empty_species!r} is not listed under [[species]]")
        return self

    def species_by_key(self) -> dict[str, CardSpecies]:
        return {s.key: s for s in self.species}

    def threshold(self, key: str) -> float:
        found = self.species_by_key()[key].threshold
        return self.default_threshold if found is None else found

    def output_species(self) -> list[str]:
        """Species key of every output index (the many-to-one mapping made explicit)."""
        if self.outputs.labels is not None:
            return list(self.outputs.labels)
        mapping = self.outputs.map or {}
        return [mapping.get(i, self.outputs.unmapped) for i in range(self.outputs.count)]


def load_card(path: Path) -> tuple[ModelCard, Path]:
    """Read and validate a card; return it with the absolute path of its model file."""
    raw = read_toml(path, error=ModelError, what="model card",
                    missing="model card not found; set [model] card in station.toml")
    card = validate_card(ModelCard, raw, path)
    return card, (path.parent / card.model_file).resolve()


def validate_card(model: type[C], raw: dict[str, Any], path: Path) -> C:
    """A card's tables as ``model`` (a classifier or detector card); the first mistake as one ModelError."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ModelError(f"{path}: {where}: {first['msg']}") from None


class _NamesSpecies(Protocol):
    """A classifier or a detector card: both list the species they report."""

    @property
    def species(self) -> Sequence[CardSpecies]: ...


def catalogue_conflicts(card: _NamesSpecies) -> list[str]:
    """Species whose code or names disagree with the project catalogue (the server trusts the codes)."""
    problems = []
    known = catalogue()
    for entry in card.species:
        ref = known.get(entry.key)
        if ref is None:
            problems.append(f"{entry.key}: not in the project catalogue; the server will not know it")
        elif ref.code != entry.code:
            problems.append(f"{entry.key}: code {entry.code} but the catalogue says {ref.code}")
    return problems


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def card_species_from_catalogue(keys: list[str], thresholds: dict[str, float] | None = None) -> list[dict]:
    """Card ``[[species]]`` entries for ``keys``, copied from the catalogue (used by the model scripts)."""
    thresholds = thresholds or {}
    known = catalogue()
    entries = []
    for key in dict.fromkeys(keys):
        entry = known[key].model_dump()
        if key in thresholds:
            entry["threshold"] = thresholds[key]
        entries.append(entry)
    return entries
