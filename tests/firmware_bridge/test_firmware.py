"""The reference firmware's logic (firmware/node.py + main.py wiring) under the ``machine`` shim,
driven frame by frame without a pty: commands, events, the watchdog, sleep and the clock."""

from __future__ import annotations

import pytest

from firmware_bridge import protocol as p
from firmware_bridge import wire
from firmware_bridge.fields import Capability, NackReason, ResetCause, TamperKind
from firmware_bridge.firmware import main as board_main
from firmware_bridge.firmware import node as firmware
from firmware_bridge.firmware import power
from firmware_bridge.machine_shim import TICKS_PERIOD, Clock, Machine
from firmware_bridge.parser import FrameParser
from firmware_bridge.sim_parts import Environment

HOST_HELLO = p.Hello(*p.PROTOCOL_VERSION, (0, 1, 0), bytes(8), 0, 0)


class Line:
    """The host's side of the UART, in memory."""

    def __init__(self) -> None:
        self.to_board = bytearray()
        self._parser = FrameParser()
        self.received: list[p.SerialFrame] = []
        self._seq = 100

    def read(self) -> bytes | None:
        data, self.to_board = bytes(self.to_board), bytearray()
        return data or None

    def write(self, data: bytes) -> int:
        self.received += [item for item in self._parser.feed(data) if isinstance(item, p.SerialFrame)]
        return len(data)

    def send(self, message: p.Message, seq: int | None = None) -> int:
        if seq is None:
            seq, self._seq = self._seq, self._seq + 1
        self.to_board += p.encode_frame(message, seq)
        return seq

    def take(self) -> list[p.Message]:
        return [frame.message for frame in self.take_frames()]

    def take_frames(self) -> list[p.SerialFrame]:
        frames, self.received = self.received, []
        return frames


class Rig:
    def __init__(self, **node_options: object) -> None:
        self.line = Line()
        self.clock = Clock()
        self.machine = Machine(self.line, unique_id=b"PICO0001")
        self.board = board_main.build_board(self.machine, self.clock, 0xB007)
        self.machine.pins[board_main.ENCLOSURE_PIN].drive(0)
        Environment(battery_mv=12_345, solar_mv=18_000, lux=120, temperature_c=-7.5).apply(self.machine)
        self.node = firmware.Node(self.board, **node_options)
        self.node.boot()
        self.node.step()

    def send(self, message: p.Message, seq: int | None = None) -> list[p.Message]:
        self.line.send(message, seq)
        self.node.step()
        return self.line.take()

    def advance(self, seconds: float) -> list[p.Message]:
        self.clock.advance(int(seconds * 1000))
        self.node.step()
        return self.line.take()

    def handshake(self) -> list[p.Message]:
        self.line.take()
        return self.send(HOST_HELLO)

    def pulse(self, pin_id: int) -> list[p.Message]:
        self.machine.pins[pin_id].drive(1)
        self.machine.pins[pin_id].drive(0)
        self.node.step()
        return self.line.take()

    @property
    def pi_powered(self) -> bool:
        return bool(self.machine.pins[board_main.PI_POWER_PIN].value())


def test_boot_asks_for_a_handshake_and_the_reply_carries_versions_and_telemetry() -> None:
    rig = Rig()
    (request,) = rig.line.take()
    assert isinstance(request, p.Hello) and not request.reply
    reply, telemetry = rig.send(HOST_HELLO)
    assert reply.reply and reply.board_id == b"PICO0001" and reply.boot_id == 0xB007
    assert reply.firmware_version == firmware.FIRMWARE_VERSION
    assert reply.capabilities == Capability(0xFF) ^ Capability.LORA  # no radio on the reference board
    assert (telemetry.battery_mv, telemetry.solar_mv, telemetry.lux) == (12_345, 18_000, 120)
    assert abs(telemetry.temperature_cc - (-750)) <= 5  # the ADC's resolution is about 3 centi-degrees
    assert telemetry.rtc_unix == 0 and telemetry.reset_cause == ResetCause.POWER_ON


