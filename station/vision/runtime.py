"""Loads a TFLite interpreter from whichever runtime is installed: LiteRT first, then tflite-runtime.

This is the only module that imports an inference runtime, so the rest of the station (and the test
suite) never cares which one the platform could install.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from station.errors import ModelError


def interpreter_class() -> tuple[type, str]:
    """The Interpreter class and the runtime's name; LiteRT is preferred where both are installed."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "ai-edge-litert"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter  # type: ignore[no-redef]

        return Interpreter, "tflite-runtime"
    except ImportError:
        raise ModelError("no TFLite runtime is installed: install ai-edge-litert "
                         "(or tflite-runtime on 32-bit Pi OS)") from None


def load_interpreter(model_path: Path, *, threads: int) -> Any:
    """An interpreter with tensors allocated; a missing or corrupt file is a ModelError that says so."""
    if not model_path.is_file():
        raise ModelError(f"{model_path}: model file not found; check model_file in the card")
    interpreter_cls, _ = interpreter_class()
    try:
        interpreter = interpreter_cls(model_path=str(model_path), num_threads=threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"{model_path}: not a usable TFLite model ({exc}); replace the file") from None
    return interpreter
