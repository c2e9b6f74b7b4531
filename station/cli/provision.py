"""`trapd provision`: the click layer over ``station.provision.apply`` (registered by ``station.cli.main``).

Flags for scripted set-up, prompts on a terminal for what the flags left out, ``--from-file`` for the
first-boot file. Like the rest of the CLI it only parses, calls the library and prints; a ConfigError is
turned into one line and exit code 2 by the group.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # the library (pydantic, the config models) is imported only when the command runs
    from station.provision.apply import ProvisionResult

PATH_TYPE = click.Path(path_type=Path)
COUNTRIES = click.Choice(["RU", "CN", "XX"])
REGIONS = click.Choice(["RU864", "CN470"])
#: Ids of a station nobody provisioned yet (the image's template, `trapd init`): never offered as a default.
UNPROVISIONED = {"unprovisioned", "demo-station", None}


@click.command()
@click.option("-c", "--config", "config_path", type=PATH_TYPE, default="station.toml", envvar="TRAPD_CONFIG",
              show_default=True, help="Station configuration file to write (env TRAPD_CONFIG).")
@click.option("--from-file", "from_file", type=PATH_TYPE,
              help="Apply a provisioning file (e.g. /boot/firmware/trapd-provision.toml), then retire it.")
@click.option("--station-id", help="Station id, e.g. llnp-0412 (lowercase, digits, '-', '_').")
@click.option("--park", help="Park code, e.g. LLNP or TLNP.")
@click.option("--country", type=COUNTRIES, help="Country of the site.")
@click.option("--broker-url", help='MQTT broker, e.g. mqtts://broker.example.org:8883 ("" = no MQTT).')
@click.option("--username", help="MQTT user name (usually the station id).")
@click.option("--password", envvar="TRAPD_MQTT_PASSWORD", help="MQTT password (env TRAPD_MQTT_PASSWORD).")
@click.option("--ca-file", type=PATH_TYPE, help="CA certificate of the broker (PEM); copied next to the config.")
@click.option("--cert-file", type=PATH_TYPE, help="This station's client certificate (PEM), with --key-file.")
@click.option("--key-file", type=PATH_TYPE, help="Private key of --cert-file (PEM).")
@click.option("--lora-dev-eui", help="LoRaWAN DevEUI (16 hex digits).")
@click.option("--lora-app-eui", help="LoRaWAN AppEUI/JoinEUI (16 hex digits).")
@click.option("--lora-app-key", envvar="TRAPD_LORA_APP_KEY", help="LoRaWAN AppKey (32 hex; env TRAPD_LORA_APP_KEY).")
@click.option("--lora-region", type=REGIONS, help="LoRaWAN region: RU864 (Russia) or CN470 (China).")
@click.option("--lora-modem", type=click.Choice(["rui3", "bridge", "simulated"]), help="LoRa radio.")
@click.option("--lora-device", help="Serial device of a rui3 modem, e.g. /dev/ttyAMA0.")
@click.option("--timezone", help="System time zone, e.g. Asia/Vladivostok or Asia/Shanghai.")
@click.option("--camera", type=click.Choice(["simulated", "replay", "picamera2"]), help="Camera adapter.")
@click.option("--trigger", type=click.Choice(["simulated", "gpio", "bridge"]), help="Trigger adapter.")
@click.option("--illuminator", type=click.Choice(["none", "simulated", "gpio", "bridge"]), help="IR lamp adapter.")
@click.option("--bridge-port", help="Serial device of the companion board (default /dev/serial0; Pi 5: /dev/ttyAMA0).")
@click.option("--data-dir", type=PATH_TYPE, help="Folder for database and media, e.g. /var/lib/trapd.")
@click.option("--web-password", envvar="TRAPD_WEB_PASSWORD",
              help="Password of the ranger's page, at least 8 characters (env TRAPD_WEB_PASSWORD); only its hash "
                   "is stored.")
@click.option("--hotspot", type=click.Choice(["nmcli", "simulated", "none"]),
              help="The ranger's Wi-Fi hotspot: nmcli (NetworkManager access point), simulated or none.")
@click.option("--hotspot-ssid", help="Hotspot network name (default trapd-<station id>, at most 32 bytes).")
@click.option("--hotspot-password", envvar="TRAPD_HOTSPOT_PASSWORD",
              help="Hotspot WPA2 password, 8-63 ASCII characters (env TRAPD_HOTSPOT_PASSWORD; default: the "
                   "current one, or a new random one).")
@click.option("--web-ca-file", type=PATH_TYPE,
              help="The park's CA certificate (PEM) to sign the page's certificate with (default: a CA of this "
                   "station's own).")
@click.option("--web-ca-key-file", type=PATH_TYPE, help="Private key of --web-ca-file (PEM); read, never copied.")
@click.option("--interactive/--no-interactive", default=None,
              help="Ask for what the flags left out [default: when stdin is a terminal].")
@click.option("--system-root", type=PATH_TYPE, default=Path("/"), show_default=True,
              help="Apply the time zone to the system below this folder (image builds and tests).")
def provision(config_path: Path, from_file: Path | None, interactive: bool | None, system_root: Path,
              **settings: Any) -> None:
    """Give this station its identity, broker, keys and time zone; writes a validated config."""
    from station.provision.apply import provision as provision_station
    from station.provision.apply import provision_from_file

    if from_file is not None and any(value is not None for value in settings.values()):
        raise click.UsageError("--from-file takes every setting from the file; drop the other flags")
    if from_file is None:
        if interactive is None:
            interactive = sys.stdin.isatty()
        if interactive:
            _ask_missing(settings, _existing(config_path))
        if not settings["station_id"]:
            raise click.UsageError("--station-id is required (or run on a terminal to be asked, or --from-file)")
    try:
        if from_file is not None:
            result = provision_from_file(from_file, config_path, system_root=system_root)
            click.echo(f"applied {from_file} (retired as {from_file.name}.applied)")
        else:
            result = provision_station(config_path, system_root=system_root, **settings)
    except OSError as exc:
        raise click.ClickException(f"{exc}; provisioning writes system files: run it as root (sudo)") from None
    _report(result, live_system=system_root.resolve() == Path("/"))


def _existing(config_path: Path) -> dict[str, Any]:
    """The current config's values, offered as prompt defaults (nothing if there is no readable file)."""
    from station.config.toml import read_toml
    from station.errors import ConfigError

    try:
        raw = read_toml(config_path, error=ConfigError)
    except ConfigError:
        return {}
    station, mqtt = raw.get("station", {}), raw.get("mqtt", {})
    broker = ""
    if mqtt.get("enabled", True) and "host" in mqtt:
        scheme = "mqtts" if mqtt.get("ca_file") else "mqtt"
        broker = f"{scheme}://{mqtt['host']}:{mqtt.get('port', 1883)}"
    station_id = station.get("id")
    return {"station_id": None if station_id in UNPROVISIONED else station_id, "park": station.get("park"),
            "country": station.get("country"), "broker_url": broker, "username": mqtt.get("username")}


