"""Changing one key of station.toml safely: validate the whole file with the change, then persist it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from station.config import StationConfig, validate_config
from station.config_file import default_config_text
from station.errors import ConfigError
from station.fsutil import write_atomic

#: Keys the running station applies at once; any other key is persisted and applies at the next start.
LIVE_SECTIONS = {"capture", "storage"}
LIVE_KEYS = {"mqtt.thumbnail_max_bytes", "mqtt.telemetry_interval_s"}


def set_key(config_path: Path, key_path: str, value: Any) -> StationConfig:
    """Validate ``station.toml`` with ``key_path = value`` and write it back (commented, atomically).

    Raises ConfigError with the validation message and leaves the file untouched if the change is invalid.
    """
    parts = key_path.split(".")
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"{key_path}: give a key path like capture.burst_frames")
    section, key = parts
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{config_path}: cannot read: {exc}") from None
    if section not in StationConfig.model_fields or StationConfig.model_fields[section].exclude:
        raise ConfigError(f"{key_path}: unknown section {section!r}")
    raw.setdefault(section, {})[key] = value
    config = validate_config(raw, source=str(config_path), base_dir=config_path.resolve().parent)
    config.source_path = config_path.resolve()
    overrides = {name: getattr(config, name).model_dump(mode="json") for name in raw if name in
                 StationConfig.model_fields}
    write_atomic(config_path, default_config_text(overrides).encode("utf-8"))
    return config


def applies_live(key_path: str) -> bool:
    return key_path.split(".")[0] in LIVE_SECTIONS or key_path in LIVE_KEYS
