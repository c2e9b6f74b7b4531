"""The link's bookkeeping, without I/O or threads: handshake state, sequence numbers, duplicate
events and counters. The :class:`~firmware_bridge.bridge.Bridge` calls it under its lock.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import logging

from firmware_bridge import wire
from firmware_bridge.errors import ProtocolVersionError
from firmware_bridge.protocol import PROTOCOL_VERSION, Hello

log = logging.getLogger(__name__)

SEEN_EVENTS = 64  # board event seqs remembered, to drop the ones re-sent because an ack was lost


class LinkState(enum.Enum):
    DISCONNECTED = "disconnected"  # the port is closed or gone
    HANDSHAKING = "handshaking"  # hellos are being sent; commands wait
    READY = "ready"
    INCOMPATIBLE = "incompatible"  # the board speaks another protocol major version
    STOPPED = "stopped"


class HelloOutcome(enum.Enum):
    SEND_HELLO = "send_hello"  # the board asked for a handshake: send ours
    COMPLETED = "completed"  # the handshake is done
    IGNORED = "ignored"  # nothing to do: a late reply, or a request while our hello is out
    REFUSED = "refused"  # incompatible protocol major


@dataclasses.dataclass(frozen=True)
class BridgeStats:
    frames_ok: int
    crc_errors: int
    cobs_errors: int
    too_long: int
    short_frames: int
    unknown_type: int
    bad_payload: int
    duplicates: int  # board events received again because our ack was lost
    retries: int  # command frames sent again for want of an ack
    timeouts: int  # commands never acknowledged
    reconnects: int
    handshakes: int
    board_resets: int


class Session:
    def __init__(self, port: str) -> None:
        self.port = port
        self.state = LinkState.DISCONNECTED
        self.board: Hello | None = None
        self.incompatible: ProtocolVersionError | None = None
        self.counts: collections.Counter[str] = collections.Counter()
        self._boot_id: int | None = None
        self._seen_events: collections.deque[int] = collections.deque(maxlen=SEEN_EVENTS)
        self._tx_seq = 0

    def next_seq(self) -> int:
        seq = self._tx_seq
        self._tx_seq = (seq + 1) % wire.SEQ_MODULO
        return seq

    def is_duplicate(self, event_seq: int) -> bool:
        """True if this board event was already delivered (it is re-sent until acknowledged)."""
        if event_seq in self._seen_events:
            self.counts["duplicates"] += 1
            return True
        self._seen_events.append(event_seq)
        return False

    def on_board_hello(self, hello: Hello) -> HelloOutcome:
        if hello.boot_id != self._boot_id:
            if self._boot_id is not None:
                self.counts["board_resets"] += 1
                log.warning("board on %s restarted (boot id %08x -> %08x)", self.port, self._boot_id, hello.boot_id)
            self._boot_id = hello.boot_id
            self._seen_events.clear()  # a new boot numbers its events afresh
        if hello.protocol_major != PROTOCOL_VERSION[0]:
            self._refuse(hello)
            return HelloOutcome.REFUSED
        self.incompatible = None
        if not hello.reply:  # the board booted, or stopped hearing from us: handshake again
            if self.state is LinkState.HANDSHAKING:
                return HelloOutcome.IGNORED  # our hello is on its way; the periodic resend covers a loss
            self.state = LinkState.HANDSHAKING
            return HelloOutcome.SEND_HELLO
        if self.state is not LinkState.HANDSHAKING:
            return HelloOutcome.IGNORED
        self.state = LinkState.READY
        self.board = hello
        self.counts["handshakes"] += 1
        return HelloOutcome.COMPLETED

    def port_opened(self, *, reconnect: bool) -> None:
        if reconnect:
            self.counts["reconnects"] += 1
        self.state = LinkState.HANDSHAKING

    def port_lost(self) -> None:
        if self.state is not LinkState.STOPPED:
            self.state = LinkState.DISCONNECTED

    def _refuse(self, hello: Hello) -> None:
        if self.incompatible is None:
            self.incompatible = ProtocolVersionError(
                f"board on {self.port} speaks bridge protocol {hello.protocol_major}.{hello.protocol_minor} "
                f"(firmware {'.'.join(map(str, hello.firmware_version))}); this host speaks "
                f"{PROTOCOL_VERSION[0]}.{PROTOCOL_VERSION[1]}. Flash the firmware from "
                f"firmware_bridge/firmware/ (see its README.md) or install a trapd that matches it"
            )
            log.error("%s", self.incompatible)
        self.state = LinkState.INCOMPATIBLE
