"""The fleet at full size: 28,000 station connections held at once on one Mosquitto, with the ingest group
keeping up with their traffic, a catch-up flood from a sixth of them after a 6-hour outage, and connections
tried past the limit to find where a single broker on this machine stops.

Every simulated station is its own MQTT 5 connection (``station.devtools.mqtt_load.LeanStation``: a
persistent session with a session expiry, keepalive, a retained Last Will on its status topic, a
subscription to its command topic), spread over loopback source addresses (127.0.0.2 …) so one host's
ephemeral ports do not run out. Two ingest worker processes write into PostgreSQL as in bench_central.
Run: ``python -m tests.bench.bench_fleet_connections [--stations 28000]`` (bounded in time). Each connection
costs an open file in the broker and here: the run raises both processes' limits as far as the hard limit
allows; stations beyond that keep persistent sessions on the broker while disconnected (as a station whose
link is down does), and 500 more connections are tried past the limit to see where the broker stops.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

from station.central.scenario import FleetPlan, Publication, Scenario
from station.devtools.mosquitto import PrivateBroker
from station.devtools.mqtt_load import LeanStation, MqttLoadError, Will
from tests.bench.bench_central import _expected_rows, ingest_group, wait_for_rows

ROOT = "camtrap/v1"
SOURCES = [f"127.0.0.{n}" for n in range(2, 42)]  # 40 source addresses x ~28,000 ephemeral ports each
CONNECT_CONCURRENCY = 500
FILES = 400_000


def raise_file_limit(limit: int = FILES) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = limit if hard == resource.RLIM_INFINITY or hard >= limit else hard
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def broker_rss_mb(broker: PrivateBroker) -> float:
    process = broker._process  # noqa: SLF001  (the benchmark reads the broker's own memory)
    if process is None:
        return 0.0
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def make_station(station_id: str) -> LeanStation:
    return LeanStation(f"trapd-{station_id}", keepalive_s=300, session_expiry_s=7 * 86_400,
                       will=Will(f"{ROOT}/{station_id}/status", b'{"schema":"status/1.0","state":"offline"}'))


async def connect_all(stations: list[LeanStation], broker: PrivateBroker, first: int = 0) -> dict:
    """Connect and subscribe every station, CONNECT_CONCURRENCY at a time; time the storm."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    failures: Counter[str] = Counter()

    async def one(index: int, station: LeanStation) -> None:
        async with gate:
            try:
                await station.connect(broker.host, broker.port, source=SOURCES[index % len(SOURCES)])
                await station.subscribe(f"{ROOT}/{station.client_id.removeprefix('trapd-')}/cmd/#")
            except (TimeoutError, MqttLoadError, OSError) as exc:
                failures[type(exc).__name__ + ": " + str(exc)[:60]] += 1

    began = time.monotonic()
    await asyncio.gather(*(one(first + i, s) for i, s in enumerate(stations)))
    seconds = time.monotonic() - began
    return {"stations": len(stations), "seconds": round(seconds, 2), "per_s": round(len(stations) / seconds),
            "failed": sum(failures.values()), "failures": dict(failures.most_common(3)),
            "sessions_kept": sum(s.session_present for s in stations)}


async def publish_all(by_station: dict[LeanStation, list[Publication]]) -> dict:
    """Every station publishes its messages in order on its own connection, all stations at once."""
    async def one(station: LeanStation, publications: list[Publication]) -> int:
        for publication in publications:
            await station.publish(publication.topic, publication.payload, content_type=publication.content_type,
                                  retain=publication.retain)
        return len(publications)

    began = time.monotonic()
    sent = sum(await asyncio.gather(*(one(s, p) for s, p in by_station.items())))
    seconds = time.monotonic() - began
    return {"messages": sent, "seconds": round(seconds, 2), "per_s": round(sent / max(seconds, 1e-6))}


def traffic(stations: int, hours: float, *, seed: int = 7,
            start: datetime = datetime(2026, 11, 1, tzinfo=UTC)) -> tuple[list[Publication], list]:
    """The scenario's messages (telemetry, detections, thumbnails) for the first ``stations`` of the fleet."""
    scenario = Scenario(FleetPlan(stations=stations, hours=hours, seed=seed, outage_share=0.0, lora_share=0.0,
                                  duplicate_share=0.0, start=start))
    return [p for p in scenario.publications() if p.kind != "status"], scenario.registry()


def by_connection(publications: list[Publication], stations: dict[str, LeanStation]) -> dict:
    grouped: dict[LeanStation, list[Publication]] = defaultdict(list)
    for publication in publications:
        grouped[stations[publication.topic.split("/")[2]]].append(publication)
    return grouped


async def hold(stations: list[LeanStation], seconds: float) -> dict:
    """Keep every connection for ``seconds`` and ping each once (the keepalive a station sends)."""
    await asyncio.sleep(seconds / 2)
    results = await asyncio.gather(*(s.ping() for s in stations), return_exceptions=True)
    await asyncio.sleep(seconds / 2)
    return {"held_s": seconds, "pings_answered": sum(r is None for r in results),
            "still_connected": sum(s.connected for s in stations)}


