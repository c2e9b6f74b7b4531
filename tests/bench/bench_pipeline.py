"""Pipeline benchmarks, measured side by side in one run.

- classify: per-frame cost of the station's classify step vs a bare ``invoke()`` on the same interpreter
  (interleaved rounds, medians), for the bundled model and the ImageNet model when ../shared has it;
- throughput: frames per second from PIR to committed sequence on the simulated station;
- idle: CPU of a running station (percent of one core) and thread wake-ups per second, RSS with the model.

Run: ``python -m tests.bench.bench_pipeline [--idle-seconds 60]`` (``make bench`` runs every benchmark).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from station.hardware.scenes import Scene, render
from station.vision.bundled import bundled_card
from station.vision.classifier import Classifier
from tests.conftest import ROOT, SHARED_MODELS, make_config, running_station


def _per_call(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def classify_ratio(card: Path, rounds: int = 15, per_round: int = 40) -> dict:
    classifier = Classifier.from_card_file(card, threads=2)
    pixels = classifier.prepare(render(Scene("amur_tiger", seed=7), (1280, 720)))
    quantized = classifier.quantize(pixels)  # the same input, prepared once, for the bare baseline
    bare, full = [], []
    for _ in range(3):
        classifier.classify(pixels)
    for _ in range(rounds):
        bare.append(_per_call(lambda: classifier.invoke_bare(quantized), per_round))
        full.append(_per_call(lambda: classifier.classify(pixels), per_round))
    bare_ms, full_ms = statistics.median(bare) * 1e3, statistics.median(full) * 1e3
    return {"model": classifier.card.name, "bare_invoke_ms": round(bare_ms, 3),
            "classify_step_ms": round(full_ms, 3), "ratio": round(full_ms / bare_ms, 3)}


def pipeline_throughput(triggers: int = 10, frames: int = 10) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        config = make_config(Path(tmp) / "data", camera={"width": 1280, "height": 720},
                             capture={"burst_frames": frames, "burst_interval_s": 0.0, "quiet_period_s": 0.0})
        with running_station(config) as app:
            start = time.perf_counter()
            for i in range(triggers):
                app.parts.trigger_source.fire(("amur_tiger", "human", "blank")[i % 3])
                while app.triggers.qsize():
                    time.sleep(0.001)
            app.wait_idle(120)
            elapsed = time.perf_counter() - start
            done = app.stats.get("frames_classified")
    return {"frames": done, "seconds": round(elapsed, 2), "frames_per_second": round(done / elapsed, 1)}


def _thread_switches() -> int:
    total = 0
    for status in Path("/proc/self/task").glob("*/status"):
        for line in status.read_text().splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                total += int(line.split()[1])
    return total


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def idle_station(seconds: float) -> dict:
    """A started station (MQTT disabled so no keepalive traffic is counted) doing nothing."""
    with tempfile.TemporaryDirectory() as tmp:
        config = make_config(Path(tmp) / "data")
        with running_station(config):
            time.sleep(1.0)
            cpu0, wall0, sw0 = time.process_time(), time.monotonic(), _thread_switches()
            time.sleep(seconds)
            cpu1, wall1, sw1 = time.process_time(), time.monotonic(), _thread_switches()
            rss = _rss_mb()
    wall = wall1 - wall0
    return {"seconds": round(wall, 1), "cpu_percent_of_one_core": round(100 * (cpu1 - cpu0) / wall, 3),
            "wakeups_per_second": round((sw1 - sw0) / wall, 2), "rss_mb_with_model": round(rss, 1)}


def run(idle_seconds: float = 60.0) -> dict:
    results = {"classify": [classify_ratio(bundled_card())]}
    imagenet = ROOT / "models" / "imagenet-mobilenet-v2.toml"
    if (SHARED_MODELS / "imagenet-mobilenet-v2").is_dir() and imagenet.is_file():
        results["classify"].append(classify_ratio(imagenet, rounds=9, per_round=15))
    results["throughput"] = pipeline_throughput()
    results["idle"] = idle_station(idle_seconds)
    results["machine"] = {"cpus": os.cpu_count(), "numpy": np.__version__}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    args = parser.parse_args()
    results = run(args.idle_seconds)
    for row in results["classify"]:
        print(f"classify {row['model']:<28} bare invoke {row['bare_invoke_ms']:8.3f} ms   "
              f"classify step {row['classify_step_ms']:8.3f} ms   ratio {row['ratio']:.3f}")
    t = results["throughput"]
    print(f"pipeline: {t['frames']} frames in {t['seconds']} s = {t['frames_per_second']} frames/s")
    i = results["idle"]
    print(f"idle: {i['cpu_percent_of_one_core']} % of one core, {i['wakeups_per_second']} wake-ups/s, "
          f"RSS {i['rss_mb_with_model']} MB (over {i['seconds']} s)")


if __name__ == "__main__":
    main()
