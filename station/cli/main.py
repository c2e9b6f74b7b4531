"""`trapd`: the command line. The only layer that prints or chooses exit codes.

Exit codes: 0 ok, 1 a check or the station failed, 2 a usage or configuration mistake.
"""

from __future__ import annotations

import csv
import json
import logging
import signal
import sys
import tempfile
import threading
from pathlib import Path

import click

from station import __version__
from station.cli.errors import StationErrorsGroup
from station.store.paths import media_dir, station_db_path

DEFAULT_CONFIG = "station.toml"
config_option = click.option("-c", "--config", "config_path", type=click.Path(path_type=Path),
                             default=DEFAULT_CONFIG, envvar="TRAPD_CONFIG", show_default=True,
                             help="Station configuration file (env TRAPD_CONFIG).")


@click.group(cls=StationErrorsGroup)
@click.version_option(__version__, prog_name="trapd")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True, help="How much the daemon logs (to stderr, i.e. the journal under systemd).")
def main(log_level: str) -> None:
    """trapd: camera-trap station daemon and tools (PIR → burst → classifier → SQLite → MQTT/LoRa)."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@click.argument("path", type=click.Path(path_type=Path), default=DEFAULT_CONFIG)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented default station.toml to PATH."""
    from station.config.file import default_config_text
    from station.fsutil import write_atomic

    if path.exists() and not force:
        raise click.UsageError(f"{path} exists; use --force to overwrite it")
    write_atomic(path, default_config_text({"model": {"detector": "bundled"}}).encode("utf-8"))
    click.echo(f"wrote {path}; edit [station] id, [hardware] (simulated until you change it) and [mqtt], "
               f"then `trapd selftest -c {path}`")


@main.command()
@config_option
def run(config_path: Path) -> None:
    """Run the station daemon until SIGTERM or Ctrl-C (persists what is in flight, then exits).

    A broken config file with a last-known-good copy beside it (station.toml.good) starts on the copy,
    loudly. Exit 75 after a remote change that applies at restart (systemd starts it again)."""
    early_stop = threading.Event()  # a SIGTERM while the libraries load and the config is read: stop cleanly
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: early_stop.set())
    from station.config.edit import load_with_fallback
    from station.config.remote import RESTART_EXIT_CODE
    from station.daemon.app import StationApp
    from station.daemon.service import ServiceNotifier, station_status

    config = load_with_fallback(config_path)
    if config.fallback_reason:
        click.echo(f"WARNING: {config.fallback_reason}", err=True)
    app = StationApp(config)
    notifier = ServiceNotifier(health=app.healthy, status=lambda: station_status(app.snapshot()))
    stop = app.fatal_event  # set by a signal, or by a hardware fault the station cannot heal itself
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if early_stop.is_set():
        click.echo("stopped before the station started", err=True)
        return
    notifier.set_status("starting: loading the model, recovering open sequences")
    app.start()
    notifier.ready()
    click.echo(f"trapd {__version__}: station {app.config.station.id} running; Ctrl-C to stop", err=True)
    stop.wait()
    notifier.stopping()
    click.echo("stopping: finishing the sequence in flight…", err=True)
    app.stop()
    if app.fatal is not None:
        raise app.fatal  # "error: ..." and exit 1: systemd's Restart=on-failure starts the service anew
    if app.restart_reason is not None:
        click.echo(f"restarting to apply {app.restart_reason} (exit {RESTART_EXIT_CODE})", err=True)
        sys.exit(RESTART_EXIT_CODE)


@main.command()
@click.option("--broker", metavar="HOST:PORT", help="Use this broker instead of a private Mosquitto.")
@click.option("--keep", type=click.Path(path_type=Path), help="Keep the demo station in this folder.")
def demo(broker: str | None, keep: Path | None) -> None:
    """Run a simulated station end to end in a temporary folder and show what it did."""
    from station.cli.format import print_demo
    from station.devtools.demo import run_demo

    def progress(line: str) -> None:
        click.echo(f"  · {line}")

    click.echo("trapd demo: a simulated station (camera, PIR, IR lamp) with the bundled pipeline model "
               "(trapd-pipeline-v1: a toy trained on drawn scenes, not a field model)")
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
        result = run_demo(keep, broker=broker, progress=progress)
    else:
        with tempfile.TemporaryDirectory(prefix="trapd-demo-") as tmp:
            result = run_demo(Path(tmp), broker=broker, progress=progress)
    print_demo(result, echo=click.echo)


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(config_path: Path, as_json: bool) -> None:
    """Last sequences, detections per species, outbox depth, disk use and uptime."""
    from station.cli.format import print_status
    from station.config.edit import load_with_fallback
    from station.daemon.runstate import read_run_state
    from station.store.queries import status_summary

    config = load_with_fallback(config_path, writing=False)
    summary = status_summary(station_db_path(config.data_dir), media_dir(config.data_dir))
    summary["daemon"] = read_run_state(config.data_dir)
    running_on = summary["daemon"].get("config_fallback") if summary["daemon"].get("running") else None
    summary["config_fallback"] = config.fallback_reason or running_on
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
    else:
        print_status(summary, echo=click.echo)


