"""Provisioning: flags, prompts and the first-boot file all end in one validated station.toml."""

from __future__ import annotations

import os
import shutil
import stat
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from station.cli.errors import StationErrorsGroup
from station.cli.provision import provision as provision_command
from station.config.edit import set_key
from station.config.load import load_config
from station.errors import ConfigError
from station.provision.apply import SYSTEM_CA_BUNDLE, provision, provision_from_file
from station.provision.request import ProvisionRequest, parse_broker_url
from tests.conftest import PI_TEMPLATE, ROOT

EXAMPLE = ROOT / "deploy" / "image" / "trapd-provision.example.toml"
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBtestCA\n-----END CERTIFICATE-----\n"
KEY_PEM = "-----BEGIN PRIVATE KEY-----\nMIIEtestKEY\n-----END PRIVATE KEY-----\n"
LORA = {"lora_dev_eui": "70b3d57ed0000001", "lora_app_eui": "0000000000000000",
        "lora_app_key": "00112233445566778899aabbccddeeff"}


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """An installed, unprovisioned station: the image's template config."""
    path = tmp_path / "etc" / "station.toml"
    path.parent.mkdir()
    shutil.copy(PI_TEMPLATE, path)
    return path


# -- the library ---------------------------------------------------------------------------------------------------
def test_provision_writes_a_config_that_loads_with_identity_broker_and_lora(config_path):
    provision(config_path, station_id="llnp-0412", park="LLNP", country="RU",
              broker_url="mqtts://broker.example.org", username="llnp-0412", password="s3cret",
              lora_region="RU864", **LORA)
    config = load_config(config_path)
    assert (config.station.id, config.station.park, config.station.country) == ("llnp-0412", "LLNP", "RU")
    mqtt = config.mqtt
    assert (mqtt.enabled, mqtt.host, mqtt.port, mqtt.username, mqtt.password) == (
        True, "broker.example.org", 8883, "llnp-0412", "s3cret")
    assert mqtt.ca_file == SYSTEM_CA_BUNDLE  # mqtts without a private CA trusts the system's CAs
    lora = config.lora
    assert lora.enabled and lora.dev_eui == "70B3D57ED0000001" and lora.module_variant == "high"
    assert config.hardware.camera == "picamera2" and str(config.station.data_dir) == "/var/lib/trapd"  # kept
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600  # it holds secrets
    assert "# Broker host name or address." in config_path.read_text()  # rewritten with every key explained


def test_settings_not_given_keep_what_the_config_says(config_path):
    set_key(config_path, "capture.burst_frames", 7)
    provision(config_path, station_id="tlnp-0007", broker_url="mqtt://10.0.0.5:1884")
    provision(config_path, station_id="tlnp-0007", country="CN", lora_region="CN470", trigger="bridge",
              bridge_port="/dev/ttyAMA0", **LORA)
    config = load_config(config_path)
    assert config.hardware.trigger == "bridge" and config.bridge.port == "/dev/ttyAMA0"
    assert config.capture.burst_frames == 7
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.ca_file) == ("10.0.0.5", 1884, None)
    assert config.station.country == "CN" and (config.lora.region, config.lora.module_variant) == ("CN470", "low")


def test_lora_keys_on_a_default_config_choose_the_real_radio_unless_told(tmp_path):
    from station.config.file import default_config_text

    config_path = tmp_path / "station.toml"
    config_path.write_text(default_config_text())  # `trapd init`: every key explicit, modem = "simulated"
    provision(config_path, station_id="llnp-0412", **LORA)
    assert load_config(config_path).lora.modem == "rui3"
    provision(config_path, station_id="llnp-0412", lora_modem="simulated", **LORA)
    assert load_config(config_path).lora.modem == "simulated"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands files to another user")
