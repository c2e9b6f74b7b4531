"""The station's Wi-Fi hotspot: its credentials, NetworkManager's keyfile for it, and the QR payload a phone scans.

The access point is a NetworkManager connection (``802-11-wireless.mode ap``, ``ipv4.method shared``, which
hands phones an address in 10.42.0.0/24 with the station at 10.42.0.1). Provisioning writes its keyfile
(``/etc/NetworkManager/system-connections/trapd-hotspot.nmconnection``, root-only) with ``autoconnect=false``:
the daemon brings it up only while the ranger's page is on (``station.hardware.hotspot``).

The keyfile is a GLib key file. Values are written the way NetworkManager itself writes them: an SSID that is
not plain ASCII (or holds characters the key-file syntax treats specially) as its list of bytes, the
passphrase with GLib's escapes (``\\\\`` and a leading ``\\s``). ``tests/test_hotspot_files.py`` checks that
NetworkManager's own ``nmcli --offline`` reads the file into the same connection it would build itself.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import uuid

MAX_SSID_BYTES = 32
MIN_PASSPHRASE, MAX_PASSPHRASE = 8, 63
CONNECTION_ID = "trapd-hotspot"
#: NetworkManager's shared mode hands out 10.42.0.0/24 and takes the first address itself.
AP_ADDRESS = "10.42.0.1"
AP_PREFIX = 24
KEYFILE_DIR = "etc/NetworkManager/system-connections"
#: Characters an SSID may keep as text in the keyfile; anything else makes NM's byte-list form.
_PLAIN_SSID = re.compile(r"^[A-Za-z0-9_.-]+$")
#: Easy to read off a label and type on a phone: no 0/O, 1/l/I.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679"
_UUID_NAMESPACE = uuid.UUID("6f1d3c4e-8a2b-4d7e-9c10-2b7a5e0f4d31")


class WifiError(ValueError):
    """Credentials a phone or the access point would refuse; the message names the key to fix."""


@dataclasses.dataclass(frozen=True)
class WifiCredentials:
    ssid: str
    password: str

    def __post_init__(self) -> None:
        check_ssid(self.ssid)
        check_passphrase(self.password)


def default_ssid(station_id: str) -> str:
    """``trapd-<station id>``, cut to the 32 bytes an SSID can hold."""
    return f"trapd-{station_id}"[:MAX_SSID_BYTES]


def check_ssid(ssid: str) -> str:
    size = len(ssid.encode("utf-8"))
    if not 1 <= size <= MAX_SSID_BYTES:
        raise WifiError(f"hotspot_ssid: {size} bytes; an SSID holds 1 to {MAX_SSID_BYTES} bytes (UTF-8)")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in ssid):
        raise WifiError("hotspot_ssid: control characters are not allowed")
    return ssid


def check_passphrase(password: str) -> str:
    """WPA2-PSK: 8 to 63 printable ASCII characters (IEEE 802.11i; phones refuse anything else)."""
    if not MIN_PASSPHRASE <= len(password) <= MAX_PASSPHRASE:
        raise WifiError(f"hotspot_password: {len(password)} characters; WPA2 needs {MIN_PASSPHRASE} to "
                        f"{MAX_PASSPHRASE}")
    if not all(" " <= char <= "~" for char in password):
        raise WifiError("hotspot_password: only printable ASCII characters (no letters with accents, no "
                        "Cyrillic or Chinese, no tabs): WPA2 passphrases are ASCII")
    return password


def new_passphrase(length: int = 16) -> str:
    """A random passphrase (~90 bits for 16 characters) from characters that are hard to misread."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def connection_uuid(station_id: str) -> str:
    """Stable per station, so provisioning again replaces the connection instead of adding another."""
    return str(uuid.uuid5(_UUID_NAMESPACE, station_id))


def keyfile_text(credentials: WifiCredentials, *, station_id: str, interface: str = "wlan0") -> str:
    """The ``.nmconnection`` of the station's access point (WPA2-PSK/CCMP, 2.4 GHz, shared IPv4, no IPv6)."""
    lines = [
        "# The ranger's hotspot, written by `trapd provision`; the station turns it on with its page.",
        "[connection]", f"id={CONNECTION_ID}", f"uuid={connection_uuid(station_id)}", "type=wifi",
        "autoconnect=false", f"interface-name={interface}", "",
        # pmf=1 (disable): the Pi's brcmfmac access point fails to start with management frame protection
        "[wifi]", "band=bg", "mode=ap", f"ssid={_keyfile_ssid(credentials.ssid)}", "",
        "[wifi-security]", "group=ccmp;", "key-mgmt=wpa-psk", "pairwise=ccmp;", "pmf=1", "proto=rsn;",
        f"psk={_keyfile_string(credentials.password)}", "",
        "[ipv4]", f"address1={AP_ADDRESS}/{AP_PREFIX}", "method=shared", "",
        "[ipv6]", "addr-gen-mode=default", "method=disabled", "",
    ]
    return "\n".join(lines)


def qr_payload(credentials: WifiCredentials) -> str:
    """The ``WIFI:`` text phone cameras understand (ZXing's format): ``\\``, ``;``, ``,``, ``:`` and ``"``
    escaped with a backslash, so an SSID or password holding them joins the right network."""
    return f"WIFI:T:WPA;S:{_qr_escape(credentials.ssid)};P:{_qr_escape(credentials.password)};;"


def _qr_escape(value: str) -> str:
    return re.sub(r'([\\;,:"])', r"\\\1", value)


def _keyfile_ssid(ssid: str) -> str:
    if _PLAIN_SSID.match(ssid):
        return ssid
    return "".join(f"{byte};" for byte in ssid.encode("utf-8"))


def _keyfile_string(value: str) -> str:
    """GLib key-file escaping of a value that is already one line of printable ASCII."""
    escaped = value.replace("\\", "\\\\")
    return "\\s" + escaped[1:] if escaped.startswith(" ") else escaped
