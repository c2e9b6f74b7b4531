"""The host Bridge against the reference firmware (simulator) over a real pty: events, commands,
retries, time-outs, board resets and a port that disappears."""

from __future__ import annotations

import os
import threading
import time
import tty
from collections.abc import Iterator

import pytest

from firmware_bridge import protocol as p
from firmware_bridge.bridge import Bridge
from firmware_bridge.errors import (
    BridgeConnectionError,
    BridgeError,
    BridgeTimeoutError,
    CommandRejectedError,
    HandshakeTimeoutError,
    ProtocolVersionError,
)
from firmware_bridge.fields import Capability, LoRaTxStatus, NackReason, ResetCause, TamperKind
from firmware_bridge.parser import FrameParser
from firmware_bridge.session import LinkState
from firmware_bridge.simulator import Simulator

from .conftest import WAIT_S, Recorder


def test_handshake_reports_the_board(bridge: Bridge, events: Recorder) -> None:
    board = bridge.board
    assert board is not None and board.board_id == b"SIMBOARD" and board.reply
    assert Capability.PIR in board.capabilities and Capability.LORA in board.capabilities
    assert events.wait_for(p.Hello) == [board]
    assert events.wait_for(p.Telemetry)[0].battery_mv == 12_600  # sent right after the handshake


def test_pir_reaches_the_callback(sim: Simulator, bridge: Bridge, events: Recorder) -> None:
    sim.fire_pir(1)
    (pir,) = events.wait_for(p.Pir)
    assert pir.sensor == 1


def test_telemetry_follows_the_battery(sim: Simulator, bridge: Bridge, events: Recorder) -> None:
    sim.set_battery(11_900)
    sim.drain(400)
    sim.set_lux(3)
    sim.send_telemetry()
    (report,) = events.wait_for(p.Telemetry, where=lambda t: t.battery_mv == 11_500)
    assert report.lux == 3 and bridge.last_telemetry == report


def test_tamper_events(sim: Simulator, bridge: Bridge, events: Recorder) -> None:
    sim.tamper(TamperKind.ENCLOSURE_OPEN)
    sim.tamper(TamperKind.MOVED)
    kinds = {t.kind for t in events.wait_for(p.Tamper, 2)}
    assert kinds == {TamperKind.ENCLOSURE_OPEN, TamperKind.MOVED}


def test_commands_are_acknowledged_and_carried_out(sim: Simulator, bridge: Bridge) -> None:
    bridge.send_command(p.IrLamp(180))
    bridge.send_command(p.SetTime(1_700_000_000))
    bridge.send_command(p.WatchdogConfig(120))
    bridge.send_command(p.WatchdogKick())
    state = sim.state
    assert state.lamp_level == 180 and state.time_sets == [1_700_000_000] and state.watchdog_kicks == 1


def test_lost_ack_is_retried_and_the_command_runs_once(sim: Simulator, bridge: Bridge) -> None:
    sim.drop_next_acks(1)
    bridge.send_command(p.IrLamp(77), retries=5, timeout=1.0)
    assert bridge.stats().retries >= 1
    assert sim.state.ir_lamp_levels == [77]


def test_slow_acks_cause_retries_but_no_double_execution(sim: Simulator, bridge: Bridge) -> None:
    sim.delay_acks(0.6)
    bridge.send_command(p.LoRaSend(2, b"\x01\x02", confirmed=False), retries=20, timeout=0.2)
    assert bridge.stats().retries >= 1
    assert len(sim.state.lora_sends) == 1


def test_ack_that_never_comes_is_a_clear_timeout(sim: Simulator, bridge: Bridge) -> None:
    sim.drop_next_acks(1000)
    started = time.monotonic()
    with pytest.raises(BridgeTimeoutError, match="did not acknowledge ir_lamp") as caught:
        bridge.send_command(p.IrLamp(1), retries=2, timeout=0.2)
    assert isinstance(caught.value, TimeoutError) and isinstance(caught.value, BridgeError)
    assert time.monotonic() - started >= 0.6  # a lower bound, which no slow machine breaks: each try waited 0.2 s
    stats = bridge.stats()
    assert (stats.retries, stats.timeouts) == (2, 1)