async def past_the_limit(broker: PrivateBroker, held: list[LeanStation], extra: int) -> dict:
    """Try ``extra`` connections beyond what is held: where a single broker stops, and whether the stations
    already connected notice."""
    more = [make_station(f"over-{i:06d}") for i in range(extra)]
    result = await connect_all(more, broker, first=len(held))
    for station in more:
        station.drop()
    await asyncio.sleep(1)
    return {"tried": extra, "refused_or_failed": result["failed"], "failures": result["failures"],
            "held_still_connected": sum(s.connected for s in held), "broker_rss_mb": broker_rss_mb(broker)}


async def park_sessions(broker: PrivateBroker, stations: list[LeanStation]) -> dict:
    """Stations beyond what can be connected at once: connect and leave cleanly, so the broker keeps their
    persistent sessions (and queues their commands) as it does for a station whose link is down."""
    result = await connect_all(stations, broker)
    await asyncio.gather(*(s.disconnect() for s in stations if s.connected))
    return {"stations": len(stations), "seconds": result["seconds"], "failed": result["failed"]}


async def scenario_run(broker: PrivateBroker, conn, stations_n: int, connect_n: int) -> dict:
    live, registry = traffic(stations_n, 5 / 60)  # five minutes of the whole fleet's traffic
    ids = [entry.station_id for entry in registry]  # in fleet order: the flood's stations are the first ones
    stations = {station_id: make_station(station_id) for station_id in ids}
    order = list(stations.values())
    held, parked = order[:connect_n], order[connect_n:]
    result: dict = {"stations": stations_n, "connected_at_once": len(held), "broker_rss_mb_idle": broker_rss_mb(broker)}
    result["parked_sessions"] = await park_sessions(broker, parked)
    result["connect_storm"] = await connect_all(held, broker)
    result["broker_rss_mb_connected"] = broker_rss_mb(broker)
    online = {station_id: station for station_id, station in stations.items() if station.connected}
    sent = await publish_all(by_connection([p for p in live if p.topic.split("/")[2] in online], online))
    published = time.monotonic()
    expected = _expected_rows([p for p in live if p.topic.split("/")[2] in online])
    done = await asyncio.to_thread(wait_for_rows, conn, expected, timeout=300)
    result["live_traffic"] = {**sent, "ingest_lag_after_last_puback_s": round(done - published, 2)}
    result["hold"] = await hold(held, 20)
    result["catch_up_flood"] = await flood(broker, conn, online, stations_n, expected)
    result["broker_rss_mb_after_flood"] = broker_rss_mb(broker)
    result["past_the_limit"] = await past_the_limit(broker, list(online.values()), 500)
    for station in online.values():
        await station.disconnect()
    return result


async def flood(broker: PrivateBroker, conn, stations: dict[str, LeanStation], fleet: int, rows_before: int) -> dict:
    """A sixth of the fleet drops (their Wills fire), then returns with 6 hours of backlog each."""
    away = fleet // 6
    backlog, _ = traffic(away, 6.0, seed=11, start=datetime(2026, 11, 2, tzinfo=UTC))  # the next day
    returning = {station_id: stations[station_id] for station_id in {p.topic.split("/")[2] for p in backlog}}
    for station in returning.values():
        station.drop()
    fresh = {station_id: make_station(station_id) for station_id in returning}
    reconnect = await connect_all(list(fresh.values()), broker)
    stations.update(fresh)
    began = time.monotonic()
    sent = await publish_all(by_connection(backlog, fresh))
    published = time.monotonic()
    done = await asyncio.to_thread(wait_for_rows, conn, rows_before + _expected_rows(backlog), timeout=900)
    return {"stations": len(fresh), "reconnect": reconnect, "backlog": sent,
            "drained_s": round(done - began, 1), "ingest_lag_after_last_puback_s": round(done - published, 2)}


def run(stations: int = 28_000) -> dict:
    files = raise_file_limit()
    # one descriptor per connection in the broker and in this process; keep some for PostgreSQL and pipes
    connect_n = min(stations, files - 300)
    extra = "max_connections -1\nmax_queued_messages 0\nmax_keepalive 600\npersistent_client_expiration 14d\n"
    with tempfile.TemporaryDirectory() as tmp, \
            PrivateBroker(workdir=Path(tmp) / "broker", extra_config=extra, max_files=files) as broker:
        _, registry = traffic(stations, 1 / 3600)
        with ingest_group(2, broker, registry) as conn:
            result = asyncio.run(scenario_run(broker, conn, stations, connect_n))
        result["broker_log_tail"] = broker.log_text()[-300:]
    return {"open_file_limit": files, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=28_000)
    args = parser.parse_args()
    result = run(args.stations)
    for key, value in result.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
