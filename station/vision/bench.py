"""Per-frame cost of a model on this machine: bare ``invoke()`` against the station's whole classify step.

Both are timed on the same interpreter, the same frames and in the same run, call by call and interleaved
(ABBA order), so a busy machine slows both sides alike and the ratio stays meaningful; medians are
reported. The classify step is what the classify worker does per frame once the capture stage has handed
it pixels at the model's input size: ``prepare`` (a size check), quantize, ``invoke()``, dequantize, fold
into species and pick the top one. The bare baseline is ``set_tensor`` + ``invoke`` + ``get_tensor`` on
the same input already quantized. Memory is the process's resident set with the model loaded and warmed
up; threads are the interpreter's (as configured) and the process's (as the kernel counts them).
"""

from __future__ import annotations

import dataclasses
import os
import platform
import resource
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from station.hardware.scenes import Scene, render
from station.vision.aggregate import top_species
from station.vision.classifier import Classifier
from station.vision.runtime import interpreter_class

TARGET_RATIO = 1.10
#: Frames timed: a day and a night scene with an animal, an empty one and a person, as the camera sees them.
BENCH_SCENES = (Scene("amur_tiger", False, 7), Scene("amur_leopard", True, 8), Scene("blank", False, 9),
                Scene("human", True, 10))
BENCH_FRAME_SIZE = (640, 480)
WARM_UP_CALLS = 20

Progress = Callable[[int, int], None]


@dataclasses.dataclass(frozen=True)
class BenchResult:
    model: str
    runtime: str
    interpreter_threads: int
    process_threads: int
    calls: int
    bare_invoke_ms: float
    classify_step_ms: float
    bare_invoke_p90_ms: float
    classify_step_p90_ms: float
    ratio: float
    target_ratio: float
    load_ms: float
    rss_before_mb: float
    rss_with_model_mb: float
    machine: str

    @property
    def within_target(self) -> bool:
        return self.ratio <= self.target_ratio

    def as_dict(self) -> dict[str, object]:
        return {**dataclasses.asdict(self), "within_target": self.within_target}


def rss_mb() -> float:
    """Resident set size of this process now (Linux), else its peak as the OS reports it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if platform.system() == "Darwin" else 1024)


def process_threads() -> int:
    """Threads of this process as the kernel counts them (runtime pools included), else Python's own."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def bench_frames(classifier: Classifier) -> list[np.ndarray]:
    """The frames to time, already at the model's input size (the capture stage's job, not timed)."""
    return [classifier.prepare(render(scene, BENCH_FRAME_SIZE)) for scene in BENCH_SCENES]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


Side = Callable[[int], object]


def interleave(bare_call: Side, step_call: Side, calls: int,
               progress: Progress | None = None) -> tuple[list[float], list[float]]:
    """Seconds per call of two sides (call ``i`` of each gets the same frame), measured in ABBA order."""
    bare, step = [], []
    clock = time.perf_counter

    def run_bare(i: int) -> None:
        started = clock()
        bare_call(i)
        bare.append(clock() - started)

    def run_step(i: int) -> None:
        started = clock()
        step_call(i)
        step.append(clock() - started)

    for i in range(calls):
        first, second = (run_bare, run_step) if i % 2 == 0 else (run_step, run_bare)
        first(i)
        second(i)
        if progress is not None and (i + 1) % 50 == 0:
            progress(i + 1, calls)
    return bare, step


def _calls_for(step: Side, seconds: float, low: int, high: int) -> int:
    started = time.perf_counter()
    for i in range(WARM_UP_CALLS):
        step(i)
    per_pair = 2 * (time.perf_counter() - started) / WARM_UP_CALLS
    return max(low, min(high, int(seconds / max(per_pair, 1e-6))))


def _classifier_sides(card_path: Path, threads: int) -> tuple[str, Side, Side]:
    classifier = Classifier.from_card_file(card_path, threads=threads)
    frames = bench_frames(classifier)
    quantized = [classifier.quantize(frame) for frame in frames]
    return (f"{classifier.card.name} {classifier.card.version}",
            lambda i: classifier.invoke_bare(quantized[i % len(frames)]),
            lambda i: top_species(classifier.classify(classifier.prepare(frames[i % len(frames)]))))


def _detector_sides(card_path: Path, threads: int) -> tuple[str, Side, Side]:
    """A detector card: bare invoke against the station's per-frame detect step (no classifier)."""
    from station.vision.assemble import load_detector
    from station.vision.frame_pipeline import FramePipeline

    detector = load_detector(card_path, threads=threads)
    pipeline = FramePipeline(detector)  # what build_pipeline makes of a detector card alone
    frames = [detector.prepare(render(scene, BENCH_FRAME_SIZE)) for scene in BENCH_SCENES]
    quantized = [detector.quantize(frame) for frame in frames]
    return (detector.card.label, lambda i: detector.invoke_bare(quantized[i % len(frames)]),
            lambda i: pipeline.analyse(frames[i % len(frames)]))


def run_bench(card_path: Path, *, threads: int = 2, seconds: float = 4.0, min_calls: int = 50,
              max_calls: int = 5000, progress: Progress | None = None) -> BenchResult:
    """Load the model behind ``card_path`` (a classifier or a detector card) and time it for about
    ``seconds``: bare invoke against the classify step, or against the detect step for a detector."""
    from station.vision.detector_card import card_kind

    rss_before = rss_mb()
    started = time.perf_counter()
    sides = _detector_sides if card_kind(card_path) == "detector" else _classifier_sides
    model, bare_call, step_call = sides(card_path, threads)
    load_ms = (time.perf_counter() - started) * 1e3
    calls = _calls_for(step_call, seconds, min_calls, max_calls)
    for i in range(len(BENCH_SCENES)):  # every frame once through both paths before timing
        bare_call(i)
    bare, step = interleave(bare_call, step_call, calls, progress)
    bare_ms, step_ms = statistics.median(bare) * 1e3, statistics.median(step) * 1e3
    return BenchResult(
        model=model, runtime=interpreter_class()[1],
        interpreter_threads=threads, process_threads=process_threads(), calls=calls,
        bare_invoke_ms=round(bare_ms, 4), classify_step_ms=round(step_ms, 4),
        bare_invoke_p90_ms=round(_percentile(bare, 0.9) * 1e3, 4),
        classify_step_p90_ms=round(_percentile(step, 0.9) * 1e3, 4),
        ratio=round(step_ms / bare_ms, 3), target_ratio=TARGET_RATIO, load_ms=round(load_ms, 1),
        rss_before_mb=round(rss_before, 1), rss_with_model_mb=round(rss_mb(), 1),
        machine=f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
