"""Implausible clock readings and absurd frames from the companion board (issue 14, item 16).

Over a pty with the simulated board speaking the real protocol: a valid-CRC telemetry frame carrying
``rtc_unix = 0xFFFFFFFF`` (2106) and then 946684800 (2000) must not move the station's clock; the refusals are
in ``station_log`` and counted in telemetry; sequences are stored with today's date. Then hypothesis sends
serial garbage and valid-CRC frames with absurd fields: the station stays healthy and its clock stays put.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge import protocol as p
from firmware_bridge import wire
from firmware_bridge.protocol import SetTime, encode_frame
from station.cli.format import print_status
from station.daemon import clock
from station.daemon.clock import BUILD_UNIX, MAX_AHEAD_S, MAX_RUN_DRIFT_S, ClockGuard, load_trusted_unix
from station.store.queries import status_summary
from station.wire import ids
from tests.conftest import make_config, running_station, wait_until

BOARD = {"hardware": {"trigger": "bridge", "illuminator": "bridge"},
         "bridge": {"port": "simulated", "kick_interval_s": 1.0, "simulated_telemetry_s": 3600}}


@pytest.fixture(autouse=True)
def without_ntp(monkeypatch):
    monkeypatch.setattr("station.daemon.clock.system_clock_synchronised", lambda: False)  # the worst case: no NTP
    yield
    ids.set_clock_offset(0.0)


def rows(db, sql: str) -> list:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def board_says(app, rtc_unix: int) -> None:
    """Set the board's RTC over the bridge and have it report telemetry; wait until the station has it."""
    app.parts.companion.bridge.send_command(SetTime(unix=rtc_unix))
    before = app.board.get("received_unix")
    app.parts.companion.simulator.send_telemetry()
    assert wait_until(lambda: app.board.get("received_unix") != before and app.board.get("rtc_unix") == rtc_unix)


def test_absurd_rtc_times_are_refused_recorded_and_the_clock_stays(tmp_path):
    with running_station(make_config(tmp_path / "data", **BOARD)) as app:
        board_says(app, 0xFFFF_FFFF)  # 2106
        board_says(app, 946_684_800)  # 2000-01-01: an RTC that lost its battery
        assert wait_until(lambda: app.stats.get("clock_rtc_rejected") == 2)
        assert ids.clock_offset() == 0.0 and app.stats.get("clock_jumps") == 0
        app.parts.companion.simulator.fire_pir(0)
        assert wait_until(lambda: app.stats.get("sequences_opened") == 1)
        assert app.wait_idle(30)
        app.enqueue_telemetry()
        assert app.wait_idle(10)
    refused = rows(app.db_path, "SELECT detail FROM station_log WHERE kind = 'clock_rejected' ORDER BY rowid")
    assert [r[0].split(" (")[0] for r in refused] == ["board RTC reading 4294967295", "board RTC reading 946684800"]
    assert "2106-02-07" in refused[0][0] and "lost its time" in refused[1][0]
    year = datetime.now(UTC).year
    assert [r[0][:4] for r in rows(app.db_path, "SELECT start FROM events")] == [str(year)]
    telemetry = rows(app.db_path, "SELECT payload FROM outbox WHERE kind = 'telemetry'")
    assert json.loads(telemetry[-1][0])["counters"]["clock_rtc_rejected"] == 2
    shown: list[str] = []  # what `trapd status` prints
    print_status(status_summary(app.db_path, app.media.root), echo=shown.append)
    assert any(line.startswith("clock: 2 board RTC readings refused; last: board RTC reading 946684800")
               for line in shown), shown


def test_a_plausible_rtc_still_sets_the_time_then_a_wild_one_is_refused_and_the_trust_survives_a_restart(tmp_path):
    config = make_config(tmp_path / "data", **BOARD)
    with running_station(config) as app:
        board_says(app, int(time.time()) + 7200)  # the Pi booted two hours slow: the RTC is believed
        assert wait_until(lambda: app.stats.get("clock_jumps") == 1) and 7100 < ids.clock_offset() < 7300
        board_says(app, int(time.time()) + 7200 + 3 * 86400)  # three days off within one run: refused
        assert wait_until(lambda: app.stats.get("clock_rtc_rejected") == 1) and 7100 < ids.clock_offset() < 7300
        assert app.wait_idle(10)
    saved = load_trusted_unix(app.db_path)
    assert saved is not None and abs(saved - (time.time() + 7200)) < 120


