"""What provisioning writes for the ranger's phone, checked with the tools that will read it.

NetworkManager's keyfile is read by NetworkManager's own ``nmcli --offline`` (1.42+, no daemon needed) and
must come out as the connection nmcli itself builds from the same settings; QR codes are decoded back
with zxing-cpp (the certificate: tests/test_page_certificate.py). Careless-technician and attacker inputs
(separators, quotes, backslashes, Cyrillic and Chinese, limits of WPA2 and host names) are kept as cases.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from station.errors import ConfigError, HardwareError
from station.hardware.hotspot import HotspotSwitch, NmcliHotspot
from station.network import qr
from station.network.certs import fingerprint
from station.network.wifi import WifiCredentials, connection_uuid, keyfile_text, qr_payload
from station.provision.apply import provision
from tests.conftest import ROOT

NMCLI = os.environ.get("TRAPD_NMCLI") or shutil.which("nmcli")
zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp is not installed (pip install zxing-cpp)")

#: (SSID, password): what a technician might type, and what an attacker might try.
AWKWARD = [
    ("trapd-llnp-0412", "Amur-tiger-2026"),
    ("ranger;net,1:2\\\"'", ';,:\\"\' WIFI:T:nopass;S:evil;;'),
    ("тигр 虎 станция", " leading and trailing spaces "),
    ("1234", "x" * 63),
    (" ", "########"),
]


# Root-written secrets: 0600, or as root (a Pi) root's and readable by the daemon's group only (trapd.tmpfiles).
SECRET_MODE = 0o640 if os.geteuid() == 0 else 0o600


def nm(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run([NMCLI, "--offline", *args], input=stdin, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def nm_built(credentials: WifiCredentials, station_id: str) -> str:
    """The keyfile nmcli writes itself for the access point we mean."""
    return nm("connection", "add", "type", "wifi", "con-name", "trapd-hotspot", "ifname", "wlan0",
              "connection.uuid", connection_uuid(station_id), "autoconnect", "no", "ssid", credentials.ssid,
              "802-11-wireless.mode", "ap", "802-11-wireless.band", "bg", "ipv4.method", "shared",
              "ipv4.addresses", "10.42.0.1/24", "ipv6.method", "disabled", "wifi-sec.key-mgmt", "wpa-psk",
              "wifi-sec.psk", credentials.password, "wifi-sec.proto", "rsn", "wifi-sec.pairwise", "ccmp",
              "wifi-sec.group", "ccmp", "wifi-sec.pmf", "disable")


def keyfile_of(root: Path) -> Path:
    return root / "etc/NetworkManager/system-connections/trapd-hotspot.nmconnection"


# -- NetworkManager's keyfile ----------------------------------------------------------------------------------
@pytest.mark.skipif(NMCLI is None, reason="nmcli not installed (apt-get install network-manager; 1.42+ for "
                                          "--offline), or set TRAPD_NMCLI")
@pytest.mark.parametrize("ssid,password", AWKWARD)
def test_networkmanager_reads_the_keyfile_as_the_access_point_it_would_build_itself(ssid, password):
    credentials = WifiCredentials(ssid=ssid, password=password)
    ours = keyfile_text(credentials, station_id="llnp-0412")
    read_by_nm = nm("connection", "modify", "connection.id", "trapd-hotspot", stdin=ours)
    assert read_by_nm == nm_built(credentials, "llnp-0412")


def test_the_keyfile_has_what_networkmanager_requires_and_stays_off_until_the_page_opens():
    keyfile = configparser.ConfigParser(interpolation=None)
    keyfile.read_string(keyfile_text(WifiCredentials("trapd-llnp-0412", "Amur-tiger-2026"), station_id="llnp-0412"))
    assert keyfile["connection"]["type"] == "wifi" and keyfile["connection"]["id"] == "trapd-hotspot"
    assert re.fullmatch(r"[0-9a-f-]{36}", keyfile["connection"]["uuid"])
    assert keyfile["connection"]["autoconnect"] == "false"  # on only with the page: power
    assert (keyfile["wifi"]["mode"], keyfile["wifi"]["ssid"]) == ("ap", "trapd-llnp-0412")
    assert keyfile["wifi-security"]["key-mgmt"] == "wpa-psk" and keyfile["wifi-security"]["proto"] == "rsn;"
    assert (keyfile["ipv4"]["method"], keyfile["ipv4"]["address1"]) == ("shared", "10.42.0.1/24")


def test_provisioning_writes_a_root_only_keyfile_and_keeps_its_password_when_provisioned_again(station_etc, tmp_path):
    root = tmp_path / "root"
    first = provision(station_etc, station_id="llnp-0412", hotspot="nmcli", system_root=root).ranger
    assert stat.S_IMODE(keyfile_of(root).stat().st_mode) == 0o600
    assert first.credentials.ssid == "trapd-llnp-0412" and 8 <= len(first.credentials.password) <= 63
    again = provision(station_etc, station_id="llnp-0412", system_root=root).ranger
    assert again.credentials == first.credentials  # the label in the lid stays true
    assert again.certificate.fingerprint == first.certificate.fingerprint and again.certificate_kept
    changed = provision(station_etc, station_id="llnp-0412", hotspot_password="new-pass;word", system_root=root)
    assert changed.ranger.credentials.password == "new-pass;word"
    assert "psk=new-pass;word" in keyfile_of(root).read_text()
    renamed = provision(station_etc, station_id="llnp-0415", system_root=root).ranger
    assert renamed.credentials.ssid == "trapd-llnp-0415"  # another unit now: its own network and password
    assert renamed.credentials.password != "new-pass;word"


@pytest.mark.parametrize("settings,message", [
    ({"hotspot_password": "7-chars"}, "hotspot_password: 7 characters; WPA2 needs 8 to 63"),
    ({"hotspot_password": "x" * 64}, "hotspot_password: 64 characters"),
    ({"hotspot_password": "пароль-егеря"}, "only printable ASCII"),
    ({"hotspot_password": "tab\there-ok?"}, "only printable ASCII"),
    ({"hotspot_ssid": "虎" * 11}, "hotspot_ssid: 33 bytes"),
    ({"hotspot_ssid": "line\nbreak"}, "control characters"),
])
def test_wifi_credentials_a_phone_would_refuse_are_refused_and_nothing_is_written(
        station_etc, tmp_path, settings, message):
    before = station_etc.read_bytes()
    with pytest.raises(ConfigError, match=re.escape(message)):
        provision(station_etc, station_id="llnp-0412", hotspot="nmcli", system_root=tmp_path / "root", **settings)
    assert station_etc.read_bytes() == before and not (tmp_path / "root").exists()


def test_a_long_station_id_gets_an_ssid_cut_to_32_bytes(station_etc, tmp_path):
    station_id = "llnp-camera-trap-ridge-north-0412"
    ranger = provision(station_etc, station_id=station_id, hotspot="nmcli", system_root=tmp_path / "r").ranger
    assert ranger.credentials.ssid == f"trapd-{station_id}"[:32] and len(ranger.credentials.ssid) == 32


# -- QR codes ------------------------------------------------------------------------------------------------------
def parse_wifi_payload(text: str) -> dict[str, str]:
    """The reading side of the WIFI: format (as ZXing and phone cameras parse it)."""
    assert text.startswith("WIFI:") and text.endswith(";;")
    fields, key, value, chars = {}, "", "", iter(text[5:-1])
    for char in chars:
        if char == "\\":
            value += next(chars)
        elif char == ":" and not key:
            key, value = value, ""
        elif char == ";":
            fields[key], key, value = value, "", ""
        else:
            value += char
    return fields


@pytest.mark.parametrize("ssid,password", AWKWARD)
def test_the_printed_card_decodes_to_the_network_and_the_page(ssid, password):
    import io

    from PIL import Image

    credentials = WifiCredentials(ssid=ssid, password=password)
    png = qr.card_png([("Wi-Fi", qr_payload(credentials)), ("Page", "https://10.42.0.1:8443/")], ["x"])
    texts = [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
    assert len(texts) == 2 and "https://10.42.0.1:8443/" in texts
    wifi = parse_wifi_payload(next(text for text in texts if text.startswith("WIFI:")))
    assert (wifi["T"], wifi["S"], wifi["P"]) == ("WPA", ssid, password)


def terminal_to_image(text: str):
    """Turn the block characters back into modules (each character is two rows) and a picture to decode."""
    from PIL import Image

    top_bottom = {" ": (0, 0), "▀": (1, 0), "▄": (0, 1), "█": (1, 1)}
    lines = [line for line in text.splitlines() if line]
    width = len(lines[0])
    image = Image.new("L", (width, len(lines) * 2), 255)
    for y, line in enumerate(lines):
        for x, char in enumerate(line):
            top, bottom = top_bottom[char]
            image.putpixel((x, 2 * y), 255 if top else 0)
            image.putpixel((x, 2 * y + 1), 255 if bottom else 0)
    return image.resize((width * 8, len(lines) * 16), Image.NEAREST)


def test_the_terminal_qr_code_decodes_to_the_payload():
    payload = qr_payload(WifiCredentials(ssid="ranger;net", password='a"b\\c:d,e;f'))
    decoded = [result.text for result in zxingcpp.read_barcodes(terminal_to_image(qr.terminal_text(payload)))]
    assert decoded == [payload]


def test_trapd_provision_prints_both_codes_the_fingerprint_and_writes_the_card(station_etc, tmp_path):
    from click.testing import CliRunner
    from PIL import Image

    from station.cli.provision import provision as command

    result = CliRunner().invoke(command, ["-c", str(station_etc), "--station-id", "llnp-0412", "--hotspot", "nmcli",
                                          "--hotspot-password", "Amur;tiger:2026", "--no-interactive",
                                          "--system-root", str(tmp_path / "root")])
    assert result.exit_code == 0, result.output
    cert = (station_etc.parent / "tls" / "web-cert.pem").read_bytes()
    assert f"SHA-256 fingerprint {fingerprint(cert)}" in result.output
    assert 'Wi-Fi "trapd-llnp-0412", password "Amur;tiger:2026"' in result.output
    assert "https://10.42.0.1:8443/" in result.output and "https://trapd-llnp-0412.local:8443/" in result.output
    blocks = re.findall(r"scan to [^\n]*:\n((?:[ █▀▄]+\n)+)", result.output)
    decoded = [zxingcpp.read_barcodes(terminal_to_image(block))[0].text for block in blocks]
    assert decoded == ["WIFI:T:WPA;S:trapd-llnp-0412;P:Amur\\;tiger\\:2026;;", "https://10.42.0.1:8443/"]
    card = station_etc.parent / "ranger-card.png"
    assert stat.S_IMODE(card.stat().st_mode) == SECRET_MODE  # it shows the Wi-Fi password
    assert sorted(r.text for r in zxingcpp.read_barcodes(Image.open(card))) == sorted(decoded)


# -- host name and mDNS --------------------------------------------------------------------------------------------
def test_the_station_gets_its_own_host_name_and_announces_its_page(station_etc, tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/hostname").write_text("trapd\n")
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n::1\t\tlocalhost\n192.0.2.7\tbroker\n127.0.1.1\ttrapd\n")
    provision(station_etc, station_id="llnp-0412", system_root=root)
    provision(station_etc, station_id="llnp-0412", system_root=root)  # twice: still one line for the name
    assert (root / "etc/hostname").read_text() == "trapd-llnp-0412\n"
    hosts = (root / "etc/hosts").read_text().splitlines()
    assert [line for line in hosts if line.startswith("127.0.1.1")] == ["127.0.1.1\ttrapd-llnp-0412"]
    assert "192.0.2.7\tbroker" in hosts and "127.0.0.1\tlocalhost" in hosts
    service = ET.parse(root / "etc/avahi/services/trapd-https.service").getroot()
    assert service.findtext("service/type") == "_https._tcp" and service.findtext("service/port") == "8443"


@pytest.mark.parametrize("station_id,reason", [
    ("llnp_0412", "'_' cannot appear in a host name"),
    ("llnp-", "inner '-'"),
    ("a" * 58, "at most 63"),
])
def test_a_station_id_that_makes_no_host_name_is_refused_before_anything_is_written(
        station_etc, tmp_path, station_id, reason):
    before = station_etc.read_bytes()
    with pytest.raises(ConfigError, match=re.escape(reason)):
        provision(station_etc, station_id=station_id, system_root=tmp_path / "root")
    assert station_etc.read_bytes() == before and not (tmp_path / "root").exists()


# -- switching the hotspot -----------------------------------------------------------------------------------------
def test_a_station_without_nmcli_says_so_and_the_switch_does_not_stop_anything(caplog):
    hotspot = NmcliHotspot("trapd-hotspot", nmcli="nmcli-not-installed-here")
    with pytest.raises(HardwareError, match="install network-manager"):
        hotspot.up()
    switch = HotspotSwitch(hotspot)
    switch.want(True)
    assert switch.wait_settled(5)
    assert "nmcli-not-installed-here not found" in caplog.text


@pytest.mark.skipif(NMCLI is None, reason="nmcli not installed (apt-get install network-manager)")
def test_nmcli_without_networkmanager_running_is_one_clear_error():
    with pytest.raises(HardwareError, match=r"nmcli connection up trapd-hotspot failed: .*provisioned"):
        NmcliHotspot("trapd-hotspot", timeout_s=5, nmcli=NMCLI).up()


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_the_polkit_rule_lets_only_the_daemon_switch_networks():
    """polkit rules are JavaScript: run this one (node) with the calls polkitd would make."""
    script = """
