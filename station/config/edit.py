"""Changing station.toml safely, and starting on the last-known-good copy when the file is broken.

A change (remote ``config_set``, the ranger's deployment id) is made with tomlkit on the file as it is, so
a technician's comments and layout survive; the whole result is validated with the same models as at start,
and only then written atomically (temp, fsync, rename). The file it replaces is kept beside it as
``station.toml.good``: the last file that validated. At start, a file that fails validation while a good
copy exists is reported loudly and the good copy is used (`load_with_fallback`), so no remote change and no
half-finished edit can keep a station from starting.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions

from station.config.load import check_data_dir, load_config, parse_toml_text, validate_config
from station.config.models import StationConfig
from station.errors import ConfigError
from station.fsutil import write_atomic

log = logging.getLogger(__name__)

GOOD_SUFFIX = ".good"


def good_copy(config_path: Path) -> Path:
    return config_path.with_name(config_path.name + GOOD_SUFFIX)


def set_key(config_path: Path, key_path: str, value: Any) -> StationConfig:
    """Validate ``station.toml`` with ``key_path = value`` and write it back in place, atomically.

    Raises ConfigError with the validation message and leaves the file untouched if the change is invalid.
    """
    parts = key_path.split(".")
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"{key_path[:80]}: give a key path like capture.burst_frames")
    section, key = parts
    if section not in StationConfig.model_fields or StationConfig.model_fields[section].exclude:
        raise ConfigError(f"{key_path}: unknown section {section!r}")
    if not isinstance(value, (str, int, float, bool)):
        raise ConfigError(f"{key_path}: the value must be a string, number or boolean")
    try:
        text = config_path.read_text(encoding="utf-8")
        document = tomlkit.parse(text)  # not config.toml.read_toml: an edit keeps the file's comments and layout
        table = document.get(section)
        if table is None:
            document[section] = table = tomlkit.table()
        if not isinstance(table, dict):
            raise ConfigError(f"{config_path}: [{section}] is not a table")
        table[key] = value
        new_text = tomlkit.dumps(document)
    except OSError as exc:
        raise ConfigError(f"{config_path}: cannot read: {exc}") from exc
    except (tomlkit.exceptions.TOMLKitError, ValueError, RecursionError) as exc:
        raise ConfigError(f"{config_path}: cannot edit: {str(exc)[:200]}") from None
    config = validate_text(new_text, config_path)
    save_validated(config_path, new_text)
    return config


def validate_text(text: str, config_path: Path) -> StationConfig:
    """The config ``text`` would give if it were ``config_path`` (same parser, same models as at start)."""
    raw = parse_toml_text(text.encode("utf-8"), source=str(config_path))
    config = validate_config(raw, source=str(config_path), base_dir=config_path.resolve().parent)
    config.source_path = config_path.resolve()
    return config


def save_validated(config_path: Path, text: str) -> None:
    """Keep the current (validated) file as the good copy, then replace it atomically with ``text``."""
    try:
        current = config_path.read_bytes()
    except FileNotFoundError:
        current = None
    if current is not None and _loads(config_path):
        write_atomic(good_copy(config_path), current)
    mode = config_path.stat().st_mode & 0o777 if current is not None else 0o644
    write_atomic(config_path, text.encode("utf-8"))
    os.chmod(config_path, mode)  # a temp file is 0600: keep the file readable by whoever read it before


def _loads(config_path: Path) -> bool:
    try:
        load_config(config_path)
    except ConfigError:
        return False
    return True


def load_with_fallback(config_path: Path, *, writing: bool = True) -> StationConfig:
    """`load_config`, or — when the file fails and a good copy exists — the good copy, said loudly.

    The returned config keeps ``source_path`` = ``config_path`` (later changes repair that file) and sets
    ``fallback_reason``; `trapd status` and the service status show it. With no good copy the error stands.
    ``writing``: the caller writes the data folder (it must be writable) and a file that loads becomes the
    good copy; a reader (`trapd status`) only needs a folder.
    """
    try:
        config = load_config(config_path)
        check_data_dir(config, writable=writing)
    except ConfigError as problem:
        good = good_copy(config_path)
        if not good.is_file():
            raise
        try:
            config = load_config(good)
            check_data_dir(config, writable=writing)
        except ConfigError:
            raise problem from None
        reason = f"{config_path} failed ({str(problem).splitlines()[0]}); running on {good.name}"
        log.critical("config: %s — fix %s; the station runs on the last-known-good copy", reason, config_path)
        config.source_path = config_path.resolve()
        config.fallback_reason = reason
        return config
    if writing:
        remember_good(config_path)
    return config


def remember_good(config_path: Path) -> None:
    """The file validated: make it the good copy (only written when it changed: SD cards wear)."""
    good = good_copy(config_path)
    try:
        data = config_path.read_bytes()
        if not good.is_file() or good.read_bytes() != data:
            write_atomic(good, data)
            os.chmod(good, os.stat(config_path).st_mode & 0o777)
    except OSError as exc:  # a read-only /etc is no reason not to start
        log.warning("cannot keep %s as last-known-good (%s)", good, exc)
