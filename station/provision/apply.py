"""Provisioning: give an installed station its identity, broker, keys and time zone, and write a valid config.

Two ways in, one result:

- ``provision(config_path, station_id=..., broker_url=..., ...)`` — what ``trapd provision`` calls with
  flags or answers to prompts;
- ``provision_from_file(boot_file, config_path)`` — first boot: a technician dropped
  ``trapd-provision.toml`` on the card's boot partition. It is validated, applied, and then retired: the
  file is replaced by ``trapd-provision.toml.applied`` with its secrets blanked, so it is applied once and
  the card does not carry passwords into the forest.

Either way the existing ``station.toml`` (if any) is kept and only the provisioned keys change; the whole
result is validated before anything is written, and written with every key commented
(``station.config.file``). TLS material is copied next to the config (``tls/*.pem``, mode 0600), so the
config never points into the boot partition. Every mistake is one ``ConfigError`` naming the key.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from station.config.file import TEMPLATE, default_config_text
from station.config.load import validate_config
from station.config.models import StationConfig
from station.config.toml import read_toml
from station.errors import ConfigError
from station.network import ranger_access
from station.network.qr import card_png
from station.network.ranger_access import RangerAccess
from station.provision.files import TLS_DIR, apply_timezone, retire_provision_file, write_owned
from station.provision.request import ProvisionRequest, check_timezone, parse_broker_url, parse_request
from station.web.auth import hash_password

PROVISION_FILE = "trapd-provision.toml"
#: Where the first-boot unit looks (Raspberry Pi OS Bookworm and later mount the boot partition here).
BOOT_PROVISION_PATH = Path("/boot/firmware") / PROVISION_FILE
#: Debian's CA bundle: used for mqtts:// when no CA of the broker's own is given (a public CA signed it).
SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
#: The LoRa module band a region needs (RAK3172-H for RU864, -L for CN470).
MODULE_VARIANT = {"RU864": "high", "CN470": "low"}
#: The ranger's page over HTTPS, unless the config already names a port (also in the avahi announcement).
HTTPS_PORT = 8443


@dataclasses.dataclass(frozen=True)
class ProvisionResult:
    config_path: Path
    config: StationConfig
    files_written: tuple[Path, ...]
    timezone: str | None
    timezone_applied: bool
    ranger: RangerAccess | None = None  # how the ranger's phone reaches the page (station.network)


def provision(config_path: Path, *, station_id: str, park: str | None = None, country: str | None = None,
              broker_url: str | None = None, username: str | None = None, password: str | None = None,
              ca_file: Path | None = None, cert_file: Path | None = None, key_file: Path | None = None,
              lora_dev_eui: str | None = None, lora_app_eui: str | None = None, lora_app_key: str | None = None,
              lora_region: str | None = None, lora_modem: str | None = None, lora_device: str | None = None,
              timezone: str | None = None, camera: str | None = None, trigger: str | None = None,
              illuminator: str | None = None, bridge_port: str | None = None, data_dir: Path | None = None,
              web_password: str | None = None, hotspot: str | None = None, hotspot_ssid: str | None = None,
              hotspot_password: str | None = None, web_ca_file: Path | None = None,
              web_ca_key_file: Path | None = None, system_root: Path | None = None) -> ProvisionResult:
    """Write a validated ``config_path`` with this identity and these settings.

    Settings left as None keep what the existing config says; ``broker_url=""`` turns MQTT off. TLS files
    are read now and copied next to the config. The time zone is checked, and applied to the system below
    ``system_root`` only when that is given (the CLI gives ``/``).
    """
    settings = dict(locals())
    del settings["config_path"], settings["system_root"]
    request = parse_request({key: value for key, value in settings.items() if value is not None}, source="provision")
    return _apply(config_path, request, base=Path.cwd(), system_root=system_root)


def provision_from_file(boot_file: Path, config_path: Path, *, system_root: Path | None = None) -> ProvisionResult:
    """Apply a provisioning file, then retire it (secrets blanked in ``<file>.applied``) so it runs once."""
    raw = read_toml(boot_file, error=ConfigError, what="the provisioning file",
                    missing="no such file; copy deploy/image/trapd-provision.example.toml there and fill it in",
                    fix="correct it (deploy/image/trapd-provision.example.toml shows every key)")
    request = parse_request(raw, source=str(boot_file))
    try:
        result = _apply(config_path, request, base=boot_file.parent, system_root=system_root)
    except ConfigError as exc:
        raise ConfigError(f"{boot_file}: {exc}") from None
    retire_provision_file(boot_file, raw, request)
    return result


# -- internals ---------------------------------------------------------------------------------------------------
def _apply(config_path: Path, request: ProvisionRequest, *, base: Path,
           system_root: Path | None) -> ProvisionResult:
    if request.timezone is not None:
        check_timezone(request.timezone)
    raw = _existing_raw(config_path)
    _set_identity(raw, request)
    tls_files = _tls_material(request, base)
    _set_mqtt(raw, request, tls_files)
    _set_lora(raw, request)
    if request.web_password is not None:
        raw.setdefault("web", {})["password_hash"] = hash_password(request.web_password)
    ranger = _plan_ranger(raw, request, config_path, system_root, base)
    config = validate_config(raw, source=str(config_path), base_dir=config_path.resolve().parent)
    (config_path.parent / TLS_DIR).mkdir(mode=0o700, parents=True, exist_ok=True)
    written = [write_owned(config_path.parent / TLS_DIR / f"{name}.pem", data)
               for name, data in tls_files.items()]
    written += [write_owned(config_path.parent / TLS_DIR / name, data)
                for name, data in ranger_access.config_files(ranger).items()]
    written.append(_write_card(config_path.parent / ranger_access.CARD_FILE, ranger))
    if system_root is not None:
        written += ranger_access.write_system_files(ranger, system_root)
    overrides = {name: getattr(config, name).model_dump(mode="json") for name in raw
                 if name in StationConfig.model_fields}
    written.append(write_owned(config_path, default_config_text(overrides).encode("utf-8"), daemon_rewrites=True))
    applied = False
    if request.timezone is not None and system_root is not None:
        apply_timezone(request.timezone, root=system_root)
        applied = True
    return ProvisionResult(config_path=config_path, config=config, files_written=tuple(written),
                           timezone=request.timezone, timezone_applied=applied, ranger=ranger)


def _plan_ranger(raw: dict[str, Any], request: ProvisionRequest, config_path: Path,
                 system_root: Path | None, base: Path) -> RangerAccess:
    """Certificate, host name and hotspot for the ranger's phone; the config points at what it needs."""
    web, hotspot = raw.setdefault("web", {}), raw.setdefault("hotspot", {})
    if request.hotspot is not None:
        hotspot["adapter"] = request.hotspot
    web.setdefault("port", HTTPS_PORT)
    try:
        port = int(web["port"])
    except (TypeError, ValueError):
        raise ConfigError("web.port: not a number") from None
    ranger = ranger_access.plan_ranger_access(
        request.station_id, port=port, tls_dir=config_path.parent / TLS_DIR,
        hotspot=str(hotspot.get("adapter", "none")), ssid=request.hotspot_ssid,
        password=request.hotspot_password, system_root=system_root, park_ca=_park_ca(request, base))
    web.update(tls_cert_file=f"{TLS_DIR}/{ranger_access.CERT_FILES['cert']}",
               tls_key_file=f"{TLS_DIR}/{ranger_access.CERT_FILES['key']}")
    if ranger.credentials is not None:
        hotspot["ssid"] = ranger.credentials.ssid
    return ranger