def test_as_root_the_config_goes_to_the_daemon_and_tls_stays_roots(config_path, tmp_path):
    import grp
    import pwd

    daemon = pwd.getpwnam("daemon")  # Debian's base user, with a group of the same name, stands in for trapd
    os.chown(config_path.parent, 0, grp.getgrnam("daemon").gr_gid)  # /etc/trapd: root:trapd (trapd.tmpfiles)
    (tmp_path / "ca.pem").write_text(CA_PEM)
    provision(config_path, station_id="llnp-0412", broker_url="mqtts://broker.example.org", ca_file=tmp_path / "ca.pem")
    config, ca = config_path.stat(), (config_path.parent / "tls" / "ca.pem").stat()
    assert (config.st_uid, config.st_gid, stat.S_IMODE(config.st_mode)) == (daemon.pw_uid, daemon.pw_gid, 0o600)
    assert (ca.st_uid, ca.st_gid, stat.S_IMODE(ca.st_mode)) == (0, daemon.pw_gid, 0o640)


def test_an_empty_broker_url_turns_mqtt_off(config_path):
    provision(config_path, station_id="llnp-0412", broker_url="mqtt://broker.example.org")
    provision(config_path, station_id="llnp-0412", broker_url="")
    assert load_config(config_path).mqtt.enabled is False


def test_tls_files_are_copied_next_to_the_config_and_referenced_relatively(config_path, tmp_path):
    (tmp_path / "ca.pem").write_text(CA_PEM)
    (tmp_path / "station.crt").write_text(CA_PEM)
    (tmp_path / "station.key").write_text(KEY_PEM)
    provision(config_path, station_id="llnp-0412", broker_url="mqtts://broker.example.org:8884",
              ca_file=tmp_path / "ca.pem", cert_file=tmp_path / "station.crt", key_file=tmp_path / "station.key")
    config = load_config(config_path)
    tls = config_path.parent / "tls"
    assert config.resolve(config.mqtt.key_file) == tls / "key.pem"
    assert (tls / "key.pem").read_text() == KEY_PEM and (tls / "ca.pem").read_text() == CA_PEM
    # As root (a Pi): root's, readable by the config folder's group (the daemon's; deploy/systemd/trapd.tmpfiles).
    key_mode, tls_mode = (0o640, 0o750) if os.geteuid() == 0 else (0o600, 0o700)
    assert stat.S_IMODE((tls / "key.pem").stat().st_mode) == key_mode and stat.S_IMODE(tls.stat().st_mode) == tls_mode
    assert (tls / "key.pem").stat().st_gid == tls.stat().st_gid == tls.parent.stat().st_gid


@pytest.mark.parametrize("settings, key", [
    ({"station_id": "LLNP 0412"}, "station_id"),
    ({"station_id": "llnp-0412", "country": "KZ"}, "country"),
    ({"station_id": "llnp-0412", "broker_url": "http://broker.example.org"}, "broker_url"),
    ({"station_id": "llnp-0412", "broker_url": "mqtt://broker.example.org:99999"}, "broker_url"),
    ({"station_id": "llnp-0412", "broker_url": "mqtt://user:pw@broker.example.org"}, "broker_url"),
    ({"station_id": "llnp-0412", "lora_dev_eui": "70B3D57ED0000001"}, "lora_app_eui"),
    ({"station_id": "llnp-0412", **LORA, "lora_app_key": "00112233"}, "lora_app_key"),
    ({"station_id": "llnp-0412", "timezone": "Asia/Atlantis"}, "timezone"),
    ({"station_id": "llnp-0412", "camera": "webcam"}, "camera"),
])
def test_a_mistake_is_one_config_error_naming_the_key_and_nothing_is_written(config_path, settings, key):
    before = config_path.read_bytes()
    with pytest.raises(ConfigError, match=key):
        provision(config_path, **settings)
    assert config_path.read_bytes() == before


