"""Threads waiting for the board's answers: the ACK or NACK of a command, the LORA_TX_DONE of an
uplink. The reader thread resolves them; the waiting thread owns the timeout."""

from __future__ import annotations

import dataclasses
import enum
import threading

from firmware_bridge.errors import CommandRejectedError
from firmware_bridge.fields import NackReason
from firmware_bridge.protocol import Command, Message, Nack

_NACK_HINTS: dict[int, str] = {
    NackReason.UNKNOWN_TYPE: "the board's firmware is older than this host: flash the current firmware",
    NackReason.BAD_PAYLOAD: "host and firmware disagree on the message layout: check both versions",
    NackReason.OUT_OF_RANGE: "a field is outside what the board accepts (docs/bridge-protocol.md)",
    NackReason.UNSUPPORTED: "the board lacks the hardware for it (see its capabilities)",
    NackReason.BUSY: "the board is busy with the previous one: retry later",
    NackReason.NOT_READY: "a precondition is missing (sleep_until with a time needs set_time first)",
}


class Awaited(enum.Enum):
    ANSWER = "answer"  # ACK or NACK of a command, by the command's seq
    UPLINK_DONE = "uplink_done"  # LORA_TX_DONE, by the LORA_SEND's seq


@dataclasses.dataclass
class Reply:
    done: threading.Event = dataclasses.field(default_factory=threading.Event)
    message: Message | None = None


class Replies:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[tuple[Awaited, int], Reply] = {}

    def expect(self, awaited: Awaited, seq: int) -> Reply:
        reply = Reply()
        with self._lock:
            self._waiting[(awaited, seq)] = reply
        return reply

    def resolve(self, awaited: Awaited, seq: int, message: Message) -> None:
        """Hand ``message`` to whoever waits for it; answers nobody waits for are dropped."""
        with self._lock:
            reply = self._waiting.get((awaited, seq))
        if reply is not None:
            reply.message = message
            reply.done.set()

    def forget(self, awaited: Awaited, seq: int) -> None:
        with self._lock:
            self._waiting.pop((awaited, seq), None)


def rejection(command: Command, seq: int, nack: Nack) -> CommandRejectedError:
    """The error for a NACKed command: the reason by name and what to do about it."""
    reason = nack.reason
    name = reason.name.lower() if isinstance(reason, NackReason) else f"reason {reason}"
    hint = _NACK_HINTS.get(reason, "unknown reason: the board is newer than this host")
    return CommandRejectedError(f"board refused {command.NAME} (seq {seq}): {name}; {hint}", reason=int(reason))
