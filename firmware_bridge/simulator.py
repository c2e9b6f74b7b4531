"""Scripting a simulated companion board: the world its sensors see, and the faults of its line.

Scripting calls run inside the simulator's thread and return once the board has acted on them:
when ``fire_pir()`` returns, the PIR frame has been written to the pty.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from firmware_bridge import wire
from firmware_bridge.errors import SimulatorError
from firmware_bridge.fields import TamperKind
from firmware_bridge.firmware import main as board_main
from firmware_bridge.sim_board import SimulatedBoard


class Simulator(SimulatedBoard):
    """A simulated board on a pty, scriptable from tests, benchmarks and ``trapd bridge simulate``.

    Use as a context manager, or call ``start()`` (returns the port path) and ``stop()``.
    """

    # -- scripting the world -----------------------------------------------------------------------

    def fire_pir(self, sensor: int = 0) -> None:
        """A warm body crosses PIR ``sensor`` (0-based): its output pulses high."""
        if not 0 <= sensor < len(board_main.PIR_PINS):
            raise ValueError(f"the reference board has PIR sensors 0..{len(board_main.PIR_PINS) - 1}, not {sensor}")
        self._call(lambda: self._pulse(board_main.PIR_PINS[sensor]))

    def open_enclosure(self) -> None:
        self._call(lambda: self._machine.pins[board_main.ENCLOSURE_PIN].drive(1))

    def close_enclosure(self) -> None:
        self._call(lambda: self._machine.pins[board_main.ENCLOSURE_PIN].drive(0))

    def shake(self, pulses: int = 3) -> None:
        """Move the unit: the vibration switch pulses ``pulses`` times."""
        def shake() -> None:
            for _ in range(pulses):
                self._pulse(board_main.MOTION_PIN)

        self._call(shake)

    def tamper(self, kind: TamperKind) -> None:
        """Shortcut: ENCLOSURE_OPEN opens the lid, MOVED shakes the unit."""
        if kind == TamperKind.ENCLOSURE_OPEN:
            self.open_enclosure()
        else:
            self.shake()

    def set_battery(self, mv: int) -> None:
        self._call(lambda: self._change_environment(battery_mv=mv))

    def drain(self, mv: int) -> None:
        """The battery loses ``mv`` millivolts."""
        self._call(lambda: self._change_environment(battery_mv=max(0, self._environment.battery_mv - mv)))

    def set_solar(self, mv: int) -> None:
        self._call(lambda: self._change_environment(solar_mv=mv))

    def set_lux(self, lux: int) -> None:
        """Ambient light; the reference light sensor saturates near 650 lx."""
        self._call(lambda: self._change_environment(lux=lux))

    def set_temperature(self, celsius: float) -> None:
        self._call(lambda: self._change_environment(temperature_c=celsius))

    def lora_downlink(self, port: int, data: bytes, *, rssi_dbm: int = -90, snr_db: float = 7.0) -> None:
        """The board's radio receives a LoRaWAN downlink (needs ``lora_airtime_s``: a radio)."""

        def receive() -> None:
            if self._radio is None:
                raise SimulatorError("this simulated board has no radio: make it with lora_airtime_s set")
            self._radio.downlinks.append((port, rssi_dbm, round(snr_db * 4), bytes(data)))

        self._call(receive)

    def send_telemetry(self) -> None:
        """Make the board report telemetry now rather than at its next period."""
        self._call(self._node_send_telemetry)

    def advance(self, seconds: float) -> None:
        """Jump the board's clock forward (watchdog, sleep and retry timers see the time pass)."""
        self._call(lambda: self._clock.advance(int(seconds * 1000)))

    def reset(self, cause: int = wire.RESET_HARD) -> None:
        """Reboot the board: its state is lost, it asks the host for a handshake again."""
        self._call(lambda: self._boot(cause))

    def inject_garbage(self, data: bytes) -> None:
        """Write raw bytes onto the line (noise, a stray boot banner)."""
        self._call(lambda: self._require_link().write_raw(bytes(data)))

    def drop_next_acks(self, count: int) -> None:
        """The next ``count`` ACK/NACK frames from the board are lost on the line."""
        self._call(lambda: setattr(self._require_link(), "drop_acks", count))

    def delay_acks(self, seconds: float) -> None:
        """Hold every ACK/NACK from the board for ``seconds`` (0 restores)."""
        self._call(lambda: setattr(self._require_link(), "ack_delay_s", seconds))

    def corrupt_next_frames(self, count: int) -> None:
        """Flip one bit in each of the next ``count`` frames from the board (CRC errors)."""
        self._call(lambda: setattr(self._require_link(), "corrupt_frames", count))

    def unplug(self) -> None:
        """The USB serial port disappears (its path too)."""
        self._call(lambda: self._require_link().unplug())

    def replug(self, *, reboot: bool = False) -> None:
        """The port comes back at the same path; ``reboot`` if the board lost power with it."""

        def replug() -> None:
            self._require_link().plug()
            if reboot:
                self._boot(wire.RESET_POWER_ON)

        self._call(replug)

    def _node_send_telemetry(self) -> None:
        self._node.send_telemetry()  # the node object changes on reset: look it up in the thread

    def _change_environment(self, **values: Any) -> None:
        self._environment = dataclasses.replace(self._environment, **values)
        self._environment.apply(self._machine)
