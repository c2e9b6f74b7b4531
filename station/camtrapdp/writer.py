"""Write a Camtrap DP 1.0.2 package: three CSV tables and a ``datapackage.json`` that describes them.

Callers pass rows keyed by Camtrap DP field names; values may be ``str``, numbers, ``bool``, ``datetime``
or ``None`` (written as an empty cell). Each CSV is written to a temporary name and renamed, so a folder
never holds half a table.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from station import __version__
from station.camtrapdp.licenses import package_licenses
from station.camtrapdp.tables import PROFILE_URL, TABLES, field_names, schema_url
from station.vision.species import catalogue

Row = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class PackageMetadata:
    """What a package says about itself (the profile's required package properties, and a few more)."""

    title: str
    project_title: str
    contributors: tuple[dict[str, str], ...]
    description: str = ""
    project_id: str | None = None
    acronym: str | None = None
    sampling_design: str = "targeted"
    licenses: tuple[dict[str, str], ...] = dataclasses.field(default_factory=package_licenses)
    keywords: tuple[str, ...] = ("camera traps", "Panthera tigris altaica", "Panthera pardus orientalis")
    source: str = "trapd"


@dataclasses.dataclass(frozen=True)
class PackageSummary:
    folder: Path
    rows: dict[str, int]
    descriptor: dict[str, Any]


def cell(value: Any) -> str:
    """One CSV cell in the form the table schemas expect."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return utc_seconds(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def utc_seconds(moment: datetime) -> str:
    """Camtrap DP datetimes (%Y-%m-%dT%H:%M:%S%z): whole seconds, UTC, with a Z."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_table(path: Path, table: str, rows: Iterable[Row]) -> int:
    names = field_names(table)
    temporary = path.with_name(f".{path.name}.tmp")
    count = 0
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow([cell(row.get(name)) for name in names])
            count += 1
    os.replace(temporary, path)
    return count


def write_package(folder: Path, tables: dict[str, list[Row]], metadata: PackageMetadata,
                  *, created: datetime | None = None) -> PackageSummary:
    """Write ``deployments.csv``, ``media.csv``, ``observations.csv`` and ``datapackage.json`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = {table: write_table(folder / f"{table}.csv", table, tables.get(table, [])) for table in TABLES}
    descriptor = package_descriptor(tables, metadata, created=created or datetime.now(UTC))
    temporary = folder / ".datapackage.json.tmp"
    temporary.write_text(json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, folder / "datapackage.json")
    return PackageSummary(folder=folder, rows=counts, descriptor=descriptor)


def package_descriptor(tables: dict[str, list[Row]], metadata: PackageMetadata, *,
                       created: datetime) -> dict[str, Any]:
    deployments, media = tables.get("deployments", []), tables.get("media", [])
    observations = tables.get("observations", [])
    methods = sorted({row["captureMethod"] for row in media if row.get("captureMethod")}) or ["activityDetection"]
    levels = sorted({row["observationLevel"] for row in observations}) or ["event"]
    descriptor: dict[str, Any] = {
        "resources": [{"name": table, "path": f"{table}.csv", "profile": "tabular-data-resource",
                       "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
                       "schema": schema_url(table)} for table in TABLES],
        "profile": PROFILE_URL,
        "name": _slug(metadata.title),
        "id": str(uuid.uuid4()),
        "created": utc_seconds(created),
        "title": metadata.title,
        "contributors": [dict(c) for c in metadata.contributors],
        "description": metadata.description,
        "version": "1.0",
        "keywords": list(metadata.keywords),
        "sources": [{"title": metadata.source, "version": __version__}],
        "project": _project(metadata, methods, levels, observations),
        "spatial": spatial_coverage(deployments),
        "temporal": temporal_coverage(deployments),
        "taxonomic": taxonomic_coverage(observations),
        "licenses": [dict(item) for item in metadata.licenses],
    }
    return descriptor


def _project(metadata: PackageMetadata, methods: list[str], levels: list[str], observations: list[Row]) -> dict:
    project: dict[str, Any] = {"title": metadata.project_title, "samplingDesign": metadata.sampling_design,
                               "captureMethod": methods,
                               "individualAnimals": any(row.get("individualID") for row in observations),
                               "observationLevel": levels}
    if metadata.project_id:
        project["id"] = metadata.project_id
    if metadata.acronym:
        project["acronym"] = metadata.acronym
    return project


def spatial_coverage(deployments: list[Row]) -> dict[str, Any]:
    """GeoJSON: the bounding box of the deployments (a Point when they all share one place)."""
    if not deployments:
        return {"type": "Point", "coordinates": [0.0, 0.0]}
    lats = [float(row["latitude"]) for row in deployments]
    lons = [float(row["longitude"]) for row in deployments]
    if min(lats) == max(lats) and min(lons) == max(lons):
        return {"type": "Point", "coordinates": [lons[0], lats[0]]}
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    return {"type": "Polygon", "bbox": [west, south, east, north],
            "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]]}


def temporal_coverage(deployments: list[Row]) -> dict[str, str]:
    if not deployments:
        today = date.today().isoformat()
        return {"start": today, "end": today}
    starts = [_as_utc(row["deploymentStart"]) for row in deployments]
    ends = [_as_utc(row["deploymentEnd"]) for row in deployments]
    return {"start": min(starts).date().isoformat(), "end": max(ends).date().isoformat()}


def taxonomic_coverage(observations: list[Row]) -> list[dict[str, Any]]:
    """One entry per scientific name in the observations, with names in English, Russian and Chinese."""
    by_latin = {s.latin: s for s in catalogue().values() if s.latin}
    taxa = []
    for name in sorted({row["scientificName"] for row in observations if row.get("scientificName")}):
        entry: dict[str, Any] = {"scientificName": name,
                                 "taxonRank": "subspecies" if len(name.split()) == 3 else "species"}
        species = by_latin.get(name)
        if species is not None:
            entry["vernacularNames"] = {"eng": species.en, "rus": species.ru, "zho": species.zh}
        taxa.append(entry)
    return taxa


def _as_utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _slug(text: str) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in text.lower())
    return "-".join(part for part in slug.split("-") if part) or "camtrap-dp"
