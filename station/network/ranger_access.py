"""Provisioning's part for the ranger's phone: hotspot keyfile, host name, mDNS service, HTTPS certificate, QR card.

``plan_ranger_access`` decides everything first (and raises ``ConfigError`` naming the key on any mistake),
so that ``station.provision.apply`` can validate the whole config before a file is written; ``write_system_files``
then writes what lives outside the config folder below the system root:

- ``/etc/hostname`` and ``/etc/hosts``: ``trapd-<id>`` (``station.network.hostname``);
- ``/etc/avahi/services/trapd-https.service``: the page announced as ``_https._tcp`` on its port;
- ``/etc/NetworkManager/system-connections/trapd-hotspot.nmconnection`` (root-only): the access point.

The certificate (``tls/web-*.pem``) and the QR card (``ranger-card.png``, it shows the Wi-Fi password) go
next to the config, mode 0600. Provisioning again keeps a certificate that still fits (same names, > 30 days
left: the fingerprint rangers noted stays true) and the hotspot password unless a new one is given.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from xml.sax.saxutils import escape

from station.errors import ConfigError
from station.fsutil import write_atomic
from station.network.certs import CertificateError, PageCertificate, make_page_certificate, still_fits
from station.network.hostname import HostnameError, apply_hostname, station_hostname
from station.network.wifi import (
    AP_ADDRESS,
    CONNECTION_ID,
    KEYFILE_DIR,
    WifiCredentials,
    WifiError,
    connection_uuid,
    default_ssid,
    keyfile_text,
    new_passphrase,
    qr_payload,
)

CERT_FILES = {"ca": "web-ca.pem", "cert": "web-cert.pem", "key": "web-key.pem"}
CARD_FILE = "ranger-card.png"
AVAHI_SERVICE = "etc/avahi/services/trapd-https.service"


@dataclasses.dataclass(frozen=True)
class RangerAccess:
    """Everything a ranger needs to reach this station's page, as provisioned."""

    station_id: str
    hostname: str
    port: int
    certificate: PageCertificate
    certificate_kept: bool
    credentials: WifiCredentials | None  # None: no hotspot ([hotspot] adapter = "none")

    @property
    def mdns_name(self) -> str:
        return f"{self.hostname}.local"

    @property
    def url(self) -> str:
        """The address that works on every phone on the hotspot (mDNS ``.local`` names not on all of them)."""
        return f"https://{AP_ADDRESS}:{self.port}/"

    @property
    def local_url(self) -> str:
        return f"https://{self.mdns_name}:{self.port}/"

    @property
    def wifi_payload(self) -> str | None:
        return qr_payload(self.credentials) if self.credentials is not None else None


def plan_ranger_access(station_id: str, *, port: int, tls_dir: Path, hotspot: str, ssid: str | None,
                       password: str | None, system_root: Path | None,
                       park_ca: tuple[bytes, bytes] | None = None) -> RangerAccess:
    """Host name, certificate (kept or new; signed by ``park_ca`` when given) and Wi-Fi credentials (given,
    kept or new) for this station."""
    try:
        hostname = station_hostname(station_id)
    except HostnameError as exc:
        raise ConfigError(str(exc)) from None
    names = (f"{hostname}.local", (AP_ADDRESS,))
    existing = _existing_certificate(tls_dir)
    kept = existing is not None and still_fits(existing, *names, park_ca_pem=park_ca[0] if park_ca else None)
    if kept and existing is not None:
        certificate = existing
    else:
        try:
            certificate = make_page_certificate(station_id, *names, park_ca=park_ca)
        except CertificateError as exc:
            raise ConfigError(f"web_ca_file: {exc}") from None
    credentials = None
    if hotspot != "none" and system_root is not None:
        keyfile = system_root / KEYFILE_DIR / f"{CONNECTION_ID}.nmconnection"
        old_ssid, old_password = _existing_wifi(keyfile, station_id)
        try:
            credentials = WifiCredentials(ssid=ssid or old_ssid or default_ssid(station_id),
                                          password=password or old_password or new_passphrase())
        except WifiError as exc:
            raise ConfigError(str(exc)) from None
    return RangerAccess(station_id=station_id, hostname=hostname, port=port, certificate=certificate,
                        certificate_kept=kept, credentials=credentials)