def _ask_missing(settings: dict[str, Any], existing: dict[str, Any]) -> None:
    """Prompt for the settings a technician usually gives; what flags set is not asked again."""
    def ask(key: str, text: str, default: Any = None, **kwargs: Any) -> None:
        if settings[key] is None:
            settings[key] = click.prompt(text, default=existing.get(key) or default, **kwargs)

    ask("station_id", "Station id (e.g. llnp-0412)")
    ask("park", "Park code", default="LLNP")
    ask("country", "Country", default="RU", type=COUNTRIES)
    ask("broker_url", "MQTT broker URL (empty: no MQTT)", default="", show_default=False)
    if settings["broker_url"]:
        ask("username", "MQTT user name", default=settings["station_id"])
        ask("password", "MQTT password", default="", hide_input=True, show_default=False)
    zone = "Asia/Shanghai" if settings["country"] == "CN" else "Asia/Vladivostok"
    ask("timezone", f"Time zone, e.g. {zone} (empty: leave the system's)", default="", show_default=False)
    ask("lora_dev_eui", "LoRaWAN DevEUI (empty: no LoRa)", default="", show_default=False)
    if settings["lora_dev_eui"]:
        ask("lora_app_eui", "LoRaWAN AppEUI/JoinEUI")
        ask("lora_app_key", "LoRaWAN AppKey", hide_input=True)
        ask("lora_region", "LoRaWAN region", default="CN470" if settings["country"] == "CN" else "RU864",
            type=REGIONS)
    else:
        settings["lora_dev_eui"] = None
    for key in ("username", "password", "timezone"):
        if settings[key] == "":
            settings[key] = None


def _report(result: ProvisionResult, *, live_system: bool) -> None:
    config = result.config
    mqtt = config.mqtt
    link = f"MQTT {mqtt.host}:{mqtt.port}{' TLS' if mqtt.ca_file else ''}" if mqtt.enabled else "no MQTT"
    lora = f"LoRaWAN {config.lora.region}" if config.lora.enabled else "no LoRa"
    click.echo(f"wrote {result.config_path}: station {config.station.id} ({config.station.park}, "
               f"{config.station.country}), {link}, {lora}")
    for path in result.files_written[:-1]:
        click.echo(f"wrote {path}")
    if result.timezone_applied:
        click.echo(f"time zone set to {result.timezone}")
    if result.ranger is not None:
        _report_ranger(result)
        if live_system:  # a running system reads /etc/hostname at boot and new keyfiles when told to
            click.echo(f"the new host name and hotspot take effect at the next boot (now: sudo hostnamectl "
                       f"set-hostname {result.ranger.hostname} && sudo nmcli connection reload)")
    click.echo(f"next: trapd selftest -c {result.config_path}")


def _report_ranger(result: ProvisionResult) -> None:
    """What the ranger needs in the forest: the Wi-Fi, the page's address, the fingerprint to check, the QRs."""
    from station.network.qr import terminal_text

    ranger = result.ranger
    assert ranger is not None
    click.echo(f"host name {ranger.hostname} (mDNS {ranger.mdns_name})")
    if ranger.credentials is not None:
        wifi = ranger.credentials
        click.echo(f'ranger\'s hotspot: Wi-Fi "{wifi.ssid}", password "{wifi.password}"')
    kept = "kept" if ranger.certificate_kept else "new"
    click.echo(f"ranger's page: {ranger.url} (or {ranger.local_url}); {kept} certificate, SHA-256 "
               f"fingerprint {ranger.certificate.fingerprint}")
    click.echo(f"  a phone that trusts {result.config_path.parent / 'tls' / 'web-ca.pem'} opens it without a "
               "warning; otherwise compare the fingerprint before going on")
    if ranger.wifi_payload is not None:
        click.echo("scan to join the hotspot:")
        click.echo(terminal_text(ranger.wifi_payload), nl=False)
    click.echo("scan to open the ranger's page:")
    click.echo(terminal_text(ranger.url), nl=False)
    click.echo(f"both codes, to print: {result.config_path.parent / 'ranger-card.png'}")
