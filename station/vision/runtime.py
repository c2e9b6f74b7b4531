"""Loads a TFLite interpreter from whichever runtime is installed: LiteRT first, then tflite-runtime.

A 32-bit userland (32-bit Raspberry Pi OS, even on a Pi 4/5 whose kernel says aarch64) is refused with one
message: numpy, Pillow and LiteRT have no 32-bit ARM wheels for its Python (docs/architecture.md).

This is the only module that imports an inference runtime, so the rest of the station (and the test
suite) never cares which one the platform could install.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path
from typing import Any

from station.errors import ModelError, UnsupportedPlatformError

UNSUPPORTED_32BIT = ("32-bit Raspberry Pi OS is not supported: numpy, Pillow and the TFLite runtime have no 32-bit "
                     "ARM wheels for its Python. Flash Raspberry Pi OS Lite (64-bit) on a Pi Zero 2 W, 3, 4 or 5")


def check_userland(pointer_bytes: int | None = None) -> None:
    """Refuse a 32-bit interpreter (the pointer size is the userland's; uname -m is the kernel's)."""
    bits = 8 * (struct.calcsize("P") if pointer_bytes is None else pointer_bytes)
    if bits != 64:
        raise UnsupportedPlatformError(f"{UNSUPPORTED_32BIT} (this Python is {bits}-bit)")


def interpreter_class() -> tuple[type, str]:
    """The Interpreter class and the runtime's name; LiteRT is preferred where both are installed."""
    check_userland()
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "ai-edge-litert"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter, "tflite-runtime"
    except ImportError:
        raise ModelError("no TFLite runtime is installed: install ai-edge-litert "
                         "(pip install -e /opt/trapd in its venv installs it)") from None


def read_model(model_path: Path) -> bytes:
    try:
        return model_path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"{model_path}: model file not found; check model_file in the card") from None
    except OSError as exc:
        raise ModelError(f"{model_path}: cannot read the model ({exc})") from exc


def load_interpreter(model_path: Path, *, threads: int, content: bytes | None = None) -> Any:
    """An interpreter with tensors allocated; a missing or corrupt file is a ModelError that says so.

    The model is handed over as bytes held in memory, not as a path the runtime would mmap: a model file
    replaced or truncated on disk while the station runs cannot then pull the ground from under it.
    """
    content = read_model(model_path) if content is None else content
    interpreter_cls, _ = interpreter_class()
    try:
        interpreter = interpreter_cls(model_content=content, num_threads=threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"{model_path}: not a usable TFLite model ({exc}); replace the file") from exc
    return interpreter


def load_verified(model_path: Path, *, sha256: str, card_label: str, threads: int, verify: bool = True) -> Any:
    """``load_interpreter`` of a model whose bytes must have the card's sha256 (unless ``verify`` is off)."""
    content = read_model(model_path)
    if verify and hashlib.sha256(content).hexdigest() != sha256:
        raise ModelError(f"{model_path}: sha256 does not match the card {card_label}; "
                         "the file is corrupt or the card belongs to another model")
    return load_interpreter(model_path, threads=threads, content=content)
