"""Camtrap DP 1.0.2 export of the central store, filtered by park, country, time range and species.

A projection of the tables: deployments get their location from the registry when they have none of their
own, and their start and end from the events when those were not declared. Observations are event-level.
An observation known only from a LoRa summary (its full record has not arrived) is exported with the tag
``source:lora``. Media of an event in which a person was seen get ``filePublic = false`` and their
thumbnails are never written. Stations missing from the registry (no location) are left out and counted.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.camtrapdp.licenses import package_licenses
from station.camtrapdp.writer import PackageMetadata, PackageSummary, Row, write_package
from station.central.config import ExportSection
from station.central.db import scalar

if TYPE_CHECKING:
    import psycopg


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which observations a report or an export covers; empty tuples mean "all"."""

    parks: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    species: tuple[str, ...] = ()

    def where(self, alias: str = "o") -> tuple[str, list[Any]]:
        """A SQL condition on observations ``alias`` joined with stations ``s`` and parks ``p``."""
        clauses: list[str] = ["true"]
        params: list[Any] = []
        for column, values in (("s.park_id", self.parks), ("p.country", self.countries),
                               (f"{alias}.species_key", self.species)):
            if values:
                clauses.append(f"{column} = ANY(%s)")
                params.append(list(values))
        if self.since is not None:
            clauses.append(f"{alias}.event_start >= %s")
            params.append(self.since)
        if self.until is not None:
            clauses.append(f"{alias}.event_start < %s")
            params.append(self.until)
        return " AND ".join(clauses), params


@dataclasses.dataclass(frozen=True)
class ExportResult:
    package: PackageSummary
    unregistered_observations: int
    thumbnails_written: int


_OBSERVATIONS = """SELECT o.observation_id, o.deployment_id, o.event_id, o.event_start, o.event_end,
        o.observation_type, o.scientific_name, o.count, o.individual_id, o.classified_by, o.confidence,
        o.source, o.species_key, o.box, o.best_media_id, o.life_stage, o.sex,
        s.latitude IS NOT NULL AND s.longitude IS NOT NULL AND s.registered
    FROM observations o JOIN stations s USING (station_id) LEFT JOIN parks p USING (park_id)
    WHERE {where} ORDER BY o.event_start, o.observation_id"""

_DEPLOYMENTS = """SELECT d.deployment_id, d.station_id, coalesce(d.location_name, s.location_name, s.station_id),
        coalesce(d.latitude, s.latitude), coalesce(d.longitude, s.longitude), d.start_at, d.end_at,
        d.setup_by, d.camera_height_m, d.camera_tilt_deg, d.camera_heading_deg, d.habitat, d.feature_type,
        d.comments, s.park_id, p.country,
        (SELECT min(event_start) FROM observations WHERE deployment_id = d.deployment_id),
        (SELECT max(event_end) FROM observations WHERE deployment_id = d.deployment_id)
    FROM deployments d JOIN stations s USING (station_id) LEFT JOIN parks p USING (park_id)
    WHERE d.deployment_id = ANY(%s) ORDER BY d.deployment_id"""

_MEDIA = """SELECT m.media_id, e.deployment_id, e.trigger, coalesce(m.captured_at, e.start_at), m.content_type,
        m.thumbnail IS NOT NULL, m.station_id, e.event_id
    FROM media m JOIN events e USING (event_id) WHERE m.event_id = ANY(%s) ORDER BY 4, m.media_id"""


def export_central(conn: psycopg.Connection, out: Path, selection: Selection, settings: ExportSection,
                   *, write_thumbnails: bool = False) -> ExportResult:
    where, params = selection.where()
    rows = conn.execute(_OBSERVATIONS.format(where=where), params).fetchall()
    kept = [row for row in rows if row[-1]]
    animals = _animal_ids(conn)
    observations = [_observation(row, animals) for row in kept]
    skipped = len(rows) - len(observations)
    events = sorted({o["eventID"] for o in observations})
    # privacy looks at every observation of an event, also those a species filter left out
    human_events = {row[0] for row in conn.execute("SELECT DISTINCT event_id FROM observations WHERE "
                                                   "observation_type = 'human' AND event_id = ANY(%s)", [events])}
    deployments = [_deployment(row) for row in
                   conn.execute(_DEPLOYMENTS, [sorted({o["deploymentID"] for o in observations})]).fetchall()]
    media_rows = conn.execute(_MEDIA, [events]).fetchall()
    media = [_media(row, human_events) for row in media_rows]
    exported_media = {row["mediaID"] for row in media}
    observations += [_box_observation(row, animals) for row in kept
                     if row[13] is not None and row[14] in exported_media]
    written = _write_thumbnails(conn, out, media) if write_thumbnails else 0
    metadata = PackageMetadata(title=settings.title, project_title=settings.project_title,
                               contributors=({"title": settings.contact, "role": "contact"},),
                               description=_description(selection),
                               licenses=package_licenses(settings.data_license, settings.media_license))
    package = write_package(out, {"deployments": deployments, "media": media, "observations": observations},
                            metadata)
    return ExportResult(package, skipped, written)


