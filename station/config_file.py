"""Write station.toml: the commented default (`trapd init`).

The comments come from the pydantic field descriptions and bounds, so the file a technician edits and the
validation that checks it cannot drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from station.config import StationConfig


def default_config_text(overrides: dict[str, dict[str, Any]] | None = None) -> str:
    """The default station.toml with a comment for every section and key."""
    config = StationConfig()
    overrides = overrides or {}
    lines = ["# station.toml: configuration of one camera-trap station (trapd).",
             "# Unknown keys are refused. Paths are relative to this file. Check it with `trapd selftest`.", ""]
    for name, field in StationConfig.model_fields.items():
        if field.exclude:
            continue
        section: BaseModel = getattr(config, name)
        doc = (type(section).__doc__ or "").strip()
        lines += [f"# {doc}", f"[{name}]"] if doc else [f"[{name}]"]
        for key, sub in type(section).model_fields.items():
            value = overrides.get(name, {}).get(key, getattr(section, key))
            lines.append(f"# {sub.description or key}{_bounds(sub.metadata)}")
            rendered = toml_value(value)
            lines.append(f"{key} = {rendered}" if rendered is not None else f"# {key} =")
        lines.append("")
    return "\n".join(lines)


def _bounds(metadata: list[Any]) -> str:
    parts = []
    for item in metadata:
        for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(item, attr, None) is not None:
                parts.append(f"{sign} {getattr(item, attr)}")
    return f" ({', '.join(parts)})" if parts else ""


def toml_value(value: Any) -> str | None:
    """TOML literal for a config value; None for 'unset' (written as a commented key)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Path):
        value = value.as_posix()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) or '""' for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
