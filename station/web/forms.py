"""The deployment form: what a ranger typed (or the phone's GPS filled in) checked into a deployments row.

Errors are returned as ``(message key, values)`` pairs so the page can say them in the ranger's language.
Coordinates are accepted as two fields, or pasted as one pair (``43.1234, 131.5678``) into the latitude
field, and a decimal comma (``43,1234``) is read as a point.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from station.camtrapdp.tables import FEATURE_TYPES

_PAIR = re.compile(r"^\s*(-?\d{1,3}\.\d+)\s*[,;\s]\s*(-?\d{1,3}\.\d+)\s*$")

#: Form field → (column of the deployments table, lowest, highest, whole number).
NUMBERS: dict[str, tuple[str, float, float, bool]] = {
    "latitude": ("latitude", -90.0, 90.0, False),
    "longitude": ("longitude", -180.0, 180.0, False),
    "accuracy": ("coordinate_uncertainty_m", 1, 100_000, True),
    "camera_height": ("camera_height_m", 0.0, 20.0, False),
    "heading": ("camera_heading_deg", 0.0, 360.0, False),
    "tilt": ("camera_tilt_deg", -90.0, 90.0, False),
}
#: Form field → (column, longest).
TEXTS: dict[str, tuple[str, int]] = {
    "location_name": ("location_name", 100), "habitat": ("habitat", 200), "notes": ("comments", 1000),
    "setup_by": ("setup_by", 100),
}
REQUIRED = ("latitude", "longitude")

FormError = tuple[str, dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class DeploymentForm:
    """Checked values by deployments column, or the problems found."""

    columns: dict[str, Any]
    errors: list[FormError]

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_deployment(form: Mapping[str, str]) -> DeploymentForm:
    fields = {key: (form.get(key) or "").strip() for key in (*NUMBERS, *TEXTS, "feature_type")}
    pair = _PAIR.match(fields["latitude"])
    if pair and not fields["longitude"]:
        fields["latitude"], fields["longitude"] = pair[1], pair[2]
    columns: dict[str, Any] = {}
    errors: list[FormError] = []
    for key, (column, low, high, whole) in NUMBERS.items():
        value, error = _number(key, fields[key], low, high, whole)
        columns[column] = value
        if error is not None:
            errors.append(error)
    for key, (column, longest) in TEXTS.items():
        if len(fields[key]) > longest:
            errors.append(("err_too_long", {"field": key, "n": longest}))
        columns[column] = fields[key] or None
    feature = fields["feature_type"]
    if feature and feature not in FEATURE_TYPES:
        errors.append(("err_required", {"field": "feature_type"}))
    columns["feature_type"] = feature or None
    return DeploymentForm(columns=columns, errors=errors)


def _number(key: str, text: str, low: float, high: float, whole: bool) -> tuple[float | int | None, FormError | None]:
    if not text:
        return None, ("err_required", {"field": key}) if key in REQUIRED else None
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None, ("err_number", {"field": key})
    if not low <= value <= high or value != value:  # value != value: NaN
        return None, ("err_range", {"field": key, "lo": _plain(low), "hi": _plain(high)})
    return (round(value) if whole else value), None


def _plain(number: float) -> str:
    return f"{number:g}"


def values_from_row(row: Mapping[str, Any]) -> dict[str, str]:
    """A stored deployment as form values (to show it again for correction)."""
    values = {key: _shown(row.get(column)) for key, (column, *_) in NUMBERS.items()}
    values |= {key: row.get(column) or "" for key, (column, _) in TEXTS.items()}
    values["feature_type"] = row.get("feature_type") or ""
    return values


def _shown(value: float | int | None) -> str:
    if value is None:
        return ""
    return f"{value:.6f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
