"""TOML in and out, in one place.

Reading: ``read_toml`` / ``parse_toml`` give a file's tables as a dict, bounded where the input is untrusted
(``station.limits.TextBounds``), and turn every failure into one error of the caller's type naming the file,
the line and column, and what to do. Writing: ``toml_value`` (one value, inline) and ``dumps`` (a whole
document) build on tomlkit, so quotes, backslashes, newlines and control characters are always escaped.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Item, Table

from station.limits import TextBounds, nesting_depth


def read_toml(path: Path, *, error: type[Exception], what: str = "", missing: str | None = None, fix: str = "",
              default: dict[str, Any] | None = None, bounds: TextBounds | None = None) -> dict[str, Any]:
    """The TOML of ``path`` as a dict; every failure is one ``error(message)`` that starts with the path.

    ``what`` names the file in the messages ("model card": "cannot read model card: not valid TOML: …");
    ``missing`` is the message for a file that does not exist (what to do), unless ``default`` is given, which
    is then returned instead; ``fix`` ends a message about the content (what to do about it).
    """
    try:
        with path.open("rb") as handle:
            data = handle.read() if bounds is None else handle.read(bounds.max_bytes + 1)
    except FileNotFoundError as exc:
        if default is not None:
            return default
        raise error(f"{path}: {missing or _reading(what) + 'no such file'}") from exc
    except (OSError, ValueError) as exc:
        raise error(f"{path}: {_reading(what) or 'cannot read: '}{exc}") from exc
    if bounds is not None and len(data) > bounds.max_bytes:
        raise error(_content(str(path), what, f"larger than {bounds.max_bytes // 1024} KB; this is not a "
                                              f"{bounds.kind}", fix))
    return parse_toml(data, source=str(path), error=error, what=what, fix=fix, bounds=bounds)


def parse_toml(data: bytes, *, source: str, error: type[Exception], what: str = "", fix: str = "",
               bounds: TextBounds | None = None) -> dict[str, Any]:
    """``data`` (UTF-8 TOML from ``source``) as a dict; failures as in ``read_toml``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(_content(source, what, f"not UTF-8 text: {exc}", fix)) from exc
    if bounds is not None and nesting_depth(text) > bounds.max_depth:
        raise error(_content(source, what, f"arrays or tables nested deeper than {bounds.max_depth} levels; "
                                           f"{bounds.kind} needs {bounds.usual_depth}", fix))
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # the message ends "(at line L, column C)"
        raise error(_content(source, what, f"not valid TOML: {exc}", fix)) from exc
    except (ValueError, RecursionError) as exc:  # e.g. an integer of thousands of digits
        raise error(_content(source, what, f"not valid TOML: {str(exc).splitlines()[0][:200]}", fix)) from exc


def _reading(what: str) -> str:
    return f"cannot read {what}: " if what else ""


def _content(source: str, what: str, problem: str, fix: str) -> str:
    return f"{source}: {_reading(what)}{problem}" + (f"; {fix}" if fix else "")


def toml_value(value: Any) -> str | None:
    """One value as inline TOML (strings escaped, paths as POSIX text); None for 'unset'."""
    return None if value is None else _inline(value).as_string()


def dumps(doc: Mapping[str, Any], *, header: str = "") -> str:
    """``doc`` as a TOML document; ``header`` (may be several lines) is written first as ``#`` comments.

    Keys whose value is None are left out; tables are written as ``[table]`` sections and lists of tables as
    ``[[array]]`` sections, after the plain keys of their parent.
    """
    document = tomlkit.document()
    for line in header.splitlines():
        document.add(tomlkit.comment(line) if line.strip() else tomlkit.nl())
    if header:
        document.add(tomlkit.nl())
    _fill(document, doc)
    text = document.as_string()
    tomllib.loads(text)  # never hand out a file a TOML reader would refuse
    return text


def _fill(table: Table | tomlkit.TOMLDocument, values: Mapping[Any, Any]) -> None:
    plain = {key: value for key, value in values.items() if value is not None and not _is_table(value)
             and not _is_table_array(value)}
    for key, value in plain.items():
        table.add(str(key), _inline(value))
    for key, value in values.items():
        if _is_table(value):
            sub = tomlkit.table(is_super_table=False)  # "[name]" written even when it holds only tables
            _fill(sub, value)
            table.add(str(key), sub)
        elif _is_table_array(value):
            array = tomlkit.aot()
            for item in value:
                entry = tomlkit.table()
                _fill(entry, item)
                array.append(entry)
            table.add(str(key), array)


def _inline(value: Any) -> Item:
    if isinstance(value, Path):
        value = value.as_posix()
    if isinstance(value, Mapping):
        table = tomlkit.inline_table()
        for key, sub in value.items():
            if sub is not None:
                table.append(str(key), _inline(sub))
        return table
    if isinstance(value, Sequence) and not isinstance(value, str):
        array = tomlkit.array()
        for sub in value:
            array.append(_inline("" if sub is None else sub))  # an unset item of a list reads back as ""
        return array
    if isinstance(value, (bool, int, float, str)):
        return tomlkit.item(value)
    raise TypeError(f"cannot write {type(value).__name__} as a TOML value")


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: Any) -> bool:
    return (isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0
            and all(isinstance(item, Mapping) for item in value))
