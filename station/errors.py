"""The station's exceptions: one root, leaves that also inherit the matching builtin.

Callers can catch ``StationError`` for "anything the station reports on purpose", or a builtin such as
``ValueError``/``OSError`` for the broad family. Every message says what to do, not only what went wrong.
"""

from __future__ import annotations


class StationError(Exception):
    """Root of every error the station raises on purpose."""


class ConfigError(StationError, ValueError):
    """station.toml is missing, unreadable or invalid. The message names the file and key path."""


class UnsupportedPlatformError(ConfigError):
    """The OS cannot run the station (32-bit userland): a set-up mistake, exit 2 like a config mistake."""


class ModelError(StationError, ValueError):
    """A model or its card is missing, corrupt, or they do not match each other."""


class HardwareError(StationError, OSError):
    """A hardware adapter (camera, trigger, lamp, serial port) could not start or stopped working."""


class StoreError(StationError, OSError):
    """The SQLite store or the media folder cannot be used (corrupt file, full disk, bad permissions)."""


class UplinkError(StationError, ConnectionError):
    """An uplink (MQTT, LoRa) is misconfigured or cannot be reached."""
