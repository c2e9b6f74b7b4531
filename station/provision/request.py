"""What a provisioning asks for: the keys of ``trapd-provision.toml`` (and of ``provision``'s arguments), the
broker URL and the time zone, checked before anything is written."""

from __future__ import annotations

import dataclasses
import zoneinfo
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from station.config.load import format_validation_error
from station.errors import ConfigError
from station.web.auth import MIN_PASSWORD_LENGTH
from station.wire.station_id import STATION_ID_PATTERN

MQTT_SCHEMES = {"mqtt": (1883, False), "tcp": (1883, False), "mqtts": (8883, True), "ssl": (8883, True)}


class ProvisionRequest(BaseModel):
    """The keys of ``trapd-provision.toml`` (and the arguments of ``provision``). Unset keys keep the config."""

    model_config = ConfigDict(extra="forbid")

    station_id: str = Field(pattern=STATION_ID_PATTERN, description="e.g. llnp-0412")
    park: str | None = Field(None, min_length=1, max_length=32)
    country: Literal["RU", "CN", "XX"] | None = None
    broker_url: str | None = Field(None, description='mqtt://host[:port] or mqtts://host[:port]; "" = no MQTT')
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    ca_pem: str | None = Field(None, description="the broker's CA certificate inline (file only)")
    cert_pem: str | None = Field(None, description="this station's certificate inline (file only)")
    key_pem: str | None = Field(None, description="this station's private key inline (file only)")
    lora_dev_eui: str | None = Field(None, pattern=r"^[0-9A-Fa-f]{16}$")
    lora_app_eui: str | None = Field(None, pattern=r"^[0-9A-Fa-f]{16}$")
    lora_app_key: str | None = Field(None, pattern=r"^[0-9A-Fa-f]{32}$")
    lora_region: Literal["RU864", "CN470"] | None = None
    lora_modem: Literal["rui3", "bridge", "simulated"] | None = None
    lora_device: str | None = Field(None, min_length=1)
    timezone: str | None = None
    camera: Literal["simulated", "replay", "picamera2"] | None = None
    trigger: Literal["simulated", "gpio", "bridge"] | None = None
    illuminator: Literal["none", "simulated", "gpio", "bridge"] | None = None
    bridge_port: str | None = Field(None, min_length=1, description="serial device of the companion board")
    data_dir: Path | None = None
    web_password: str | None = Field(None, min_length=MIN_PASSWORD_LENGTH,
                                     description="password of the ranger's page (only its hash is kept)")
    hotspot: Literal["none", "simulated", "nmcli"] | None = Field(None, description="the ranger's Wi-Fi adapter")
    hotspot_ssid: str | None = Field(None, description="hotspot network name (default trapd-<station id>)")
    hotspot_password: str | None = Field(None, description="hotspot WPA2 password, 8-63 ASCII (default: kept or new)")
    web_ca_file: Path | None = Field(None, description="the park's CA certificate for the page (default: a CA "
                                                       "of this station's own)")
    web_ca_key_file: Path | None = Field(None, description="the park's CA key; used once, never copied")


@dataclasses.dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool


def parse_broker_url(url: str) -> BrokerAddress:
    """``mqtts://broker.example.org:8883`` → host, port and TLS; a bare ``host[:port]`` means plain MQTT."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in MQTT_SCHEMES:
        raise ConfigError(f"broker_url: scheme {parts.scheme!r} not supported; use mqtt:// or mqtts://")
    default_port, tls = MQTT_SCHEMES[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise ConfigError(f"broker_url: {url!r} has an invalid port (1-65535)") from None
    if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.username:
        raise ConfigError(f"broker_url: {url!r} is not host[:port] (e.g. mqtts://broker.example.org:8883); "
                          "give the user name and password separately")
    return BrokerAddress(host=parts.hostname, port=port, tls=tls)


def check_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone: unknown time zone {name!r}; use an IANA name such as Asia/Vladivostok "
                          "(LLNP) or Asia/Shanghai (TLNP)") from None
    return name


def parse_request(raw: dict[str, Any], *, source: str) -> ProvisionRequest:
    """``raw`` (a provisioning file's tables, or ``provision``'s arguments) validated; mistakes as ConfigError."""
    try:
        return ProvisionRequest.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc)) from None

