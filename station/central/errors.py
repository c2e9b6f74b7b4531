"""Errors of the central server: one root under StationError, leaves that also inherit the matching builtin."""

from __future__ import annotations

from station.errors import StationError


class CentralError(StationError):
    """Root of every error the central server raises on purpose."""


class DatabaseError(CentralError, ConnectionError):
    """PostgreSQL cannot be reached or used (not running, wrong URL, missing driver)."""


class RegistryError(CentralError, ValueError):
    """A registry or individuals file (CSV) has a mistake; the message names the file, line and column."""


class NotFoundError(CentralError, LookupError):
    """An observation, individual or station named on the command line does not exist."""


class BadMessage(CentralError, ValueError):
    """A message that cannot be stored; ``reason`` goes to the dead-letter table."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
