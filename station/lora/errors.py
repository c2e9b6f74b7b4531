"""Errors of the LoRa uplink: one root, leaves that also inherit the matching builtin."""

from __future__ import annotations

from station.errors import StationError, UplinkError


class LoRaError(StationError):
    """Root of every error raised on purpose by ``station.lora``."""


class LoRaConfigError(LoRaError, ValueError):
    """A region, data rate, module variant, key or port that cannot be used (fix the config)."""


class ModemError(LoRaError, UplinkError):
    """The LoRaWAN modem cannot be used: the port failed, or it answered something unexpected."""


class ModemTimeoutError(ModemError, TimeoutError):
    """The modem did not answer a command, or an awaited event (joined, sent) did not come in time."""


class ModemCommandError(ModemError):
    """The modem rejected a command with an error status (e.g. AT_PARAM_ERROR); ``status`` holds it."""

    def __init__(self, message: str, *, status: str) -> None:
        super().__init__(message)
        self.status = status