def config_files(access: RangerAccess) -> dict[str, bytes]:
    """Files for the config folder's ``tls/`` (relative name → bytes)."""
    cert = access.certificate
    return {CERT_FILES["ca"]: cert.ca_pem, CERT_FILES["cert"]: cert.cert_pem, CERT_FILES["key"]: cert.key_pem}


def write_system_files(access: RangerAccess, system_root: Path) -> list[Path]:
    """Host name, hosts, the avahi service and (with a hotspot) NetworkManager's keyfile below ``system_root``."""
    written = apply_hostname(access.hostname, root=system_root)
    avahi = system_root / AVAHI_SERVICE
    avahi.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(avahi, avahi_service_xml(access.port).encode())
    avahi.chmod(0o644)
    written.append(avahi)
    if access.credentials is not None:
        keyfile = system_root / KEYFILE_DIR / f"{CONNECTION_ID}.nmconnection"
        keyfile.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(keyfile, keyfile_text(access.credentials, station_id=access.station_id).encode())
        keyfile.chmod(0o600)  # NetworkManager ignores a keyfile others can read; it holds the password
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            os.chown(keyfile, 0, 0)
        written.append(keyfile)
    return written


def card_lines(access: RangerAccess) -> list[str]:
    lines = []
    if access.credentials is not None:
        lines += [f"Wi-Fi: {access.credentials.ssid}", f"Password: {access.credentials.password}"]
    lines += [f"Page: {access.url}  or  {access.local_url}",
              f"Certificate SHA-256: {access.certificate.fingerprint[:47]}",
              f"                     {access.certificate.fingerprint[48:]}"]
    return lines


def avahi_service_xml(port: int) -> str:
    """avahi-daemon's service file announcing the page (``_https._tcp``) under the station's host name."""
    return ("<?xml version=\"1.0\" standalone='no'?>\n"
            '<!DOCTYPE service-group SYSTEM "avahi-service.dtd">\n'
            "<!-- Written by `trapd provision`: the ranger's page over HTTPS on trapd-<id>.local. -->\n"
            "<service-group>\n"
            f'  <name replace-wildcards="yes">{escape("%h ranger page")}</name>\n'
            "  <service>\n    <type>_https._tcp</type>\n"
            f"    <port>{int(port)}</port>\n    <txt-record>path=/</txt-record>\n  </service>\n"
            "</service-group>\n")


def _existing_certificate(tls_dir: Path) -> PageCertificate | None:
    try:
        parts = {name: (tls_dir / file).read_bytes() for name, file in CERT_FILES.items()}
    except OSError:
        return None
    try:
        return PageCertificate(ca_pem=parts["ca"], cert_pem=parts["cert"], key_pem=parts["key"])
    except CertificateError:
        return None


def _existing_wifi(keyfile: Path, station_id: str) -> tuple[str | None, str | None]:
    """(SSID, password) of the keyfile provisioning wrote earlier for this station id, or (None, None) (none,
    or another id's: a renamed unit gets its own network). Read line by line: configparser would strip the
    spaces a passphrase may end with."""
    try:
        lines = keyfile.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None, None
    section, values = "", {}
    for line in lines:
        if line.startswith("["):
            section = line.strip("[] ")
        elif "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[(section, key.strip())] = value
    if values.get(("connection", "uuid")) != connection_uuid(station_id):
        return None, None
    ssid, psk = values.get(("wifi", "ssid")), values.get(("wifi-security", "psk"))
    if ssid is not None and ssid.endswith(";"):
        try:
            ssid = bytes(int(part) for part in ssid.rstrip(";").split(";")).decode("utf-8")
        except ValueError:
            ssid = None
    return ssid, (_unescape_keyfile(psk) if psk is not None else None)


def _unescape_keyfile(value: str) -> str:
    out, chars = [], iter(value)
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            out.append({"s": " ", "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}.get(nxt, "\\" + nxt))
        else:
            out.append(char)
    return "".join(out)