def test_tls_mistakes_name_the_file_key(config_path, tmp_path):
    (tmp_path / "ca.pem").write_text("not a certificate")
    with pytest.raises(ConfigError, match="ca_file: not a PEM file"):
        provision(config_path, station_id="llnp-0412", broker_url="mqtts://b.example.org", ca_file=tmp_path / "ca.pem")
    with pytest.raises(ConfigError, match="ca_file: cannot read"):
        provision(config_path, station_id="llnp-0412", broker_url="mqtts://b.example.org", ca_file=tmp_path / "no.pem")
    (tmp_path / "ca.pem").write_text(CA_PEM)
    with pytest.raises(ConfigError, match="broker_url: mqtt:// is unencrypted"):
        provision(config_path, station_id="llnp-0412", broker_url="mqtt://b.example.org", ca_file=tmp_path / "ca.pem")
    (tmp_path / "station.crt").write_text(CA_PEM)
    with pytest.raises(ConfigError, match="mqtt.key_file"):
        provision(config_path, station_id="llnp-0412", broker_url="mqtts://b.example.org",
                  cert_file=tmp_path / "station.crt")


def test_the_time_zone_is_set_below_the_system_root_only_when_asked(config_path, tmp_path):
    root = tmp_path / "root"
    result = provision(config_path, station_id="tlnp-0007", timezone="Asia/Shanghai")
    assert result.timezone == "Asia/Shanghai" and not result.timezone_applied and not root.exists()
    result = provision(config_path, station_id="tlnp-0007", timezone="Asia/Shanghai", system_root=root)
    assert result.timezone_applied
    assert os.readlink(root / "etc" / "localtime") == "/usr/share/zoneinfo/Asia/Shanghai"
    assert (root / "etc" / "timezone").read_text() == "Asia/Shanghai\n"


@given(host=st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True),
       port=st.integers(1, 65535), tls=st.booleans())
def test_broker_urls_give_host_port_and_tls(host, port, tls):
    scheme = "mqtts" if tls else "mqtt"
    broker = parse_broker_url(f"{scheme}://{host}:{port}")
    assert (broker.host, broker.port, broker.tls) == (host, port, tls)
    assert parse_broker_url(f"{scheme}://{host}").port == (8883 if tls else 1883)


# -- the first-boot file -------------------------------------------------------------------------------------------
def boot_partition(tmp_path: Path, text: str) -> Path:
    boot = tmp_path / "boot" / "firmware"
    boot.mkdir(parents=True)
    path = boot / "trapd-provision.toml"
    path.write_text(text)
    return path


def test_the_example_file_is_valid_as_shipped():
    ProvisionRequest.model_validate(tomllib.loads(EXAMPLE.read_text()))


def test_a_provisioning_file_is_applied_once_and_its_secrets_leave_the_card(config_path, tmp_path):
    text = EXAMPLE.read_text() + f'key_file = "station.key"\ncert_pem = """{CA_PEM}"""\n'
    boot_file = boot_partition(tmp_path, text)
    (boot_file.parent / "station.key").write_text(KEY_PEM)
    provision_from_file(boot_file, config_path, system_root=tmp_path / "root")
    config = load_config(config_path)
    assert config.station.id == "llnp-0412" and config.mqtt.password == "change-me" and config.lora.enabled
    assert (config_path.parent / "tls" / "key.pem").read_text() == KEY_PEM
    assert os.readlink(tmp_path / "root" / "etc" / "localtime").endswith("Asia/Vladivostok")
    assert not boot_file.exists() and not (boot_file.parent / "station.key").exists()
    applied = (boot_file.parent / "trapd-provision.toml.applied").read_text()
    assert "change-me" not in applied and "00112233445566778899AABBCCDDEEFF" not in applied
    assert tomllib.loads(applied)["station_id"] == "llnp-0412"  # what was applied stays readable
    with pytest.raises(ConfigError, match="no such file"):
        provision_from_file(boot_file, config_path)


def test_only_a_key_file_beside_the_provisioning_file_is_deleted(config_path, tmp_path):
    outside = tmp_path / "keep.key"
    outside.write_text(KEY_PEM)
    boot_file = boot_partition(tmp_path, 'station_id = "llnp-0412"\nbroker_url = "mqtts://b.example.org"\n'
                                         f'cert_pem = """{CA_PEM}"""\nkey_file = "../../keep.key"\n')
    provision_from_file(boot_file, config_path)
    assert outside.read_text() == KEY_PEM and load_config(config_path).mqtt.key_file is not None


