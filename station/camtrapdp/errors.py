"""Errors of the Camtrap DP exporters and validator."""

from __future__ import annotations

from station.errors import StationError


class ExportError(StationError, ValueError):
    """The data cannot be exported as it is (e.g. a deployment without a location); the message says what to set."""


class ValidatorMissingError(StationError, ImportError):
    """Frictionless is not installed, so the tables cannot be checked."""