def test_nack_is_a_rejection_with_the_reason(bridge: Bridge) -> None:
    with pytest.raises(CommandRejectedError, match="out_of_range") as caught:
        bridge.send_command(p.WatchdogConfig(3))
    assert caught.value.reason == NackReason.OUT_OF_RANGE


def test_lora_send_is_followed_by_tx_done(bridge: Bridge, events: Recorder) -> None:
    seq = bridge.send_command(p.LoRaSend(10, b"\x2a" * 11, confirmed=True))
    (done,) = events.wait_for(p.LoRaTxDone)
    assert (done.send_seq, done.status) == (seq, LoRaTxStatus.CONFIRMED)


def test_blocking_lora_send_returns_the_outcome(bridge: Bridge) -> None:
    done = bridge.lora_send(3, b"\x01", True, timeout=WAIT_S)
    assert done.status == LoRaTxStatus.CONFIRMED


def test_downlink_reaches_the_callback(sim: Simulator, bridge: Bridge, events: Recorder) -> None:
    sim.lora_downlink(7, b"\x10\x20", rssi_dbm=-101, snr_db=-2.5)
    (downlink,) = events.wait_for(p.LoRaRx)
    assert (downlink.port, downlink.payload, downlink.rssi_dbm, downlink.snr_db) == (7, b"\x10\x20", -101, -2.5)


def test_board_reset_mid_session_handshakes_again_and_loses_nothing(
    sim: Simulator, bridge: Bridge, events: Recorder
) -> None:
    sim.fire_pir(0)
    events.wait_for(p.Pir)
    sim.reset()
    sim.fire_pir(1)  # before the new handshake: the board keeps it until the host is back
    bridge.send_command(p.IrLamp(50), timeout=1.0)  # waits for the new handshake, then goes through
    events.wait_for(p.Hello, 2)
    pirs = events.wait_for(p.Pir, 2)
    sim.fire_pir(0)
    pirs = events.wait_for(p.Pir, 3)
    assert [pir.sensor for pir in pirs] == [0, 1, 0]
    assert sim.state.ir_lamp_levels == [50]
    stats = bridge.stats()
    assert (stats.board_resets, stats.handshakes) == (1, 2)
    assert events.wait_for(p.Telemetry, 2)[-1].reset_cause == ResetCause.HARD


def test_garbage_and_corrupt_frames_are_counted_and_nothing_is_lost(
    sim: Simulator, bridge: Bridge, events: Recorder
) -> None:
    sim.inject_garbage(b"\xde\xad\xbe\xef" * 20 + b"\x00" + b"\x01" * 400)
    sim.corrupt_next_frames(1)
    sim.fire_pir(1)  # its first transmission is corrupted; the board sends it again
    sim.fire_pir(0)
    pirs = events.wait_for(p.Pir, 2)
    assert sorted(pir.sensor for pir in pirs) == [0, 1]
    stats = bridge.stats()
    assert stats.crc_errors >= 1 and stats.cobs_errors + stats.too_long >= 1
    assert len(events.of(p.Pir)) == 2


def test_unplugged_port_is_reopened_and_handshaken(sim: Simulator, bridge: Bridge, events: Recorder) -> None:
    sim.unplug()
    assert bridge.wait_for_state(LinkState.DISCONNECTED, timeout=WAIT_S)
    outcome: list[object] = []
    def send() -> None:  # a command issued while unplugged waits for the port to come back
        outcome.append(bridge.send_command(p.IrLamp(9), retries=20, timeout=0.5))

    sender = threading.Thread(target=send)
    sender.start()
    sim.replug()
    sender.join(WAIT_S)
    assert outcome and sim.state.ir_lamp_levels == [9]
    sim.fire_pir(1)
    assert events.wait_for(p.Pir)[0].sensor == 1
    assert bridge.stats().reconnects == 1 and bridge.stats().handshakes == 2


