"""Link policy: LoRa carries priority summaries only while MQTT is down; MQTT then brings the full records."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest

from station.devtools.mosquitto import free_port
from station.lora.link import LoRaLink
from station.wire.lora_codec import DetectionFrame, RequestStatus, StatusFrame, decode_uplink, encode_downlink
from tests.conftest import make_config, running_station, wait_until

LORA = {"enabled": True, "modem": "simulated", "region": "RU864", "mqtt_grace_s": 0.0, "status_interval_s": 3600}


def wait_uplinks(simulator, count: int, timeout: float = 20.0) -> list:
    wait_until(lambda: len(simulator.uplinks) >= count, timeout=timeout, message=f"{count} LoRa uplink(s)")
    return list(simulator.uplinks)


class LinkClock:
    """The LoRa link's ``clock=``: the wall clock plus what the test has advanced it by. It counts the reads of
    the link's own worker, which reads the clock first thing in every step of its policy."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.worker_reads = 0

    def __call__(self) -> float:
        if threading.current_thread().name == "uplink-lora":
            self.worker_reads += 1
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def link_clock(monkeypatch) -> LinkClock:
    """Every LoRaLink the station builds gets this clock through its ``clock=`` parameter."""
    clock = LinkClock()
    build = LoRaLink.__init__

    def with_clock(self, **kwargs) -> None:
        build(self, **{**kwargs, "clock": clock})

    monkeypatch.setattr(LoRaLink, "__init__", with_clock)
    return clock


