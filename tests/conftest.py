"""Shared fixtures: a private Mosquitto per test, station configs on the simulated hardware, the one way a
test waits for something (``wait_until``), and the command tree of ``trapd``."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import click
import pytest

from station.config.load import validate_config
from station.config.models import StationConfig
from station.daemon.app import StationApp
from station.devtools.collector import TopicCollector
from station.devtools.mosquitto import PrivateBroker

ROOT = Path(__file__).resolve().parents[1]
PI_TEMPLATE = ROOT / "deploy" / "image" / "station.pi.toml"  # the Pi image's station.toml
SHARED_MODELS = ROOT.parent / "shared" / "models"

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05,
               message: str | Callable[[], str] = "the condition") -> T:
    """Call ``predicate`` until it returns something truthy, and return that value.

    After ``timeout`` seconds the test fails, naming ``message`` (a callable is asked only then, e.g. for the
    tail of a log) and the last value seen. Tests wait with this, never with a bare sleep before an assert.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"waited {timeout:g} s for {text}; last value: {value!r}")
        time.sleep(interval)


def all_commands(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
    """Every command under ``group``, depth first, with its full name (``trapd central ingest`` …)."""
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        found.append((f"{prefix} {name}", command))
        if isinstance(command, click.Group):
            found += all_commands(command, f"{prefix} {name}")
    return found


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


@pytest.fixture
def station_etc(tmp_path: Path) -> Path:
    """The Pi image's station.toml installed as /etc/trapd/station.toml under ``tmp_path``."""
    path = tmp_path / "etc" / "trapd" / "station.toml"
    path.parent.mkdir(parents=True)
    shutil.copy(PI_TEMPLATE, path)
    return path
