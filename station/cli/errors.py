"""Click classes that turn the station's own errors into one line and an exit code, never a traceback.

Exit codes: 2 for a configuration mistake, 1 for any other ``StationError``. Used by ``trapd`` and by every
command group registered under it (and by those groups when run on their own).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from station.errors import ConfigError, StationError


class _StationErrors:
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except ConfigError as exc:
            click.echo(f"config error: {exc}", err=True)
            sys.exit(2)
        except StationError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


class StationErrorsGroup(_StationErrors, click.Group):
    """A command group with the station's error handling."""


class StationErrorsCommand(_StationErrors, click.Command):
    """A single command with the station's error handling."""
