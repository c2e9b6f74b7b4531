"""`trapd central …` (the central server) and `trapd export` (Camtrap DP from a station's own store).

Only this layer prints or picks exit codes: 0 ok, 1 a failure, 2 a usage or configuration mistake.
Register with ``main.add_command(central)`` and ``main.add_command(export)`` in station/cli/main.py.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

import click

from station.cli.central_context import CENTRAL_CONFIG_HELP, UtcTime, central_config, central_store
from station.cli.errors import StationErrorsGroup


@click.group(cls=StationErrorsGroup)
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), envvar="TRAPD_CENTRAL_CONFIG",
              help=CENTRAL_CONFIG_HELP)
@click.pass_context
def central(ctx: click.Context, config_path: Path | None) -> None:
    """Central server: ingest stations into PostgreSQL, export Camtrap DP, report, alerts, fleet simulator."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path


@central.command("init")
@click.argument("path", type=click.Path(path_type=Path), default="central.toml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def central_init(path: Path, force: bool) -> None:
    """Write an example central.toml (database, broker, alert villages and zones, export metadata)."""
    from station.central.config import EXAMPLE_CONFIG

    if path.exists() and not force:
        raise click.UsageError(f"{path} exists; use --force to overwrite it")
    path.write_text(EXAMPLE_CONFIG, encoding="utf-8")
    click.echo(f"wrote {path}; set [database] url and [mqtt], then `trapd central migrate -c {path}`")


@central.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Create the central schema in PostgreSQL, or bring it up to date (safe to repeat)."""
    from station.central.migrations import MIGRATIONS

    central_store(ctx).close()
    click.echo(f"central schema {central_config(ctx).database.db_schema} is at version {len(MIGRATIONS)}")


@central.group()
def stations() -> None:
    """The station registry: which park, country and place each station belongs to."""


@stations.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def stations_import(ctx: click.Context, csv_file: Path) -> None:
    """Register stations from a CSV (station_id, park, country, latitude, longitude[, location_name, dev_eui])."""
    from station.central.registry import read_stations_csv, register_stations

    entries = read_stations_csv(csv_file)
    with central_store(ctx) as conn:
        count = register_stations(conn, entries)
    click.echo(f"registered {count} stations from {csv_file}")


@stations.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def stations_list(ctx: click.Context, as_json: bool) -> None:
    """List known stations with park, country, place and last reported state."""
    from station.central.registry import list_stations

    with central_store(ctx) as conn:
        rows = list_stations(conn)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    for row in rows:
        mark = "" if row["registered"] else "  (not registered)"
        click.echo(f"{row['station_id']:<16} {row['park'] or '-':<6} {row['country'] or '--':<3} "
                   f"{row['latitude'] or '':>9} {row['longitude'] or '':>10} {row['state'] or '':<8}{mark}")


@central.command()
@click.option("--workers", type=click.IntRange(1, 32), default=2, show_default=True,
              help="Workers in this process (each with its own broker and database connection).")
@click.option("--name", default="1", show_default=True,
              help="Worker name prefix; keep it stable per host so a restarted worker gets its session back.")
@click.pass_context
def ingest(ctx: click.Context, workers: int, name: str) -> None:
    """Run ingest workers on the shared subscription until SIGTERM or Ctrl-C."""
    from station.central.ingest import IngestWorker, subscriptions

    config = central_config(ctx)
    running = [IngestWorker(config, name=f"{name}-{n}" if workers > 1 else name).start() for n in range(workers)]
    click.echo(f"ingesting with {workers} worker(s) on {config.mqtt.host}:{config.mqtt.port}: "
               f"{', '.join(subscriptions(config))}", err=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(60):
        click.echo(f"ingest: {_totals(running)}", err=True)
    for worker in running:
        worker.stop()
    click.echo(f"stopped: {_totals(running)}", err=True)


def _totals(workers) -> str:
    totals: dict[str, int] = {}
    for worker in workers:
        for key, value in worker.snapshot().items():
            totals[key] = totals.get(key, 0) + value
    return ", ".join(f"{key} {value}" for key, value in sorted(totals.items())) or "nothing yet"


def _selection_options(function):
    options = [
        click.option("--park", "parks", multiple=True, help="Only these parks (repeat), e.g. --park TLNP."),
        click.option("--country", "countries", multiple=True, help="Only these countries (repeat): RU, CN."),
        click.option("--since", type=UtcTime(), help="Sequences starting at or after this time (UTC if no zone)."),
        click.option("--until", type=UtcTime(), help="Sequences starting before this time."),
        click.option("--species", multiple=True, help="Only these species keys (repeat), e.g. amur_leopard."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@central.command("export")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the package (created; existing tables are replaced).")
@_selection_options
@click.option("--thumbnails", is_flag=True, help="Also write the public thumbnails under media/.")
@click.option("--validate/--no-validate", default=True, show_default=True,
              help="Check the written package offline (needs frictionless).")
@click.pass_context
def central_export(ctx: click.Context, out: Path, parks, countries, since, until, species, thumbnails,
                   validate: bool) -> None:
    """Write a Camtrap DP 1.0.2 package (deployments, media, observations, datapackage.json)."""
    from station.central.export import Selection, export_central

    selection = Selection(tuple(parks), tuple(c.upper() for c in countries), since, until, tuple(species))
    config = central_config(ctx)
    with central_store(ctx) as conn:
        result = export_central(conn, out, selection, config.export, write_thumbnails=thumbnails)
    rows = result.package.rows
    click.echo(f"wrote {out}: {rows['deployments']} deployments, {rows['media']} media, "
               f"{rows['observations']} observations, {result.thumbnails_written} thumbnails")
    if result.unregistered_observations:
        click.echo(f"left out {result.unregistered_observations} observations of stations not in the registry "
                   f"(register them with `trapd central stations import`)", err=True)
    if validate:
        _report_validation(out)


def _report_validation(folder: Path) -> None:
    from station.camtrapdp.validate import validate_package

    problems = validate_package(folder)
    for line in problems:
        click.echo(f"invalid: {line}", err=True)
    if problems:
        sys.exit(1)
    click.echo("valid Camtrap DP 1.0.2 package (checked offline)")


@central.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def validate(folder: Path) -> None:
    """Check a Camtrap DP 1.0.2 package without internet (profile rules and table schemas)."""
    _report_validation(folder)


@central.command()
@click.option("--since", type=UtcTime(), help="Start of the period (UTC if no zone).")
@click.option("--until", type=UtcTime(), help="End of the period (exclusive).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write JSON here.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a self-contained HTML page (with a chart) here.")
@click.pass_context
def report(ctx: click.Context, since, until, json_path: Path | None, html_path: Path | None) -> None:
    """The joint report: identified adults (cubs) per country, crossings, dispersal, distance from the border."""
    from station.central.report import build_report, render_text
    from station.central.report_html import render_html

    border = central_config(ctx).report.border
    with central_store(ctx) as conn:
        data = build_report(conn, since=since, until=until, border=border)
    click.echo(render_text(data), nl=False)
    if json_path:
        json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        click.echo(f"wrote {json_path}")
    if html_path:
        html_path.write_text(render_html(data), encoding="utf-8")
        click.echo(f"wrote {html_path}")


@central.group()
def individuals() -> None:
    """Individual animals recognised by experts, tied to observations."""


@individuals.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def individuals_import(ctx: click.Context, csv_file: Path) -> None:
    """Apply a CSV of observation_id, individual_id[, name, sex, notes] (all or nothing)."""
    from station.central.individuals import import_individuals

    with central_store(ctx) as conn:
        count = import_individuals(conn, csv_file)
    click.echo(f"assigned {count} observations from {csv_file}")


@individuals.command("set")
@click.argument("observation_id")
@click.argument("individual_id")
@click.option("--name", help="A name for the individual.")
@click.option("--sex", type=click.Choice(["female", "male"]), help="Sex, when known.")
@click.option("--notes", help="Free text (marks, how it was recognised).")
@click.pass_context
def individuals_set(ctx: click.Context, observation_id: str, individual_id: str, name, sex, notes) -> None:
    """Tie one observation to an individual (created on first use with the observation's species)."""
    from station.central.individuals import Assignment, set_individual

    with central_store(ctx) as conn:
        species = set_individual(conn, Assignment(observation_id, individual_id, name, sex, notes))
    click.echo(f"observation {observation_id} is {individual_id} ({species})")


@central.command("dead-letters")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Newest N.")
@click.pass_context
def dead_letters(ctx: click.Context, limit: int) -> None:
    """Messages that could not be stored, with the reason (newest first)."""
    with central_store(ctx) as conn:
        rows = conn.execute("SELECT received_at, topic, reason, length(payload) FROM dead_letters "
                            "ORDER BY id DESC LIMIT %s", [limit]).fetchall()
    for received_at, topic, reason, size in rows:
        click.echo(f"{received_at:%Y-%m-%d %H:%M:%S}  {topic}  ({size} bytes)\n    {reason}")
    if not rows:
        click.echo("no dead letters")


@central.command()
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Newest N.")
@click.pass_context
def alerts(ctx: click.Context, limit: int) -> None:
    """Conflict and ranger alerts raised so far (newest first)."""
    with central_store(ctx) as conn:
        rows = conn.execute("SELECT observed_at, kind, level, station_id, species_key, payload FROM alerts "
                            "ORDER BY observed_at DESC LIMIT %s", [limit]).fetchall()
    for observed_at, kind, level, station_id, species, payload in rows:
        where = (f"{payload.get('distance_km')} km from {payload.get('settlement')}" if kind == "conflict"
                 else f"in {payload.get('zone')}")
        click.echo(f"{observed_at:%Y-%m-%d %H:%M:%S}  {kind:<8} {'L' + str(level) if level else '  '}  "
                   f"{station_id:<14} {species:<13} {where}")
    if not rows:
        click.echo("no alerts")


@central.command("command")
@click.argument("station_id")
@click.argument("name")
@click.option("--args", "args_json", default="{}", show_default=True,
              help='The command\'s arguments as a JSON object, e.g. \'{"key": "capture.burst_frames", "value": 5}\'.')
@click.option("--expires-in", type=click.FloatRange(min=1), default=21_600, show_default=True,
              help="Seconds until the command expires (MQTT message expiry and expires_at): not run after that.")
@click.option("--wait", "wait_s", type=click.FloatRange(min=0), default=30, show_default=True,
              help="Seconds to wait for the station's reply (0: send and return).")
@click.option("--request-id", default=None,
              help="Request id (default: a new ops-<time>-<hex>); a repeat is not re-run.")
@click.pass_context
def command(ctx: click.Context, station_id: str, name: str, args_json: str, expires_in: float, wait_s: float,
            request_id: str | None) -> None:
    """Send command NAME to STATION_ID (docs/wire.md, Commands) and print its reply.

    An offline station that has connected before gets it when it returns, unless it expired first."""
    from station.central.commands import send_command

    try:
        args = json.loads(args_json)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--args") from None
    if not isinstance(args, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--args")
    sent = send_command(central_config(ctx).mqtt, station_id, name, args, expires_in_s=expires_in, wait_s=wait_s,
                        request_id=request_id)
    if sent.reply is not None:
        click.echo(json.dumps(sent.reply, ensure_ascii=False))
        sys.exit(0 if sent.reply.get("ok") else 1)
    click.echo(f"{sent.request_id}: sent; no reply within {wait_s:g} s. The broker holds it for the station "
               f"until {sent.expires_at} (if the station has connected before).")
    sys.exit(1 if wait_s > 0 else 0)


def _add_catalogue_commands() -> None:
    from station.cli.catalogue import add_catalogue_commands
    from station.cli.fleet import simulate_fleet

    add_catalogue_commands(central, individuals)
    central.add_command(simulate_fleet)


_add_catalogue_commands()
