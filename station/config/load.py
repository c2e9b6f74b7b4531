"""Loading station.toml: read it (bounded), validate it, and turn every problem into one ``ConfigError``
naming the file, the key path and the problem (also the checks that involve several keys or the disk)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from station.config import toml
from station.config.models import StationConfig
from station.errors import ConfigError
from station.limits import TextBounds

#: A station.toml is a few kilobytes; anything far larger is not a config file.
MAX_FILE_BYTES = 256 * 1024
#: Tables and arrays nested deeper than this are refused before validation (station.toml needs 2).
MAX_DEPTH = 8
STATION_TOML = TextBounds(max_bytes=MAX_FILE_BYTES, max_depth=MAX_DEPTH, kind="station.toml", usual_depth="two")
FIX_HINT = "correct it there (`trapd init example.toml` writes a commented example)"
MISSING_HINT = "a station config names its id and its hardware explicitly (see `trapd init`)"


def load_config(path: Path) -> StationConfig:
    """Read and validate ``path``; any problem is one ConfigError that names file, key path and problem."""
    raw = parse_toml(path)
    for internal in ("base_dir", "source_path", "fallback_reason"):
        if internal in raw:
            raise ConfigError(f"{path}: {internal}: unknown key")
    config = validate_config(raw, source=str(path), base_dir=path.resolve().parent)
    config.source_path = path.resolve()
    return config


def parse_toml(path: Path) -> dict[str, Any]:
    """The TOML of ``path`` as a dict, bounded in size and nesting; every failure is one ConfigError."""
    return toml.read_toml(path, error=ConfigError, missing=f"no such file; create one with `trapd init {path}`",
                          fix=FIX_HINT, bounds=STATION_TOML)


def parse_toml_text(data: bytes, *, source: str) -> dict[str, Any]:
    """``data`` as station.toml's tables, bounded in nesting (a remote edit's result); failures as ConfigError."""
    return toml.parse_toml(data, source=source, error=ConfigError, bounds=STATION_TOML)  # the text: no file to fix


def validate_config(raw: dict, *, source: str, base_dir: Path) -> StationConfig:
    problems = control_character_problems(raw)
    if problems:
        raise ConfigError("\n".join(f"{source}: {problem}" for problem in problems))
    for required in ("station", "hardware"):  # report the missing keys inside, not just the section
        if isinstance(raw, dict) and required not in raw:
            raw = {**raw, required: {}}
    try:
        config = StationConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc, MISSING_HINT)) from None
    config.base_dir = base_dir
    problems = cross_field_problems(config)
    if problems:
        raise ConfigError("\n".join(f"{source}: {problem}" for problem in problems))
    return config


def control_character_problems(raw: Any, where: str = "") -> list[str]:
    """Strings (values and keys) with control characters (NUL, DEL, escapes, newlines): never meant."""
    problems = []
    if isinstance(raw, dict):
        for key, value in raw.items():
            path = f"{where}.{key}" if where else str(key)
            problems += control_character_problems(key, path) if isinstance(key, str) else []
            problems += control_character_problems(value, path)
    elif isinstance(raw, (list, tuple)):
        for value in raw:
            problems += control_character_problems(value, where)
    elif isinstance(raw, (str, Path)):
        bad = next((c for c in str(raw) if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F), None)
        if bad is not None:
            problems.append(f"{where or '(top level)'}: control character U+{ord(bad):04X} not allowed")
    return problems[:1] if len(problems) > 20 else problems


def check_data_dir(config: StationConfig, *, writable: bool = True) -> None:
    """station.data_dir must be a folder (or not exist yet) and, for a writer, be writable or creatable."""
    folder = config.data_dir
    where = f"{config.source_path or 'config'}: station.data_dir"
    probe = folder
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        what = "is a file" if probe == folder else f"is inside {probe}, which is a file"
        raise ConfigError(f"{where}: {folder} {what}; point data_dir at a folder")
    if not writable:
        return
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"{where}: {probe} is not writable by this user; fix its owner or point data_dir "
                          "elsewhere")
    if probe != folder:
        return
    try:  # os.access does not see a read-only mount when running as root
        os.close(os.open(folder, os.O_RDONLY | os.O_DIRECTORY))
        probe_file = folder / f".trapd-write-check-{os.getpid()}"
        probe_file.touch()
        probe_file.unlink()
    except OSError as exc:
        raise ConfigError(f"{where}: {folder} is not writable ({exc.strerror or exc}); fix its owner or mount, "
                          "or point data_dir elsewhere") from exc


def cross_field_problems(config: StationConfig) -> list[str]:
    """Rules that involve more than one key (reported with the key that must change)."""
    problems = []
    if config.hardware.camera == "replay" and config.camera.replay_dir is None:
        problems.append('camera.replay_dir: required when hardware.camera = "replay"')
    if config.lora.enabled and config.lora.modem == "bridge" and "bridge" not in (
            config.hardware.trigger, config.hardware.illuminator):
        problems.append('lora.modem: "bridge" needs the companion board (hardware.trigger = "bridge")')
    if (config.hardware.trigger == "gpio" and config.hardware.illuminator == "gpio"
            and config.gpio.pir_pin == config.gpio.lamp_pin):
        problems.append("gpio.lamp_pin: must differ from gpio.pir_pin")
    if config.model.people is not None and config.model.detector is None:
        problems.append("model.people: needs [model] detector (its boxes are what the people card relabels)")
    if config.model.card is not None and config.model.classifier is not None:
        problems.append("model.card: old name of model.classifier; set one of them, not both")
    mqtt = config.mqtt
    if mqtt.telemetry_interval_s and mqtt.telemetry_interval_s < 10:
        problems.append("mqtt.telemetry_interval_s: 0 (off) or at least 10 seconds")
    if (mqtt.cert_file is None) != (mqtt.key_file is None):
        problems.append("mqtt.key_file: cert_file and key_file go together (set both or neither)")
    if mqtt.cert_file is not None and mqtt.ca_file is None:
        problems.append("mqtt.ca_file: a client certificate needs TLS; set ca_file to the broker's CA")
    if (config.web.tls_cert_file is None) != (config.web.tls_key_file is None):
        problems.append("web.tls_key_file: tls_cert_file and tls_key_file go together (set both or neither)")
    return problems


def format_validation_error(source: str, exc: ValidationError, missing_hint: str = "") -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        problem = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        if error["type"] == "missing" and missing_hint:
            problem = f"{problem}: {missing_hint}"
        lines.append(f"{source}: {where}: {problem}")
    return "\n".join(lines)
