"""`trapd demo`: a whole simulated station in a temporary folder, from PIR to broker.

It writes a station.toml (the same text `trapd init` writes, with demo timings), starts a private
Mosquitto when one is installed (else it uses ``--broker``, else it shows the outbox queue), subscribes to
the station's topics like the central server would, fires the simulated PIR at a few passing animals, and
reports what was captured, classified, stored and forwarded.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from station.config.file import default_config_text
from station.config.load import load_config
from station.daemon.app import StationApp
from station.devtools.collector import TopicCollector
from station.devtools.mosquitto import PrivateBroker, mosquitto_binary
from station.fsutil import write_atomic
from station.hardware.simulated import SimulatedPIR
from station.pipeline.compose import SequenceRecord
from station.store.outbox import OutboxReader

DEFAULT_PASSERS: tuple[tuple[str, bool], ...] = (
    ("amur_tiger", True), ("sika_deer", False), ("amur_leopard", True), ("human", False),
    ("wild_boar", True), ("blank", False))


@dataclasses.dataclass
class DemoResult:
    workdir: Path
    broker: str | None
    sequences: list[SequenceRecord]
    received: list[tuple[str, bytes]]
    outbox_pending: int
    stats: dict[str, int]


def run_demo(workdir: Path, *, broker: str | None = None, passers=DEFAULT_PASSERS,
             progress: Callable[[str], None] = lambda line: None) -> DemoResult:
    own_broker = PrivateBroker(workdir=workdir / "broker").start() if broker is None and mosquitto_binary() else None
    address = (own_broker.host, own_broker.port) if own_broker else _address(broker)
    if own_broker:
        progress(f"private Mosquitto broker on {own_broker.host}:{own_broker.port}")
    config_path = workdir / "station.toml"
    write_atomic(config_path, default_config_text(_demo_overrides(address)).encode())
    config = load_config(config_path)
    topic = f"{config.mqtt.topic_root}/{config.station.id}/#"
    subscriber = TopicCollector(*address, topic) if address else None
    records: list[SequenceRecord] = []
    finished = threading.Semaphore(0)

    def on_sequence(record: SequenceRecord) -> None:
        records.append(record)
        finished.release()

    app = StationApp(config, on_sequence=on_sequence)
    try:
        app.start()
        pir: SimulatedPIR = app.parts.trigger_source  # type: ignore[assignment]
        for subject, night in passers:
            progress(f"PIR fired: {subject.replace('_', ' ')} walks past ({'night, IR lamp' if night else 'day'})")
            pir.fire(subject, night=night)
            finished.acquire(timeout=30)
        app.wait_idle(30)
        _wait_delivered(app, timeout=10)
    finally:
        app.stop()
        if subscriber:
            time.sleep(0.3)
            subscriber.close()
        if own_broker:
            own_broker.close()
    reader = OutboxReader(app.db_path)
    pending = reader.depth()
    reader.close()
    return DemoResult(workdir=workdir, broker=f"{address[0]}:{address[1]}" if address else None, sequences=records,
                      received=subscriber.messages if subscriber else [], outbox_pending=pending,
                      stats=app.stats.snapshot())


def _demo_overrides(address: tuple[str, int] | None) -> dict:
    host, port = address if address else (None, None)
    return {"station": {"id": "demo-station", "park": "LLNP", "country": "RU", "deployment_id": "demo-deployment"},
            "capture": {"burst_frames": 3, "burst_interval_s": 0.2, "quiet_period_s": 0.5},
            "camera": {"width": 960, "height": 540},
            "mqtt": {"enabled": host is not None, "host": host or "127.0.0.1", "port": port or 1883,
                     "reconnect_max_s": 5.0}}


def _address(broker: str | None) -> tuple[str, int] | None:
    """``host[:port]`` as (host, port); None for no broker."""
    if not broker:
        return None
    host, _, port = broker.rpartition(":")
    return (host or broker), int(port) if port.isdigit() else 1883


def _wait_delivered(app: StationApp, timeout: float) -> None:
    if app.parts.uplink is None:
        return
    deadline = time.monotonic() + timeout
    reader = OutboxReader(app.db_path)
    try:
        while reader.depth() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        reader.close()


def summarise_payload(payload: bytes) -> str:
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return f"{len(payload)} bytes (binary)"
    if "detections" in data:
        seen = ", ".join(f"{d['species']} {d['confidence']:.2f}" for d in data["detections"]) or "empty"
        models = data.get("models") or [data.get("model") or {}]
        by = " + ".join(f"{m.get('name', '?')} {m.get('version', '')}".strip() for m in models)
        return f"detection {data['id'][:13]}…: {seen} (by {by})"
    return f"{data.get('schema', '?')}: {data.get('state', '')}"
