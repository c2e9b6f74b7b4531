"""A station started from a real station.toml beside a private Mosquitto, taking remote commands (shared by
tests/test_commands.py and the hostile-input tests)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.publish as publish

from station.config.edit import load_with_fallback
from station.config.file import default_config_text
from station.daemon.app import StationApp
from station.fsutil import write_atomic


def write_station_toml(folder: Path, port: int, station_id: str, **sections: dict) -> Path:
    """A small, fast station.toml (with a technician's comment, which edits must keep) for ``station_id``."""
    base: dict = {"station": {"id": station_id, "data_dir": "data"}, "camera": {"width": 320, "height": 240},
                  "capture": {"burst_frames": 2, "burst_interval_s": 0.02, "quiet_period_s": 0.2},
                  "mqtt": {"port": port, "reconnect_max_s": 1.0, "telemetry_interval_s": 0.0}}
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    path = folder / "station.toml"
    write_atomic(path, ("# the technician's note: antenna faces north\n" + default_config_text(base)).encode())
    return path


@contextmanager
def commanded_station(folder: Path, broker: Any, collector_for: Any,
                      station_id: str) -> Iterator[tuple[StationApp, Any, Any]]:
    """The running station, its broker, and a collector of everything it publishes (its status already in)."""
    app = StationApp(load_with_fallback(write_station_toml(folder, broker.port, station_id)))
    results = collector_for(broker, f"camtrap/v1/{station_id}/#")
    app.start()
    try:
        results.wait_for("/status", 1)
        yield app, broker, results
    finally:
        app.stop()


def send_command(broker: Any, station_id: str, name: str, body: Any) -> None:
    """Publish command ``name`` to the station as the central side would (``body``: bytes, or JSON-able)."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    publish.single(f"camtrap/v1/{station_id}/cmd/{name}", payload, qos=1, hostname=broker.host, port=broker.port)