def test_commands_are_carried_out_once_even_when_retried() -> None:
    rig = Rig()
    rig.handshake()
    assert rig.send(p.IrLamp(128), seq=7) == [p.Ack(7)]
    assert rig.machine.pwms[board_main.IR_LAMP_PIN].duty_u16() == 128 * 257
    rig.machine.pwms[board_main.IR_LAMP_PIN].duty_u16(0)  # if the retry ran again, the lamp would come back
    assert rig.send(p.IrLamp(128), seq=7) == [p.Ack(7)]
    assert rig.machine.pwms[board_main.IR_LAMP_PIN].duty_u16() == 0


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (wire.encode_frame(0x2F, 9, b""), NackReason.UNKNOWN_TYPE),
        (wire.encode_frame(wire.IR_LAMP, 9, b"\x01\x02"), NackReason.BAD_PAYLOAD),
        (p.encode_frame(p.WatchdogConfig(5), 9), NackReason.OUT_OF_RANGE),
        (p.encode_frame(p.SleepUntil(2_000_000_000), 9), NackReason.NOT_READY),
        (p.encode_frame(p.LoRaSend(1, b"x"), 9), NackReason.UNSUPPORTED),
    ],
)
def test_commands_it_cannot_carry_out_are_nacked_with_the_reason(frame: bytes, reason: NackReason) -> None:
    rig = Rig()
    rig.handshake()
    rig.line.to_board += frame
    rig.node.step()
    assert rig.line.take() == [p.Nack(9, reason)]


def test_watchdog_power_cycles_a_pi_that_stops_kicking() -> None:
    rig = Rig()
    rig.handshake()
    rig.send(p.WatchdogConfig(60))
    rig.advance(50)
    assert rig.send(p.WatchdogKick()) and rig.pi_powered
    rig.advance(50)
    assert rig.pi_powered  # kicked 50 s ago: still within 60 s
    rig.advance(11)
    assert not rig.pi_powered and rig.node.pi.power_cycles == 1
    assert rig.machine.pwms[board_main.IR_LAMP_PIN].duty_u16() == 0
    request = rig.advance(power.POWER_CYCLE_OFF_MS / 1000)
    assert rig.pi_powered and any(isinstance(m, p.Hello) and not m.reply for m in request)


def test_boot_watchdog_bites_a_pi_that_never_comes_up() -> None:
    rig = Rig(boot_watchdog_s=120)
    rig.advance(121)
    assert not rig.pi_powered


def test_sleep_until_a_time_cuts_power_after_the_grace_and_restores_it() -> None:
    rig = Rig()
    rig.handshake()
    rig.send(p.SetTime(1_700_000_000))
    assert rig.send(p.SleepUntil(1_700_003_600))[0] == p.Ack(rig.line._seq - 1)
    rig.advance(firmware.SLEEP_GRACE_MS / 1000 - 1)
    assert rig.pi_powered
    rig.advance(2)
    assert not rig.pi_powered
    rig.advance(3600 - (firmware.SLEEP_GRACE_MS / 1000 + 1) - 1)  # one second before the wake time
    assert not rig.pi_powered
    rig.advance(1)
    assert rig.pi_powered and rig.node.unix_time() >= 1_700_003_600


def test_pir_wakes_a_sleeping_pi_and_its_event_waits_for_the_host() -> None:
    rig = Rig()
    rig.handshake()
    rig.send(p.SleepUntil(0))
    rig.advance(firmware.SLEEP_GRACE_MS / 1000 + 1)
    assert not rig.pi_powered
    assert rig.pulse(board_main.PIR_PINS[1]) == [p.Hello(1, 0, firmware.FIRMWARE_VERSION, b"PICO0001", 0xBF, 0xB007)]
    assert rig.pi_powered
    delivered = rig.handshake()
    assert next(m for m in delivered if isinstance(m, p.Pir)).sensor == 1