def test_the_guard_without_ntp_on_a_fake_clock():
    now = [1000.0]
    guard = ClockGuard(tolerance_s=5, trusted_unix=BUILD_UNIX + 86400, monotonic=lambda: now[0],
                       synchronised=lambda: False)
    system = BUILD_UNIX + 86400.0
    before = guard.check(BUILD_UNIX + 3600, received_unix=system)  # before the time saved by the last run
    assert before is not None and before.kind == "clock_rejected" and "last trusted" in before.detail
    ahead = guard.check(BUILD_UNIX + 86400 + MAX_AHEAD_S + 10, received_unix=system)
    assert ahead is not None and ahead.counter == "clock_rtc_rejected" and ids.clock_offset() == 0.0
    moved = guard.check(BUILD_UNIX + 30 * 86400, received_unix=system)  # off for a month: plausible
    assert moved is not None and moved.counter == "clock_jumps" and ids.clock_offset() == 29 * 86400
    now[0] += 600  # ten minutes later by the monotonic clock
    assert guard.check(BUILD_UNIX + 30 * 86400 + 600, received_unix=system + 600) is None
    assert guard.trusted_unix() == BUILD_UNIX + 30 * 86400 + 600
    wild = guard.check(int(BUILD_UNIX + 30 * 86400 + 600 + MAX_RUN_DRIFT_S + 1), received_unix=system + 600)
    assert wild is not None and wild.kind == "clock_rejected" and ids.clock_offset() == 29 * 86400
    assert guard.check(0, received_unix=system + 600) is None  # a board whose clock was never set


def test_once_ntp_is_in_charge_the_offset_taken_from_the_rtc_is_dropped():
    synced = [False]
    guard = ClockGuard(tolerance_s=5, synchronised=lambda: synced[0])
    system = BUILD_UNIX + 86400.0  # the Pi booted two hours slow, the RTC is right
    assert guard.check(int(system + 7200), received_unix=system).counter == "clock_jumps"
    assert ids.clock_offset() == 7200
    synced[0] = True  # the network came back and NTP stepped the system clock by the same two hours
    dropped = guard.check(int(system + 7260), received_unix=system + 7260)
    assert dropped is not None and "offset of +7200.0 s from the RTC dropped" in dropped.detail
    assert ids.clock_offset() == 0.0
    assert guard.check(int(system + 7320), received_unix=system + 7320) is None


def test_the_build_date_is_a_real_past_day_in_the_code():
    assert BUILD_UNIX % 86400 == 0 and BUILD_UNIX <= time.time()
    assert "BUILD_UNIX = " in clock.__loader__.get_source(clock.__name__)  # a constant, not a file's mtime


# -- hypothesis: garbage and valid-CRC frames with absurd fields against the running station --------------------
u16, u32 = st.integers(0, 0xFFFF), st.integers(0, 0xFFFF_FFFF)
far_from_now = u32.filter(lambda rtc: rtc == 0 or abs(rtc - time.time()) > MAX_RUN_DRIFT_S + 60)
absurd_telemetry = st.builds(p.Telemetry, u16, u16, st.integers(-0x8000, 0x7FFF), u32, far_from_now,
                             st.integers(0, 0xFF))
absurd_frames = st.one_of(
    st.binary(max_size=300),  # line noise
    st.tuples(absurd_telemetry, u16).map(lambda t: encode_frame(t[0], t[1])),
    st.tuples(st.builds(p.Tamper, st.integers(0, 0xFF), u16), u16).map(lambda t: encode_frame(t[0], t[1])),
    st.tuples(st.integers(0x60, 0xFF), u16, st.binary(max_size=40)).map(  # types nobody knows, valid CRC
        lambda t: wire.encode_frame(t[0], t[1], t[2])),
)


def test_serial_garbage_and_absurd_frames_never_move_the_clock_or_stop_the_station(tmp_path):
    with running_station(make_config(tmp_path / "data", **BOARD)) as app:
        simulator = app.parts.companion.simulator
        board_says(app, int(time.time()))  # the RTC and the station agree: that time is trusted

        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.lists(absurd_frames, min_size=1, max_size=4))
        def absurd_line(frames: list[bytes]) -> None:
            for frame in frames:
                simulator.inject_garbage(frame)
            before = app.board.get("received_unix")
            simulator.send_telemetry()  # a true reading after the noise: it must still get through
            assert wait_until(lambda: app.board.get("received_unix") != before, timeout=10)
            assert abs(ids.clock_offset()) < 5 and app.healthy()

        absurd_line()
        simulator.fire_pir(0)
        assert wait_until(lambda: app.stats.get("sequences_opened") == 1)
        assert app.wait_idle(30)
        assert app.healthy() and app.stats.get("clock_jumps") == 0
    year = str(datetime.now(UTC).year)
    assert [r[0][:4] for r in rows(app.db_path, "SELECT start FROM events")] == [year]
