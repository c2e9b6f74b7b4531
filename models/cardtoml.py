"""A small TOML writer for the model cards the scripts in ``models/`` produce (no extra dependency).

Supports what a card needs: strings, booleans, integers, floats, arrays of scalars, tables (nested) and
arrays of tables whose items hold scalars only. Strings are written as basic strings with every character
TOML requires escaped; everything else (Cyrillic, Chinese) is written as UTF-8, which TOML is.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def dumps(doc: Mapping[str, Any], *, header: str = "") -> str:
    """``doc`` as TOML text; ``header`` (may be several lines) is written first as ``#`` comments."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    if lines:
        lines.append("")
    _emit_table(lines, (), doc)
    text = "\n".join(lines).rstrip("\n") + "\n"
    tomllib.loads(text)  # never hand out a file a TOML reader would refuse
    return text


def quote(text: str) -> str:
    """A TOML basic string: quotes, backslash and control characters escaped, the rest kept as is."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _key(key: object) -> str:
    text = str(key)
    return text if _BARE_KEY.match(text) else quote(text)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, Sequence) and not _is_table_array(value):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a TOML value")


def _is_table_array(value: Any) -> bool:
    return (isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0
            and all(isinstance(item, Mapping) for item in value))


def _emit_table(lines: list[str], path: tuple[str, ...], table: Mapping[Any, Any]) -> None:
    if path:
        lines.append("[" + ".".join(_key(part) for part in path) + "]")
    tables = {k: v for k, v in table.items() if isinstance(v, Mapping) or _is_table_array(v)}
    for key, value in table.items():
        if key not in tables and value is not None:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in tables.items():
        lines.append("")
        if isinstance(value, Mapping):
            _emit_table(lines, (*path, str(key)), value)
            continue
        for item in value:
            lines.append("[[" + ".".join(_key(part) for part in (*path, str(key))) + "]]")
            for item_key, item_value in item.items():
                if item_value is not None:
                    lines.append(f"{_key(item_key)} = {_value(item_value)}")
            lines.append("")
