"""Multiply-accumulates of a TFLite model, counted from its convolution and fully connected ops, and the
detector input size each Raspberry Pi model can afford.

The count reads the interpreter's own op list and tensor shapes: a ``CONV_2D`` costs output elements ×
kernel height × width × input channels, a ``DEPTHWISE_CONV_2D`` output elements × kernel height × width, a
``FULLY_CONNECTED`` output elements × input features; the rest (activations, adds, resizes, the
post-processing op) is small beside them and left out. A fully convolutional detector's count scales with
the input area, so other input sizes are the counted figure × (size / counted size)².

The Pi rates below are ESTIMATES, not measurements: effective int8 throughput with XNNPACK on two
interpreter threads, assumed from the cores and clocks (Cortex-A53 at 1.0 and 1.4 GHz, A72 at 1.8 GHz,
A76 at 2.4 GHz). Measure on the real board (`trapd model bench`) before trusting a choice.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from station.vision.runtime import load_interpreter

#: Assumed effective int8 rates in GMAC/s on 2 threads (estimates; see the module text).
PI_GMACS_PER_S = {"Pi Zero 2 W": 2.5, "Pi 3B+": 4.0, "Pi 4": 10.0, "Pi 5": 30.0}
CANDIDATE_SIZES = (640, 512, 416, 320)  # multiples of the detector's largest stride, 32
FRAME_BUDGET_S = 1.0  # a burst frame a second: the detector must keep up with that


def count_macs(model_path: Path) -> int:
    """Multiply-accumulates of one invoke of the model at ``model_path``."""
    interpreter = load_interpreter(model_path, threads=1)
    shapes = {d["index"]: [int(n) for n in d["shape"]] for d in interpreter.get_tensor_details()}
    total = 0
    for op in interpreter._get_ops_details():  # noqa: SLF001 - the runtime's only op listing
        name, inputs, outputs = op["op_name"], list(op["inputs"]), list(op["outputs"])
        if name not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") or len(inputs) < 2:
            continue
        out, weights = shapes.get(outputs[0]), shapes.get(inputs[1])
        if not out or not weights:
            continue
        elements = int(np.prod(out))
        if name == "CONV_2D":
            total += elements * weights[1] * weights[2] * weights[3]
        elif name == "DEPTHWISE_CONV_2D":
            total += elements * weights[1] * weights[2]
        else:
            total += elements * weights[-1]
    return total


def scaled_macs(macs: int, counted_size: int, size: int) -> int:
    return int(round(macs * (size / counted_size) ** 2))


@dataclasses.dataclass(frozen=True)
class SizeChoice:
    pi: str
    gmacs_per_s: float  # assumed (an estimate)
    size: int
    gmacs: float
    estimated_s: float  # the detector alone, per frame (an estimate)
    others_s: float  # the other models per frame (people detector, classifier on one box): an estimate

    def as_dict(self) -> dict[str, object]:
        return {**dataclasses.asdict(self), "estimate": True}


def choose_sizes(macs: int, counted_size: int, *, other_macs: int = 0,
                 budget_s: float = FRAME_BUDGET_S) -> list[SizeChoice]:
    """Per Pi model: the largest candidate input whose estimated detector + other models time fits the
    budget (the smallest candidate where none fits)."""
    choices = []
    for pi, rate in PI_GMACS_PER_S.items():
        others = other_macs / 1e9 / rate
        fitting = [s for s in CANDIDATE_SIZES
                   if scaled_macs(macs, counted_size, s) / 1e9 / rate + others <= budget_s]
        size = max(fitting) if fitting else min(CANDIDATE_SIZES)
        gmacs = scaled_macs(macs, counted_size, size) / 1e9
        choices.append(SizeChoice(pi=pi, gmacs_per_s=rate, size=size, gmacs=round(gmacs, 2),
                                  estimated_s=round(gmacs / rate, 2), others_s=round(others, 2)))
    return choices
