"""Runs a full-integer TFLite object detector described by a detector card.

``Detector.from_card(path).detect(rgb)`` takes one RGB uint8 frame of any size (it is stretched to the
model's input, as the camera's low-resolution stream does) and returns the boxes above the card's score
floor: normalised, top-left origin (Camtrap DP's bbox convention), with a score, the detector's class and
the species key that class maps to. Thresholds, masks and the minimum area are the station's business
(``station.vision.frame_pipeline``), not the detector's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from station.errors import ModelError
from station.types import Box
from station.vision.detector_card import DetectorCard, load_detector_card
from station.vision.quantize import InputQuantizer
from station.vision.runtime import load_verified
from station.vision.yolox import decode_yolox, grid_size

__all__ = ["Box", "BoxDetector", "Detector", "detector_tensor_problems"]


class BoxDetector(Protocol):
    """What the frame pipeline needs of a detector: the ``Detector`` itself, or one with a people detector
    beside it (``people.SeparatingDetector``)."""

    @property
    def card(self) -> DetectorCard: ...

    @property
    def input_size(self) -> tuple[int, int]: ...

    def prepare(self, pixels: np.ndarray) -> np.ndarray: ...

    def detect(self, pixels: np.ndarray) -> list[Box]: ...


class Detector:
    """A loaded detector plus its card."""

    def __init__(self, card: DetectorCard, model_path: Path, *, threads: int = 2, verify_sha256: bool = True) -> None:
        self.card, self.model_path, self.threads = card, model_path, threads
        self._interpreter = load_verified(model_path, sha256=card.sha256, card_label=card.label, threads=threads,
                                          verify=verify_sha256)
        problems = detector_tensor_problems(card, self._interpreter.get_input_details(),
                                            self._interpreter.get_output_details())
        if problems:
            raise ModelError(f"{model_path.name} vs card {card.name}: {problems[0]}")
        self._input = self._interpreter.get_input_details()[0]
        self._outputs = self._interpreter.get_output_details()
        self._quantizer = InputQuantizer(card.input, self._input["quantization"])
        self._map = card.output.map

    @classmethod
    def from_card(cls, card_path: Path, *, threads: int = 2) -> Detector:
        card, model_path = load_detector_card(card_path)
        return cls(card, model_path, threads=threads)

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of the model's input; frames are stretched to it."""
        return self.card.input.width, self.card.input.height

    def prepare(self, pixels: np.ndarray) -> np.ndarray:
        """The whole frame stretched to the input size (what a Pi camera's lores stream delivers)."""
        return self._quantizer.prepare(pixels)

    def quantize(self, pixels: np.ndarray) -> np.ndarray:
        return self._quantizer.quantize(pixels)

    def invoke_bare(self, quantized: np.ndarray) -> None:
        """Only ``set_tensor`` + ``invoke``: the baseline the benchmarks compare against."""
        self._interpreter.set_tensor(self._input["index"], quantized)
        self._interpreter.invoke()

    def detect(self, pixels: np.ndarray) -> list[Box]:
        """Boxes in one RGB frame (any size), best first, at most ``output.max_boxes``."""
        self.invoke_bare(self.quantize(pixels))
        if self.card.output.format == "postprocessed":
            rows = self._read_postprocessed()
        else:
            rows = self._read_yolox()
        boxes = [Box(x=float(x), y=float(y), width=float(w), height=float(h), score=float(s),
                     class_index=int(c), species=self._map[int(c)])
                 for x, y, w, h, s, c in rows if int(c) in self._map and w > 0 and h > 0]
        boxes.sort(key=lambda b: -b.score)
        return boxes[: self.card.output.max_boxes]

    def _read_postprocessed(self) -> list[tuple]:
        get = self._interpreter.get_tensor
        boxes, classes, scores, count = (get(d["index"]) for d in self._outputs)
        n = int(np.asarray(count).reshape(-1)[0])
        rows = []
        for (ymin, xmin, ymax, xmax), cls, score in zip(boxes[0][:n], classes[0][:n], scores[0][:n], strict=True):
            xmin, ymin = max(0.0, float(xmin)), max(0.0, float(ymin))
            xmax, ymax = min(1.0, float(xmax)), min(1.0, float(ymax))
            rows.append((xmin, ymin, xmax - xmin, ymax - ymin, float(score), int(round(float(cls)))))
        return rows

    def _read_yolox(self) -> list[tuple]:
        detail = self._outputs[0]
        raw = self._interpreter.get_tensor(detail["index"])[0]
        scale, zero = detail["quantization"]
        head = raw.astype(np.float32) if not scale else (raw.astype(np.float32) - zero) * scale
        width, height = self.input_size
        output = self.card.output
        wanted = sorted(self._map)
        keys = list(dict.fromkeys(self._map[i] for i in wanted))
        return decode_yolox(head, width=width, height=height, strides=output.strides,
                            score_floor=output.score_floor, nms_iou=output.nms_iou, max_boxes=output.max_boxes,
                            classes_wanted=wanted, groups=[keys.index(self._map[i]) for i in wanted])


def detector_tensor_problems(card: DetectorCard, inputs: list[dict[str, Any]],
                             outputs: list[dict[str, Any]]) -> list[str]:
    """What in the model's tensors disagrees with the card (empty: all as the card says)."""
    if len(inputs) != 1:
        return [f"expected one input tensor, the model has {len(inputs)}"]
    problems = []
    shape, want = [int(n) for n in inputs[0]["shape"]], [1, card.input.height, card.input.width, 3]
    if shape != want:
        problems.append(f"model input shape {shape}, card says {want}")
    if np.dtype(inputs[0]["dtype"]).name != card.input.dtype:
        problems.append(f"model input is {np.dtype(inputs[0]['dtype']).name}, card says {card.input.dtype}; "
                        "only full-integer models are supported")
    if card.output.format == "postprocessed":
        if len(outputs) != 4:
            problems.append(f"a post-processed detector has 4 outputs (boxes, classes, scores, count); "
                            f"the model has {len(outputs)}: set output.format = \"yolox\" for a raw head?")
        elif [int(n) for n in outputs[0]["shape"]][-1:] != [4]:
            problems.append(f"first output should be boxes [1, N, 4], it is {list(outputs[0]['shape'])}")
        return problems
    if len(outputs) != 1:
        return [*problems, f"a raw YOLOX head is one output tensor; the model has {len(outputs)}"]
    out_shape = [int(n) for n in outputs[0]["shape"]]
    cells = grid_size(card.input.width, card.input.height, card.output.strides)
    if out_shape != [1, cells, 5 + card.output.classes]:
        problems.append(f"model output shape {out_shape}, card says [1, {cells}, {5 + card.output.classes}] "
                        f"(strides {card.output.strides}, {card.output.classes} classes)")
    return problems