def _park_ca(request: ProvisionRequest, base: Path) -> tuple[bytes, bytes] | None:
    """The park's CA (certificate, key) PEM bytes when both files are given (relative paths against ``base``)."""
    paths = {"web_ca_file": request.web_ca_file, "web_ca_key_file": request.web_ca_key_file}
    given = {key: path for key, path in paths.items() if path is not None}
    if not given:
        return None
    if len(given) == 1:
        raise ConfigError("web_ca_key_file: web_ca_file and web_ca_key_file go together (the park's CA and its key)")
    pems = []
    for key, path in given.items():
        path = path if path.is_absolute() else base / path
        try:
            pems.append(path.read_bytes())
        except OSError as exc:
            raise ConfigError(f"{key}: cannot read {path}: {exc.strerror or exc}") from exc
    return pems[0], pems[1]


def _write_card(path: Path, ranger: RangerAccess) -> Path:
    codes = [("Page", ranger.url)]
    if ranger.wifi_payload is not None:
        codes.insert(0, ("Wi-Fi", ranger.wifi_payload))
    return write_owned(path, card_png(codes, ranger_access.card_lines(ranger)))


def _existing_raw(config_path: Path) -> dict[str, Any]:
    """The config to provision onto; no file yet: the `trapd init` template, whose hardware is written out
    explicitly (simulated until the flags or the technician say otherwise)."""
    template = {name: dict(values) for name, values in TEMPLATE.items()}
    return read_toml(config_path, error=ConfigError, what="the existing config", default=template,
                     fix="fix or remove it first")