def test_unacknowledged_events_are_resent_then_the_host_is_asked_to_handshake() -> None:
    rig = Rig()
    rig.handshake()
    (pir,) = rig.pulse(board_main.PIR_PINS[0])
    resent = [rig.advance(firmware.EVENT_RETRY_MS / 1000) for _ in range(firmware.EVENT_ATTEMPTS - 1)]
    assert all(messages == [pir] for messages in resent)
    (request,) = rig.advance(firmware.EVENT_RETRY_MS / 1000)
    assert isinstance(request, p.Hello) and not request.reply and not rig.node.host_ready
    assert pir in rig.handshake()  # delivered after the new handshake


def test_acknowledged_event_is_not_resent() -> None:
    rig = Rig()
    rig.handshake()
    rig.pulse(board_main.PIR_PINS[0])
    sent_seq = rig.node._tx_seq - 1
    rig.send(p.Ack(sent_seq))
    assert rig.advance(1) == []


def test_events_for_an_absent_host_are_bounded() -> None:
    rig = Rig()
    for _ in range(firmware.OUTBOX_LIMIT + 4):
        rig.pulse(board_main.PIR_PINS[0])
    assert rig.node.events_dropped == 4
    assert len([m for m in rig.handshake() if isinstance(m, p.Pir)]) == firmware.OUTBOX_LIMIT


def test_tamper_lid_and_motion() -> None:
    rig = Rig()
    rig.handshake()
    rig.machine.pins[board_main.ENCLOSURE_PIN].drive(1)
    rig.node.step()
    (lid,) = rig.line.take_frames()
    assert lid.message == p.Tamper(TamperKind.ENCLOSURE_OPEN, 1)
    rig.send(p.Ack(lid.seq))
    first = rig.pulse(board_main.MOTION_PIN)
    for _ in range(4):
        rig.pulse(board_main.MOTION_PIN)
    assert first == [p.Tamper(TamperKind.MOVED, 1)]
    assert p.Tamper(TamperKind.MOVED, 4) in rig.advance(firmware.MOTION_REPORT_MS / 1000)


def test_clock_and_uptime_survive_the_ticks_wrap() -> None:
    rig = Rig()
    rig.handshake()
    rig.send(p.SetTime(1_700_000_000))
    start_uptime = rig.node.uptime_ms
    step_s = TICKS_PERIOD // 2 // 1000 - 1  # the loop runs far more often than every half period
    for _ in range(3):
        rig.advance(step_s)
    assert rig.node.uptime_ms - start_uptime >= 3 * step_s * 1000
    assert rig.node.unix_time() >= 1_700_000_000 + 3 * step_s


def test_adc_scaling_of_the_reference_wiring() -> None:
    assert board_main.divided_mv(65535, board_main.BATTERY_DIVIDER) == 18_300  # the divider's full scale
    assert board_main.divided_mv(0, board_main.SOLAR_DIVIDER) == 0
    machine = Machine(Line(), unique_id=bytes(8))
    sensors = board_main.AdcSensors(machine)
    machine.ADC(board_main.TEMPERATURE_ADC).set_u16(round(board_main.TEMP_UV_AT_27C * 65535 / 3_300_000))
    assert abs(sensors.temperature_cc() - 2700) <= 3  # 0.706 V is 27 degC on the RP2040


def test_reset_cause_is_mapped_from_machine() -> None:
    causes = [(Machine.WDT_RESET, ResetCause.WATCHDOG), (Machine.PWRON_RESET, ResetCause.POWER_ON),
              (99, ResetCause.UNKNOWN)]
    for machine_cause, expected in causes:
        assert board_main.reset_cause(Machine(Line(), unique_id=bytes(8), reset_cause=machine_cause)) == expected
