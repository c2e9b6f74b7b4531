"""PIR to alert row at the central server, through a real broker: the provisional alert a person raises in
the first frame of a sequence, measured from the PIR firing to the row in PostgreSQL's ``alerts`` table.

A simulated station (rendered camera, simulated PIR, the bundled pipeline model, default quiet period of 10 s)
publishes through a private Mosquitto to an ingest worker writing into PostgreSQL; the station sits inside a
protected zone, so a person raises a ranger alert. Each trigger opens a new sequence (the previous one has
closed); the alert arrives long before its sequence closes. Run: ``python -m tests.bench.bench_alert_latency``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from pathlib import Path

from station.central.config import DatabaseSection, validate_central_config
from station.central.db import drop_schema, open_store
from station.central.ingest import IngestWorker
from station.central.registry import StationEntry, register_stations
from station.config.load import validate_config
from station.daemon.app import StationApp
from station.devtools.mosquitto import PrivateBroker

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
ZONE = {"name": "TLNP core zone", "polygon": [[42.9, 130.8], [42.9, 131.0], [43.1, 131.0], [43.1, 130.8]]}


def _station(data: Path, broker: PrivateBroker) -> StationApp:
    raw = {"station": {"id": "tlnp-0099", "data_dir": str(data), "park": "TLNP", "country": "CN"},
           "hardware": {"camera": "simulated", "trigger": "simulated"},
           "capture": {"burst_frames": 3, "quiet_period_s": 10.0},
           "mqtt": {"port": broker.port, "reconnect_max_s": 1.0}}
    return StationApp(validate_config(raw, source="bench", base_dir=data))


def _wait_alerts(conn, count: int, timeout: float = 30.0) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.execute("SELECT count(*) FROM alerts").fetchone()[0] >= count:
            return time.perf_counter()
        time.sleep(0.002)
    return None


def run(triggers: int = 12) -> dict:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    latencies, sequence_closed_after = [], []
    with tempfile.TemporaryDirectory() as tmp, PrivateBroker(workdir=Path(tmp) / "broker") as broker:
        central = validate_central_config({"database": {"url": PG_URL, "schema": schema},
                                           "mqtt": {"port": broker.port, "client_id": "bench-alerts"},
                                           "alerts": {"protected_zones": [ZONE]}}, source="bench")
        conn = open_store(central.database)
        conn.autocommit = True
        register_stations(conn, [StationEntry("tlnp-0099", "TLNP", "CN", 43.01, 130.9)])
        worker = IngestWorker(central, name="bench").start()
        app = _station(Path(tmp) / "station", broker)
        app.start()
        try:
            for n in range(triggers):
                fired = time.perf_counter()
                app.parts.trigger_source.fire("human")
                arrived = _wait_alerts(conn, n + 1)
                if arrived is not None:
                    latencies.append((arrived - fired) * 1000)
                app.wait_idle(60)
                sequence_closed_after.append((time.perf_counter() - fired) * 1000)
        finally:
            app.stop()
            worker.stop()
            conn.close()
            drop_schema(DatabaseSection(url=PG_URL, schema=schema))
    ordered = sorted(latencies)
    return {"triggers": triggers, "alerts_arrived": len(latencies),
            "pir_to_alert_row_ms": {"p50": round(statistics.median(ordered), 1),
                                    "p95": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 1),
                                    "max": round(ordered[-1], 1)} if ordered else None,
            "pir_to_sequence_committed_ms_p50": round(statistics.median(sequence_closed_after), 1)}


def main() -> None:
    result = run()
    print(result)


if __name__ == "__main__":
    main()
