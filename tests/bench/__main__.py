"""All benchmarks in one run (`make bench`): one table on stdout, and JSON for comparing runs.

Ratios are measured side by side in the same process and minute, so a noisy shared machine moves both
sides of each ratio together. Absolute figures are printed with the machine they came from.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import time
from pathlib import Path

BENCHES = ("bench_pipeline", "bench_detector", "bench_outbox", "bench_bridge", "bench_trigger", "bench_lora",
           "bench_central", "bench_alert_latency", "bench_fleet_connections", "bench_wire", "bench_thumbnail",
           "bench_wire_day", "bench_parser")


def _rows(prefix: str, value) -> list[tuple[str, object]]:
    if isinstance(value, dict):
        return [row for key, item in value.items() for row in _rows(f"{prefix}.{key}", item)]
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [row for i, item in enumerate(value) for row in _rows(f"{prefix}[{i}]", item)]
    return [(prefix, value)]


def main() -> None:
    parser = argparse.ArgumentParser(description="Run every benchmark and print one table.")
    parser.add_argument("--only", choices=BENCHES, action="append", help="Run only these benchmarks.")
    parser.add_argument("--json", type=Path, default=Path("test-artifacts/bench.json"), help="Where to write JSON.")
    args = parser.parse_args()
    results: dict[str, object] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                              "platform": platform.platform(), "at": time.strftime("%F %T")}}
    for name in args.only or BENCHES:
        module = importlib.import_module(f"tests.bench.{name}")
        started = time.monotonic()
        results[name] = module.run()
        print(f"# {name} done in {time.monotonic() - started:.1f} s", flush=True)
    width = max(len(key) for key, _ in _rows("", results))
    for key, value in _rows("", results):
        print(f"{key.lstrip('.'):<{width}}  {value}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=str))
    print(f"# JSON written to {args.json}")


if __name__ == "__main__":
    main()
