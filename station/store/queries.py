"""Read-only questions people ask of a station's database (status, detection lists, exports)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from station.errors import StoreError
from station.lora.budget import DutyCycleBudget
from station.store.db import connect
from station.store.outbox import pending_by_kind


def _open(db_path: Path):
    if not db_path.is_file():
        raise StoreError(f"{db_path}: no station database yet; start the station with `trapd run` first")
    return connect(db_path, readonly=True)


def status_summary(db_path: Path, media_root: Path, *, last: int = 5) -> dict:
    """Last sequences, detections per species, outbox depth by kind, disk use."""
    db = _open(db_path)
    try:
        last_sequences = list(db.query(
            "SELECT e.event_id, e.start, e.end, e.state, e.trigger_source, "
            "  (SELECT count(*) FROM media m WHERE m.event_id = e.event_id) AS frames, "
            "  (SELECT group_concat(coalesce(o.species_key, o.observation_type), ', ') FROM observations o "
            "   WHERE o.event_id = e.event_id) AS seen "
            "FROM events e ORDER BY e.start DESC LIMIT ?", [last]))
        per_species = {row["species"]: row["n"] for row in db.query(
            "SELECT coalesce(species_key, observation_type) AS species, count(*) AS n FROM observations "
            "GROUP BY 1 ORDER BY 2 DESC, 1")}
        outbox = pending_by_kind(db.conn)
        sent = db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL").fetchone()[0]
        models = {row["model"]: row["n"] for row in db.query(
            "SELECT model, count(*) AS n FROM events WHERE model IS NOT NULL GROUP BY model ORDER BY 2 DESC")}
        lora_state = db.execute("SELECT value FROM kv WHERE key = 'lora_budget'").fetchone()
        lora_frames = db.execute("SELECT count(DISTINCT lora_frame), count(*) FROM outbox "
                                 "WHERE lora_sent_at IS NOT NULL").fetchone()
        clock_refused = db.execute("SELECT count(*), (SELECT detail FROM station_log WHERE kind = 'clock_rejected' "
                                   "ORDER BY rowid DESC LIMIT 1) FROM station_log WHERE kind = 'clock_rejected'"
                                   ).fetchone()
        totals = db.execute("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM media), "
                            "(SELECT coalesce(sum(bytes), 0) FROM media WHERE file_deleted_at IS NULL)").fetchone()
    finally:
        db.conn.close()
    usage = shutil.disk_usage(media_root if media_root.exists() else db_path.parent)
    return {"sequences": totals[0], "media": totals[1], "media_bytes": totals[2],
            "last_sequences": last_sequences, "detections_per_species": per_species,
            "outbox_pending": outbox, "outbox_sent": sent, "models": models,
            "disk_free_bytes": usage.free, "disk_total_bytes": usage.total,
            "database_bytes": db_path.stat().st_size,
            "clock_rtc_rejected": clock_refused[0], "clock_last_rejected": clock_refused[1],
            "lora": _lora_budget(lora_state[0]) | {"detection_frames": lora_frames[0],
                                                   "summarised_sequences": lora_frames[1]} if lora_state else None}


def _lora_budget(saved: str) -> dict:
    """Airtime left in the current window, from the ledger the LoRa uplink persists."""
    return DutyCycleBudget.from_dict(json.loads(saved)).status()


def list_detections(db_path: Path, *, limit: int | None = None, species: str | None = None) -> list[dict]:
    """Observations with their sequence times, newest first (blank sequences excluded)."""
    sql = ("SELECT o.observation_id, o.event_id AS sequence_id, e.start, e.end, o.species_key AS species, "
           "o.scientific_name, o.observation_type, o.classification_probability AS confidence, o.count, "
           "o.best_media_id, m.file_path AS best_media_path, o.classified_by "
           "FROM observations o JOIN events e ON e.event_id = o.event_id "
           "LEFT JOIN media m ON m.media_id = o.best_media_id "
           "WHERE o.observation_type != 'blank'")
    params: list = []
    if species:
        sql += " AND o.species_key = ?"
        params.append(species)
    sql += " ORDER BY e.start DESC, o.classification_probability DESC"
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    db = _open(db_path)
    try:
        return list(db.query(sql, params))
    finally:
        db.conn.close()
