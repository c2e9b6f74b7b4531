"""Pixels to a full-integer model's input tensor: resize, channel order, and one lookup per pixel.

Shared by the classifier and the detector, whose inputs are described alike (``CardInput``). The lookup maps
a pixel value 0..255 to the quantized input through the card's value range and the tensor's own scale and
zero point; it is skipped when the model takes pixels as they are, and done two pixels at a time otherwise.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from station.vision.card import CardInput

_DTYPES = {"uint8": np.uint8, "int8": np.int8}


class InputQuantizer:
    """``prepare`` resizes a full RGB frame to the input size; ``quantize`` makes the input tensor of it."""

    def __init__(self, card_input: CardInput, quantization: tuple[float, int]) -> None:
        self.input_size = (card_input.width, card_input.height)
        self._frame_shape = (card_input.height, card_input.width)
        self._bgr = card_input.colour_order == "BGR"
        self._lut = input_lut(card_input, quantization)
        # a uint8 model whose input scale is 1 and zero point 0 over 0..255 takes pixels as they are: no lookup
        identity = self._lut.dtype == np.uint8 and np.array_equal(self._lut, np.arange(256))
        self._lut_pairs = None if identity else pair_table(self._lut)

    def prepare(self, pixels: np.ndarray) -> np.ndarray:
        """The frame stretched to the input size (what a Pi camera's low-resolution stream delivers)."""
        if pixels.shape[:2] == self._frame_shape:
            return pixels
        return np.asarray(Image.fromarray(pixels).resize(self.input_size, Image.Resampling.BILINEAR))

    def quantize(self, pixels: np.ndarray) -> np.ndarray:
        """The model's input tensor (batch of one) for an RGB frame of any size."""
        small = self.prepare(pixels)
        if self._bgr:
            small = small[..., ::-1]
        if small.dtype != np.uint8 or not small.flags.c_contiguous:
            small = np.ascontiguousarray(small, dtype=np.uint8)
        if self._lut_pairs is None:
            return small[None, ...]
        if small.size % 2:
            return np.take(self._lut, small)[None, ...]
        pairs = np.take(self._lut_pairs, small.reshape(-1).view(np.uint16))  # two pixels per lookup
        return pairs.view(self._lut.dtype).reshape((1, *small.shape))


def input_lut(card_input: CardInput, quantization: tuple[float, int]) -> np.ndarray:
    """Pixel value 0..255 → quantized input, using the tensor's scale/zero point and the card's range."""
    scale, zero = quantization
    low, high = card_input.value_range
    real = low + np.arange(256, dtype=np.float64) * (high - low) / 255.0
    info = np.iinfo(_DTYPES[card_input.dtype])
    return np.clip(np.round(real / (scale or 1.0) + zero), info.min, info.max).astype(_DTYPES[card_input.dtype])


def pair_table(lut: np.ndarray) -> np.ndarray:
    """A 65536-entry table that maps two pixels at once: entry *v*, whose two bytes in memory are *a* and
    *b*, holds ``lut[a]`` and ``lut[b]`` in the same order (so it is right on either byte order)."""
    index_bytes = np.arange(65536, dtype=np.uint16).view(np.uint8).reshape(-1, 2)
    return np.ascontiguousarray(lut.view(np.uint8)[index_bytes]).view(np.uint16).reshape(-1)
