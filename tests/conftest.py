"""Shared fixtures: a private Mosquitto per test, and station configs on the simulated hardware."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import pytest

from station.daemon.app import StationApp
from station.config.models import StationConfig
from station.config.load import validate_config
from station.devtools.collector import TopicCollector
from station.devtools.mosquitto import PrivateBroker

ROOT = Path(__file__).resolve().parents[1]
SHARED_MODELS = ROOT.parent / "shared" / "models"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    """A private broker on a free loopback port; tests may stop and restart it."""
    with PrivateBroker(workdir=tmp_path / "broker") as running:
        yield running


def make_config(data_dir: Path, *, broker: PrivateBroker | None = None, **sections: dict) -> StationConfig:
    raw: dict = {
        "station": {"id": "test-station", "data_dir": str(data_dir), "deployment_id": "dep-1"},
        "hardware": {"camera": "simulated", "trigger": "simulated", "illuminator": "simulated"},
        "camera": {"width": 320, "height": 240},
        "capture": {"burst_frames": 2, "burst_interval_s": 0.02, "quiet_period_s": 0.3},
        "mqtt": {"enabled": broker is not None, "port": broker.port if broker else 1, "reconnect_max_s": 1.0},
    }
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return validate_config(raw, source="test", base_dir=data_dir)


@contextlib.contextmanager
def running_station(config: StationConfig, **kwargs) -> Iterator[StationApp]:
    app = StationApp(config, **kwargs)
    app.start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture
def collector_for():
    made: list[TopicCollector] = []

    def make(broker: PrivateBroker, topic: str = "camtrap/v1/#") -> TopicCollector:
        collector = TopicCollector(broker.host, broker.port, topic)
        made.append(collector)
        return collector

    yield make
    for collector in made:
        collector.close()
