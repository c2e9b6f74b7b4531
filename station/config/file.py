"""Write station.toml: the commented default (`trapd init`).

The comments come from the pydantic field descriptions and bounds, so the file a technician edits and the
validation that checks it cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from station.config.models import StationConfig
from station.config.toml import toml_value

#: What `trapd init` writes for the keys every station must name itself: an id nobody will mistake for a
#: provisioned station, and the simulated hardware spelled out (a technician sees it and changes it).
TEMPLATE: dict[str, dict[str, Any]] = {
    "station": {"id": "unprovisioned"},
    "hardware": {"camera": "simulated", "trigger": "simulated", "illuminator": "simulated"},
}


def default_config_text(overrides: dict[str, dict[str, Any]] | None = None) -> str:
    """The default station.toml with a comment for every section and key."""
    overrides = overrides or {}
    lines = ["# station.toml: configuration of one camera-trap station (trapd).",
             "# Unknown keys are refused. Paths are relative to this file. Check it with `trapd selftest`.", ""]
    for name, field in StationConfig.model_fields.items():
        if field.exclude:
            continue
        section_type: type[BaseModel] = field.annotation  # type: ignore[assignment]
        doc = (section_type.__doc__ or "").strip()
        lines += [f"# {doc}", f"[{name}]"] if doc else [f"[{name}]"]
        values = {**TEMPLATE.get(name, {}), **overrides.get(name, {})}
        for key, sub in section_type.model_fields.items():
            default = None if sub.is_required() else sub.get_default(call_default_factory=True)
            value = values[key] if key in values else default
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
