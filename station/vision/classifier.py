"""Runs any standard full-integer (int8/uint8) TFLite image classifier described by a model card.

Everything numeric is read from the model's own tensors (shape, dtype, scale, zero point) and checked
against the card at load time, so a card that does not match its model fails at start-up, not in the field.
Per frame the work is: a 256-entry lookup (pixel → quantized input), ``invoke()``, dequantize, and a
``bincount`` that folds output classes into species (many-to-one for foreign models).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from station.errors import ModelError
from station.vision.card import ModelCard, load_card, sha256_of
from station.vision.runtime import load_interpreter

_DTYPES = {"uint8": np.uint8, "int8": np.int8}


class Classifier:
    """A loaded model plus its card; ``classify(pixels)`` returns a probability per species key."""

    def __init__(self, card: ModelCard, model_path: Path, *, threads: int = 2, verify_sha256: bool = True) -> None:
        if verify_sha256 and model_path.is_file() and sha256_of(model_path) != card.sha256:
            raise ModelError(f"{model_path}: sha256 does not match the card {card.name} {card.version}; "
                             "the file is corrupt or the card belongs to another model")
        self.card = card
        self.model_path = model_path
        self._interpreter = load_interpreter(model_path, threads=threads)
        self._input, self._output = self._check_tensors()
        self._lut = self._input_lut()
        self.species = list(dict.fromkeys(card.output_species()))
        index = {key: i for i, key in enumerate(self.species)}
        self._fold = np.array([index[key] for key in card.output_species()], dtype=np.intp)
        out_scale, out_zero = self._output["quantization"]
        self._out_scale = float(out_scale) or 1.0
        self._out_zero = int(out_zero)

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
        where = f"{self.model_path.name} vs card {self.card.name}"
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(f"{where}: expected one input and one output tensor (image classifier)")
        tensor_in, tensor_out = inputs[0], outputs[0]
        want_shape = [1, self.card.input.height, self.card.input.width, 3]
        if list(tensor_in["shape"]) != want_shape:
            raise ModelError(f"{where}: model input shape {list(tensor_in['shape'])}, card says {want_shape}")
        if tensor_in["dtype"] != _DTYPES[self.card.input.dtype]:
            raise ModelError(f"{where}: model input is {np.dtype(tensor_in['dtype']).name}, "
                             f"card says {self.card.input.dtype}; only full-integer models are supported")
        if tensor_out["dtype"] not in (np.uint8, np.int8):
            raise ModelError(f"{where}: model output is {np.dtype(tensor_out['dtype']).name}; need int8/uint8")
        if int(np.prod(tensor_out["shape"])) != self.card.outputs.count:
            raise ModelError(f"{where}: model has {int(np.prod(tensor_out['shape']))} outputs, "
                             f"card says {self.card.outputs.count}")
        return tensor_in, tensor_out

    def _input_lut(self) -> np.ndarray:
        """Pixel value 0..255 → quantized input, using the tensor's scale/zero point and the card's range."""
        scale, zero = self._input["quantization"]
        if not scale:
            raise ModelError(f"{self.model_path.name}: input tensor is not quantized (scale 0)")
        low, high = self.card.input.value_range
        real = low + np.arange(256, dtype=np.float64) * (high - low) / 255.0
        info = np.iinfo(_DTYPES[self.card.input.dtype])
        return np.clip(np.round(real / scale + zero), info.min, info.max).astype(_DTYPES[self.card.input.dtype])

    def prepare(self, pixels: np.ndarray) -> np.ndarray:
        """Resize a full RGB frame to the model's input size (what a camera's low-res stream provides)."""
        width, height = self.input_size
        if pixels.shape[1] == width and pixels.shape[0] == height:
            return pixels
        return np.asarray(Image.fromarray(pixels).resize((width, height), Image.BILINEAR))

    def quantize(self, pixels: np.ndarray) -> np.ndarray:
        """The model's input tensor for one RGB frame (any size; resized if needed)."""
        small = self.prepare(pixels)
        if self.card.input.colour_order == "BGR":
            small = small[..., ::-1]
        return self._lut[small][None, ...]

    def classify(self, pixels: np.ndarray) -> dict[str, float]:
        """Probability per species key for one RGB frame (any size; resized if needed)."""
        self._interpreter.set_tensor(self._input["index"], self.quantize(pixels))
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._output["index"]).reshape(-1)
        probs = (raw.astype(np.float32) - self._out_zero) * self._out_scale
        if not self.card.outputs.softmax:
            probs = np.exp(probs - probs.max())
            probs /= probs.sum()
        folded = np.bincount(self._fold, weights=probs, minlength=len(self.species))
        return {key: float(folded[i]) for i, key in enumerate(self.species)}

    def invoke_bare(self, quantized: np.ndarray) -> np.ndarray:
        """Only ``set_tensor`` + ``invoke`` + ``get_tensor``: the baseline the benchmarks compare against."""
        self._interpreter.set_tensor(self._input["index"], quantized)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output["index"])
