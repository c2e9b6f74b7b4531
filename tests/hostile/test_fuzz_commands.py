"""The standing hostile-input suite, command side: generated command payloads against a running station.

Every payload, whatever it holds, gets exactly one reply in the outbox (ok or not), and the command thread
and the station stay healthy. Runs the real command worker of a StationApp (no broker needed: replies are
committed to the outbox, which is what a broker would then carry)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.config.file import default_config_text
from station.config.load import load_config
from station.daemon.app import StationApp
from station.wire.messages import CommandRequest
from tests.conftest import wait_until

NAMES = ["capture", "status", "telemetry", "config_set", "send_media", "model_reload"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)
args = st.one_of(
    st.fixed_dictionaries({"key": st.text(max_size=30) | st.sampled_from(["capture.burst_frames", "station.id",
                                                                          "storage.min_free_mb"]),
                           "value": json_values}),
    st.fixed_dictionaries({"subject": json_values}), st.fixed_dictionaries({"card": json_values}),
    st.fixed_dictionaries({"media_id": json_values}), st.dictionaries(st.text(max_size=10), json_values, max_size=3))
requests = st.fixed_dictionaries({"request_id": st.from_regex(r"\Afz-[A-Za-z0-9]{8,20}\Z") | st.text(max_size=70),
                                  "args": args | json_values})
payloads = st.one_of(requests.map(lambda r: json.dumps(r).encode()), st.binary(max_size=300),
                     json_values.map(lambda v: json.dumps(v).encode()))


@pytest.fixture(scope="module")
def quiet_station(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-commands")
    path = folder / "station.toml"
    path.write_text(default_config_text({"station": {"id": "fuzz-cmd", "data_dir": "data"},
                                         "mqtt": {"enabled": False}, "camera": {"width": 320, "height": 240},
                                         "capture": {"burst_frames": 1, "burst_interval_s": 0.0}}))
    app = StationApp(load_config(path))
    app.start()
    yield app
    app.stop()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(name=st.sampled_from(NAMES) | st.text(max_size=40), payload=payloads)
def test_every_generated_command_is_answered_once_and_nothing_dies(quiet_station, name, payload):
    app = quiet_station
    before = app.parts.commands.answered
    seen_before = _repeat(app, payload)
    app.parts.commands.submit(name, payload)
    if not seen_before:
        wait_until(lambda: app.parts.commands.answered != before, timeout=10, interval=0.005, message="an answer")
    assert app.parts.commands.answered == before + (0 if seen_before else 1)
    assert app.parts.commands.alive() and app.parts.capture.alive() and app.healthy(), "a worker died"
    assert app.fatal is None


def _repeat(app: StationApp, payload: bytes) -> bool:
    """A valid request whose id was answered before is answered again from the store (not counted as a new
    reply); a payload refused before validation gets a new refusal even when its id was seen."""
    try:
        request_id = CommandRequest.model_validate_json(payload).request_id
    except Exception:
        return False
    with sqlite3.connect(app.db_path) as conn:
        return conn.execute("SELECT 1 FROM commands WHERE request_id = ?", [str(request_id)]).fetchone() is not None