@pytest.mark.parametrize("text, expected", [
    ('station_id = "llnp-0412"\nbroker_url = "ftp://x"\n', "broker_url"),
    ('station_id = "llnp-0412"\nstation_name = "x"\n', "station_name: unknown key"),
    ('park = "LLNP"\n', "station_id: Field required"),
    ('station_id = "llnp-0412\n', "not valid TOML|cannot read"),
])
def test_a_bad_provisioning_file_is_left_in_place_and_nothing_is_written(config_path, tmp_path, text, expected):
    boot_file = boot_partition(tmp_path, text)
    before = config_path.read_bytes()
    with pytest.raises(ConfigError, match=expected) as caught:
        provision_from_file(boot_file, config_path)
    assert str(boot_file) in str(caught.value)
    assert boot_file.read_text() == text and config_path.read_bytes() == before


# -- the command ---------------------------------------------------------------------------------------------------
def trapd(*args: str, input: str | None = None):
    group = StationErrorsGroup(name="trapd", commands={"provision": provision_command})
    return CliRunner().invoke(group, ["provision", *args], input=input)


def test_provision_with_flags(config_path, tmp_path):
    result = trapd("-c", str(config_path), "--station-id", "llnp-0412", "--broker-url", "mqtts://b.example.org",
                   "--username", "llnp-0412", "--password", "pw", "--timezone", "Asia/Vladivostok",
                   "--system-root", str(tmp_path / "root"))
    assert result.exit_code == 0, result.output
    assert "station llnp-0412 (LLNP, RU), MQTT b.example.org:8883 TLS, no LoRa" in result.output
    assert "time zone set to Asia/Vladivostok" in result.output
    assert load_config(config_path).mqtt.password == "pw"


def test_provision_asks_for_what_the_flags_left_out(config_path, tmp_path):
    answers = "\n".join(["tlnp-0007", "TLNP", "CN", "mqtt://10.0.0.5", "", "pw", "Asia/Shanghai",
                         LORA["lora_dev_eui"], LORA["lora_app_eui"], LORA["lora_app_key"], ""]) + "\n"
    result = trapd("-c", str(config_path), "--interactive", "--system-root", str(tmp_path / "root"), input=answers)
    assert result.exit_code == 0, result.output
    config = load_config(config_path)
    assert (config.station.id, config.station.park, config.station.country) == ("tlnp-0007", "TLNP", "CN")
    assert config.mqtt.username == "tlnp-0007"  # the offered default: the station id
    assert config.lora.region == "CN470"  # the offered default for China
    assert LORA["lora_app_key"] not in result.output  # typed hidden


def test_without_a_terminal_or_flags_it_says_what_is_missing(config_path):
    result = trapd("-c", str(config_path), "--no-interactive")
    assert result.exit_code == 2 and "--station-id is required" in result.output


def test_a_mistake_gives_one_line_and_exit_code_2(config_path):
    result = trapd("-c", str(config_path), "--station-id", "llnp-0412", "--broker-url", "ftp://x")
    assert result.exit_code == 2
    assert result.output.startswith("config error: broker_url:") and len(result.output.splitlines()) == 1


def test_provision_from_file_command(config_path, tmp_path):
    boot_file = boot_partition(tmp_path, EXAMPLE.read_text())
    result = trapd("-c", str(config_path), "--from-file", str(boot_file), "--system-root", str(tmp_path / "root"))
    assert result.exit_code == 0, result.output
    assert "retired as trapd-provision.toml.applied" in result.output and not boot_file.exists()
    assert trapd("-c", str(config_path), "--from-file", str(boot_file), "--station-id", "x").exit_code == 2


def test_provision_is_a_trapd_command_once_registered():
    from station.cli.main import main

    if "provision" not in main.commands:
        pytest.skip("station.cli.main does not register `trapd provision` yet")
    assert main.commands["provision"] is provision_command
