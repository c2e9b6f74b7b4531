"""Central ingest: messages per second into PostgreSQL with 1 and 2 workers, and the largest fleet that
keeps up at the dawn peak and after an outage, measured on this machine.

Each worker runs in its own process (as `trapd central ingest` would on one or several hosts); the simulated
fleet publishes flat out through a private Mosquitto from this process, so broker, publisher, workers and
PostgreSQL share the machine's cores — the figure is end to end, from first publish to the last row.
A paced run at 80 % of the measured rate then checks the workers keep up (lag stays small).
Run: ``python -m tests.bench.bench_central [--stations 400] [--hours 6]``.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from station.central.config import CentralConfig, DatabaseSection, validate_central_config
from station.central.db import drop_schema, open_store
from station.central.fleet import FleetPublisher
from station.central.registry import register_stations
from station.central.scenario import FleetPlan, Publication, Scenario
from station.devtools.mosquitto import PrivateBroker

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
_PROGRESS = ("SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM telemetry WHERE source = 'station') + "
             "(SELECT count(*) FROM media WHERE thumbnail IS NOT NULL) + (SELECT count(*) FROM lora_uplinks)")


def _worker_main(raw: dict, name: str, ready, stop) -> None:
    from station.central.ingest import IngestWorker

    worker = IngestWorker(validate_central_config(raw, source="bench"), name=name).start()
    ready.set()
    stop.wait()
    worker.stop()


def _config(schema: str, broker: PrivateBroker) -> dict:
    return {"database": {"url": PG_URL, "schema": schema}, "mqtt": {"port": broker.port, "client_id": "bench"},
            "ingest": {"batch_size": 500}}


def _expected_rows(publications: list[Publication]) -> int:
    """Rows the progress query counts once everything is stored (duplicates and statuses make none)."""
    kinds = Counter(p.kind for p in publications)
    return kinds["detection"] + kinds["telemetry"] + kinds["thumbnail"] + kinds["lora"]


@contextlib.contextmanager
def ingest_group(workers: int, broker: PrivateBroker, registry: list) -> Iterator[Any]:
    """``workers`` ingest processes on a schema of their own (dropped after); yields a store connection."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    raw = _config(schema, broker)
    config: CentralConfig = validate_central_config(raw, source="bench")
    conn = open_store(config.database)
    register_stations(conn, registry)
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    readies = [context.Event() for _ in range(workers)]
    processes = [context.Process(target=_worker_main, args=(raw, str(n + 1), readies[n], stop)) for n in range(workers)]
    for process in processes:
        process.start()
    for ready in readies:
        ready.wait(60)
    try:
        yield conn
    finally:
        stop.set()
        for process in processes:
            process.join(30)
        conn.close()
        drop_schema(DatabaseSection(url=PG_URL, schema=schema))


def wait_for_rows(conn: Any, expected: int, *, timeout: float) -> float:
    """Block until the progress query counts ``expected`` rows (or the timeout); returns when, monotonic."""
    deadline = time.monotonic() + timeout
    while conn.execute(_PROGRESS).fetchone()[0] < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return time.monotonic()


def measure(workers: int, publications: list[Publication], scenario: Scenario, broker: PrivateBroker,
            *, speedup: float = 0.0, timeout: float = 600.0) -> dict:
    expected = _expected_rows(publications)
    with ingest_group(workers, broker, scenario.registry()) as conn:
        with FleetPublisher(broker.host, broker.port, connections=4) as fleet:
            began = time.monotonic()
            run = fleet.run(publications, speedup=speedup)
            published_at = time.monotonic()
        done = wait_for_rows(conn, expected, timeout=timeout)
    return {"workers": workers, "messages": len(publications), "seconds": round(done - began, 2),
            "ingest_msgs_per_s": round(len(publications) / (done - began)),
            "publish_msgs_per_s": round(run.rate), "lag_after_last_publish_s": round(done - published_at, 2)}


def station_rates(hours: float = 24.0, stations: int = 40) -> dict:
    """Messages per station per second: mean over a day and at the busiest hour (dawn)."""
    scenario = Scenario(FleetPlan(stations=stations, hours=hours, outage_share=0.0, duplicate_share=0.0))
    by_hour = Counter(p.at.replace(minute=0, second=0, microsecond=0) for p in scenario.publications()
                      if p.kind != "status")
    total = sum(by_hour.values())
    return {"mean": total / stations / (hours * 3600), "peak": max(by_hour.values()) / stations / 3600}


def run(stations: int = 400, hours: float = 6.0) -> dict:
    rates = station_rates()
    scenario = Scenario(FleetPlan(stations=stations, hours=hours, outage_share=0.25))
    publications = list(scenario.publications())
    with tempfile.TemporaryDirectory() as tmp, \
            PrivateBroker(workdir=Path(tmp) / "broker", extra_config="max_queued_messages 0\n") as broker:
        one = measure(1, publications, scenario, broker)
        two = measure(2, publications, scenario, broker)
        best = max(one["ingest_msgs_per_s"], two["ingest_msgs_per_s"])
        # paced: the same traffic at 80 % of the best rate, spread over time as the scenario schedules it
        span_s = (publications[-1].at - publications[0].at).total_seconds()
        speedup = span_s / (len(publications) / (0.8 * best))
        paced = measure(2, publications, scenario, broker, speedup=speedup)
    peak, mean = rates["peak"], rates["mean"]
    fleet = int(0.8 * best / peak)
    flood_stations, outage_h = 2800, 6.0  # a tenth of TLNP's 28,000 cameras back after 6 hours away
    backlog = flood_stations * mean * outage_h * 3600
    drain_s = backlog / max(1.0, best - 28_000 * peak)
    return {"scenario": {"stations": stations, "hours": hours, "messages": len(publications)},
            "one_worker": one, "two_workers": two, "paced_at_80pct": {**paced, "speedup": round(speedup, 1)},
            "per_station_msgs_per_s": {"mean": round(mean, 5), "dawn_peak": round(peak, 5)},
            "largest_fleet_at_dawn_peak": fleet,
            "flood_after_6h_outage_of_2800_stations": {"backlog_messages": round(backlog),
                                                      "drain_minutes_beside_28000_live": round(drain_s / 60, 1)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=400)
    parser.add_argument("--hours", type=float, default=6.0)
    args = parser.parse_args()
    result = run(args.stations, args.hours)
    one, two = result["one_worker"], result["two_workers"]
    print(f"ingest into PostgreSQL: 1 worker {one['ingest_msgs_per_s']} msg/s, 2 workers {two['ingest_msgs_per_s']} "
          f"msg/s ({result['scenario']['messages']} messages; publisher {two['publish_msgs_per_s']} msg/s)")
    print(f"paced at 80 %: lag after the last publish {result['paced_at_80pct']['lag_after_last_publish_s']} s")
    rates = result["per_station_msgs_per_s"]
    print(f"a station sends {rates['mean']} msg/s on average, {rates['dawn_peak']} at the dawn peak: "
          f"the largest fleet kept up with at the peak is {result['largest_fleet_at_dawn_peak']} stations")
    flood = result["flood_after_6h_outage_of_2800_stations"]
    print(f"2,800 stations back after 6 h: {flood['backlog_messages']} messages, drained in "
          f"{flood['drain_minutes_beside_28000_live']} min beside 28,000 live stations")


if __name__ == "__main__":
    main()
