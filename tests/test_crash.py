"""kill -9 of the daemon mid-burst, again and again: after a restart nothing is lost or half-written."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import wait_until
from tests.crash_tools import (
    detection_rows,
    kill_hard,
    media_rows,
    runs_started,
    settled,
    start_daemon,
    stop_daemon,
    store_problems,
    write_station_config,
)
from tests.test_outage import PersistentCentral


def crash_and_recover(tmp_path, *, kills: int, seed: int) -> None:
    rng = random.Random(seed)
    config = write_station_config(tmp_path, capture={"timelapse_s": 0.15})
    db = tmp_path / "data" / "station.db"
    log = tmp_path / "trapd.log"
    for _ in range(kills):
        process = start_daemon(config, log)
        before = media_rows(db)
        wait_until(lambda p=process, n=before: p.poll() is not None or media_rows(db) > n, timeout=30,
                   message="a capture before the kill")
        assert process.poll() is None, log.read_text()[-2000:]
        time.sleep(rng.uniform(0.0, 0.6))  # somewhere mid-burst, mid-write or mid-commit
        kill_hard(process)
    write_station_config(tmp_path, capture={"timelapse_s": 0.0})
    started = runs_started(log)
    process = start_daemon(config, log)
    try:
        # up first: the last kill may have left the store settled already, and a SIGTERM sent before `trapd run`
        # sets its handler kills it (exit -15) instead of stopping it
        wait_until(lambda: process.poll() is not None or runs_started(log) > started, timeout=60, interval=0.1,
                   message=lambda: log.read_text()[-2000:])
        wait_until(lambda: settled(db), timeout=60, interval=0.2, message=lambda: log.read_text()[-2000:])
    finally:
        assert stop_daemon(process) == 0, log.read_text()[-2000:]
    assert media_rows(db) > 0
    assert store_problems(tmp_path / "data") == []


def test_kill_9_mid_burst_loses_nothing(tmp_path):
    crash_and_recover(tmp_path, kills=4, seed=1)


@pytest.mark.slow
def test_kill_9_a_hundred_times(tmp_path):
    crash_and_recover(tmp_path, kills=100, seed=2)


def logged(log, text: str) -> bool:
    return log.exists() and text in log.read_text(errors="replace")


def test_kill_9_mid_publish_then_restart_delivers_everything(tmp_path, broker):
    central = PersistentCentral(broker)
    broker.stop()  # an outage while the station captures: a backlog builds up
    mqtt = {"enabled": True, "port": broker.port, "reconnect_max_s": 1.0}
    config = write_station_config(tmp_path, capture={"timelapse_s": 0.3, "quiet_period_s": 0.05, "burst_frames": 2},
                                  mqtt=mqtt)
    db = tmp_path / "data" / "station.db"
    process = start_daemon(config, tmp_path / "capture.log")
    wait_until(lambda: detection_rows(db) >= 5, message="a backlog of 5 detections")
    assert stop_daemon(process) == 0
    broker.start()
    write_station_config(tmp_path, capture={"timelapse_s": 0.0}, mqtt=mqtt)
    rng = random.Random(5)
    for attempt in range(3):  # killed right after connecting, i.e. in the middle of draining the backlog
        log = tmp_path / f"drain-{attempt}.log"
        process = subprocess_with_info_log(config, log)
        wait_until(lambda path=log: logged(path, "MQTT connected"), interval=0.01, message=log.read_text)
        time.sleep(rng.uniform(0.0, 0.05))
        kill_hard(process)
    final_log = tmp_path / "final.log"
    process = subprocess_with_info_log(config, final_log)
    try:
        wait_until(lambda: logged(final_log, "started"), interval=0.01, message=lambda: final_log.read_text())
        with sqlite3.connect(db) as conn:
            queued = {r[0] for r in conn.execute("SELECT message_id FROM outbox WHERE kind = 'detection'")}
        central.wait_for_ids(queued, timeout=60)
    finally:
        assert stop_daemon(process) == 0
    central.close()
    assert len(queued) >= 5
    assert queued <= central.ids, f"{len(queued - central.ids)} of {len(queued)} detections never arrived"


def subprocess_with_info_log(config, log):
    return subprocess.Popen([sys.executable, "-m", "station", "--log-level", "info", "run", "-c", str(config)],
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)
