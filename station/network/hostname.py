"""The station's own name on the hotspot: ``trapd-<station id>``, announced over mDNS as ``trapd-<id>.local``.

Every unit leaves the image as ``trapd``; provisioning renames it the way hostnamectl would (``/etc/hostname``
and the ``127.0.1.1`` line of ``/etc/hosts``) below a given system root, and avahi-daemon (on Raspberry Pi
OS by default) announces the new name and the page's HTTPS service (``deploy/avahi/trapd-https.service``).
"""

from __future__ import annotations

import re
from pathlib import Path

from station.fsutil import write_atomic

#: RFC 1123 label: letters, digits and inner hyphens, at most 63 characters (mDNS names use the same).
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_HOSTS_MARK = "# trapd: this station's name"


class HostnameError(ValueError):
    """A name that is not a valid host name; the message says why and what to do."""


def station_hostname(station_id: str) -> str:
    """``trapd-<id>``; a station id with '_' or too long for a host name is refused, not silently changed."""
    name = f"trapd-{station_id}"
    if "_" in station_id:
        raise HostnameError(f"station_id {station_id!r}: '_' cannot appear in a host name (trapd-<id>.local); "
                            "use '-' instead")
    if not _LABEL.match(name):
        raise HostnameError(f"station_id {station_id!r}: trapd-<id> must be at most 63 letters, digits and "
                            "inner '-' to be a host name; use a shorter id")
    return name


def apply_hostname(name: str, *, root: Path = Path("/")) -> list[Path]:
    """Write ``/etc/hostname`` and point ``127.0.1.1`` at ``name`` in ``/etc/hosts`` below ``root``."""
    if not _LABEL.match(name):
        raise HostnameError(f"{name!r} is not a valid host name")
    etc = root / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    write_atomic(etc / "hostname", f"{name}\n".encode())
    (etc / "hostname").chmod(0o644)
    hosts = etc / "hosts"
    try:
        lines = hosts.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = ["127.0.0.1\tlocalhost", "::1\t\tlocalhost ip6-localhost ip6-loopback"]
    kept = [line for line in lines if not line.split("#")[0].split()[:1] == ["127.0.1.1"]
            and line != _HOSTS_MARK]
    write_atomic(hosts, ("\n".join([*kept, _HOSTS_MARK, f"127.0.1.1\t{name}"]) + "\n").encode())
    hosts.chmod(0o644)
    return [etc / "hostname", hosts]
