"""A simulated RAK3172 (RUI3 firmware) on a pseudo-terminal, for tests, benchmarks and ``trapd demo``.

It answers the subset of the RUI3 AT command set the driver uses, in the same line format (see ``rui3``),
and can be scripted to misbehave the way a module in the forest does: a failed join, a confirmed uplink
with no ack, busy, duty-cycle refusal, silence, garbage on the line; and to deliver downlinks. Uplinks it
"transmits" are recorded. It answers at once: no time passes on a simulated air.

    with SimulatedModem(region="RU864") as sim, AtModem.open(sim.port_name) as modem:
        sim.queue_downlink(20, b"...")
        modem.join(...); modem.send(10, payload)
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import select
import threading
import tty
from collections.abc import Callable

from station.lora.regions import REGIONS, Region
from station.lora.regions import region as region_named

log = logging.getLogger(__name__)

_SEND = re.compile(r"^(\d+):([0-9A-Fa-f]*)$")
_HEX8 = re.compile(r"^[0-9A-Fa-f]{16}$")
_HEX16 = re.compile(r"^[0-9A-Fa-f]{32}$")


@dataclasses.dataclass(frozen=True)
class SimUplink:
    """One uplink the simulated modem put on the (simulated) air."""

    port: int
    payload: bytes
    confirmed: bool
    data_rate: int


@dataclasses.dataclass
class _Script:
    """Counters of scripted misbehaviour, each consumed by the next matching command."""

    fail_joins: int = 0
    no_acks: int = 0
    busy: int = 0
    duty_cycle: int = 0
    hangs: int = 0


class SimulatedModem:
    """The module's side of a pty pair; open ``port_name`` with pyserial (or ``AtModem.open``)."""

    def __init__(self, *, region: str = "RU864", data_rate: int = 0, echo: bool = False) -> None:
        self.region: Region = region_named(region)
        self.uplinks: list[SimUplink] = []
        self.commands: list[str] = []
        self.joined = False
        self.keys: dict[str, str] = {}
        self.echo = echo
        self._data_rate = data_rate
        self._confirmed = False
        self._adr = True
        self._muted = False
        self._script = _Script()
        self._downlinks: list[tuple[int, bytes]] = []
        self._last_rx: tuple[int, bytes] | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR/LF translation: bytes as a UART carries them
        self.port_name = os.ttyname(self._slave)
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._serve, name="sim-lora-modem", daemon=True)
        self._thread.start()

    # --- scripting -----------------------------------------------------------------------------------

    def fail_next_join(self, times: int = 1) -> None:
        with self._lock:
            self._script.fail_joins += times

    def no_ack_next(self, times: int = 1) -> None:
        """The next confirmed uplink(s) go on air but no acknowledgement comes back."""
        with self._lock:
            self._script.no_acks += times

    def busy_next(self, times: int = 1) -> None:
        """The next join or send command(s) answer AT_BUSY_ERROR."""
        with self._lock:
            self._script.busy += times

    def duty_cycle_refuse_next(self, times: int = 1) -> None:
        """The next send(s) answer AT_DUTYCYCLE_RESTRICTED."""
        with self._lock:
            self._script.duty_cycle += times

    def hang_next(self, times: int = 1) -> None:
        """The next join or send command(s) answer OK and then nothing: no join result, no end of
        transmission (a module that reset or locked up mid-operation)."""
        with self._lock:
            self._script.hangs += times

    def queue_downlink(self, port: int, payload: bytes) -> None:
        """Data the network server holds for the station: delivered after the next successful uplink."""
        with self._lock:
            self._downlinks.append((port, bytes(payload)))

    def set_data_rate(self, data_rate: int) -> None:
        """The network changed the data rate (ADR), as ``AT+DR=?`` will then report."""
        with self._lock:
            self._data_rate = data_rate

    def mute(self, muted: bool = True) -> None:
        """Stop answering anything (a hung or unpowered module)."""
        with self._lock:
            self._muted = muted

    def emit(self, text: str | bytes) -> None:
        """Write raw bytes/lines on the line, e.g. garbage or an unsolicited event."""
        self._write(text.encode("latin-1") if isinstance(text, str) else text)

    @property
    def data_rate(self) -> int:
        return self._data_rate

    # --- serving -------------------------------------------------------------------------------------

    def _serve(self) -> None:
        buffer = bytearray()
        while True:
            ready, _, _ = select.select([self._master, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            try:
                chunk = os.read(self._master, 4096)
            except OSError:
                return
            buffer += chunk
            *lines, rest = re.split(rb"\r\n|\r|\n", bytes(buffer))
            buffer = bytearray(rest)
            for line in lines:
                if line.strip():
                    self._answer(line.decode("latin-1").strip())

    def _write(self, data: bytes) -> None:
        try:
            os.write(self._master, data)
        except OSError:
            log.debug("simulated modem: nobody is listening")

    def _reply(self, *lines: str) -> None:
        self._write("".join(f"{line}\r\n" for line in lines).encode("ascii"))

    def _answer(self, command: str) -> None:
        with self._lock:
            self.commands.append(command)
            if self._muted:
                return
            if self.echo:
                self._reply(command)
            handler = self._handler(command.upper())
            replies = handler(command) if handler else ["AT_ERROR"]
        self._reply(*replies)

    def _handler(self, command: str) -> Callable[[str], list[str]] | None:
        if command in ("AT", "ATE"):
            return self._plain
        for prefix, handler in (("AT+SEND=", self._send), ("AT+JOIN", self._join), ("AT+CFM=", self._cfm),
                                ("AT+DR=", self._dr), ("AT+ADR=", self._adr_cmd), ("AT+NJS=?", self._njs),
                                ("AT+NJM=", self._njm), ("AT+BAND=", self._band), ("AT+DEVEUI=", self._key),
                                ("AT+APPEUI=", self._key), ("AT+APPKEY=", self._key), ("AT+RECV=?", self._recv)):
            if command.startswith(prefix):
                return handler
        return None

    def _plain(self, command: str) -> list[str]:
        if command.upper() == "ATE":
            self.echo = not self.echo
        return ["OK"]

    def _value(self, name: str, value: object) -> list[str]:
        return [f"AT+{name}={value}", "OK"]

    def _key(self, command: str) -> list[str]:
        name, value = command[3:].split("=", 1)
        name = name.upper()
        if value == "?":
            return self._value(name, self.keys.get(name, "0" * (32 if name == "APPKEY" else 16)))
        pattern = _HEX16 if name == "APPKEY" else _HEX8
        if not pattern.match(value):
            return ["AT_PARAM_ERROR"]
        self.keys[name] = value.upper()
        self.joined = False
        return ["OK"]

    def _njm(self, command: str) -> list[str]:
        value = command.split("=", 1)[1]
        return self._value("NJM", 1) if value == "?" else (["OK"] if value in ("0", "1") else ["AT_PARAM_ERROR"])

    def _njs(self, command: str) -> list[str]:
        return self._value("NJS", int(self.joined))

    def _cfm(self, command: str) -> list[str]:
        value = command.split("=", 1)[1]
        if value == "?":
            return self._value("CFM", int(self._confirmed))
        if value not in ("0", "1"):
            return ["AT_PARAM_ERROR"]
        self._confirmed = value == "1"
        return ["OK"]

    def _dr(self, command: str) -> list[str]:
        value = command.split("=", 1)[1]
        if value == "?":
            return self._value("DR", self._data_rate)
        if not value.isdigit() or int(value) not in self.region.data_rates:
            return ["AT_PARAM_ERROR"]
        self._data_rate = int(value)
        return ["OK"]

    def _adr_cmd(self, command: str) -> list[str]:
        value = command.split("=", 1)[1]
        if value == "?":
            return self._value("ADR", int(self._adr))
        if value not in ("0", "1"):
            return ["AT_PARAM_ERROR"]
        self._adr = value == "1"
        return ["OK"]

    def _band(self, command: str) -> list[str]:
        value = command.split("=", 1)[1]
        if value == "?":
            return self._value("BAND", self.region.rui3_band)
        matching = [r for r in REGIONS.values() if value.isdigit() and r.rui3_band == int(value)]
        if not matching or matching[0].module_variant != self.region.module_variant:
            return ["AT_PARAM_ERROR"]  # the other frequency variant's bands are refused, as on RUI3
        self.region = matching[0]
        self.joined = False
        return ["OK"]

    def _join(self, command: str) -> list[str]:
        if self._script.busy:
            self._script.busy -= 1
            return ["AT_BUSY_ERROR"]
        if self._script.hangs:
            self._script.hangs -= 1
            return ["OK"]
        if self._script.fail_joins:
            self._script.fail_joins -= 1
            self.joined = False
            return ["OK", "+EVT:JOIN_FAILED_RX_TIMEOUT"]
        self.joined = True
        return ["OK", "+EVT:JOINED"]

    def _recv(self, command: str) -> list[str]:
        port, data = self._last_rx or (0, b"")
        self._last_rx = None
        return self._value("RECV", f"{port}:{data.hex().upper()}")

    def _send(self, command: str) -> list[str]:
        match = _SEND.match(command.split("=", 1)[1])
        if not match or len(match.group(2)) % 2 or not match.group(2) or not 1 <= int(match.group(1)) <= 223:
            return ["AT_PARAM_ERROR"]
        if self._script.busy:
            self._script.busy -= 1
            return ["AT_BUSY_ERROR"]
        if not self.joined:
            return ["AT_NO_NETWORK_JOINED"]
        if self._script.duty_cycle:
            self._script.duty_cycle -= 1
            return ["AT_DUTYCYCLE_RESTRICTED"]
        payload = bytes.fromhex(match.group(2))
        limit = self.region.data_rate(self._data_rate).max_payload
        if limit is None or len(payload) > limit:
            return ["AT_PARAM_ERROR"]  # assumed: RUI3's answer to an oversized payload is not documented
        self.uplinks.append(SimUplink(int(match.group(1)), payload, self._confirmed, self._data_rate))
        if self._script.hangs:
            self._script.hangs -= 1
            return ["OK"]
        return ["OK", *self._air_events()]

    def _air_events(self) -> list[str]:
        """Events after an uplink: end of transmission, then the receive window (as RUI3 orders them)."""
        if self._confirmed and self._script.no_acks:
            self._script.no_acks -= 1
            return ["+EVT:SEND_CONFIRMED_FAILED(4)"]
        events = ["+EVT:SEND_CONFIRMED_OK" if self._confirmed else "+EVT:TX_DONE"]
        if self._downlinks:
            port, data = self._downlinks.pop(0)
            self._last_rx = (port, data)
            events.append(f"+EVT:RX_1:-72:7:UNICAST:{port}:{data.hex().upper()}")
        return events

    # --- lifecycle -----------------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return  # the fd numbers may already belong to someone else
        self._closed = True
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=2.0)
        for fd in (self._master, self._slave, self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> SimulatedModem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
