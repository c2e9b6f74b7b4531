"""Camtrap DP export of a station's own SQLite store, for units whose cards are collected by hand.

The station's tables already follow Camtrap DP (deployments, events as sequences, media, event-level
observations, and the detector's boxes as media-level observations with bboxX/Y/Width/Height), so this is
a projection: rows are renamed, times cut to whole seconds, and media of any
sequence in which a person was seen are exported with ``filePublic = false`` (their files are never copied).
"""

from __future__ import annotations

import bisect
import dataclasses
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path

from station.camtrapdp.errors import ExportError
from station.camtrapdp.licenses import DEFAULT_LICENSE, package_licenses
from station.camtrapdp.writer import PackageMetadata, PackageSummary, Row, write_package
from station.vision.species import catalogue
from station.wire.ids import parse_iso


@dataclasses.dataclass(frozen=True)
class StationExport:
    """What to export from one station and how to describe it."""

    station_id: str
    park: str
    country: str
    latitude: float | None = None  # used for deployments that have no location of their own
    longitude: float | None = None
    since: datetime | None = None
    until: datetime | None = None
    species: tuple[str, ...] = ()
    copy_media: bool = False
    data_license: str = DEFAULT_LICENSE
    media_license: str = DEFAULT_LICENSE
    #: A sequence within this many seconds of the ranger's walk-test feed being open (the page polls it every
    #: second; the station logs it every WALK_TEST_LOG_S) was the ranger walking past the camera: Camtrap DP
    #: cameraSetupType "calibration", not an observation of the site.
    walk_test_margin_s: float = 15.0


_EVENTS = """SELECT event_id, deployment_id, trigger_source, start, end FROM events
    WHERE state = 'closed' AND end IS NOT NULL ORDER BY start"""


def export_station(db_path: Path, media_root: Path, out: Path, options: StationExport) -> PackageSummary:
    """Write a Camtrap DP package of the station database at ``db_path`` into ``out``."""
    if not db_path.exists():
        raise ExportError(f"{db_path}: no station database here; check the config's data_dir")
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        events = [e for e in map(dict, conn.execute(_EVENTS)) if _in_range(e, options)]
        observations = _observations(conn, events, options)
        kept = {row["eventID"] for row in observations}
        events = [e for e in events if e["event_id"] in kept]
        _mark_calibration(conn, events, observations, options.walk_test_margin_s)
        deployments = _deployments(conn, events, options)
        media = _media(conn, events, options)
    finally:
        conn.close()
    tables = {"deployments": deployments, "media": media, "observations": observations}
    if options.copy_media:
        _copy_media(media_root, out, media)
    metadata = PackageMetadata(
        title=f"Camera-trap station {options.station_id} ({options.park}, {options.country})",
        project_title=f"{options.park} camera-trap monitoring", acronym=options.park,
        contributors=({"title": f"{options.park} camera-trap team", "role": "contact"},),
        description=f"Exported by trapd from the SQLite store of station {options.station_id}.",
        licenses=package_licenses(options.data_license, options.media_license))
    return write_package(out, tables, metadata)


def _in_range(event: dict, options: StationExport) -> bool:
    start = parse_iso(event["start"])
    return (options.since is None or start >= options.since) and (options.until is None or start < options.until)


def _deployment_id(event: dict, options: StationExport) -> str:
    return event["deployment_id"] or f"{options.station_id}-undeclared"


