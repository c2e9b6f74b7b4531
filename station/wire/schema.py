"""JSON Schema of the wire messages, generated from the pydantic models (the contract is the code)."""

from __future__ import annotations

import json
from pathlib import Path

from station.wire.messages import WIRE_MODELS


def schema_documents() -> dict[str, str]:
    """File name → JSON text, stable (sorted keys) so a committed copy can be compared in a test."""
    return {f"{name}.schema.json": json.dumps(model.model_json_schema(by_alias=True), indent=2, sort_keys=True,
                                              ensure_ascii=False) + "\n"
            for name, model in WIRE_MODELS.items()}


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_documents().items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
