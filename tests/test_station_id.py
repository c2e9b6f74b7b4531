"""One station-id rule (station/wire/station_id.py), applied alike by the station's config, provisioning, the
central decoder (MQTT topic and ChirpStack tag) and the central registry."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from station.central.chirpstack import uplink_event, uplink_topic
from station.central.decode import decode
from station.central.errors import BadMessage, RegistryError
from station.central.registry import read_stations_csv
from station.config.load import validate_config
from station.errors import ConfigError
from station.provision.apply import ProvisionRequest
from station.wire.lora_codec import StatusFrame
from station.wire.station_id import is_station_id

ROOT = "camtrap/v1"
AT = datetime(2026, 11, 28, 4, 12, 9, tzinfo=UTC)

#: every id the project's examples and tests use is of these shapes (hostname rules are checked elsewhere)
ACCEPTED = ["llnp-0412", "tlnp-0007", "station-a", "unprovisioned", "llnp_0412", "llnp-", "00", "a" * 63]
REFUSED = ["", "a", "-llnp", "_llnp", "LLNP-0412", "llnp 0412", "llnp.0412", "llnp%1", "<b>llnp</b>", "a" * 64,
           "станция", "llnp-0412\n"]


def config_accepts(station_id: str, tmp_path: Path) -> bool:
    try:
        validate_config({"station": {"id": station_id}, "hardware": {"camera": "simulated", "trigger": "simulated"}},
                        source="t.toml", base_dir=tmp_path)
    except ConfigError as exc:
        assert "station.id" in str(exc)
        return False
    return True


def provisioning_accepts(station_id: str, tmp_path: Path) -> bool:
    try:
        ProvisionRequest(station_id=station_id)
    except ValueError:
        return False
    return True


def topic_accepts(station_id: str, tmp_path: Path) -> bool:
    try:
        decode(f"{ROOT}/{station_id}/status", b"{}", topic_root=ROOT)
    except BadMessage as exc:
        return "not a valid station id" not in exc.reason
    return True


def lora_tag_accepts(station_id: str, tmp_path: Path) -> bool:
    event = uplink_event(frame=StatusFrame(4, 1700000000, 3650, None, -12, 17, 2), dev_eui="70B3D57ED0000001",
                         device_name="dev", tags={"station_id": station_id}, f_cnt=1, received_at=AT,
                         deduplication_id="dedup-1", application_id="app")
    try:
        decode(uplink_topic("app", "70B3D57ED0000001"), json.dumps(event).encode(), topic_root=ROOT)
    except BadMessage as exc:
        assert "is not a valid station id" in exc.reason
        return False
    return True


def registry_accepts(station_id: str, tmp_path: Path) -> bool:
    path = tmp_path / "stations.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["station_id", "park", "country", "latitude", "longitude"])
        writer.writerow([station_id, "LLNP", "RU", "43.1", "131.9"])
    try:
        read_stations_csv(path)
    except RegistryError as exc:
        assert "station_id" in str(exc)
        return False
    return True


CHECKS = {"config": config_accepts, "provisioning": provisioning_accepts, "mqtt topic": topic_accepts,
          "chirpstack tag": lora_tag_accepts, "registry": registry_accepts}


@pytest.mark.parametrize("where", CHECKS)
@pytest.mark.parametrize("station_id", ACCEPTED)
def test_every_side_accepts_the_ids_the_project_uses(where, station_id, tmp_path):
    assert is_station_id(station_id)
    assert CHECKS[where](station_id, tmp_path)


@pytest.mark.parametrize("where", CHECKS)
@pytest.mark.parametrize("station_id", REFUSED)
def test_an_id_the_rule_refuses_is_refused_everywhere(where, station_id, tmp_path):
    assert not is_station_id(station_id)
    if where == "registry" and station_id != station_id.strip():
        # a registry cell is stripped of surrounding blanks (a spreadsheet's padding) before the rule applies
        assert CHECKS[where](station_id, tmp_path) == is_station_id(station_id.strip())
    elif where == "chirpstack tag" and station_id == "":
        assert CHECKS[where](station_id, tmp_path)  # an empty tag: the device names no station, not a bad one
    else:
        assert not CHECKS[where](station_id, tmp_path)