def _deployments(conn: sqlite3.Connection, events: list[dict], options: StationExport) -> list[Row]:
    declared = {row["deployment_id"]: dict(row) for row in conn.execute("SELECT * FROM deployments")}
    spans: dict[str, list[str]] = {}
    for event in events:
        span = spans.setdefault(_deployment_id(event, options), [event["start"], event["end"]])
        span[0], span[1] = min(span[0], event["start"]), max(span[1], event["end"])
    uncertain = _uncertain_time_deployments(conn, events, options, spans)
    rows, unlocated = [], []
    for deployment_id, (first, last) in sorted(spans.items()):
        known = declared.get(deployment_id, {})
        latitude = known.get("latitude") if known.get("latitude") is not None else options.latitude
        longitude = known.get("longitude") if known.get("longitude") is not None else options.longitude
        if latitude is None or longitude is None:
            unlocated.append(deployment_id)
            continue
        rows.append({"deploymentID": deployment_id, "locationID": options.station_id,
                     "locationName": known.get("location_name") or options.station_id,
                     "latitude": latitude, "longitude": longitude,
                     "coordinateUncertainty": known.get("coordinate_uncertainty_m"),
                     "deploymentStart": parse_iso(known.get("start") or first),
                     "deploymentEnd": parse_iso(known.get("end") or last),
                     "setupBy": known.get("setup_by"), "cameraID": options.station_id,
                     "cameraHeight": known.get("camera_height_m"), "cameraTilt": _whole(known.get("camera_tilt_deg")),
                     "cameraHeading": _whole(known.get("camera_heading_deg")), "habitat": known.get("habitat"),
                     "featureType": known.get("feature_type"), "deploymentGroups": f"park:{options.park}",
                     "timestampIssues": deployment_id in uncertain,
                     "deploymentTags": f"country:{options.country}", "deploymentComments": known.get("comments")})
    if unlocated:
        raise ExportError(f"deployment(s) {', '.join(unlocated)} have no location; record it in the station's "
                          f"deployments or pass --latitude and --longitude")
    return rows


def _uncertain_time_deployments(conn: sqlite3.Connection, events: list[dict], options: StationExport,
                                spans: dict[str, list[str]]) -> set[str]:
    """Deployments whose media times are uncertain: photos an SD-card import dated by their file time (no
    EXIF), or a station clock that had to be corrected while the deployment ran (station_log kind clock)."""
    by_event = {event["event_id"]: _deployment_id(event, options) for event in events}
    uncertain = {by_event[row[0]] for row in conn.execute(
        "SELECT DISTINCT event_id FROM replay_imports WHERE time_source = 'mtime' AND event_id IS NOT NULL")
        if row[0] in by_event}
    corrections = [parse_iso(row[0]) for row in conn.execute("SELECT at FROM station_log WHERE kind = 'clock'")]
    for deployment_id, (first, last) in spans.items():
        if any(parse_iso(first) <= at <= parse_iso(last) for at in corrections):
            uncertain.add(deployment_id)
    return uncertain


def _mark_calibration(conn: sqlite3.Connection, events: list[dict], observations: list[Row], margin_s: float) -> None:
    """Observations of sequences taken while the ranger's walk test was open: cameraSetupType calibration."""
    feeds = sorted(parse_iso(row[0]).timestamp() for row in conn.execute(
        "SELECT at FROM station_log WHERE kind = 'walk_test'"))
    if not feeds:
        return
    calibration = set()
    for event in events:  # a feed entry within [start - margin, end + margin]: bisect, not a scan per event
        start = parse_iso(event["start"]).timestamp() - margin_s
        end = parse_iso(event["end"]).timestamp() + margin_s
        first = bisect.bisect_left(feeds, start)
        if first < len(feeds) and feeds[first] <= end:
            calibration.add(event["event_id"])
    for row in observations:
        if row["eventID"] in calibration:
            row["cameraSetupType"] = "calibration"


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)


def _observations(conn: sqlite3.Connection, events: list[dict], options: StationExport) -> list[Row]:
    by_id = {event["event_id"]: event for event in events}
    rows = []
    for obs in map(dict, conn.execute("SELECT * FROM observations ORDER BY event_id, observation_id")):
        event = by_id.get(obs["event_id"])
        if event is None or (options.species and obs["species_key"] not in options.species):
            continue
        rows.append({"observationID": obs["observation_id"], "deploymentID": _deployment_id(event, options),
                     "eventID": obs["event_id"], "eventStart": parse_iso(event["start"]),
                     "eventEnd": parse_iso(event["end"]), "observationLevel": obs["observation_level"],
                     "observationType": obs["observation_type"], "scientificName": obs["scientific_name"],
                     "count": obs["count"] or None, "classificationMethod": obs["classification_method"],
                     "classifiedBy": obs["classified_by"],
                     "classificationTimestamp": _maybe_time(obs["classification_timestamp"]),
                     "classificationProbability": _probability(obs["classification_probability"]),
                     "observationTags": f"species:{obs['species_key']}" if obs["species_key"] else None})
    return rows + _box_observations(conn, by_id, options)


