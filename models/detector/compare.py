"""Compare the project's detector build with a reference build of the same network, photo by photo.

Runs both full-integer TFLite detectors (standard 4-tensor post-processed output) with LiteRT on a folder
of photos (a plain stretch resize of the whole frame to S x S, uint8 RGB, as the station feeds them) and
reports, at a score threshold (default 0.25): empty-vs-not decisions against the labels and against the
reference, the IoU of matched boxes, score differences, and the time per invoke of each, measured side by
side. Needs only the station's own venv (ai-edge-litert, numpy, Pillow).

    .venv/bin/python models/detector/compare.py \\
        --ours models/detector/mdlite-yolox-tiny-640.tflite \\
        --reference ../shared/models/megadetector-lite-yolox-tiny/mdlite_yolox_tiny_640_pp_uint8.tflite \\
        --images ../shared/datasets/real-camtrap-dev/images --labels ../shared/datasets/real-camtrap-dev/labels.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

THRESHOLD = 0.25
MATCH_IOU = 0.5


@dataclass
class Detector:
    """One post-processed TFLite detector: uint8 [1, S, S, 3] in; boxes, classes, scores, count out."""

    path: Path
    threads: int = 1
    size: int = 0
    _interpreter: Any = field(default=None, repr=False)  # LiteRT publishes no types

    def __post_init__(self) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(self.path), num_threads=self.threads)
        self._interpreter.allocate_tensors()
        (inp,) = self._interpreter.get_input_details()
        self.size = int(inp["shape"][1])
        self._input = inp["index"]
        self._dtype = inp["dtype"]  # uint8 for the int8 builds; float32 for a float baseline
        self._outputs = [o["index"] for o in self._interpreter.get_output_details()]

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Boxes [k, 4] (ymin, xmin, ymax, xmax, 0..1), scores [k], and the invoke time in ms."""
        self._interpreter.set_tensor(self._input, rgb[None].astype(self._dtype))
        start = time.perf_counter()
        self._interpreter.invoke()
        elapsed = (time.perf_counter() - start) * 1000
        boxes, _classes, scores, count = (self._interpreter.get_tensor(i) for i in self._outputs)
        k = int(count[0])
        return boxes[0, :k].copy(), scores[0, :k].copy(), elapsed


