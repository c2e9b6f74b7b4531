"""Safe logins on the station image: the pi-gen config ships no password and key-only SSH, and the trapd stage
refuses to build an image anyone could log into with a guessable password (pi-gen's own variables, the
stage's own prerun.sh, run by bash as pi-gen runs it)."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

IMAGE = ROOT / "deploy" / "image"
EXAMPLE = IMAGE / "pi-gen-config.example"
PRERUN = IMAGE / "stage-trapd" / "prerun.sh"
SSHD_DROP_IN = IMAGE / "stage-trapd" / "00-trapd" / "files" / "sshd-trapd.conf"
# A well-formed public key (the key itself is never used to log in anywhere).
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMl7pC1zE0RyX6m2sQx3QvN8b2yKXwq0oV9lM1d3hJ6t technician@park"


def config_values() -> dict[str, str]:
    """The example config as bash reads it (pi-gen sources it)."""
    script = f"set -a; . {shlex.quote(str(EXAMPLE))}; env -0"
    out = subprocess.run(["env", "-i", "bash", "-c", script], capture_output=True, text=True, check=True).stdout
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


def prerun(tmp_path: Path, **overrides: str) -> subprocess.CompletedProcess:
    """prerun.sh with the example config sourced, OVERRIDES on top, and the stage's root already there."""
    settings = "".join(f"{key}={shlex.quote(value)}; " for key, value in overrides.items())
    script = (f"set -a; . {shlex.quote(str(EXAMPLE))}; {settings}ROOTFS_DIR={shlex.quote(str(tmp_path))}; set +a; "
              f"exec bash {shlex.quote(str(PRERUN))}")
    return subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", "bash", "-c", script], capture_output=True, text=True,
                          timeout=60)


def test_the_example_ships_key_only_ssh_and_no_password():
    values = config_values()
    assert values["ENABLE_SSH"] == "1" and values["PUBKEY_ONLY_SSH"] == "1"
    assert "FIRST_USER_PASS" not in values  # unset: pi-gen leaves the account locked
    assert values.get("DISABLE_FIRST_BOOT_USER_RENAME", "0") == "0"  # pi-gen refuses 1 without a password


def test_the_example_as_shipped_does_not_build_until_a_key_is_given(tmp_path):
    shipped = prerun(tmp_path)
    assert shipped.returncode == 1 and "PUBKEY_SSH_FIRST_USER holds no SSH public key" in shipped.stderr
    assert prerun(tmp_path, PUBKEY_SSH_FIRST_USER=KEY).returncode == 0


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"PUBKEY_ONLY_SSH": "0"}, "needs PUBKEY_ONLY_SSH=1"),
    ({"PUBKEY_SSH_FIRST_USER": "change-me"}, "holds no SSH public key"),
    ({"FIRST_USER_PASS": "change-me-now"}, "FIRST_USER_PASS is too easy to guess"),
    ({"FIRST_USER_PASS": "raspberry"}, "FIRST_USER_PASS is too easy to guess"),
])
def test_unsafe_login_settings_stop_the_build(tmp_path, overrides, reason):
    result = prerun(tmp_path, **{"PUBKEY_SSH_FIRST_USER": KEY, **overrides})
    assert result.returncode == 1 and reason in result.stderr, result.stderr


def test_a_long_password_or_ssh_off_is_accepted(tmp_path):
    assert prerun(tmp_path, PUBKEY_SSH_FIRST_USER=KEY, FIRST_USER_PASS="larch tiger ridge 1987").returncode == 0
    assert prerun(tmp_path, ENABLE_SSH="0").returncode == 0  # no SSH at all: no key needed


def test_the_image_sshd_drop_in_allows_keys_only():
    settings = dict(line.split(None, 1) for line in SSHD_DROP_IN.read_text().splitlines()
                    if line and not line.startswith("#"))
    assert settings == {"PasswordAuthentication": "no", "KbdInteractiveAuthentication": "no",
                        "PermitRootLogin": "no", "PubkeyAuthentication": "yes"}
    assert "sshd_config.d/10-trapd.conf" in (IMAGE / "stage-trapd" / "00-trapd" / "01-run.sh").read_text()
