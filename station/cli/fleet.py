"""`trapd central simulate-fleet`: realistic fleet traffic for the central side (registered by
station/cli/central.py)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from station.cli.central_context import UtcTime, central_config, central_store


@click.command("simulate-fleet")
@click.option("--stations", "station_count", type=click.IntRange(1, 100_000), required=True,
              help="Simulated stations (half LLNP/Russia, half TLNP/China).")
@click.option("--hours", type=click.FloatRange(0.01, 24 * 365), default=24.0, show_default=True,
              help="Scenario length in hours.")
@click.option("--speedup", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Scenario seconds per wall-clock second; 0 publishes as fast as the broker takes it.")
@click.option("--broker", metavar="HOST:PORT", help="Broker to publish to (default: [mqtt] of central.toml).")
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same traffic.")
@click.option("--start", type=UtcTime(), default="2026-11-01T00:00:00Z", show_default=True,
              help="Scenario start time.")
@click.option("--events-per-day", type=click.FloatRange(0, 1000), default=12.0, show_default=True,
              help="Mean sequences per station per day (peaks at dawn and dusk).")
@click.option("--telemetry-interval", type=click.FloatRange(10, 86_400), default=300.0, show_default=True,
              help="Seconds between a station's telemetry messages.")
@click.option("--bad-messages", type=click.IntRange(min=0), default=0, show_default=True,
              help="Malformed messages to add at the end (they must land in dead letters).")
@click.option("--connections", type=click.IntRange(1, 64), default=4, show_default=True,
              help="MQTT connections the simulated stations share.")
@click.option("--register", is_flag=True, help="Also register the simulated stations in the central database.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write stations.csv, alerts.toml (villages, zone), and after the run individuals.csv and "
                   "truth.json here.")
@click.pass_context
def simulate_fleet(ctx: click.Context, station_count: int, hours: float, speedup: float, broker: str | None,
                   seed: int, start: datetime, events_per_day: float, telemetry_interval: float,
                   bad_messages: int, connections: int, register: bool, out_dir: Path | None) -> None:
    """Publish realistic fleet traffic (bursts, telemetry, LoRa via ChirpStack topics, outages and floods)."""
    from station.central.fleet import FleetPublisher
    from station.central.scenario import FleetPlan, Scenario

    config = central_config(ctx)
    host, port = _broker(broker, config)
    scenario = Scenario(FleetPlan(stations=station_count, hours=hours, start=start, seed=seed,
                                  events_per_day=events_per_day, telemetry_interval_s=telemetry_interval,
                                  bad_messages=bad_messages, topic_root=config.mqtt.topic_root))
    if out_dir:
        _write_setup(out_dir, scenario)
    if register:
        from station.central.registry import register_stations

        with central_store(ctx) as conn:
            register_stations(conn, scenario.registry())
        click.echo(f"registered {station_count} simulated stations", err=True)
    click.echo(f"simulating {station_count} stations for {hours} h at {speedup or 'full'}x through {host}:{port}",
               err=True)
    with FleetPublisher(host, port, connections=connections) as publisher:
        run = publisher.run(scenario.publications(), speedup=speedup,
                            progress=lambda n, s: click.echo(f"  {n} messages, scenario +{s / 3600:.1f} h", err=True))
    click.echo(f"published {run.published} messages in {run.seconds:.1f} s ({run.rate:.0f} msg/s); "
               f"at most {run.behind_s:.1f} s behind schedule")
    summary = scenario.truth.summary()
    click.echo(f"truth: {summary['sequences']} sequences, {summary['observations']} observations "
               f"({summary['joined_lora_and_full']} joined LoRa+full, {summary['lora_only']} LoRa only), "
               f"crossings {summary['crossings']}")
    if out_dir:
        from station.central.individuals import write_assignments

        write_assignments(out_dir / "individuals.csv", scenario.truth.assignments())
        (out_dir / "truth.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


def _broker(value: str | None, config) -> tuple[str, int]:
    if not value:
        return config.mqtt.host, config.mqtt.port
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter(f"{value!r}: use HOST:PORT, e.g. 127.0.0.1:1883", param_hint="--broker")
    return host, int(port)


def _write_setup(folder: Path, scenario) -> None:
    from station.central.registry import write_stations_csv
    from station.config.toml import dumps

    folder.mkdir(parents=True, exist_ok=True)
    write_stations_csv(folder / "stations.csv", scenario.registry())
    villages = [{"name": s.name, "latitude": s.latitude, "longitude": s.longitude, "country": s.country}
                for s in scenario.settlements]
    zones = [{"name": z.name, "polygon": [list(p) for p in z.polygon]} for z in scenario.zones]
    alerts = {"alerts": {"settlements": villages, "protected_zones": zones}}
    (folder / "alerts.toml").write_text(dumps(alerts, header="paste into central.toml"), encoding="utf-8")

