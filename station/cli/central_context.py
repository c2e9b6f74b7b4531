"""What the `trapd central …` commands share: the central.toml they load (option, env or ./central.toml), the
store it names, and the time option type."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

CENTRAL_CONFIG_HELP = "Central server configuration (env TRAPD_CENTRAL_CONFIG; default ./central.toml if present)."


class UtcTime(click.ParamType):
    """An ISO 8601 date or time; without a zone it is taken as UTC."""

    name = "TIME"

    def convert(self, value, param, ctx) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{value!r} is not an ISO date or time such as 2026-11-01 or 2026-11-01T06:00:00Z", param, ctx)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def central_config(ctx: click.Context):
    from station.central.config import DEFAULT_CENTRAL_CONFIG, load_central_config

    path = (ctx.obj or {}).get("config_path")
    if path is None and Path(DEFAULT_CENTRAL_CONFIG).exists():
        path = Path(DEFAULT_CENTRAL_CONFIG)
    return load_central_config(path)


def central_store(ctx: click.Context):
    from station.central.db import open_store

    return open_store(central_config(ctx).database)

