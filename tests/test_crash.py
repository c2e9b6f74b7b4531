"""kill -9 of the daemon mid-burst, again and again: after a restart nothing is lost or half-written."""

from __future__ import annotations

import random
import time

import pytest

from tests.crash_tools import (kill_hard, media_rows, start_daemon, stop_daemon, store_problems, wait_settled,
                               write_station_config)


def crash_and_recover(tmp_path, *, kills: int, seed: int) -> None:
    rng = random.Random(seed)
    config = write_station_config(tmp_path, capture={"timelapse_s": 0.15})
    db = tmp_path / "data" / "station.db"
    log = tmp_path / "trapd.log"
    for _ in range(kills):
        process = start_daemon(config, log)
        before = media_rows(db)
        for _ in range(200):  # let it capture something before the kill
            if process.poll() is not None or media_rows(db) > before:
                break
            time.sleep(0.05)
        assert process.poll() is None, log.read_text()[-2000:]
        time.sleep(rng.uniform(0.0, 0.6))  # somewhere mid-burst, mid-write or mid-commit
        kill_hard(process)
    write_station_config(tmp_path, capture={"timelapse_s": 0.0})
    process = start_daemon(config, log)
    try:
        assert wait_settled(db), log.read_text()[-2000:]
    finally:
        assert stop_daemon(process) == 0, log.read_text()[-2000:]
    assert media_rows(db) > 0
    assert store_problems(tmp_path / "data") == []


def test_kill_9_mid_burst_loses_nothing(tmp_path):
    crash_and_recover(tmp_path, kills=4, seed=1)


@pytest.mark.slow
def test_kill_9_a_hundred_times(tmp_path):
    crash_and_recover(tmp_path, kills=100, seed=2)
