"""Runs any standard full-integer (int8/uint8) TFLite image classifier described by a model card.

Everything numeric is read from the model's own tensors (shape, dtype, scale, zero point) and checked
against the card at load time, so a card that does not match its model fails at start-up, not in the field.
Per frame the work is: a 256-entry lookup (pixel → quantized input; skipped when the model takes pixels as
they are), ``invoke()``, a 256-entry lookup that dequantizes, and for foreign models a ``bincount`` that folds
output classes into species (many-to-one). ``trapd model bench`` keeps this within 10 % of a bare ``invoke()``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from station.errors import ModelError
from station.vision.card import ModelCard, load_card
from station.vision.check import tensor_findings
from station.vision.runtime import load_interpreter, read_model

_DTYPES = {"uint8": np.uint8, "int8": np.int8}


class Classifier:
    """A loaded model plus its card; ``classify(pixels)`` returns a probability per species key."""

    def __init__(self, card: ModelCard, model_path: Path, *, threads: int = 2, verify_sha256: bool = True) -> None:
        content = read_model(model_path)
        if verify_sha256 and hashlib.sha256(content).hexdigest() != card.sha256:
            raise ModelError(f"{model_path}: sha256 does not match the card {card.name} {card.version}; "
                             "the file is corrupt or the card belongs to another model")
        self.card = card
        self.model_path = model_path
        self._interpreter = load_interpreter(model_path, threads=threads, content=content)
        self.threads = threads
        self._input, self._output = self._check_tensors()
        self._lut = self._input_lut()
        #: A uint8 model whose input scale is 1 and zero point 0 over 0..255 takes pixels as they are.
        self._identity_input = self._lut.dtype == np.uint8 and np.array_equal(self._lut, np.arange(256))
        self._lut_pairs = None if self._identity_input else pair_table(self._lut)
        self.species = list(dict.fromkeys(card.output_species()))
        index = {key: i for i, key in enumerate(self.species)}
        fold = np.array([index[key] for key in card.output_species()], dtype=np.intp)
        #: None when every output is its own species (own models): no folding needed.
        self._fold = None if np.array_equal(fold, np.arange(len(fold))) else fold
        self._dequantize = self._output_table()
        self._dequantize_list = self._dequantize.tolist()
        self._softmax = card.outputs.softmax
        self._bgr = card.input.colour_order == "BGR"
        self._frame_shape = (card.input.height, card.input.width)
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

    def _input_lut(self) -> np.ndarray:
        """Pixel value 0..255 → quantized input, using the tensor's scale/zero point and the card's range."""
        scale, zero = self._input["quantization"]
        low, high = self.card.input.value_range
        real = low + np.arange(256, dtype=np.float64) * (high - low) / 255.0
        info = np.iinfo(_DTYPES[self.card.input.dtype])
        return np.clip(np.round(real / scale + zero), info.min, info.max).astype(_DTYPES[self.card.input.dtype])

    def _output_table(self) -> np.ndarray:
        """Raw output byte (as uint8) → real value: dequantizing is one lookup (float32, as the tensor math)."""
        out_scale, out_zero = self._output["quantization"]
        raw = np.arange(256, dtype=np.uint8).view(self._output["dtype"])
        return (raw.astype(np.float32) - int(out_zero)) * (float(out_scale) or 1.0)

    def prepare(self, pixels: np.ndarray) -> np.ndarray:
        """Resize a full RGB frame to the model's input size (what a camera's low-res stream provides)."""
        if pixels.shape[:2] == self._frame_shape:
            return pixels
        return np.asarray(Image.fromarray(pixels).resize(self.input_size, Image.Resampling.BILINEAR))

    def quantize(self, pixels: np.ndarray) -> np.ndarray:
        """The model's input tensor for one RGB frame (any size; resized if needed)."""
        small = self.prepare(pixels)
        if self._bgr:
            small = small[..., ::-1]
        if small.dtype != np.uint8 or not small.flags.c_contiguous:
            small = np.ascontiguousarray(small, dtype=np.uint8)
        if self._lut_pairs is None:  # the identity input: the pixels as they are
            return small[None, ...]
        if small.size % 2:
            return np.take(self._lut, small)[None, ...]
        pairs = np.take(self._lut_pairs, small.reshape(-1).view(np.uint16))  # two pixels per lookup
        return pairs.view(self._lut.dtype).reshape((1, *small.shape))

    def classify(self, pixels: np.ndarray) -> dict[str, float]:
        """Probability per species key for one RGB frame (any size; resized if needed)."""
        self._interpreter.set_tensor(self._in_index, self.quantize(pixels))
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._out_index).reshape(-1).view(np.uint8)
        if self._fold is None and self._softmax:  # own models: one output per species, one lookup each
            return dict(zip(self.species, map(self._dequantize_list.__getitem__, raw.tobytes()), strict=False))
        probs = self._dequantize[raw]
        if not self._softmax:
            probs = np.exp(probs - probs.max())
            probs /= probs.sum()
        if self._fold is not None:
            probs = np.bincount(self._fold, weights=probs, minlength=len(self.species))
        return dict(zip(self.species, probs.tolist(), strict=False))

    def invoke_bare(self, quantized: np.ndarray) -> np.ndarray:
        """Only ``set_tensor`` + ``invoke`` + ``get_tensor``: the baseline the benchmarks compare against."""
        self._interpreter.set_tensor(self._in_index, quantized)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._out_index)


def pair_table(lut: np.ndarray) -> np.ndarray:
    """A 65536-entry table that maps two pixels at once: entry *v*, whose two bytes in memory are *a* and
    *b*, holds ``lut[a]`` and ``lut[b]`` in the same order (so it is right on either byte order)."""
    index_bytes = np.arange(65536, dtype=np.uint16).view(np.uint8).reshape(-1, 2)
    return np.ascontiguousarray(lut.view(np.uint8)[index_bytes]).view(np.uint16).reshape(-1)
