"""A station started from a real station.toml with a private Mosquitto, for the hostile-input cases."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.commanded import commanded_station, send_command, write_station_toml

STATION = "hostile-st"
TOPIC = f"camtrap/v1/{STATION}"


def write_config(folder: Path, port: int, **sections: dict) -> Path:
    return write_station_toml(folder, port, STATION, **sections)


@pytest.fixture
def station(tmp_path, broker, collector_for):
    with commanded_station(tmp_path, broker, collector_for, STATION) as running:
        yield running


def send(broker, name: str, body) -> None:
    send_command(broker, STATION, name, body)


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