def _box_observations(conn: sqlite3.Connection, by_id: dict[str, dict], options: StationExport) -> list[Row]:
    """Media-level observations: one per box the detector drew (bbox normalised, top-left origin)."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'frame_detections'").fetchone():
        return []  # a database from before detectors (schema older than migration 7)
    species = catalogue()
    rows = []
    for box in map(dict, conn.execute("SELECT * FROM frame_detections ORDER BY media_id, detection_id")):
        event = by_id.get(box["event_id"])
        if event is None or (options.species and box["species_key"] not in options.species):
            continue
        entry = species.get(box["species_key"])
        kind = entry.kind if entry is not None and entry.kind != "blank" else "unknown"
        rows.append({"observationID": f"{box['media_id']}-box{box['detection_id']}",
                     "deploymentID": _deployment_id(event, options), "mediaID": box["media_id"],
                     "eventID": box["event_id"], "eventStart": parse_iso(event["start"]),
                     "eventEnd": parse_iso(event["end"]), "observationLevel": "media", "observationType": kind,
                     "scientificName": (entry.latin or None) if entry is not None else None, "count": 1,
                     "bboxX": box["box_x"], "bboxY": box["box_y"],
                     "bboxWidth": max(box["box_width"], 1e-4), "bboxHeight": max(box["box_height"], 1e-4),
                     "classificationMethod": "machine", "classifiedBy": box["model"],
                     "classificationProbability": _probability(box["confidence"]),
                     "observationTags": f"species:{box['species_key']}|detector score:{box['score']:.2f}"})
    return rows


def _maybe_time(text: str | None) -> datetime | None:
    return None if not text else parse_iso(text)


def _probability(value: float | None) -> float | None:
    return None if value is None else round(min(max(value, 0.0), 1.0), 4)


def _media(conn: sqlite3.Connection, events: list[dict], options: StationExport) -> list[Row]:
    by_id = {event["event_id"]: event for event in events}
    # privacy looks at every observation of a sequence, also those a species filter left out
    private = {row[0] for row in conn.execute("SELECT DISTINCT event_id FROM observations "
                                              "WHERE observation_type = 'human'")}
    imported = _imported(conn)
    rows = []
    for media in map(dict, conn.execute("SELECT * FROM media ORDER BY timestamp, media_id")):
        event = by_id.get(media["event_id"])
        if event is None:
            continue
        deleted = media["file_deleted_at"]
        source_path, time_source = imported.get(media["media_id"], (None, None))
        comments = [f"file deleted on the station at {deleted} to free space" if deleted else None,
                    "time taken from the file's modification date (the photo has no EXIF DateTimeOriginal)"
                    if time_source == "mtime" else None]
        rows.append({"mediaID": media["media_id"], "deploymentID": _deployment_id(event, options),
                     "captureMethod": "timeLapse" if event["trigger_source"] == "schedule" else "activityDetection",
                     "timestamp": parse_iso(media["timestamp"]), "filePath": f"media/{media['file_path']}",
                     "filePublic": media["event_id"] not in private,
                     "fileName": source_path or Path(media["file_path"]).name,
                     "fileMediatype": media["file_mediatype"],
                     "mediaComments": "; ".join(c for c in comments if c) or None,
                     "_source": media["file_path"]})
    return rows


def _imported(conn: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    """media id -> (path on the imported SD card, "exif" or "mtime") for photos `trapd replay` imported."""
    return {row[0]: (row[1], row[2]) for row in conn.execute(
        "SELECT media_id, source_path, time_source FROM replay_imports WHERE media_id IS NOT NULL")}


def _copy_media(media_root: Path, out: Path, media: list[Row]) -> None:
    """Copy the files of public media beside the tables; people's photos stay on the card."""
    for row in media:
        source = media_root / row["_source"]
        if row["filePublic"] and source.exists():
            target = out / row["filePath"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
