"""Errors of the ranger's page."""

from __future__ import annotations

from station.errors import StationError


class WebError(StationError, OSError):
    """The ranger's page cannot be served (no password set, the port is taken)."""
