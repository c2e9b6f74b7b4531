"""The JSON view of the LoRa wire format: exactly what deploy/lorawan/codec.js returns to a network server.

``decode_uplink_json``, ``decode_downlink_json`` and ``encode_downlink_json`` mirror ``decodeUplink``,
``decodeDownlink`` and ``encodeDownlink`` of codec.js, field for field and message for message, so a test
can run both over the same vectors and compare. They never raise on bad input: problems go to ``errors``.
"""

from __future__ import annotations

from typing import Any

from firmware_bridge.fields import ResetCause
from station.vision.species import by_code
from station.wire.lora_codec import (
    DOWNLINK_PORT,
    MAX_THRESHOLDS,
    UPLINK_PORT,
    CaptureMode,
    DetectionFrame,
    DownlinkCommand,
    LoRaCodecError,
    RequestStatus,
    SetCaptureMode,
    SetThresholds,
    StatusFrame,
    Uplink,
    decode_downlink,
    decode_uplink,
    encode_downlink,
)

_COMMANDS = ("request_status", "set_capture_mode", "set_thresholds")


def _species_key(code: int) -> str | None:
    found = by_code().get(code)
    return None if found is None else found.key


def uplink_data(frame: Uplink) -> tuple[dict[str, Any], list[str]]:
    """The ``data`` object and ``warnings`` codec.js gives for ``frame``."""
    if isinstance(frame, DetectionFrame):
        return _detections_data(frame)
    return _status_data(frame)


def _detections_data(frame: DetectionFrame) -> tuple[dict[str, Any], list[str]]:
    warnings, items = [], []
    for i, d in enumerate(frame.detections):
        key = _species_key(d.species_code)
        if key is None:
            warnings.append(f"detection {i}: unknown species code {d.species_code}")
        items.append({"species": key, "species_code": d.species_code, "confidence": d.confidence,
                      "count": d.count or None, "offset_s": d.at - frame.base_time, "time": d.at})
    data = {"version": 1, "type": "detections", "sequence": frame.sequence, "base_time": frame.base_time,
            "detections": items}
    return data, warnings


def _status_data(frame: StatusFrame) -> tuple[dict[str, Any], list[str]]:
    warnings = []
    try:
        cause: str | None = ResetCause(frame.reset_cause).name.lower()
    except ValueError:
        cause = None
        warnings.append(f"unknown reset cause {frame.reset_cause}")
    data = {"version": 1, "type": "status", "sequence": frame.sequence, "time": frame.time,
            "battery_mv": frame.battery_mv, "storage_used_pct": frame.storage_used_pct,
            "temperature_c": frame.temperature_c, "queue_depth": frame.queue_depth,
            "reset_cause": cause, "reset_cause_code": frame.reset_cause}
    return data, warnings


def downlink_data(command: DownlinkCommand) -> tuple[dict[str, Any], list[str]]:
    """The ``data`` object and ``warnings`` codec.js ``decodeDownlink`` gives for ``command``."""
    if isinstance(command, RequestStatus):
        return {"command": "request_status"}, []
    if isinstance(command, SetCaptureMode):
        return {"command": "set_capture_mode", "mode": CaptureMode(command.mode).name.lower()}, []
    warnings, items = [], []
    for i, (code, percent) in enumerate(command.thresholds):
        key = _species_key(code)
        if key is None:
            warnings.append(f"threshold {i}: unknown species code {code}")
        items.append({"species": key, "species_code": code, "percent": percent})
    return {"command": "set_thresholds", "thresholds": items}, warnings


def _port_problem(f_port: object, port: int, what: str) -> str | None:
    """Why a message on ``f_port`` is not for this codec (the same words as codec.js), else None."""
    if not isinstance(f_port, int) or isinstance(f_port, bool):
        return "fPort missing or not an integer"
    if f_port != port:
        return f"unexpected fPort {f_port}: trapd {what} use fPort {port}"
    return None


def decode_uplink_json(payload: bytes, f_port: object = UPLINK_PORT) -> dict[str, Any]:
    if problem := _port_problem(f_port, UPLINK_PORT, "uplinks"):
        return {"data": {}, "warnings": [], "errors": [problem]}
    try:
        data, warnings = uplink_data(decode_uplink(payload))
    except LoRaCodecError as exc:
        return {"data": {}, "warnings": [], "errors": [str(exc)]}
    return {"data": data, "warnings": warnings, "errors": []}


def decode_downlink_json(payload: bytes, f_port: object = DOWNLINK_PORT) -> dict[str, Any]:
    if problem := _port_problem(f_port, DOWNLINK_PORT, "downlinks"):
        return {"data": {}, "warnings": [], "errors": [problem]}
    try:
        data, warnings = downlink_data(decode_downlink(payload))
    except LoRaCodecError as exc:
        return {"data": {}, "warnings": [], "errors": [str(exc)]}
    return {"data": data, "warnings": warnings, "errors": []}


def _is_int(value: Any, low: int, high: int) -> bool:
    """An integer in [low, high] as JSON sees it: 60.0 is the integer 60, True is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return (isinstance(value, int) or value.is_integer()) and low <= value <= high


def _threshold_pair(i: int, entry: Any) -> tuple[int, int]:
    if not isinstance(entry, dict):
        raise LoRaCodecError(f"threshold {i}: must be an object")
    if entry.get("species") is not None:  # a key wins; null (an unknown code, as decoded) falls back
        codes = {s.key: code for code, s in by_code().items()}
        if not isinstance(entry["species"], str) or entry["species"] not in codes:
            raise LoRaCodecError(f"threshold {i}: unknown species")
        code = codes[entry["species"]]
    elif _is_int(entry.get("species_code"), 0, 255):
        code = int(entry["species_code"])
    else:
        raise LoRaCodecError(f"threshold {i}: species_code must be an integer 0-255")
    if not _is_int(entry.get("percent"), 0, 100):
        raise LoRaCodecError(f"threshold {i}: percent must be an integer 0-100")
    return code, int(entry["percent"])


def command_from_data(data: Any) -> DownlinkCommand:
    """The command an ``encodeDownlink`` ``data`` object asks for; LoRaCodecError when it is invalid."""
    if not isinstance(data, dict):
        raise LoRaCodecError("data must be an object")
    command = data.get("command")
    if command == "request_status":
        return RequestStatus()
    if command == "set_capture_mode":
        modes = {m.name.lower(): m for m in CaptureMode}
        if not isinstance(data.get("mode"), str) or data["mode"] not in modes:
            raise LoRaCodecError("mode must be one of paused, normal, walk_test")
        return SetCaptureMode(modes[data["mode"]])
    if command == "set_thresholds":
        entries = data.get("thresholds")
        if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_THRESHOLDS:
            raise LoRaCodecError(f"thresholds must be a list of 1-{MAX_THRESHOLDS} entries")
        return SetThresholds(tuple(_threshold_pair(i, e) for i, e in enumerate(entries)))
    raise LoRaCodecError(f"command must be one of {', '.join(_COMMANDS)}")


def encode_downlink_json(data: Any) -> dict[str, Any]:
    try:
        payload = encode_downlink(command_from_data(data))
    except LoRaCodecError as exc:
        return {"bytes": [], "fPort": DOWNLINK_PORT, "warnings": [], "errors": [str(exc)]}
    return {"bytes": list(payload), "fPort": DOWNLINK_PORT, "warnings": [], "errors": []}
