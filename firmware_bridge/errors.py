"""Exceptions of the companion-microcontroller bridge: one root, leaves that also inherit a builtin.

Catch ``BridgeError`` for anything the bridge reports on purpose, or the builtin (``TimeoutError``,
``ConnectionError``, ``ValueError``) for the broad family. Messages say what to check or do next.
"""

from __future__ import annotations


class BridgeError(Exception):
    """Root of every error the bridge raises on purpose."""


class MessageFieldError(BridgeError, ValueError):
    """A message was built with a field outside what the protocol can carry."""


class BridgeConnectionError(BridgeError, ConnectionError):
    """The serial port cannot be opened, or is gone and has not come back in time."""


class ProtocolVersionError(BridgeError, ConnectionError):
    """The board speaks an incompatible protocol major version: flash matching firmware."""


class BridgeTimeoutError(BridgeError, TimeoutError):
    """The board did not answer (acknowledge a command, or reply to the handshake) in time."""


class HandshakeTimeoutError(BridgeTimeoutError):
    """No reply to the host's hello: board off, wrong port or baud rate, or other firmware."""


class CommandRejectedError(BridgeError):
    """The board answered a command with a NACK; ``reason`` says why (a ``NackReason``)."""

    def __init__(self, message: str, *, reason: int) -> None:
        super().__init__(message)
        self.reason = reason


class SimulatorError(BridgeError, RuntimeError):
    """The simulated board is not running (never started, stopped, or its thread died)."""