const rules = [], polkit = {Result: {YES: "yes"}, addRule: rule => rules.push(rule)};
new Function("polkit", require("fs").readFileSync(process.argv[1], "utf8"))(polkit);
const ask = (id, user) => rules.map(rule => rule({id}, {user})).find(r => r !== undefined) ?? "ask";
console.log(JSON.stringify([ask("org.freedesktop.NetworkManager.network-control", "trapd"),
  ask("org.freedesktop.NetworkManager.network-control", "pi"),
  ask("org.freedesktop.NetworkManager.settings.modify.system", "trapd")]));
"""
    rule = ROOT / "deploy" / "polkit" / "50-trapd-hotspot.rules"
    done = subprocess.run(["node", "-e", script, str(rule)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '["yes","ask","ask"]'  # the daemon may not edit connections, others ask


def test_the_first_boot_file_sets_the_hotspot_and_leaves_no_password_on_the_card(station_etc, tmp_path):
    from station.provision.apply import provision_from_file

    boot = tmp_path / "bootfs"
    boot.mkdir()
    (boot / "trapd-provision.toml").write_text('station_id = "tlnp-0007"\nhotspot = "nmcli"\n'
                                               'hotspot_password = "Siberian;tiger,7"\n')
    result = provision_from_file(boot / "trapd-provision.toml", station_etc, system_root=tmp_path / "root")
    assert result.ranger.credentials == WifiCredentials("trapd-tlnp-0007", "Siberian;tiger,7")
    assert "psk=Siberian;tiger,7" in keyfile_of(tmp_path / "root").read_text()
    applied = (boot / "trapd-provision.toml.applied").read_text()
    assert 'hotspot_password = ""' in applied and "Siberian" not in applied


def test_wishes_that_arrive_while_the_hotspot_switches_end_in_the_last_one():
    import threading

    from station.hardware.hotspot import SimulatedHotspot

    class SlowHotspot(SimulatedHotspot):  # NetworkManager takes seconds to bring an access point up
        def __init__(self) -> None:
            super().__init__()
            self.switching = threading.Event()
            self.finished = threading.Event()  # the test says when NetworkManager is done
            self.threads: set[str] = set()

        def up(self) -> None:
            self.threads.add(threading.current_thread().name)
            self.switching.set()
            self.finished.wait(5)
            super().up()

    hotspot = SlowHotspot()
    switch = HotspotSwitch(hotspot)
    switch.want(True)
    assert hotspot.switching.wait(5)  # NetworkManager is busy bringing it up ...
    for wish in (False, True, False):  # ... while the page opens and closes again
        switch.want(wish)
    assert not hotspot.is_up  # the page never waits for NetworkManager: the wishes returned while it is still busy
    hotspot.finished.set()
    assert switch.wait_settled(5)
    assert not hotspot.is_up and hotspot.switches == [True, False]  # the middle wishes merged
    assert hotspot.threads == {"hotspot"}
