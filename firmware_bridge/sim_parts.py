"""The simulated board's surroundings: its end of the pty (with scriptable line faults), a LoRa
radio, and the analogue world its sensors measure. Used only by :mod:`firmware_bridge.sim_board`.
"""

from __future__ import annotations

import dataclasses
import heapq
import os
import time
import tty
from pathlib import Path

from firmware_bridge import wire
from firmware_bridge.firmware import main as board_main
from firmware_bridge.machine_shim import Clock, Machine


class PtyLink:
    """The board's end of the serial line, with the faults a test can script."""

    def __init__(self, link_path: Path) -> None:
        self.path = link_path
        self._master = -1
        self._slave = -1  # kept open so the pty lives while the host closes and reopens it
        self.drop_acks = 0
        self.ack_delay_s = 0.0
        self.corrupt_frames = 0
        self._delayed: list[tuple[float, int, bytes]] = []
        self._delayed_count = 0
        self.pir_written_ns: list[tuple[int, int]] = []  # (seq, perf_counter_ns before the write)
        self.bytes_dropped = 0

    @property
    def plugged(self) -> bool:
        return self._master >= 0

    def fileno(self) -> int:
        return self._master

    def plug(self) -> None:
        if self.plugged:
            return
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo or line editing before the host configures the port itself
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        temporary = self.path.with_name(self.path.name + ".new")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(os.ttyname(slave))
        temporary.replace(self.path)

    def unplug(self) -> None:
        self.path.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1
        self._delayed.clear()

    def read(self) -> bytes | None:
        if not self.plugged:
            return None
        try:
            return os.read(self._master, 4096) or None
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:  # EIO: no slave side open right now
            return None

    def write(self, frame: bytes) -> int:
        """The firmware writes one whole frame per call; faults are applied per frame."""
        status, value = wire.decode_frame(frame.strip(wire.DELIMITER))
        msg_type, seq = (value[0], value[1]) if status == wire.FRAME_OK else (None, None)
        if msg_type in (wire.ACK, wire.NACK):
            if self.drop_acks:
                self.drop_acks -= 1
                return len(frame)
            if self.ack_delay_s:
                self._delayed_count += 1
                heapq.heappush(self._delayed, (time.monotonic() + self.ack_delay_s, self._delayed_count, frame))
                return len(frame)
        if self.corrupt_frames:
            self.corrupt_frames -= 1
            frame = _flip_one_bit(frame)
        if msg_type == wire.PIR and seq is not None:
            self.pir_written_ns.append((seq, time.perf_counter_ns()))
        return self.write_raw(frame)

    def write_raw(self, data: bytes) -> int:
        if not self.plugged:
            self.bytes_dropped += len(data)
            return len(data)
        try:
            written = os.write(self._master, data)
        except (BlockingIOError, OSError):  # nobody reading: bytes are lost, as on a real UART
            written = 0
        self.bytes_dropped += len(data) - written
        return len(data)

    def flush_delayed(self) -> float | None:
        """Write the delayed frames that are due; seconds until the next one, or None."""
        now = time.monotonic()
        while self._delayed and self._delayed[0][0] <= now:
            self.write_raw(heapq.heappop(self._delayed)[2])
        return self._delayed[0][0] - now if self._delayed else None


def _flip_one_bit(frame: bytes) -> bytes:
    corrupt = bytearray(frame)
    index = len(corrupt) // 2
    corrupt[index] ^= 0x10 if corrupt[index] != 0x10 else 0x01  # never turn it into a delimiter
    return bytes(corrupt)


class SimRadio:
    """A LoRa radio whose uplinks take ``airtime_ms`` and always succeed; downlinks are scripted."""

    def __init__(self, clock: Clock, airtime_ms: int) -> None:
        self._clock = clock
        self._airtime_ms = airtime_ms
        self._done_at: int | None = None
        self._status = wire.TX_SENT
        self.downlinks: list[tuple[int, int, int, bytes]] = []  # (port, rssi dBm, snr quarter-dB, data)

    def send(self, port: int, data: bytes, confirmed: bool) -> bool:
        if self._done_at is not None:
            return False
        self._done_at = self._clock.ticks_add(self._clock.ticks_ms(), self._airtime_ms)
        self._status = wire.TX_CONFIRMED if confirmed else wire.TX_SENT
        return True

    def poll(self) -> int | None:
        if self._done_at is None or self._clock.ticks_diff(self._clock.ticks_ms(), self._done_at) < 0:
            return None
        self._done_at = None
        return self._status

    def receive(self) -> tuple[int, int, int, bytes] | None:
        return self.downlinks.pop(0) if self.downlinks else None


@dataclasses.dataclass
class Environment:
    """What the board's sensors see; survives board resets."""

    battery_mv: int = 12_600
    solar_mv: int = 0
    lux: int = 0
    temperature_c: float = 20.0

    def adc_readings(self) -> dict[int, int]:
        """What each ADC channel of the reference wiring reads (read_u16) in these surroundings."""
        delta_uv = (self.temperature_c - 27.0) * board_main.TEMP_UV_PER_C
        return {
            board_main.BATTERY_ADC_PIN: _raw_for_divided(self.battery_mv, board_main.BATTERY_DIVIDER),
            board_main.SOLAR_ADC_PIN: _raw_for_divided(self.solar_mv, board_main.SOLAR_DIVIDER),
            board_main.LIGHT_ADC_PIN: _raw_for_uv(self.lux * board_main.LIGHT_UV_PER_LUX + 500),
            board_main.TEMPERATURE_ADC: _raw_for_uv(board_main.TEMP_UV_AT_27C - delta_uv),
        }

    def apply(self, machine: Machine) -> None:
        for channel, raw in self.adc_readings().items():
            machine.ADC(channel).set_u16(raw)


def _raw_for_divided(mv: int, divider: tuple[int, int]) -> int:
    total, bottom = divider
    return round(mv * board_main.ADC_FULL_SCALE * bottom / (board_main.ADC_VREF_MV * total))


def _raw_for_uv(uv: float) -> int:
    return round(uv * board_main.ADC_FULL_SCALE / (board_main.ADC_VREF_MV * 1000))
