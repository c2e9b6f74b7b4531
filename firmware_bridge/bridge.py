"""The host's end of the companion-board link: the commands a host sends, each acknowledged.

:class:`~firmware_bridge.link.BoardLink` owns the serial port and the reader thread; :class:`Bridge` adds
``send_command`` (sent again until the board's ACK, resolved by the reader thread) and ``lora_send``.
"""

from __future__ import annotations

import threading
import time

from firmware_bridge.errors import BridgeConnectionError, BridgeError, BridgeTimeoutError
from firmware_bridge.link import BoardLink
from firmware_bridge.protocol import Command, LoRaSend, LoRaTxDone, Nack, SerialFrame, encode_frame
from firmware_bridge.replies import Awaited, Reply, rejection


class Bridge(BoardLink):
    """A companion board on a serial port. ``start()`` opens it and handshakes; ``stop()`` closes.

    Callbacks get the typed message: ``on_pir(Pir)``, ``on_telemetry(Telemetry)``,
    ``on_tamper(Tamper)``, ``on_hello(Hello)`` (after every completed handshake),
    ``on_lora_tx_done(LoRaTxDone)``, ``on_lora_rx(LoRaRx)`` (a downlink); ``on_traffic("rx" | "tx",
    SerialFrame | ParseError)`` sees every frame both ways, and every bad one.
    They may also be assigned as attributes before ``start()``.
    """

    # -- commands ----------------------------------------------------------------------------------

    def send_command(self, command: Command, *, ack: bool = True, retries: int = 3, timeout: float = 0.5) -> int:
        """Send ``command`` and return its sequence number (LoRaTxDone.send_seq refers to it).

        With ``ack``, wait up to ``timeout`` s per attempt for the board's ACK and send the same
        frame again (same seq: the board runs it once) up to ``retries`` times. Raises
        BridgeTimeoutError when no ACK came, CommandRejectedError on a NACK,
        BridgeConnectionError when the port stayed down, ProtocolVersionError for wrong firmware.
        """
        if not isinstance(command, Command):
            raise TypeError(f"send_command takes a Command (IrLamp, SetTime, ...), not {type(command).__name__}")
        with self._changed:
            seq = self._session.next_seq()
        return self._command(command, seq, ack=ack, retries=retries, timeout=timeout)

    def lora_send(self, port: int, payload: bytes, confirmed: bool = False, *, timeout: float = 30.0) -> LoRaTxDone:
        """Send a LoRaWAN uplink through the board's radio and wait for its LoRaTxDone (airtime, and
        the network's ack for a confirmed uplink, take seconds). Raises like ``send_command``, and
        BridgeTimeoutError if the radio does not report within ``timeout``."""
        with self._changed:
            seq = self._session.next_seq()
        uplink = self._replies.expect(Awaited.UPLINK_DONE, seq)
        try:
            self._command(LoRaSend(port, payload, confirmed), seq, ack=True, retries=3, timeout=0.5)
            if not uplink.done.wait(timeout):
                raise BridgeTimeoutError(
                    f"board on {self.port} accepted lora_send (seq {seq}) but its radio did not report the "
                    f"uplink as done within {timeout:.1f} s: check the radio and its duty-cycle budget"
                )
        finally:
            self._replies.forget(Awaited.UPLINK_DONE, seq)
        assert isinstance(uplink.message, LoRaTxDone)  # set before done
        return uplink.message

    def _command(self, command: Command, seq: int, *, ack: bool, retries: int, timeout: float) -> int:
        if ack and threading.current_thread() is self._thread:
            raise BridgeError(
                f"{command.NAME} sent from a bridge callback would wait for an ack that only the callback's "
                f"own thread can read: hand the event to another thread (a queue) and send from there"
            )
        answer = self._replies.expect(Awaited.ANSWER, seq) if ack else Reply()
        try:
            sends = self._send_until_answered(SerialFrame(seq, command), answer, ack, retries + 1, timeout)
        finally:
            self._replies.forget(Awaited.ANSWER, seq)
        if answer.done.is_set():
            if isinstance(answer.message, Nack):
                raise rejection(command, seq, answer.message)
            return seq
        if sends and not ack:
            return seq
        self._count("timeouts")
        raise self._unanswered(command, seq, sends, timeout * (retries + 1))

    def _send_until_answered(self, frame: SerialFrame, answer: Reply, ack: bool, attempts: int, timeout: float) -> int:
        """Send the same frame once per attempt until it is answered (or, without ``ack``, sent once).
        Each attempt lasts ``timeout``, waiting for the link to be ready included. Returns the sends."""
        encoded = encode_frame(frame.message, frame.seq)
        sends = 0
        for _ in range(attempts):
            attempt_end = time.monotonic() + timeout
            if self._wait_ready(attempt_end) and self._write(encoded, frame):
                if sends:
                    self._count("retries")
                sends += 1
                if not ack:
                    return sends
            if answer.done.wait(max(0.0, attempt_end - time.monotonic())):  # a late ack still counts
                return sends
        return sends

    def _unanswered(self, command: Command, seq: int, sends: int, total: float) -> BridgeError:
        if not sends:
            return BridgeConnectionError(
                f"could not send {command.NAME} (seq {seq}) within {total:.1f} s: the link to the board on "
                f"{self.port} is {self.state.value} (port unplugged, or the board is not answering hellos)"
            )
        return BridgeTimeoutError(
            f"board on {self.port} did not acknowledge {command.NAME} (seq {seq}): sent {sends} times over "
            f"{total:.1f} s. Check the wiring and the line's error counts (Bridge.stats()), or allow "
            f"more time with timeout=/retries="
        )
