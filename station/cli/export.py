"""`trapd export`: a station's own store as a Camtrap DP package, for units whose cards are collected by hand."""

from __future__ import annotations

from pathlib import Path

import click

from station.camtrapdp.licenses import DEFAULT_LICENSE, LICENSE_IDS
from station.cli.central import _report_validation
from station.cli.central_context import UtcTime
from station.cli.errors import StationErrorsCommand
from station.store.paths import media_dir, station_db_path


@click.command("export", cls=StationErrorsCommand)
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), default="station.toml",
              envvar="TRAPD_CONFIG", show_default=True, help="Station configuration file (env TRAPD_CONFIG).")
@click.option("--camtrap-dp", "camtrap_dp", is_flag=True,
              help="Write a Camtrap DP 1.0.2 package (the only format so far; required).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the package (created).")
@click.option("--since", type=UtcTime(), help="Sequences starting at or after this time (UTC if no zone).")
@click.option("--until", type=UtcTime(), help="Sequences starting before this time.")
@click.option("--species", multiple=True, help="Only these species keys (repeat).")
@click.option("--latitude", type=click.FloatRange(-90, 90), help="Location for deployments that have none.")
@click.option("--longitude", type=click.FloatRange(-180, 180), help="Location for deployments that have none.")
@click.option("--copy-media", is_flag=True, help="Copy the image files beside the tables (never people's).")
@click.option("--data-license", type=click.Choice(LICENSE_IDS), default=DEFAULT_LICENSE, show_default=True,
              help="Licence of the tables (GBIF publishes under CC0-1.0, CC-BY-4.0 or CC-BY-NC-4.0).")
@click.option("--media-license", type=click.Choice(LICENSE_IDS), default=DEFAULT_LICENSE, show_default=True,
              help="Licence of the photos.")
@click.option("--validate/--no-validate", default=True, show_default=True,
              help="Check the written package offline (needs frictionless).")
def export(config_path: Path, camtrap_dp: bool, out: Path, since, until, species, latitude, longitude,
           copy_media: bool, data_license: str, media_license: str, validate: bool) -> None:
    """Export this station's store as a Camtrap DP package (for cards collected by hand)."""
    from station.camtrapdp.station_export import StationExport, export_station
    from station.config.load import check_data_dir, load_config

    if not camtrap_dp:
        raise click.UsageError("choose the format: --camtrap-dp (Camtrap DP 1.0.2)")
    config = load_config(config_path)
    check_data_dir(config, writable=False)
    options = StationExport(config.station.id, config.station.park, config.station.country, latitude,
                            longitude, since, until, tuple(species), copy_media, data_license, media_license)
    summary = export_station(station_db_path(config.data_dir), media_dir(config.data_dir), out, options)
    rows = summary.rows
    click.echo(f"wrote {out}: {rows['deployments']} deployments, {rows['media']} media, "
               f"{rows['observations']} observations")
    if validate:
        _report_validation(out)