@main.command()
@config_option
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="Output format (csv and json are for export).")
@click.option("--limit", type=click.IntRange(min=1), help="Only the newest N detections.")
@click.option("--species", help="Only this species key (e.g. amur_leopard).")
@click.option("-o", "--output", type=click.File("w"), default="-", help="Write to a file instead of stdout.")
def detections(config_path: Path, fmt: str, limit: int | None, species: str | None, output) -> None:
    """List detections, or export them as CSV or JSON."""
    from station.cli.format import print_detections
    from station.config.load import check_data_dir, load_config
    from station.store.queries import list_detections

    config = load_config(config_path)
    check_data_dir(config)
    rows = list_detections(station_db_path(config.data_dir), limit=limit, species=species)
    if fmt == "json":
        json.dump(rows, output, indent=2, ensure_ascii=False)
        output.write("\n")
    elif fmt == "csv":
        writer = csv.DictWriter(output, fieldnames=list(rows[0]) if rows else ["observation_id"])
        writer.writeheader()
        writer.writerows(rows)
    else:
        print_detections(rows, echo=lambda line: output.write(line + "\n"))


@main.command()
@config_option
def selftest(config_path: Path) -> None:
    """Check config, model, camera, store and link; one pass/fail line each with a hint.

    Exit 0 all passed, 2 the config is wrong (nothing else is checked), 1 another check failed."""
    from station.daemon.selftest import run_selftest

    failures = 0
    for check in run_selftest(config_path):
        mark = click.style("PASS", fg="green") if check.ok else click.style("FAIL", fg="red")
        click.echo(f"{mark}  {check.name:<8} {check.detail}")
        if check.name == "config" and not check.ok:
            sys.exit(2)
        failures += not check.ok
    sys.exit(1 if failures else 0)


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("docs/schema"), show_default=True,
              help="Folder for the JSON Schema files.")
def schema(out: Path) -> None:
    """Write the JSON Schema of every wire message (generated from the message models)."""
    from station.wire.schema import write_schemas

    for path in write_schemas(out):
        click.echo(f"wrote {path}")


@main.group()
def bridge() -> None:
    """The companion microcontroller: run the simulated board, or watch a real one's traffic."""


@bridge.command()
@click.option("--telemetry-s", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Telemetry period of the simulated board.")
@click.option("--pir-every", type=click.FloatRange(min=0.1), help="Also fire the PIR every this many seconds.")
def simulate(telemetry_s: float, pir_every: float | None) -> None:
    """Run the simulated board on a pty and print its path (point bridge.port at it); Ctrl-C stops it."""
    from firmware_bridge.tools import start_simulator

    simulator = start_simulator(telemetry_period_s=telemetry_s, pir_interval_s=pir_every)
    click.echo(simulator.port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    simulator.stop()


@bridge.command()
@click.option("--port", required=True, help="Serial device of the board (e.g. /dev/serial0) or a pty path.")
@click.option("--baudrate", type=int, default=115200, show_default=True, help="UART speed.")
@click.option("--passive", is_flag=True, help="Only listen: no handshake, no acknowledgements sent.")
def monitor(port: str, baudrate: int, passive: bool) -> None:
    """Show the decoded traffic of a board, one line per frame, both directions; Ctrl-C stops."""
    from firmware_bridge.errors import BridgeError
    from firmware_bridge.tools import monitor as monitor_lines

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        for line in monitor_lines(port, baudrate=baudrate, passive=passive, stop=stop):
            click.echo(line)
    except BridgeError as exc:
        raise click.ClickException(f"{exc}") from None


@main.group()
def store() -> None:
    """The station database: check it, or salvage a corrupt one."""


@store.command("recover")
@config_option
def store_recover(config_path: Path) -> None:
    """Salvage a corrupt database: keep the damaged file, copy every readable row into a new one."""
    from station.config.load import check_data_dir, load_config
    from station.store.salvage import salvage

    config = load_config(config_path)
    check_data_dir(config)
    report = salvage(station_db_path(config.data_dir))
    click.echo(f"damaged file kept as {report.damaged_copy}")
    for table, rows in report.copied.items():
        lost = report.lost_ranges[table]
        click.echo(f"  {table:<16} {rows:>8} rows copied" + (f", {lost} damaged range(s) skipped" if lost else ""))
    click.echo("start the station again; it adopts any image whose row was lost")


def _register_subcommands() -> None:
    from station.cli.central import central
    from station.cli.export import export

    main.add_command(central)
    main.add_command(export)
    from station.cli.model import model
    from station.cli.replay import replay

    main.add_command(model)
    main.add_command(replay)
    from station.cli.provision import provision
    from station.cli.web import web

    main.add_command(provision)
    main.add_command(web)


_register_subcommands()