def stretch_rgb(path: Path, size: int) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    top, left = max(a[0], b[0]), max(a[1], b[1])
    bottom, right = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, bottom - top) * max(0.0, right - left)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def match(ours: np.ndarray, ref: np.ndarray) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching, best IoU first: (our index, reference index, IoU) for IoU >= 0.5."""
    pairs = sorted(((iou(a, b), i, j) for i, a in enumerate(ours) for j, b in enumerate(ref)), reverse=True)
    used_ours: set[int] = set()
    used_ref: set[int] = set()
    matched = []
    for value, i, j in pairs:
        if value < MATCH_IOU or i in used_ours or j in used_ref:
            continue
        used_ours.add(i)
        used_ref.add(j)
        matched.append((i, j, value))
    return matched


def read_labels(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    with path.open(newline="") as fh:
        return {Path(row["file"]).name: row["label"] for row in csv.DictReader(fh)}


def compare(ours: Detector, ref: Detector, photos: Sequence[Path], labels: dict[str, str],
            threshold: float = THRESHOLD) -> dict:
    """Both detectors on every photo, side by side; the figures of the report."""
    rows, ious, score_diffs, top_diffs = [], [], [], []
    times: dict[str, list[float]] = {"ours": [], "reference": []}
    for path in photos:
        rgb = stretch_rgb(path, ours.size)
        ob, os_, ot = ours.detect(rgb)
        rb, rs, rt = ref.detect(rgb if ref.size == ours.size else stretch_rgb(path, ref.size))
        times["ours"].append(ot)
        times["reference"].append(rt)
        ob, os_ = ob[os_ >= threshold], os_[os_ >= threshold]
        rb, rs = rb[rs >= threshold], rs[rs >= threshold]
        pairs = match(ob, rb)
        ious += [v for _, _, v in pairs]
        score_diffs += [abs(float(os_[i] - rs[j])) for i, j, _ in pairs]
        if len(os_) and len(rs):
            top_diffs.append(abs(float(os_.max() - rs.max())))
        rows.append({"file": path.name, "label": labels.get(path.name), "ours_boxes": len(ob),
                     "reference_boxes": len(rb), "matched": len(pairs),
                     "ours_top": round(float(os_.max()), 3) if len(os_) else 0.0,
                     "reference_top": round(float(rs.max()), 3) if len(rs) else 0.0})
    return summarise(rows, ious, score_diffs, top_diffs, times, threshold)


def summarise(rows, ious, score_diffs, top_diffs, times, threshold) -> dict:
    labelled = [r for r in rows if r["label"] is not None]

    def right(key: str) -> int:
        return sum((r[key] > 0) == (r["label"] != "blank") for r in labelled)

    return {
        "photos": len(rows), "threshold": threshold, "labelled": len(labelled),
        "empty_vs_not_right": {"ours": right("ours_boxes"), "reference": right("reference_boxes")},
        "same_decision_as_reference": sum((r["ours_boxes"] > 0) == (r["reference_boxes"] > 0) for r in rows),
        "boxes": {"ours": sum(r["ours_boxes"] for r in rows), "reference": sum(r["reference_boxes"] for r in rows),
                  "matched_iou_ge_0.5": len(ious)},
        "matched_iou": {"mean": _stat(statistics.fmean, ious), "min": _stat(min, ious)},
        "matched_score_abs_diff": {"mean": _stat(statistics.fmean, score_diffs), "max": _stat(max, score_diffs)},
        "top_score_abs_diff": {"mean": _stat(statistics.fmean, top_diffs), "max": _stat(max, top_diffs)},
        "invoke_ms_median": {k: round(statistics.median(v), 2) for k, v in times.items()},
        "disagreements": [r for r in rows if (r["ours_boxes"] > 0) != (r["reference_boxes"] > 0)],
        "per_photo": rows,
    }


def _stat(fn, values: list[float]) -> float | None:
    return round(float(fn(values)), 4) if values else None


def report_text(result: dict, ours: Path, ref: Path) -> str:
    r = result
    lines = [
        f"ours:      {ours}", f"reference: {ref}",
        f"{r['photos']} photos, score >= {r['threshold']}",
        f"empty vs not right (of {r['labelled']} labelled): ours {r['empty_vs_not_right']['ours']}, "
        f"reference {r['empty_vs_not_right']['reference']}",
        f"same empty/not decision as the reference: {r['same_decision_as_reference']}/{r['photos']}",
        f"boxes: ours {r['boxes']['ours']}, reference {r['boxes']['reference']}, "
        f"matched (IoU >= {MATCH_IOU}) {r['boxes']['matched_iou_ge_0.5']}",
        f"IoU of matched boxes: mean {r['matched_iou']['mean']}, min {r['matched_iou']['min']}",
        f"|score difference| of matched boxes: mean {r['matched_score_abs_diff']['mean']}, "
        f"max {r['matched_score_abs_diff']['max']}",
        f"|top score difference| per photo: mean {r['top_score_abs_diff']['mean']}, "
        f"max {r['top_score_abs_diff']['max']}",
        f"invoke median (ms, side by side): ours {r['invoke_ms_median']['ours']}, "
        f"reference {r['invoke_ms_median']['reference']}",
    ]
    for row in r["disagreements"]:
        lines.append(f"  differs: {row['file']} ({row['label']}): ours top {row['ours_top']}, "
                     f"reference top {row['reference_top']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ours", type=Path, required=True, help="our .tflite detector")
    parser.add_argument("--reference", type=Path, required=True, help="the reference .tflite detector")
    parser.add_argument("--images", type=Path, required=True, help="folder of photos (.jpg/.jpeg/.png)")
    parser.add_argument("--labels", type=Path, default=None, help="labels CSV (columns file, label; blank = empty)")
    parser.add_argument("--threshold", type=float, default=THRESHOLD, help="score threshold for a box")
    parser.add_argument("--threads", type=int, default=1, help="LiteRT threads for each model")
    parser.add_argument("--json", type=Path, default=None, help="also write the full result (per photo) here")
    args = parser.parse_args(argv)
    for path in (args.ours, args.reference, args.images):
        if not path.exists():
            print(f"error: {path} does not exist", file=sys.stderr)
            return 2
    photos = sorted(p for p in args.images.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    ours, ref = Detector(args.ours, args.threads), Detector(args.reference, args.threads)
    result = compare(ours, ref, photos, read_labels(args.labels), args.threshold)
    print(report_text(result, args.ours, args.reference))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
