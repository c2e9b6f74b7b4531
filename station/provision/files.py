"""The files provisioning writes outside the config's own validation: owned files handed to the daemon's
group, the system time zone, and the retired provisioning file with its secrets blanked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from station.config.toml import dumps
from station.fsutil import fsync_dir, write_atomic
from station.provision.request import ProvisionRequest, check_timezone

APPLIED_SUFFIX = ".applied"
TLS_DIR = "tls"
SECRET_KEYS = ("password", "lora_app_key", "key_pem", "web_password", "hotspot_password")


def apply_timezone(name: str, *, root: Path = Path("/")) -> None:
    """Set the system time zone below ``root`` the way timedatectl does (/etc/localtime and /etc/timezone)."""
    check_timezone(name)
    etc = root / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    tmp_link = etc / ".localtime.trapd.tmp"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(Path("/usr/share/zoneinfo") / name)
    os.replace(tmp_link, etc / "localtime")
    write_atomic(etc / "timezone", f"{name}\n".encode())
    (etc / "timezone").chmod(0o644)


def write_owned(path: Path, data: bytes, *, daemon_rewrites: bool = False) -> Path:
    """Write durably (mode 0600); as root, hand the file over as deploy/systemd/trapd.tmpfiles lays it out.

    The config folder is root's with the daemon's group: TLS material stays root's, readable by that group
    (0640); the config itself, which the daemon rewrites (remote config_set), goes to the user named like
    that group (``trapd``). Without such a user root keeps it until trapd.service's start applies tmpfiles.
    """
    write_atomic(path, data)
    if not (hasattr(os, "geteuid") and os.geteuid() == 0):
        return path
    config_dir = path.parent.parent if path.parent.name == TLS_DIR else path.parent
    gid = config_dir.stat().st_gid
    if daemon_rewrites:
        os.chown(path, _user_named_like_group(gid), gid)
        return path
    os.chown(path, 0, gid)
    path.chmod(0o640)
    if path.parent.name == TLS_DIR:
        os.chown(path.parent, 0, gid)
        path.parent.chmod(0o750)
    return path


def _user_named_like_group(gid: int) -> int:
    import grp
    import pwd

    try:
        return pwd.getpwnam(grp.getgrgid(gid).gr_name).pw_uid
    except KeyError:
        return 0


def retire_provision_file(boot_file: Path, raw: dict[str, Any], request: ProvisionRequest) -> None:
    """Replace the provisioning file with a copy whose secrets are blanked; remove a key file beside it."""
    header = ("Applied by `trapd provision`; secrets were removed. To provision again, copy the example\n"
              f"file to {boot_file.name} and fill it in.")
    blanked = {key: "" if key in SECRET_KEYS else value for key, value in raw.items()}  # validated: scalars
    applied = boot_file.with_name(boot_file.name + APPLIED_SUFFIX)
    write_atomic(applied, dumps(blanked, header=header).encode("utf-8"))
    boot_file.unlink()
    for secret in (request.key_file, request.web_ca_key_file):  # a private key beside the file must not stay
        if secret is not None:                                   # on the card either
            key_file = (boot_file.parent / secret).resolve()
            if key_file.parent == boot_file.parent.resolve():
                key_file.unlink(missing_ok=True)
    fsync_dir(boot_file.parent)

