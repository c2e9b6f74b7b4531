"""Detector benchmarks, side by side in one run (issue 15 item 9).

- detect: a bare detector ``invoke()`` against the station's per-frame detect step (quantize, invoke, read
  the boxes, thresholds, masks: ``FramePipeline.analyse`` without a classifier) on the same interpreter and
  frames, interleaved (ABBA), medians; target ratio <= 1.10. Also what the people hint and one classifier
  crop add per frame.
- rss: resident memory of a real ``trapd run`` (replay camera on real photos, time-lapse bursts) with the
  detector, the people card and the classifier loaded and working; target <= 150 MB.
- macs: multiply-accumulates counted from each .tflite's conv ops, and the detector input size chosen per
  Raspberry Pi model from them. The Pi times are ESTIMATES from assumed rates, not measurements.

Uses the reference models in ../shared/models (and its real dev photos); each part says "skipped" with the
reason where they are absent. Run: ``python -m tests.bench.bench_detector``.
"""

from __future__ import annotations

import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from station.vision.macs import choose_sizes, count_macs
from tests.shared_assets import DEV_SET, MDLITE_CARD, ROOT, model_file_of, shared_path

PEOPLE_CARD = ROOT / "models" / "coco-yolox-nano-people.toml"
IMAGENET_MODEL = ("models", "imagenet-mobilenet-v2", "mobilenet_v2_1.0_224_quant.tflite")
IMAGENET_CARD = ROOT / "models" / "imagenet-mobilenet-v2.toml"
DEV_FRAMES = ("dev001", "dev014", "dev025", "dev060", "dev030", "dev050", "dev062", "dev080")
RSS_TARGET_MB = 150.0
RATIO_TARGET = 1.10


class Absent(Exception):
    """A reference model or the dev set is not on this machine."""


def _local_card(card: Path, folder: Path) -> Path:
    model = shared_path(*IMAGENET_MODEL) if card == IMAGENET_CARD else _model(card)
    if model is None:
        raise Absent(f"the model of {card.name} is absent (../shared/models)")
    lines = [f'model_file = "{model.as_posix()}"' if line.startswith("model_file") else line
             for line in card.read_text(encoding="utf-8").splitlines()]
    copy = folder / card.name
    copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return copy


def _detector_640(folder: Path) -> Path:
    """The bundled 640 detector when this checkout has it built, else the shared reference conversion."""
    from station.errors import ModelError
    from station.vision.bundled import bundled_detector_card

    try:
        return bundled_detector_card()
    except ModelError:
        return _local_card(MDLITE_CARD, folder)


def _card_320(folder: Path) -> Path:
    """The 640 reference card turned into one for the shared 320-pixel conversion (same network)."""
    model = shared_path("models", "megadetector-lite-yolox-tiny", "mdlite_yolox_tiny_320_pp_uint8.tflite")
    if model is None:
        raise Absent("the 320-pixel MegadetectorLite reference model is absent (../shared/models)")
    from station.vision.card import sha256_of

    text = _local_card(MDLITE_CARD, folder).read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        key = line.split("=")[0].strip()
        lines.append({"model_file": f'model_file = "{model.as_posix()}"', "sha256": f'sha256 = "{sha256_of(model)}"',
                      "width": "width = 320", "height": "height = 320",
                      "name": 'name = "megadetector-lite-yolox-tiny-320"'}.get(key, line))
    card = folder / "megadetector-lite-320.toml"
    card.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return card


def _model(card: Path) -> Path | None:
    try:
        return model_file_of(card)
    except Exception:  # noqa: BLE001 - a card whose file is absent reads as absent
        return None


def _dev_frames() -> list[np.ndarray]:
    from PIL import Image

    frames = []
    for name in DEV_FRAMES:
        path = shared_path(*DEV_SET, "images", f"{name}.jpg")
        if path is None:
            raise Absent("the real dev photos are absent (../shared/datasets/real-camtrap-dev)")
        with Image.open(path) as image:
            frames.append(np.asarray(image.convert("RGB")))
    return frames


def _timed(fn, values: list[float]) -> None:
    started = time.perf_counter()
    fn()
    values.append(time.perf_counter() - started)


def detect_ratio(calls: int = 120) -> dict:
    from station.vision.assemble import build_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        detector_only = build_pipeline(_detector_640(folder))
        with_people = build_pipeline(_detector_640(folder), people_card=_local_card(PEOPLE_CARD, folder),
                                     classifier_card=_local_card(IMAGENET_CARD, folder))
    full = _dev_frames()
    detector = detector_only.detector
    frames = [detector.prepare(frame) for frame in full]  # the capture stage's job (a lores stream), not timed
    quantized = [detector.quantize(frame) for frame in frames]
    for i in range(len(frames)):
        detector_only.analyse(frames[i])
        with_people.analyse(frames[i], full[i])
    bare, step, people = [], [], []
    for i in range(calls):
        k = i % len(frames)
        pair = [functools.partial(_timed, functools.partial(detector.invoke_bare, quantized[k]), bare),
                functools.partial(_timed, functools.partial(detector_only.analyse, frames[k]), step)]
        for run in (pair if i % 2 == 0 else pair[::-1]):
            run()
        if i % 4 == 0:
            _timed(functools.partial(with_people.analyse, frames[k], full[k]), people)
    bare_ms, step_ms = statistics.median(bare) * 1e3, statistics.median(step) * 1e3
    return {"detector": detector.card.label, "threads": detector.threads, "calls": calls,
            "bare_invoke_ms": round(bare_ms, 2), "detect_step_ms": round(step_ms, 2),
            "ratio": round(step_ms / bare_ms, 3), "target": RATIO_TARGET,
            "within_target": step_ms / bare_ms <= RATIO_TARGET,
            "with_people_and_classifier_ms": round(statistics.median(people) * 1e3, 2),
            "frames": "real dev photos (not Amur fauna), stretched to the detector's input once"}


