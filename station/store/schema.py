"""Ordered schema migrations of the station database. Append only: never edit a released step.

Tables follow Camtrap DP 1.0 (deployments, media, observations, with events as sequences) so that export
is a projection, plus the outbox of messages waiting for an uplink.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE deployments (
        deployment_id TEXT PRIMARY KEY,
        station_id TEXT NOT NULL,
        location_name TEXT,
        latitude REAL,
        longitude REAL,
        camera_height_m REAL,
        camera_heading_deg REAL,
        camera_tilt_deg REAL,
        habitat TEXT,
        feature_type TEXT,
        setup_by TEXT,
        start TEXT NOT NULL,
        end TEXT,
        comments TEXT
    );
    CREATE TABLE events (
        event_id TEXT PRIMARY KEY,
        station_id TEXT NOT NULL,
        deployment_id TEXT,
        trigger_source TEXT NOT NULL,
        start TEXT NOT NULL,
        end TEXT,
        state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
        bursts INTEGER NOT NULL DEFAULT 1,
        model TEXT
    );
    CREATE TABLE media (
        media_id TEXT PRIMARY KEY,
        event_id TEXT NOT NULL REFERENCES events(event_id),
        timestamp TEXT NOT NULL,
        file_path TEXT NOT NULL,
        file_mediatype TEXT NOT NULL DEFAULT 'image/jpeg',
        burst_index INTEGER NOT NULL,
        frame_index INTEGER NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        top_species TEXT,
        top_score REAL,
        scores TEXT,
        file_deleted_at TEXT
    );
    CREATE INDEX media_event ON media(event_id);
    CREATE TABLE observations (
        observation_id TEXT PRIMARY KEY,
        event_id TEXT NOT NULL REFERENCES events(event_id),
        deployment_id TEXT,
        observation_level TEXT NOT NULL DEFAULT 'event',
        observation_type TEXT NOT NULL,
        species_key TEXT,
        species_code INTEGER,
        scientific_name TEXT,
        count INTEGER,
        classification_probability REAL,
        classification_method TEXT NOT NULL DEFAULT 'machine',
        classified_by TEXT,
        classification_timestamp TEXT,
        best_media_id TEXT REFERENCES media(media_id),
        frames_seen INTEGER
    );
    CREATE INDEX observations_event ON observations(event_id);
    CREATE TABLE outbox (
        message_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        priority INTEGER NOT NULL,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        content_type TEXT NOT NULL,
        event_id TEXT,
        created_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        sent_at TEXT,
        dropped_reason TEXT
    );
    CREATE INDEX outbox_pending ON outbox(priority, message_id) WHERE sent_at IS NULL AND dropped_reason IS NULL;
    CREATE TABLE station_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    """,
    # 2: remote commands, remembered by request id so a repeated command is answered, not re-run
    """
    CREATE TABLE commands (
        request_id TEXT PRIMARY KEY,
        command TEXT NOT NULL,
        received_at TEXT NOT NULL,
        ok INTEGER NOT NULL,
        reply_message_id TEXT NOT NULL,
        reply BLOB NOT NULL
    );
    """,
    # 3: LoRa summaries of outbox detections, and small persistent state (LoRa frame counter, airtime)
    """
    ALTER TABLE outbox ADD COLUMN lora_sent_at TEXT;
    ALTER TABLE outbox ADD COLUMN lora_frame INTEGER;
    CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 4: readings of the companion board (battery, solar, temperature, light, its real-time clock)
    """
    CREATE TABLE board_telemetry (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        battery_mv INTEGER,
        solar_mv INTEGER,
        temperature_c REAL,
        lux INTEGER,
        rtc_unix INTEGER,
        reset_cause INTEGER
    );
    """,
    # 5: the ranger's page: a sequence a person marked as wrongly classified, and the GPS accuracy of a
    # deployment's location (Camtrap DP coordinateUncertainty, metres)
    """
    CREATE TABLE event_reviews (
        event_id TEXT PRIMARY KEY REFERENCES events(event_id),
        verdict TEXT NOT NULL CHECK (verdict IN ('wrong')),
        reviewed_at TEXT NOT NULL,
        reviewed_by TEXT
    );
    ALTER TABLE deployments ADD COLUMN coordinate_uncertainty_m INTEGER;
    """,
    # 6: photos imported from a camera trap's SD card by `trapd replay`, one row per file (imported or
    # skipped with its reason), keyed by its path under the imported folder, size and mtime, so that an
    # interrupted import resumes without redoing or duplicating anything
    """
    CREATE TABLE replay_imports (
        source_path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('imported', 'skipped')),
        reason TEXT,
        camera TEXT,
        taken_at TEXT,
        time_source TEXT CHECK (time_source IN ('exif', 'mtime')),
        event_id TEXT REFERENCES events(event_id),
        media_id TEXT REFERENCES media(media_id),
        imported_at TEXT NOT NULL,
        PRIMARY KEY (source_path, size, mtime_ns)
    );
    CREATE INDEX replay_imports_event ON replay_imports(event_id);
    """,
    # 7: MQTT 5 request/response: the correlation data a command's reply echoes back to its requester
    """
    ALTER TABLE outbox ADD COLUMN correlation_data BLOB;
    """,
    # 8: the detector's boxes, one row per box that counted in a frame (normalised x, y, width, height
    # from the top left, as Camtrap DP's bbox), with what the box is and which models said so; the media-level
    # observations of an export are these rows
    """
    CREATE TABLE frame_detections (
        detection_id INTEGER PRIMARY KEY,
        media_id TEXT NOT NULL REFERENCES media(media_id),
        event_id TEXT NOT NULL REFERENCES events(event_id),
        box_x REAL NOT NULL,
        box_y REAL NOT NULL,
        box_width REAL NOT NULL,
        box_height REAL NOT NULL,
        score REAL NOT NULL,
        species_key TEXT NOT NULL,
        confidence REAL NOT NULL,
        classified INTEGER NOT NULL DEFAULT 0,
        model TEXT NOT NULL
    );
    CREATE INDEX frame_detections_media ON frame_detections(media_id);
    CREATE INDEX frame_detections_event ON frame_detections(event_id);
    """,
]
