"""Runs any standard full-integer (int8/uint8) TFLite image classifier described by a model card.

Everything numeric is read from the model's own tensors (shape, dtype, scale, zero point) and checked
against the card at load time, so a card that does not match its model fails at start-up, not in the field.
Per frame the work is: a 256-entry lookup (pixel → quantized input; skipped when the model takes pixels as
they are), ``invoke()``, a 256-entry lookup that dequantizes, and for foreign models a ``bincount`` that folds
output classes into species (many-to-one). ``trapd model bench`` keeps this within 10 % of a bare ``invoke()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from station.errors import ModelError
from station.vision.card import ModelCard, load_card
from station.vision.check import tensor_findings
from station.vision.quantize import InputQuantizer
from station.vision.runtime import load_verified


class Classifier:
    """A loaded model plus its card; ``classify(pixels)`` returns a probability per species key."""

    def __init__(self, card: ModelCard, model_path: Path, *, threads: int = 2, verify_sha256: bool = True) -> None:
        self.card = card
        self.model_path = model_path
        self._interpreter = load_verified(model_path, sha256=card.sha256, card_label=f"{card.name} {card.version}",
                                          threads=threads, verify=verify_sha256)
        self.threads = threads
        self._input, self._output = self._check_tensors()
        self._quantizer = InputQuantizer(card.input, self._input["quantization"])
        self.species = list(dict.fromkeys(card.output_species()))
        index = {key: i for i, key in enumerate(self.species)}
        fold = np.array([index[key] for key in card.output_species()], dtype=np.intp)
        #: None when every output is its own species (own models): no folding needed.
        self._fold = None if np.array_equal(fold, np.arange(len(fold))) else fold
        self._dequantize = self._output_table()
        self._dequantize_list = self._dequantize.tolist()
        self._softmax = card.outputs.softmax
        self._in_index, self._out_index = self._input["index"], self._output["index"]

    @classmethod
    def from_card_file(cls, card_path: Path, *, threads: int = 2) -> Classifier:
        card, model_path = load_card(card_path)
        return cls(card, model_path, threads=threads)

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) the frames must be resized to."""
        return self.card.input.width, self.card.input.height

    def _check_tensors(self) -> tuple[dict[str, Any], dict[str, Any]]:
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        failed = [f for f in tensor_findings(self.card, inputs, outputs) if not f.ok]
        if failed:
            raise ModelError(f"{self.model_path.name} vs card {self.card.name}: {failed[0].detail}")
        return inputs[0], outputs[0]

    def _output_table(self) -> np.ndarray:
        """Raw output byte (as uint8) → real value: dequantizing is one lookup (float32, as the tensor math)."""
        out_scale, out_zero = self._output["quantization"]
        raw = np.arange(256, dtype=np.uint8).view(self._output["dtype"])
        return (raw.astype(np.float32) - int(out_zero)) * (float(out_scale) or 1.0)

    def prepare(self, pixels: np.ndarray) -> np.ndarray:
        """Resize a full RGB frame to the model's input size (what a camera's low-res stream provides)."""
        return self._quantizer.prepare(pixels)

    def quantize(self, pixels: np.ndarray) -> np.ndarray:
        """The model's input tensor for one RGB frame (any size; resized if needed)."""
        return self._quantizer.quantize(pixels)

    def classify(self, pixels: np.ndarray) -> dict[str, float]:
        """Probability per species key for one RGB frame (any size; resized if needed)."""
        self._interpreter.set_tensor(self._in_index, self.quantize(pixels))
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._out_index).reshape(-1).view(np.uint8)
        if self._fold is None and self._softmax:  # own models: one output per species, one lookup each
            return dict(zip(self.species, map(self._dequantize_list.__getitem__, raw.tobytes()), strict=True))
        probs = self._dequantize[raw]
        if not self._softmax:
            probs = np.exp(probs - probs.max())
            probs /= probs.sum()
        if self._fold is not None:
            probs = np.bincount(self._fold, weights=probs, minlength=len(self.species))
        return dict(zip(self.species, probs.tolist(), strict=True))

    def invoke_bare(self, quantized: np.ndarray) -> np.ndarray:
        """Only ``set_tensor`` + ``invoke`` + ``get_tensor``: the baseline the benchmarks compare against."""
        self._interpreter.set_tensor(self._in_index, quantized)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._out_index)
