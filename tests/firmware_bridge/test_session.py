"""The Bridge's bookkeeping without threads: handshake outcomes and duplicate events."""

from __future__ import annotations

from firmware_bridge import protocol as p
from firmware_bridge.errors import ProtocolVersionError
from firmware_bridge.session import HelloOutcome, LinkState, Session


def board_hello(*, reply: bool, boot_id: int = 1, major: int = p.PROTOCOL_VERSION[0]) -> p.Hello:
    return p.Hello(major, 0, (1, 0, 0), b"BOARD-01", 0xFF, boot_id, reply)


def test_handshake_completes_only_on_a_reply_while_handshaking() -> None:
    session = Session("/dev/test")
    session.port_opened(reconnect=False)
    assert session.on_board_hello(board_hello(reply=False)) is HelloOutcome.IGNORED  # our hello is out
    assert session.on_board_hello(board_hello(reply=True)) is HelloOutcome.COMPLETED
    assert session.state is LinkState.READY
    assert session.on_board_hello(board_hello(reply=True)) is HelloOutcome.IGNORED  # a late duplicate


def test_board_asking_for_a_handshake_while_ready_starts_one() -> None:
    session = Session("/dev/test")
    session.port_opened(reconnect=False)
    session.on_board_hello(board_hello(reply=True))
    assert session.on_board_hello(board_hello(reply=False, boot_id=2)) is HelloOutcome.SEND_HELLO
    assert session.state is LinkState.HANDSHAKING
    assert session.counts["board_resets"] == 1


def test_duplicates_are_dropped_until_the_board_reboots() -> None:
    session = Session("/dev/test")
    session.port_opened(reconnect=False)
    session.on_board_hello(board_hello(reply=True, boot_id=1))
    assert not session.is_duplicate(5)
    assert session.is_duplicate(5)
    session.on_board_hello(board_hello(reply=False, boot_id=1))  # same boot: asked again, memory kept
    assert session.is_duplicate(5)
    session.on_board_hello(board_hello(reply=False, boot_id=2))  # a new boot numbers from scratch
    assert not session.is_duplicate(5)
    assert session.counts["duplicates"] == 2


def test_incompatible_major_is_refused_with_what_to_do() -> None:
    session = Session("/dev/ttyAMA0")
    session.port_opened(reconnect=False)
    assert session.on_board_hello(board_hello(reply=True, major=2)) is HelloOutcome.REFUSED
    assert session.state is LinkState.INCOMPATIBLE
    assert isinstance(session.incompatible, ProtocolVersionError)
    assert "Flash the firmware" in str(session.incompatible) and "/dev/ttyAMA0" in str(session.incompatible)
