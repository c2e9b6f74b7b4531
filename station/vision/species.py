"""The project's species catalogue: stable one-byte codes shared by stations, codecs and the server."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SpeciesKind = Literal["blank", "human", "animal", "vehicle", "unknown"]


class Species(BaseModel):
    """One species (or class of thing) a station can report."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: int = Field(ge=0, le=255, description="Stable one-byte code used on the wire (LoRa, MQTT).")
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Stable machine name, e.g. amur_tiger.")
    latin: str = Field("", description="Scientific name (Camtrap DP scientificName); empty if none.")
    en: str = Field(description="English name.")
    ru: str = Field(description="Russian name.")
    zh: str = Field(description="Chinese name.")
    kind: SpeciesKind = Field(description="blank, human, animal, vehicle or unknown.")
    priority: int = Field(ge=0, le=2, description="0 people and big cats, 1 other animals, 2 empty.")


class _Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    species: list[Species]


@functools.cache
def catalogue() -> dict[str, Species]:
    """The bundled catalogue by key (read once, on first use, never at import)."""
    text = resources.files("station.vision").joinpath("species.toml").read_text(encoding="utf-8")
    parsed = _Catalogue.model_validate(tomllib.loads(text))
    return {s.key: s for s in parsed.species}


def by_code() -> dict[int, Species]:
    """The bundled catalogue by one-byte code."""
    return {s.code: s for s in catalogue().values()}
