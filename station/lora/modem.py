"""A LoRaWAN modem driven by AT commands over a UART (RAK3172 / RUI3 by default), behind ``LoRaModem``.

One reader thread owns the port's input: it splits lines and routes them (command answers to one queue,
``+EVT`` events to another, downlinks to a third and to ``on_downlink``); the parsing itself is the pure
dialect (``rui3``). Commands are serialised by a lock, so ``join``/``send`` may be called from any thread.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from station.lora.errors import LoRaConfigError, ModemCommandError, ModemError, ModemTimeoutError
from station.lora.ports import Downlink, DownlinkHandler, LoRaModem, SendResult, SendStatus
from station.lora.regions import Region
from station.lora.rui3 import OK, Event, EventKind, Rui3Dialect

__all__ = ["AtDialect", "AtModem", "Downlink", "LoRaModem", "SendResult", "SendStatus"]

log = logging.getLogger(__name__)

MAX_LINE = 1024  # longer garbage without a line end is dropped
_BROKEN = object()  # put in the queues when the reader stops, to wake waiters
_SECRET_COMMANDS = ("AT+APPKEY=", "AT+NWKSKEY=", "AT+APPSKEY=")


class AtDialect(Protocol):
    """What AtModem needs from an AT dialect; ``rui3.Rui3Dialect`` is the one implemented."""

    name: str

    def status_of(self, line: str) -> str | None: ...
    def parse_event(self, line: str) -> Event | None: ...
    def parse_value(self, key: str, lines: Sequence[str]) -> str: ...
    def send_refusal(self, status: str) -> SendStatus | None: ...
    def join_setup(self, dev_eui: str, app_eui: str, app_key: str) -> list[str]: ...
    def join_command(self) -> str: ...
    def confirm_command(self, confirmed: bool) -> str: ...
    def send_command(self, port: int, payload: bytes) -> str: ...
    def query(self, key: str) -> str: ...
    def set_command(self, key: str, value: object) -> str: ...
    def send_done(self, event: Event, confirmed: bool) -> SendStatus | None: ...


def _masked(command: str) -> str:
    for prefix in _SECRET_COMMANDS:
        if command.upper().startswith(prefix):
            return prefix + "****"
    return command


def split_lines(buffer: bytearray) -> tuple[list[str], bytearray]:
    """Complete lines (CR and/or LF terminated) out of ``buffer``, and the unfinished rest."""
    lines: list[str] = []
    start = 0
    for i, byte in enumerate(buffer):
        if byte in (10, 13):
            if i > start:
                lines.append(buffer[start:i].decode("ascii", "replace"))
            start = i + 1
    rest = buffer[start:]
    return lines, (rest if len(rest) <= MAX_LINE else bytearray())


class AtModem:
    """``LoRaModem`` over a pyserial-like port (read, write, in_waiting, cancel_read, close).

    ``on_downlink`` is called on the reader thread for every downlink (also late and class C ones); it
    must return quickly and must not call the modem (that would wait on the thread it runs on).
    """

    def __init__(self, serial_port: Any, *, dialect: AtDialect | None = None,
                 on_downlink: DownlinkHandler | None = None, command_timeout_s: float = 3.0,
                 send_timeout_s: float = 60.0, rx_grace_s: float = 0.5) -> None:
        self._serial = serial_port
        self._dialect: AtDialect = dialect or Rui3Dialect()
        self._on_downlink = on_downlink
        self.command_timeout_s = command_timeout_s
        self.send_timeout_s = send_timeout_s
        self.rx_grace_s = rx_grace_s
        self._answers: queue.Queue[object] = queue.Queue()
        self._events: queue.Queue[object] = queue.Queue()
        self._downlinks: queue.Queue[object] = queue.Queue()
        self._lock = threading.Lock()
        self._confirmed: bool | None = None
        self._closing = threading.Event()
        self._failure: BaseException | None = None
        self._reader = threading.Thread(target=self._read_loop, name="lora-modem-reader", daemon=True)
        self._reader.start()

    @classmethod
    def open(cls, device: str, *, baudrate: int = 115200, **kwargs: Any) -> AtModem:
        """Open ``device`` (e.g. /dev/ttyAMA0) with pyserial and drive the modem on it."""
        import serial  # the hardware library is imported where it is used

        try:
            port = serial.Serial(device, baudrate, timeout=None)
        except (serial.SerialException, OSError) as exc:
            raise ModemError(f"cannot open the LoRa modem on {device}: {exc}") from exc
        return cls(port, **kwargs)

    # --- reader thread -------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        buffer = bytearray()
        while not self._closing.is_set():
            try:
                chunk = self._serial.read(max(1, self._serial.in_waiting))
            except Exception as exc:  # pyserial raises several types when the port goes away
                if not self._closing.is_set():
                    log.error("LoRa modem port failed: %s", exc)
                    self._failure = exc
                break
            lines, buffer = split_lines(buffer + chunk)
            for line in lines:
                self._route(line.strip())
        for q in (self._answers, self._events, self._downlinks):
            q.put(_BROKEN)

    def _route(self, line: str) -> None:
        if not line:
            return
        event = self._dialect.parse_event(line)
        if event is None:
            self._answers.put(line)
        elif event.kind is EventKind.DOWNLINK and event.downlink is not None:
            self._deliver(event.downlink)
        else:
            self._events.put(event)

    def _deliver(self, downlink: Downlink) -> None:
        if downlink.port == 0:
            log.debug("ignoring a MAC-only downlink")
            return
        log.info("LoRa downlink on port %d: %d bytes", downlink.port, len(downlink.payload))
        self._downlinks.put(downlink)
        if self._on_downlink is not None:
            try:
                self._on_downlink(downlink)
            except Exception:  # a faulty handler must not stop the reader
                log.exception("downlink handler failed")

    # --- commands ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _session(self) -> Iterator[None]:
        """Hold the command lock; refused on the reader thread, where waiting would deadlock."""
        if threading.current_thread() is self._reader:
            raise ModemError("on_downlink runs on the modem's reader thread and must not call the modem; "
                             "hand the downlink to a queue and act on it from another thread")
        with self._lock:
            yield

    def _usable(self) -> None:
        if self._failure is not None or not self._reader.is_alive():
            raise ModemError(f"the LoRa modem port is closed or failed ({self._failure or 'closed'})")

    @staticmethod
    def _drain(q: queue.Queue[object]) -> list[object]:
        items = []
        while True:
            try:
                items.append(q.get_nowait())
            except queue.Empty:
                return items

    def _next(self, q: queue.Queue[object], deadline: float, what: str) -> object:
        remaining = deadline - time.monotonic()
        try:
            item = q.get(timeout=max(0.0, remaining))
        except queue.Empty:
            raise ModemTimeoutError(f"no {what} from the LoRa modem in time") from None
        if item is _BROKEN:
            q.put(_BROKEN)
            raise ModemError(f"the LoRa modem port closed while waiting for {what}")
        return item

    def _transact(self, command: str, timeout_s: float | None = None) -> tuple[str, list[str]]:
        """Write ``command``; return its status line and the value lines before it."""
        self._usable()
        stale = [x for x in self._drain(self._answers) if x is not _BROKEN]
        if stale:
            log.debug("discarding unexpected modem lines: %s", stale)
        log.debug("modem <- %s", _masked(command))
        self._serial.write(command.encode("ascii") + b"\r\n")
        deadline = time.monotonic() + (self.command_timeout_s if timeout_s is None else timeout_s)
        values: list[str] = []
        while True:
            line = str(self._next(self._answers, deadline, f"answer to {_masked(command)}"))
            if line.upper() == command.upper():
                continue  # command echo (ATE on)
            status = self._dialect.status_of(line)
            if status is None:
                values.append(line)
                continue
            log.debug("modem -> %s", status)
            return status, values

    def _expect_ok(self, command: str) -> list[str]:
        status, values = self._transact(command)
        if status != OK:
            raise ModemCommandError(f"the LoRa modem answered {status} to {_masked(command)}", status=status)
        return values

    def _await_event(self, predicate: Callable[[Event], bool], timeout_s: float, what: str) -> Event:
        deadline = time.monotonic() + timeout_s
        while True:
            event = self._next(self._events, deadline, what)
            assert isinstance(event, Event)
            if predicate(event):
                return event
            log.debug("modem event while waiting for %s: %s", what, event.line)

    # --- LoRaModem -----------------------------------------------------------------------------------

    def join(self, dev_eui: str, app_eui: str, app_key: str, *, timeout: float = 60.0) -> bool:
        setup = self._dialect.join_setup(dev_eui, app_eui, app_key)
        with self._session():
            for command in setup:
                self._expect_ok(command)
            self._drain(self._events)
            command = self._dialect.join_command()
            status, _ = self._transact(command)
            if self._dialect.send_refusal(status) is SendStatus.BUSY:
                log.warning("LoRa modem busy, join not started")
                return False
            if status != OK:
                raise ModemCommandError(f"the LoRa modem answered {status} to {command}", status=status)
            event = self._await_event(lambda e: e.kind in (EventKind.JOINED, EventKind.JOIN_FAILED),
                                      timeout, "join result")
        joined = event.kind is EventKind.JOINED
        log.info("LoRaWAN join %s", "accepted" if joined else "failed (no join-accept)")
        return joined

    def send(self, port: int, payload: bytes, *, confirmed: bool = False) -> SendResult:
        if not 1 <= port <= 223:
            raise LoRaConfigError(f"LoRaWAN application port {port} outside 1-223")
        if not 1 <= len(payload) <= 242:
            raise LoRaConfigError(f"uplink payload of {len(payload)} bytes outside 1-242")
        with self._session():
            refused = self._set_confirmed(confirmed)
            if refused is not None:
                return SendResult(refused)
            self._drain(self._events)
            command = self._dialect.send_command(port, payload)
            status, _ = self._transact(command)
            if status != OK:
                refusal = self._dialect.send_refusal(status)
                if refusal is None:
                    raise ModemCommandError(f"the LoRa modem answered {status} to AT+SEND", status=status)
                log.info("LoRa uplink refused by the modem: %s", refusal.value)
                return SendResult(refusal)
            event = self._await_event(lambda e: self._dialect.send_done(e, confirmed) is not None,
                                      self.send_timeout_s, "end of transmission")
            outcome = self._dialect.send_done(event, confirmed)
            assert outcome is not None
            return SendResult(outcome, self._collect_downlinks())

    def _set_confirmed(self, confirmed: bool) -> SendStatus | None:
        if self._confirmed is confirmed:
            return None
        status, _ = self._transact(self._dialect.confirm_command(confirmed))
        if status != OK:
            refusal = self._dialect.send_refusal(status)
            if refusal is None:
                raise ModemCommandError(f"the LoRa modem answered {status} to AT+CFM", status=status)
            return refusal
        self._confirmed = confirmed
        return None

    def _collect_downlinks(self) -> tuple[Downlink, ...]:
        """Downlinks queued since the last send; waits ``rx_grace_s`` for one that follows the TX event
        (RUI3 reports the receive window after the end of transmission)."""
        found: list[object] = [d for d in self._drain(self._downlinks) if isinstance(d, Downlink)]
        if not found:
            try:
                item = self._downlinks.get(timeout=self.rx_grace_s)
            except queue.Empty:
                return ()
            found = [item, *self._drain(self._downlinks)]
        return tuple(d for d in found if isinstance(d, Downlink))

    def data_rate(self) -> int:
        return self._query_int("DR")

    def is_joined(self) -> bool:
        return self._query_int("NJS") == 1

    def _query_int(self, key: str) -> int:
        with self._session():
            values = self._expect_ok(self._dialect.query(key))
        text = self._dialect.parse_value(key, values)
        try:
            return int(text)
        except ValueError:
            raise ModemError(f"the LoRa modem gave {text!r} for AT+{key}, not a number") from None

    def set_data_rate(self, data_rate: int) -> None:
        """Fix the data rate (turn ADR off first with ``set_adr(False)``, or the network will change it)."""
        with self._session():
            self._expect_ok(self._dialect.set_command("DR", data_rate))

    def set_adr(self, enabled: bool) -> None:
        with self._session():
            self._expect_ok(self._dialect.set_command("ADR", int(enabled)))

    def set_region(self, region: Region) -> None:
        """Select the region's band (RUI3 ``AT+BAND``); the module variant must support it."""
        with self._session():
            self._expect_ok(self._dialect.set_command("BAND", region.rui3_band))

    def close(self) -> None:
        self._closing.set()
        try:
            self._serial.cancel_read()
        except Exception:  # not every port object can cancel a read; closing it ends the read too
            log.debug("cancel_read not available", exc_info=True)
        self._reader.join(timeout=2.0)
        self._serial.close()

    def __enter__(self) -> AtModem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