def _vm_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def trapd_run_rss(frames_wanted: int = 12, timeout_s: float = 120.0, *, people: bool = True, size: int = 640,
                  env: dict[str, str] | None = None) -> dict:
    """RSS of a real `trapd run` once it has analysed ``frames_wanted`` real photos with all models loaded."""
    import sqlite3

    from station.config.file import default_config_text

    images = shared_path(*DEV_SET, "images")
    if images is None:
        raise Absent("the real dev photos are absent (../shared/datasets/real-camtrap-dev)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = {"station": {"id": "bench-rss", "data_dir": "data"}, "hardware": {"camera": "replay"},
                  "camera": {"replay_dir": str(images), "width": 1024, "height": 768},
                  "capture": {"burst_frames": 3, "burst_interval_s": 0.2, "quiet_period_s": 0.0, "timelapse_s": 1.0},
                  "model": {"detector": str(_detector_640(folder) if size == 640 else _card_320(folder)),
                            "classifier": str(_local_card(IMAGENET_CARD, folder)),
                            **({"people": str(_local_card(PEOPLE_CARD, folder))} if people else {})},
                  "mqtt": {"enabled": False}}
        (folder / "station.toml").write_text(default_config_text(config), encoding="utf-8")
        log = (folder / "run.log").open("wb")
        process = subprocess.Popen([sys.executable, "-m", "station", "--log-level", "warning", "run", "-c",
                                    str(folder / "station.toml")], stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
        try:
            deadline, analysed, peak = time.monotonic() + timeout_s, 0, 0
            while time.monotonic() < deadline and process.poll() is None and analysed < frames_wanted:
                time.sleep(0.5)
                peak = max(peak, _vm_kb(process.pid, "VmRSS"))
                try:
                    with sqlite3.connect(folder / "data" / "station.db", timeout=5) as conn:
                        analysed = conn.execute(
                            "SELECT count(*) FROM media WHERE top_species IS NOT NULL").fetchone()[0]
                except sqlite3.OperationalError:
                    analysed = 0
            if process.poll() is not None:
                return {"error": "trapd run exited: " + (folder / "run.log").read_text(errors="replace")[-400:]}
            rss, hwm = _vm_kb(process.pid, "VmRSS"), _vm_kb(process.pid, "VmHWM")
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()
    return {"frames_analysed": analysed, "rss_mb": round(rss / 1024, 1), "peak_rss_mb": round(hwm / 1024, 1),
            "target_mb": RSS_TARGET_MB, "within_target": hwm / 1024 <= RSS_TARGET_MB,
            "models": f"megadetector-lite {size} + " + ("coco-yolox-nano-people + " if people else "")
                      + "imagenet-mobilenet-v2", "environment": env or {}}


def macs_and_sizes() -> dict:
    detector = _model(MDLITE_CARD)
    people, imagenet = _model(PEOPLE_CARD), shared_path(*IMAGENET_MODEL)
    if detector is None:
        raise Absent("the MegadetectorLite reference model is absent (../shared/models)")
    counted = {"megadetector_lite_640": count_macs(detector)}
    if people is not None:
        counted["coco_yolox_nano_416"] = count_macs(people)
    if imagenet is not None:
        counted["imagenet_mobilenet_v2_224"] = count_macs(imagenet)
    others = counted.get("coco_yolox_nano_416", 0) + counted.get("imagenet_mobilenet_v2_224", 0)
    return {"gmacs": {k: round(v / 1e9, 3) for k, v in counted.items()},
            "input_size_per_pi (ESTIMATES, not measured on a Pi)":
                [c.as_dict() for c in choose_sizes(counted["megadetector_lite_640"], 640, other_macs=others)]}


def run() -> dict:
    results: dict[str, object] = {}
    parts = (("macs", macs_and_sizes), ("detect", detect_ratio),
             ("rss_detector_640_classifier", lambda: trapd_run_rss(people=False)),
             ("rss_detector_640_people_classifier", lambda: trapd_run_rss(people=True)),
             ("rss_detector_320_classifier", lambda: trapd_run_rss(people=False, size=320)),
             ("rss_detector_320_people_classifier", lambda: trapd_run_rss(people=True, size=320)))
    for name, part in parts:
        try:
            results[name] = part()
        except Absent as exc:
            results[name] = {"skipped": str(exc)}
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
