"""A station started from a real station.toml with a private Mosquitto, for the hostile-input cases."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import paho.mqtt.publish as publish
import pytest

from station.config.edit import load_with_fallback
from station.config.file import default_config_text
from station.daemon.app import StationApp
from station.fsutil import write_atomic

STATION = "hostile-st"
TOPIC = f"camtrap/v1/{STATION}"


def write_config(folder: Path, port: int, **sections: dict) -> Path:
    base: dict = {"station": {"id": STATION, "data_dir": "data"}, "camera": {"width": 320, "height": 240},
                  "capture": {"burst_frames": 2, "burst_interval_s": 0.02, "quiet_period_s": 0.2},
                  "mqtt": {"port": port, "reconnect_max_s": 1.0, "telemetry_interval_s": 0.0}}
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    path = folder / "station.toml"
    write_atomic(path, ("# the technician's note: antenna faces north\n" + default_config_text(base)).encode())
    return path


@pytest.fixture
def station(tmp_path, broker, collector_for):
    config_path = write_config(tmp_path, broker.port)
    app = StationApp(load_with_fallback(config_path))
    results = collector_for(broker, f"{TOPIC}/#")
    app.start()
    results.wait_for("/status", 1)
    yield app, broker, results
    app.stop()


def send(broker, name: str, body) -> None:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    publish.single(f"{TOPIC}/cmd/{name}", payload, qos=1, hostname=broker.host, port=broker.port)


def ask(broker, results, name: str, args: dict | None = None, timeout: float = 20) -> dict:
    """Send one command and return its reply."""
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    send(broker, name, {"request_id": request_id, "args": args or {}})
    return json.loads(results.wait_for(f"/cmd_result/{request_id}", 1, timeout=timeout)[0][1])


def flood(broker, bodies: list[tuple[str, bytes]]) -> float:
    """Publish every (command, payload) at QoS 1 as fast as the broker takes them; returns the seconds taken."""
    import time

    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(len(bodies))
    client.max_queued_messages_set(0)
    client.connect(broker.host, broker.port)
    client.loop_start()
    started = time.monotonic()
    infos = [client.publish(f"{TOPIC}/cmd/{name}", payload, qos=1) for name, payload in bodies]
    for info in infos:
        info.wait_for_publish(timeout=30)
    took = time.monotonic() - started
    client.disconnect()
    client.loop_stop()
    return took
