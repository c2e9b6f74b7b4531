"""Benchmark: PIR frame written to the serial line -> the Bridge's on_pir callback running.

The simulated board (the reference firmware under CPython) takes ``perf_counter_ns()`` just before it
writes the complete PIR frame to the pty; the callback takes it again when it runs. The difference is
the host's software latency: pty wake-up, reader thread, parser, dispatch. Triggers are fired one at a
time (each waits for its callback), so queueing does not inflate the figures.

    python -m tests.bench.bench_bridge [--triggers N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import threading
import time

from firmware_bridge.bridge import Bridge
from firmware_bridge.protocol import Pir
from firmware_bridge.simulator import Simulator

WARM_UP = 20
WAIT_S = 10.0


def run(triggers: int = 1000) -> dict:
    """Fire ``triggers`` PIRs and return latency percentiles in ms plus the machine's figures."""
    if triggers < 1:
        raise ValueError(f"triggers must be at least 1, got {triggers}")
    called = threading.Event()
    called_at_ns = [0]

    def on_pir(message: Pir) -> None:
        called_at_ns[0] = time.perf_counter_ns()
        called.set()

    latencies_ms: list[float] = []
    started = time.monotonic()
    with Simulator(telemetry_period_s=3600) as simulator, Bridge(simulator.port, on_pir=on_pir) as bridge:
        for index in range(WARM_UP + triggers):
            written_before = len(simulator.pir_write_times_ns())
            called.clear()
            simulator.fire_pir(index % 2)
            if not called.wait(WAIT_S):
                raise TimeoutError(f"PIR {index} never reached on_pir within {WAIT_S} s")
            _, written_at_ns = simulator.pir_write_times_ns(written_before)[0]  # its first transmission
            if index >= WARM_UP:
                latencies_ms.append((called_at_ns[0] - written_at_ns) / 1e6)
        stats = bridge.stats()
    cuts = statistics.quantiles(latencies_ms * (2 if triggers == 1 else 1), n=100, method="inclusive")
    return {
        "triggers": triggers,
        "p50_ms": cuts[49],
        "p95_ms": cuts[94],
        "p99_ms": cuts[98],
        "max_ms": max(latencies_ms),
        "mean_ms": statistics.fmean(latencies_ms),
        "duplicates": stats.duplicates,
        "line_errors": stats.crc_errors + stats.cobs_errors + stats.too_long + stats.short_frames,
        "wall_s": time.monotonic() - started,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_avg_1m": os.getloadavg()[0],
    }


def _table(result: dict) -> str:
    rows = [("PIR frame -> on_pir callback", "")]
    rows += [(f"  {name.removesuffix('_ms')}", f"{result[name]:.3f} ms") for name in
             ("p50_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms")]
    rows += [(name, str(result[name])) for name in ("triggers", "duplicates", "line_errors")]
    rows += [("wall time", f"{result['wall_s']:.1f} s"), ("machine", result["machine"]),
             ("python", result["python"]), ("load average (1 min)", f"{result['load_avg_1m']:.2f}")]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=1000)
    print(_table(run(parser.parse_args().triggers)))


if __name__ == "__main__":
    main()