def test_failing_callback_does_not_stop_the_bridge(sim: Simulator) -> None:
    delivered = Recorder()

    def flaky(message: p.Message) -> None:
        delivered(message)
        if len(delivered.messages) == 1:
            raise RuntimeError("a bug in the station's handler")

    with Bridge(sim.port, on_pir=flaky, handshake_timeout=WAIT_S):
        sim.fire_pir(0)
        sim.fire_pir(1)
        assert [pir.sensor for pir in delivered.wait_for(p.Pir, 2)] == [0, 1]


def test_command_from_a_callback_is_refused_at_once(sim: Simulator) -> None:
    failures: list[BaseException] = []
    done = threading.Event()

    def turn_lamp_on(message: p.Message) -> None:
        try:
            bridge.send_command(p.IrLamp(255))
        except BridgeError as exc:
            failures.append(exc)
        done.set()

    with Bridge(sim.port, on_pir=turn_lamp_on, handshake_timeout=WAIT_S) as bridge:
        sim.fire_pir(0)
        assert done.wait(WAIT_S)
    assert failures and "another thread" in str(failures[0])


def test_stopped_bridge_refuses_commands(bridge: Bridge) -> None:
    bridge.stop()
    bridge.stop()
    with pytest.raises(BridgeConnectionError, match="stopped"):
        bridge.send_command(p.WatchdogKick())


def test_missing_port_is_a_connection_error_with_advice() -> None:
    with pytest.raises(BridgeConnectionError, match="enable_uart") as caught:
        Bridge("/dev/does-not-exist-ttyX").start()
    assert isinstance(caught.value, ConnectionError)


@pytest.fixture
def silent_board() -> Iterator[tuple[str, int]]:
    """A pty whose far end is the test itself: (path for the host, fd of the board's side)."""
    board_fd, host_fd = os.openpty()
    tty.setraw(host_fd)
    yield os.ttyname(host_fd), board_fd
    os.close(board_fd)
    os.close(host_fd)


def test_board_that_never_answers_is_a_handshake_timeout(silent_board: tuple[str, int]) -> None:
    path, _ = silent_board
    with pytest.raises(HandshakeTimeoutError, match="TX and RX are crossed") as caught:
        Bridge(path, handshake_timeout=0.6).start()
    assert isinstance(caught.value, TimeoutError)


def test_incompatible_firmware_is_refused(silent_board: tuple[str, int]) -> None:
    path, board_fd = silent_board

    def answer_with_protocol_2() -> None:  # wait for the host's hello, answer as a future board
        parser = FrameParser()
        while not any(isinstance(item, p.SerialFrame) for item in parser.feed(os.read(board_fd, 256))):
            pass
        os.write(board_fd, p.encode_frame(p.Hello(2, 0, (2, 0, 0), b"FUTURE01", 0xFF, 1, True), 0))

    answering = threading.Thread(target=answer_with_protocol_2, daemon=True)
    answering.start()
    with pytest.raises(ProtocolVersionError, match=r"speaks bridge protocol 2\.0") as caught:
        Bridge(path, handshake_timeout=WAIT_S).start()
    assert isinstance(caught.value, ConnectionError)
    answering.join(WAIT_S)


def test_watchdog_power_cycle_is_followed_by_a_new_handshake(
    sim: Simulator, bridge: Bridge, events: Recorder
) -> None:
    bridge.send_command(p.WatchdogConfig(30))
    sim.advance(31)
    assert sim.wait_until(lambda state: not state.pi_powered).power_cycles == 1
    sim.advance(6)
    sim.wait_until(lambda state: state.pi_powered and state.host_ready)
    assert events.wait_for(p.Hello, 2)