def _set_identity(raw: dict[str, Any], request: ProvisionRequest) -> None:
    station = raw.setdefault("station", {})
    station["id"] = request.station_id
    for key in ("park", "country", "data_dir"):
        value = getattr(request, key)
        if value is not None:
            station[key] = str(value)
    for key in ("camera", "trigger", "illuminator"):
        value = getattr(request, key)
        if value is not None:
            raw.setdefault("hardware", {})[key] = value
    if request.bridge_port is not None:
        raw.setdefault("bridge", {})["port"] = request.bridge_port


def _tls_material(request: ProvisionRequest, base: Path) -> dict[str, bytes]:
    """PEM bytes for ca/cert/key, from inline text or a file (relative paths against ``base``)."""
    material = {}
    for name in ("ca", "cert", "key"):
        inline, path = getattr(request, f"{name}_pem"), getattr(request, f"{name}_file")
        if inline is not None and path is not None:
            raise ConfigError(f"{name}_file: give either {name}_file or {name}_pem, not both")
        if path is not None:
            path = path if path.is_absolute() else base / path
            try:
                inline = path.read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{name}_file: cannot read {path}: {exc}") from exc
        if inline is not None:
            if "-----BEGIN " not in inline:
                raise ConfigError(f"{name}_file: not a PEM file (no '-----BEGIN' line); give the PEM text")
            material[name] = inline.encode("ascii")
    return material


def _set_mqtt(raw: dict[str, Any], request: ProvisionRequest, tls_files: dict[str, bytes]) -> None:
    mqtt = raw.setdefault("mqtt", {})
    if request.broker_url == "":
        mqtt["enabled"] = False
    elif request.broker_url is not None:
        broker = parse_broker_url(request.broker_url)
        if not broker.tls and tls_files:
            raise ConfigError("broker_url: mqtt:// is unencrypted but TLS files were given; use mqtts://")
        mqtt.update(enabled=True, host=broker.host, port=broker.port)
        if broker.tls and "ca" not in tls_files:
            mqtt.setdefault("ca_file", str(SYSTEM_CA_BUNDLE))
        if not broker.tls:
            for key in ("ca_file", "cert_file", "key_file"):
                mqtt.pop(key, None)
    for key in ("username", "password"):
        if getattr(request, key) is not None:
            mqtt[key] = getattr(request, key)
    for name in tls_files:
        mqtt[f"{name}_file"] = f"{TLS_DIR}/{name}.pem"


def _set_lora(raw: dict[str, Any], request: ProvisionRequest) -> None:
    keys = {"dev_eui": request.lora_dev_eui, "app_eui": request.lora_app_eui, "app_key": request.lora_app_key}
    given = {key: value for key, value in keys.items() if value is not None}
    lora = raw.setdefault("lora", {})
    if given and len(given) < len(keys):
        missing = next(key for key in keys if key not in given)
        raise ConfigError(f"lora_{missing}: LoRaWAN needs dev_eui, app_eui and app_key together")
    if given:
        lora.update({key: value.upper() for key, value in given.items()}, enabled=True)
        if lora.get("modem", "simulated") == "simulated":
            lora["modem"] = "rui3"  # real keys mean a real radio; lora_modem = "simulated" keeps the simulator
    if request.lora_region is not None:
        lora.update(region=request.lora_region, module_variant=MODULE_VARIANT[request.lora_region])
    if request.lora_modem is not None:
        lora["modem"] = request.lora_modem
    if request.lora_device is not None:
        lora["device"] = request.lora_device


