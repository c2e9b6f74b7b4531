"""The host's end of the companion-board link: owns the serial port and one reader thread.

The reader thread reads bytes, hands them to the pure :class:`~firmware_bridge.parser.FrameParser`,
answers handshakes, acknowledges board events and resolves command acknowledgements. Callbacks
(``on_pir`` ...) run in that thread: keep them short (put the event on a queue) so the next frame is
not delayed. When the port disappears (USB unplugged) the thread reopens it and handshakes again; a
board that resets announces itself with a hello and is handshaken again, nothing lost: the board
re-sends events until acknowledged and the bridge drops the duplicates.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any, Self

import serial

from firmware_bridge.errors import (
    BridgeConnectionError,
    BridgeError,
    HandshakeTimeoutError,
    ProtocolVersionError,
)
from firmware_bridge.fields import Capability, NackReason
from firmware_bridge.parser import ErrorKind, FrameParser, ParseError
from firmware_bridge.protocol import (
    PROTOCOL_VERSION,
    Ack,
    Hello,
    LoRaRx,
    LoRaTxDone,
    Message,
    Nack,
    Pir,
    SerialFrame,
    Tamper,
    Telemetry,
    encode_frame,
)
from firmware_bridge.replies import Awaited, Replies
from firmware_bridge.serial_port import SerialPort
from firmware_bridge.session import BridgeStats, HelloOutcome, LinkState, Session

log = logging.getLogger(__name__)

TrafficTap = Callable[[str, "SerialFrame | ParseError"], object]  # ("rx" | "tx", item)

_HANDSHAKE_RETRY_S = 0.5
_READ_TIMEOUT_S = 0.25  # how often the reader thread looks at its timers when the line is quiet


def _host_version() -> tuple[int, int, int]:
    """trapd's version for the host's hello (a board's debug log can then tell hosts apart)."""
    try:
        text = metadata.version("trapd")
    except metadata.PackageNotFoundError:
        return (0, 0, 0)
    numbers = [min(int(part), 255) if part.isdigit() else 0 for part in text.split(".")[:3]]
    major, minor, patch = [*numbers, 0, 0, 0][:3]
    return (major, minor, patch)


class BoardLink:
    """The serial link to a companion board: the port, the reader thread, the handshake, and the board's
    events handed to the callbacks. :class:`~firmware_bridge.bridge.Bridge` adds the commands."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 115200,
        on_pir: Callable[[Pir], object] | None = None,
        on_telemetry: Callable[[Telemetry], object] | None = None,
        on_tamper: Callable[[Tamper], object] | None = None,
        on_hello: Callable[[Hello], object] | None = None,
        on_lora_tx_done: Callable[[LoRaTxDone], object] | None = None,
        on_lora_rx: Callable[[LoRaRx], object] | None = None,
        on_traffic: TrafficTap | None = None,
        handshake_timeout: float = 3.0,
        reconnect_interval: float = 0.5,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.on_pir, self.on_telemetry, self.on_tamper = on_pir, on_telemetry, on_tamper
        self.on_hello, self.on_lora_tx_done, self.on_lora_rx = on_hello, on_lora_tx_done, on_lora_rx
        self.on_traffic = on_traffic
        self.handshake_timeout = handshake_timeout
        self.reconnect_interval = reconnect_interval
        self._port: SerialPort | None = None  # None while the device is gone
        self._changed = threading.Condition()  # guards the three below; signals link state changes
        self._parser = FrameParser()
        self._session = Session(port)
        self._replies = Replies()
        self._hello_due = 0.0
        self._hellos_sent = 0
        self._host_hello = Hello(*PROTOCOL_VERSION, _host_version(), bytes(8), Capability(0), 0)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_telemetry: Telemetry | None = None

    # -- life cycle --------------------------------------------------------------------------------

    def start(self) -> Hello:
        """Open the port, handshake, and return the board's hello. Raises BridgeConnectionError,
        HandshakeTimeoutError or ProtocolVersionError (the bridge is stopped again then)."""
        if self._thread is not None:
            raise BridgeError(f"bridge on {self.port} already started: stop() it before starting again")
        self._stopping.clear()
        self._port = self._open()
        with self._changed:
            self._session.port_opened(reconnect=False)
        self._thread = threading.Thread(target=self._run, name=f"bridge-reader {self.port}", daemon=True)
        self._thread.start()
        self._send_hello()
        try:
            return self._await_handshake(self.handshake_timeout)
        except BridgeError:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the reader thread and close the port. Safe to call more than once."""
        self._stopping.set()
        port = self._port
        if port is not None:
            port.cancel_read()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        self._close_port()
        with self._changed:
            self._session.state = LinkState.STOPPED
            self._changed.notify_all()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def state(self) -> LinkState:
        with self._changed:
            return self._session.state

    def wait_for_state(self, *states: LinkState, timeout: float) -> bool:
        """Block until the link is in one of ``states`` (e.g. READY after a reconnect); False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._session.state in states, timeout)

    @property
    def board(self) -> Hello | None:
        """The board's hello from the latest handshake."""
        with self._changed:
            return self._session.board

    def stats(self) -> BridgeStats:
        with self._changed:
            errors = self._parser.errors
            counts = dict(self._session.counts)
        return BridgeStats(
            frames_ok=self._parser.frames_ok,
            crc_errors=errors.get(ErrorKind.CRC, 0),
            cobs_errors=errors.get(ErrorKind.COBS, 0),
            too_long=errors.get(ErrorKind.TOO_LONG, 0),
            short_frames=errors.get(ErrorKind.SHORT, 0),
            unknown_type=errors.get(ErrorKind.UNKNOWN_TYPE, 0),
            bad_payload=errors.get(ErrorKind.BAD_PAYLOAD, 0),
            **{name: counts.get(name, 0) for name in
               ("duplicates", "retries", "timeouts", "reconnects", "handshakes", "board_resets")},
        )

    def _wait_ready(self, deadline: float) -> bool:
        with self._changed:
            while self._session.state is not LinkState.READY:
                if self._session.incompatible is not None:  # a fresh exception: each raise has its own traceback
                    raise ProtocolVersionError(str(self._session.incompatible))
                if self._session.state is LinkState.STOPPED:
                    raise BridgeConnectionError(f"bridge on {self.port} is stopped: start() it first")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def _await_handshake(self, timeout: float) -> Hello:
        deadline = time.monotonic() + timeout
        if not self._wait_ready(deadline):
            raise HandshakeTimeoutError(
                f"no handshake reply from the board on {self.port} within {timeout:.1f} s "
                f"({self._hellos_sent} hellos sent). Check that the board is powered and runs the bridge "
                f"firmware (firmware_bridge/firmware/README.md), that TX and RX are crossed (Pi GPIO14 -> "
                f"GP1, GPIO15 <- GP0) and that both sides use {self.baudrate} baud"
            )
        board = self.board
        assert board is not None  # READY implies a board hello
        return board

    # -- the serial port ---------------------------------------------------------------------------

    def _open(self) -> SerialPort:
        return SerialPort.open(self.port, baudrate=self.baudrate, read_timeout=_READ_TIMEOUT_S)

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            port.close()

    def _write(self, frame: bytes, item: SerialFrame) -> bool:
        port = self._port
        if port is None or not port.write(frame):
            return False
        self._tap("tx", item)
        return True

    def _send(self, message: Message) -> None:
        with self._changed:
            seq = self._session.next_seq()
        self._write(encode_frame(message, seq), SerialFrame(seq, message))

    def _send_hello(self) -> None:
        with self._changed:
            self._hello_due = time.monotonic() + _HANDSHAKE_RETRY_S
            self._hellos_sent += 1
        self._send(self._host_hello)

    def _count(self, name: str) -> None:
        with self._changed:
            self._session.counts[name] += 1

    # -- the reader thread -------------------------------------------------------------------------

    def _run(self) -> None:
        lost_since: float | None = None
        while not self._stopping.is_set():
            port = self._port
            if port is None:
                port = self._reopen(lost_since)
                if port is None:
                    self._stopping.wait(self.reconnect_interval)
                    continue
                lost_since = None
            try:
                data = port.read()  # as soon as bytes are there, or b"" after the read timeout
            except (serial.SerialException, OSError, TypeError) as exc:  # TypeError: closed under us
                if self._stopping.is_set():
                    break
                lost_since = time.monotonic()
                self._lose_port(exc)
                continue
            if data:
                self._on_bytes(data)
            self._resend_hello_if_due()

    def _reopen(self, lost_since: float | None) -> SerialPort | None:
        try:
            port = self._open()
        except BridgeConnectionError as exc:
            log.debug("%s", exc)
            return None
        self._port = port
        with self._changed:
            self._session.port_opened(reconnect=True)
            self._changed.notify_all()
        away = time.monotonic() - lost_since if lost_since is not None else 0.0
        log.info("serial port %s is back after %.1f s; handshaking", self.port, away)
        self._send_hello()
        return port

    def _lose_port(self, exc: BaseException) -> None:
        log.warning("lost serial port %s (%s); reopening every %.1f s", self.port, exc, self.reconnect_interval)
        self._close_port()
        with self._changed:
            self._parser.reset()
            self._session.port_lost()
            self._changed.notify_all()

    def _resend_hello_if_due(self) -> None:
        with self._changed:
            due = self._session.state is LinkState.HANDSHAKING and time.monotonic() >= self._hello_due
        if due:
            self._send_hello()

    def _on_bytes(self, data: bytes) -> None:
        with self._changed:
            items = self._parser.feed(data)
        for item in items:
            self._tap("rx", item)
            if isinstance(item, ParseError):
                self._on_parse_error(item)
            else:
                self._dispatch(item)

    def _on_parse_error(self, error: ParseError) -> None:
        if error.seq is None:  # line noise: counted, the parser has already resynchronised
            log.debug("bad frame from %s: %s", self.port, error.detail)
            return
        log.warning("board on %s sent a frame this host cannot read: %s", self.port, error.detail)
        reason = NackReason.UNKNOWN_TYPE if error.kind is ErrorKind.UNKNOWN_TYPE else NackReason.BAD_PAYLOAD
        self._send(Nack(error.seq, reason))  # so the board stops re-sending it

    def _dispatch(self, frame: SerialFrame) -> None:
        message = frame.message
        if isinstance(message, Hello):
            self._on_board_hello(message)
        elif isinstance(message, (Ack, Nack)):
            self._replies.resolve(Awaited.ANSWER, message.seq, message)
        elif isinstance(message, Telemetry):
            self.last_telemetry = message
            self._deliver(self.on_telemetry, message)
        elif isinstance(message, (Pir, Tamper, LoRaTxDone, LoRaRx)):
            self._on_event(frame)
        else:
            log.warning("board on %s sent %s, which only a host sends; ignored", self.port, message.NAME)

    def _on_event(self, frame: SerialFrame) -> None:
        with self._changed:
            duplicate = self._session.is_duplicate(frame.seq)
        if not duplicate:
            message = frame.message
            if isinstance(message, LoRaTxDone):
                self._replies.resolve(Awaited.UPLINK_DONE, message.send_seq, message)
            callbacks = {Pir: self.on_pir, Tamper: self.on_tamper, LoRaTxDone: self.on_lora_tx_done,
                         LoRaRx: self.on_lora_rx}
            self._deliver(callbacks[type(message)], message)
        self._send(Ack(frame.seq))  # after the callback: an ack means "handed over"

    def _on_board_hello(self, hello: Hello) -> None:
        with self._changed:
            outcome = self._session.on_board_hello(hello)
            self._changed.notify_all()
        if outcome is HelloOutcome.SEND_HELLO:
            self._send_hello()
        elif outcome is HelloOutcome.COMPLETED:
            log.info("handshake with board %s on %s: protocol %d.%d, firmware %s, capabilities %s",
                     hello.board_id.hex(), self.port, hello.protocol_major, hello.protocol_minor,
                     ".".join(map(str, hello.firmware_version)), hello.capabilities)
            self._deliver(self.on_hello, hello)

    def _deliver(self, callback: Callable[[Any], object] | None, message: Message) -> None:
        if callback is None:
            return
        try:
            callback(message)
        except Exception:  # a failing callback must not kill the reader thread
            log.exception("bridge callback for %s failed; the bridge carries on", message.NAME)

    def _tap(self, direction: str, item: SerialFrame | ParseError) -> None:
        if self.on_traffic is not None:
            try:
                self.on_traffic(direction, item)
            except Exception:
                log.exception("bridge traffic tap failed; the bridge carries on")