def lora_done(db, kind: str) -> bool:
    """Every ``kind`` row of the outbox is done for LoRa (summarised, or known to add nothing)."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) > 0 AND count(*) = count(lora_sent_at) FROM outbox WHERE kind = ?",
                            [kind]).fetchone()[0] == 1


def summarised_codes(simulator) -> list[int]:
    frames = [decode_uplink(u.payload) for u in list(simulator.uplinks)]
    return sorted(d.species_code for f in frames if isinstance(f, DetectionFrame) for d in f.detections)


def test_priority_detections_go_over_lora_while_mqtt_is_down(tmp_path):
    config = make_config(tmp_path / "data", lora=LORA,
                         mqtt={"enabled": True, "port": free_port(), "reconnect_max_s": 1.0})
    with running_station(config) as app:
        simulator = app.parts.lora.modem.simulator
        for subject in ("amur_tiger", "sika_deer", "human"):
            app.parts.trigger_source.fire(subject)
            assert app.wait_idle(30)
        uplinks = wait_uplinks(simulator, 2)
        # The deer was queued before the human, and a step sends every pending summary that fits: had the deer
        # been picked, it would have gone no later than the human's summary. Leaving the block stops (joins)
        # the LoRa worker, so no uplink is in flight when they are read below.
        wait_until(lambda: {1, 2} <= set(summarised_codes(simulator)), message="the human's and the tiger's summary")
    frames = [decode_uplink(u.payload) for u in simulator.uplinks]
    status = [f for f in frames if isinstance(f, StatusFrame)]
    detections = [d for f in frames if isinstance(f, DetectionFrame) for d in f.detections]
    assert status, "a status frame goes out when MQTT is down"
    assert sorted(d.species_code for d in detections) == [1, 2]  # human and tiger; the deer waits for MQTT
    with sqlite3.connect(app.db_path) as conn:
        rows = conn.execute("SELECT payload, lora_frame FROM outbox WHERE lora_sent_at IS NOT NULL").fetchall()
    starts = {int(time.mktime(time.strptime(json.loads(p)["start"][:19], "%Y-%m-%dT%H:%M:%S"))) - time.timezone
              for p, _ in rows}
    assert {d.at for d in detections} == starts  # the join key the central side uses: species + start second
    assert uplinks[0].port == 10


def test_lora_stays_silent_while_mqtt_is_up(tmp_path, broker, link_clock):
    # a grace period longer than the MQTT connect at start-up, as in the field (default 300 s)
    config = make_config(tmp_path / "data", broker=broker, lora={**LORA, "mqtt_grace_s": 10.0})
    with running_station(config) as app:
        simulator = app.parts.lora.modem.simulator
        app.parts.trigger_source.fire("amur_tiger")
        assert app.wait_idle(30)
        assert app.parts.uplink.connected
        # An hour later by the link's clock: were MQTT taken for down, the grace would be long over and a
        # status frame due. Wait for the worker to take a step after that (the step is where it would send);
        # leaving the block stops (joins) the worker, so that step has finished when the uplinks are read.
        link_clock.advance(3600)
        reads = link_clock.worker_reads
        app.parts.lora.notify()
        wait_until(lambda: link_clock.worker_reads > reads, message="a LoRa step after the notify")
    assert simulator.uplinks == []


def test_duty_cycle_refusal_and_status_request_downlink(tmp_path, link_clock):
    config = make_config(tmp_path / "data", lora=LORA,
                         mqtt={"enabled": True, "port": free_port(), "reconnect_max_s": 1.0})
    with running_station(config) as app:
        simulator = app.parts.lora.modem.simulator
        wait_uplinks(simulator, 1)  # the first status frame
        simulator.duty_cycle_refuse_next()
        app.parts.trigger_source.fire("amur_leopard")
        assert app.wait_idle(30)
        wait_until(lambda: app.stats.get("lora_send_failures") >= 1, message="the refused uplink counted")
        simulator.queue_downlink(20, encode_downlink(RequestStatus()))
        link_clock.advance(3600)  # an hour later: the next status is due
        app.parts.lora.notify()
        uplinks = wait_uplinks(simulator, 3, timeout=30)
    kinds = [type(decode_uplink(u.payload)).__name__ for u in uplinks]
    assert kinds.count("StatusFrame") >= 2 and "DetectionFrame" in kinds


def test_status_shows_the_remaining_lora_airtime(tmp_path):
    from click.testing import CliRunner

    from station.cli.main import main
    from station.config.file import default_config_text

    config = make_config(tmp_path / "data", lora=LORA,
                         mqtt={"enabled": True, "port": free_port(), "reconnect_max_s": 1.0})
    with running_station(config) as app:
        wait_uplinks(app.parts.lora.modem.simulator, 1)
    (tmp_path / "station.toml").write_text(default_config_text({"station": {"data_dir": str(tmp_path / "data")}}))
    result = CliRunner().invoke(main, ["status", "-c", str(tmp_path / "station.toml"), "--json"])
    lora = json.loads(result.output)["lora"]
    assert lora["region"] == "RU864" and 0 < lora["remaining_s"] < lora["allowance_s"] == 36.0


def test_a_person_alert_goes_over_lora_before_the_sequence_closes(tmp_path):
    config = make_config(tmp_path / "data", lora=LORA, capture={"quiet_period_s": 8.0},
                         mqtt={"enabled": True, "port": free_port(), "reconnect_max_s": 1.0})
    with running_station(config) as app:
        simulator = app.parts.lora.modem.simulator
        app.parts.trigger_source.fire("human")
        wait_until(lambda: summarised_codes(simulator), timeout=20, message="a detection summary over LoRa")
        assert app.stats.get("sequences_closed") == 0  # still open: this is the provisional alert
        assert app.wait_idle(30)
        # The full record is marked done for LoRa in the same step that would otherwise summarise it again,
        # after any such uplink: once it is marked, every uplink it could cause has been made.
        wait_until(lambda: lora_done(app.db_path, "detection"), message="the full record done for LoRa")
        frames = [decode_uplink(u.payload) for u in simulator.uplinks]
    people = [d for f in frames if isinstance(f, DetectionFrame) for d in f.detections]
    assert [d.species_code for d in people] == [1]  # the full record adds nothing the alert did not say
    with sqlite3.connect(app.db_path) as conn:
        kinds = dict(conn.execute("SELECT kind, lora_sent_at IS NOT NULL FROM outbox "
                                  "WHERE kind IN ('alert', 'detection')"))
    assert kinds == {"alert": 1, "detection": 1}  # both done for LoRa; MQTT still owes them (sent_at is NULL)
