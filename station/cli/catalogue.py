"""`trapd central catalogue …`, `trapd central individuals merge|split|conflicts|show` and `trapd central demo`:
the cross-border catalogue of individual cats (station/central/catalogue.py), as thin click commands."""

from __future__ import annotations

import json
from pathlib import Path

import click

from station.cli.central_context import central_store

BY_HELP = "Who decided (kept with the decision)."
REASON_HELP = "Why (kept with the decision)."


def add_catalogue_commands(central: click.Group, individuals: click.Group) -> None:
    central.add_command(catalogue)
    central.add_command(demo)
    for command in (merge, split, conflicts, show):
        individuals.add_command(command)


@click.group()
def catalogue() -> None:
    """Each park's catalogue of individuals under its national codes (RU T-12, CN AT-034)."""


@catalogue.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--country", required=True, help="The catalogue's country: RU or CN.")
@click.option("--park", required=True, help="The park that keeps it, e.g. LLNP or TLNP.")
@click.option("--by", "decided_by", required=True, help=BY_HELP)
@click.option("--reason", default="park catalogue import", show_default=True, help=REASON_HELP)
@click.pass_context
def catalogue_import(ctx: click.Context, csv_file: Path, country: str, park: str, decided_by: str,
                     reason: str) -> None:
    """Apply a park's catalogue CSV: code, species, observation_id[, sex, life_stage, other_codes]."""
    from station.central.catalogue import Decision, import_catalogue

    with central_store(ctx) as conn:
        done = import_catalogue(conn, csv_file, country=country.upper(), park=park,
                                decision=Decision(decided_by, reason))
    click.echo(f"{csv_file}: {done['rows']} rows, {done['sightings']} sightings tied, "
               f"{done['individuals_created']} new individuals, {done['conflicts']} conflicts for the experts")


@click.command()
@click.argument("keep")
@click.argument("other")
@click.option("--by", "decided_by", required=True, help=BY_HELP)
@click.option("--reason", required=True, help=REASON_HELP)
@click.pass_context
def merge(ctx: click.Context, keep: str, other: str, decided_by: str, reason: str) -> None:
    """Experts decided OTHER is the same animal as KEEP: fold it in (every code and sighting kept)."""
    from station.central.catalogue import Decision
    from station.central.catalogue import merge as merge_individuals

    with central_store(ctx) as conn:
        into = merge_individuals(conn, keep, other, Decision(decided_by, reason))
    click.echo(f"merged {other} into {into} (undo with `trapd central individuals split {other}`)")


@click.command()
@click.argument("other")
@click.option("--by", "decided_by", required=True, help=BY_HELP)
@click.option("--reason", required=True, help=REASON_HELP)
@click.pass_context
def split(ctx: click.Context, other: str, decided_by: str, reason: str) -> None:
    """Undo the merge that folded OTHER into another individual."""
    from station.central.catalogue import Decision
    from station.central.catalogue import split as split_individual

    with central_store(ctx) as conn:
        was = split_individual(conn, other, Decision(decided_by, reason))
    click.echo(f"split {other} from {was}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def conflicts(ctx: click.Context, as_json: bool) -> None:
    """Codes claimed for two animals, and sightings two catalogues claim: for the experts to settle."""
    from station.central.catalogue import conflicts as find_conflicts

    with central_store(ctx) as conn:
        found = find_conflicts(conn)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for conflict in found:
        what = conflict.get("code") or f"sighting {conflict.get('observation_id')}"
        click.echo(f"{what}: claimed for {', '.join(conflict['individuals'])}")
    click.echo(f"{len(found)} conflicts" + ("" if found else " (nothing for the experts to settle)"))


@click.command()
@click.argument("individual_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def show(ctx: click.Context, individual_id: str, as_json: bool) -> None:
    """One individual: its codes, sightings, what it is now, and every decision about it."""
    from station.central.catalogue import history

    with central_store(ctx) as conn:
        found = history(conn, individual_id)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    now = "" if found["now"] == individual_id else f" (merged into {found['now']})"
    click.echo(f"{individual_id}{now}: {found['species']}, codes {', '.join(found['codes']) or 'none'}, "
               f"{found['sightings']} sightings")
    for d in found["decisions"]:
        click.echo(f"  {d['at']}  {d['kind']:<6} {d['individual']} {d['other'] or ''}  by {d['by']}: {d['reason']}")


@click.command()
@click.option("--scenario", type=click.Choice(["transboundary-2014"]), default="transboundary-2014",
              show_default=True, help="The simulated study to run.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the report JSON.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the report page.")
@click.option("--database", default="postgresql://postgres@127.0.0.1:5432/test", show_default=True,
              help="PostgreSQL to use (a schema of its own is made and dropped).")
@click.option("--keep", is_flag=True, help="Keep the demo's schema (its name is printed).")
def demo(scenario: str, json_path: Path | None, html_path: Path | None, database: str, keep: bool) -> None:
    """The central side end to end on a simulated study: broker, ingest, catalogues, merges, the report."""
    from station.central.demo import run_demo
    from station.central.report import render_text
    from station.central.report_html import render_html

    result = run_demo(scenario, database=database, keep=keep, progress=lambda line: click.echo(f"  · {line}"))
    click.echo(render_text(result.report), nl=False)
    if json_path:
        json_path.write_text(json.dumps(result.report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        click.echo(f"wrote {json_path}")
    if html_path:
        html_path.write_text(render_html(result.report), encoding="utf-8")
        click.echo(f"wrote {html_path}")
    verdict = "matches" if result.matches else "DOES NOT match"
    click.echo(f"the report {verdict} the scenario's truth" + (f"; schema {result.schema} kept" if keep else ""))
    if not result.matches:
        raise SystemExit(1)
