"""Ordered PostgreSQL migrations of the central store. Append only: never edit a released step.

Tables follow Camtrap DP where they can (deployments, events, media, observations) so export is a
projection. ``observations`` carries the LoRa join key (station, species code, sequence start second) as a
unique constraint: a LoRa summary and the full record of the same detection are one row whichever arrives
first. ``telemetry`` is partitioned by month (the largest table by far: one row per station every few
minutes); partitions are created on demand by ``db.ensure_telemetry_partitions``.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE parks (
        park_id text PRIMARY KEY,
        country text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
        name text
    );
    CREATE TABLE stations (
        station_id text PRIMARY KEY,
        park_id text REFERENCES parks (park_id),
        location_name text,
        latitude double precision CHECK (latitude BETWEEN -90 AND 90),
        longitude double precision CHECK (longitude BETWEEN -180 AND 180),
        dev_eui text UNIQUE,
        current_deployment_id text,
        state text,
        state_at timestamptz,
        registered boolean NOT NULL DEFAULT false
    );
    CREATE TABLE deployments (
        deployment_id text PRIMARY KEY,
        station_id text NOT NULL REFERENCES stations (station_id),
        location_name text,
        latitude double precision,
        longitude double precision,
        camera_height_m double precision,
        camera_heading_deg double precision,
        camera_tilt_deg double precision,
        habitat text,
        feature_type text,
        setup_by text,
        start_at timestamptz,
        end_at timestamptz,
        comments text
    );
    CREATE TABLE events (
        event_id text PRIMARY KEY,
        message_id text NOT NULL,
        station_id text NOT NULL REFERENCES stations (station_id),
        deployment_id text NOT NULL REFERENCES deployments (deployment_id),
        start_at timestamptz NOT NULL,
        end_at timestamptz NOT NULL,
        trigger text NOT NULL,
        frames integer NOT NULL,
        empty boolean NOT NULL,
        model text,
        received_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX events_station_start ON events (station_id, start_at);
    CREATE TABLE individuals (
        individual_id text PRIMARY KEY,
        species_key text NOT NULL,
        name text,
        sex text CHECK (sex IN ('female', 'male')),
        notes text,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE observations (
        observation_id text PRIMARY KEY,
        event_id text NOT NULL,
        station_id text NOT NULL REFERENCES stations (station_id),
        deployment_id text NOT NULL REFERENCES deployments (deployment_id),
        event_start timestamptz NOT NULL,
        event_end timestamptz NOT NULL,
        start_second bigint NOT NULL,
        observation_type text NOT NULL,
        species_key text,
        species_code integer NOT NULL,
        scientific_name text,
        count integer,
        confidence double precision,
        frames_seen integer,
        best_media_id text,
        classified_by text,
        individual_id text REFERENCES individuals (individual_id),
        source text NOT NULL CHECK (source IN ('station', 'lora')),
        lora_frame integer,
        lora_received_at timestamptz,
        CONSTRAINT observations_join_key UNIQUE (station_id, species_code, start_second)
    );
    CREATE INDEX observations_start ON observations (event_start);
    CREATE INDEX observations_individual ON observations (individual_id) WHERE individual_id IS NOT NULL;
    CREATE TABLE media (
        media_id text PRIMARY KEY,
        station_id text NOT NULL REFERENCES stations (station_id),
        event_id text,
        captured_at timestamptz,
        content_type text,
        thumbnail bytea,
        received_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX media_event ON media (event_id);
    CREATE TABLE lora_uplinks (
        uplink_id text PRIMARY KEY,
        station_id text NOT NULL REFERENCES stations (station_id),
        dev_eui text NOT NULL,
        f_cnt bigint,
        frame_sequence integer NOT NULL,
        frame_type text NOT NULL,
        detections integer NOT NULL DEFAULT 0,
        payload bytea NOT NULL,
        received_at timestamptz NOT NULL
    );
    CREATE INDEX lora_uplinks_station ON lora_uplinks (station_id, received_at);
    CREATE TABLE telemetry (
        message_id text NOT NULL,
        station_id text NOT NULL,
        at timestamptz NOT NULL,
        source text NOT NULL CHECK (source IN ('station', 'lora')),
        battery_mv integer,
        solar_mv integer,
        temperature_c double precision,
        disk_free_mb bigint,
        disk_total_mb bigint,
        storage_used_pct integer,
        outbox_pending integer,
        reset_cause text,
        detail jsonb,
        PRIMARY KEY (message_id, at)
    ) PARTITION BY RANGE (at);
    CREATE INDEX telemetry_station_at ON telemetry (station_id, at);
    CREATE TABLE alerts (
        alert_id text PRIMARY KEY,
        alert_key text NOT NULL UNIQUE,
        kind text NOT NULL CHECK (kind IN ('conflict', 'ranger')),
        level integer,
        station_id text NOT NULL,
        species_key text NOT NULL,
        event_id text NOT NULL,
        observed_at timestamptz NOT NULL,
        raised_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        payload jsonb NOT NULL
    );
    CREATE INDEX alerts_unpublished ON alerts (raised_at) WHERE published_at IS NULL;
    CREATE TABLE dead_letters (
        id bigserial PRIMARY KEY,
        received_at timestamptz NOT NULL DEFAULT now(),
        topic text NOT NULL,
        payload bytea NOT NULL,
        reason text NOT NULL,
        worker text
    );
    """,
    # 2: the cross-border catalogue of individuals (station/central/catalogue.py)
    """
    ALTER TABLE individuals ADD COLUMN merged_into text REFERENCES individuals (individual_id);
    ALTER TABLE observations ADD COLUMN life_stage text CHECK (life_stage IN ('adult', 'subadult', 'juvenile'));
    ALTER TABLE observations ADD COLUMN sex text CHECK (sex IN ('female', 'male'));
    CREATE TABLE catalogue_codes (
        country text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
        code text NOT NULL,
        individual_id text NOT NULL REFERENCES individuals (individual_id),
        park_id text,
        claimed_by text NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (country, code, individual_id)
    );
    CREATE TABLE individual_decisions (
        decision_id bigserial PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('import', 'claim', 'merge', 'split')),
        individual_id text NOT NULL,
        other_id text,
        decided_by text NOT NULL,
        decided_at timestamptz NOT NULL DEFAULT now(),
        reason text NOT NULL,
        detail jsonb NOT NULL DEFAULT '{}'
    );
    CREATE INDEX individual_decisions_individual ON individual_decisions (individual_id);
    """,
    # 3: the detector's best box of each detection (detection/1.1 `box`: x, y, width, height, normalised from
    # the top left, on best_media_id); exported as a media-level Camtrap DP observation beside the event one
    """
    ALTER TABLE observations ADD COLUMN box double precision[];
    """,
    # 4: provisional alerts (alert/1.0 from a station before its sequence closes), confirmed or withdrawn by
    # the full record of the same sequence
    """
    ALTER TABLE alerts ADD COLUMN confirmed_at timestamptz;
    ALTER TABLE alerts ADD COLUMN withdrawn_at timestamptz;
    """,
]