def _animal_ids(conn: psycopg.Connection) -> dict[str, tuple[str, list[str]]]:
    """individual id -> (the id it stands for after the experts' merges, that animal's catalogue codes)."""
    from station.central.population import canonical_ids

    now = canonical_ids({row[0]: (row[1], row[2]) for row in conn.execute(
        "SELECT individual_id, species_key, merged_into FROM individuals")})
    codes: dict[str, list[str]] = {}
    rows: list[tuple[str, str, str]] = conn.execute(
        "SELECT country, code, individual_id FROM catalogue_codes ORDER BY country, code").fetchall()
    for country, code, individual in rows:
        codes.setdefault(now.get(individual, individual), []).append(f"{country}:{code}")
    return {individual: (animal, codes.get(animal, [])) for individual, animal in now.items()}


def _observation(row: tuple, animals: dict[str, tuple[str, list[str]]]) -> Row:
    (observation_id, deployment_id, event_id, start, end, kind, latin, count, individual, classified_by,
     confidence, source, species_key, _box, _media, life_stage, sex, _) = row
    tags = [f"species:{species_key}"] + (["source:lora"] if source == "lora" else [])
    animal, codes = animals.get(individual, (individual, [])) if individual else (None, [])
    if codes:
        tags.append("catalogue:" + ";".join(codes))
    return {"observationID": observation_id, "deploymentID": deployment_id, "eventID": event_id,
            "eventStart": start, "eventEnd": end, "observationLevel": "event", "observationType": kind,
            "scientificName": latin, "count": count or None, "individualID": animal, "lifeStage": life_stage,
            "sex": sex,
            "classificationMethod": "machine", "classifiedBy": classified_by,
            "classificationProbability": None if confidence is None else round(confidence, 4),
            "observationTags": " | ".join(tags)}


def _box_observation(row: tuple, animals: dict[str, tuple[str, list[str]]]) -> Row:
    """The detector's best box of a detection, on its best frame (detection/1.1): a media-level observation."""
    event_level = _observation(row, animals)
    x, y, width, height = row[13]
    return {**event_level, "observationID": f"{event_level['observationID']}-box", "mediaID": row[14],
            "observationLevel": "media", "count": None, "bboxX": x, "bboxY": y,
            "bboxWidth": max(width, 1e-4), "bboxHeight": max(height, 1e-4)}


def _deployment(row: tuple) -> Row:
    (deployment_id, station_id, name, latitude, longitude, start, end, setup_by, height, tilt, heading, habitat,
     feature, comments, park, country, first, last) = row
    return {"deploymentID": deployment_id, "locationID": station_id, "locationName": name,
            "latitude": latitude, "longitude": longitude, "deploymentStart": start or first,
            "deploymentEnd": end or last, "setupBy": setup_by, "cameraID": station_id, "cameraHeight": height,
            "cameraTilt": None if tilt is None else round(tilt), "cameraHeading": None if heading is None
            else round(heading), "habitat": habitat, "featureType": feature, "deploymentGroups": f"park:{park}",
            "deploymentTags": f"country:{country}", "deploymentComments": comments}


def _media(row: tuple, human_events: set[str]) -> Row:
    media_id, deployment_id, trigger, timestamp, content_type, has_thumbnail, station_id, event_id = row
    return {"mediaID": media_id, "deploymentID": deployment_id,
            "captureMethod": "timeLapse" if trigger == "schedule" else "activityDetection",
            "timestamp": timestamp, "filePath": f"media/{station_id}/{media_id}.{_extension(content_type)}",
            "filePublic": event_id not in human_events, "fileName": f"{media_id}.{_extension(content_type)}",
            "fileMediatype": content_type or "image/jpeg",
            "mediaComments": "thumbnail of the best frame" if has_thumbnail else "thumbnail not received",
            "_thumbnail": has_thumbnail}


def _extension(content_type: str | None) -> str:
    return "webp" if content_type == "image/webp" else "jpg"


def _write_thumbnails(conn: psycopg.Connection, out: Path, media: list[Row]) -> int:
    wanted = [row for row in media if row["filePublic"] and row["_thumbnail"]]
    written = 0
    for row in wanted:
        data = scalar(conn, "SELECT thumbnail FROM media WHERE media_id = %s", [row["mediaID"]])
        target = out / row["filePath"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written += 1
    return written


def _description(selection: Selection) -> str:
    parts = []
    if selection.parks:
        parts.append(f"parks {', '.join(selection.parks)}")
    if selection.countries:
        parts.append(f"countries {', '.join(selection.countries)}")
    if selection.species:
        parts.append(f"species {', '.join(selection.species)}")
    if selection.since or selection.until:
        parts.append(f"from {selection.since or 'the start'} to {selection.until or 'now'}")
    return "Exported by trapd central" + (f" ({'; '.join(parts)})" if parts else "") + "."
