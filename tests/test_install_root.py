"""The whole install into a root file system, then what boot does to it: `systemd-sysusers --root`,
`systemd-tmpfiles --root --create` (also as trapd.service's ExecStartPre), `systemd-analyze verify --root`.

The root has Debian's own base users and groups (base-passwd), so the ids are allocated as on a Pi. The same
steps in a debootstrapped Bookworm root, inside a chroot as pi-gen runs them, are in test_install_debian.py
(slow: the debootstrap takes about a minute the first time).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.debian_roots import as_user, base_passwd_root, user_ids
from tests.test_service import unit_values

INSTALL = ROOT / "deploy" / "image" / "install.sh"
DEBIAN_PYTHON = Path("/usr/bin/python3")
TOOLS = ("systemd-sysusers", "systemd-tmpfiles", "systemd-analyze", "setpriv")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="owners are only applied as root (systemd-tmpfiles chowns)"),
    pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS),
                       reason=f"needs {', '.join(TOOLS)} (Debian packages systemd, util-linux)"),
]

# Run as the trapd user against the installed tree: the daemon's own ways of touching /etc/trapd.
AS_DAEMON = """
import json, os, sys
from pathlib import Path
from station.config.load import load_config
from station.fsutil import write_atomic
etc = Path(sys.argv[1])
out = {"station_id": load_config(etc / "station.toml").station.id}
text = (etc / "station.toml").read_bytes()
write_atomic(etc / "station.toml", text)          # remote config_set: temp file, fsync, rename
write_atomic(etc / "station.toml.last-good", text) # a copy kept beside it
out["rewrote"] = True
out["reads_tls"] = (etc / "tls" / "ca.pem").read_text()
for name, attempt in (("rename_tls", lambda: os.rename(etc / "tls", etc / "tls.mine")),
                      ("write_tls", lambda: write_atomic(etc / "tls" / "ca.pem", b"mine")),
                      ("delete_example", lambda: (etc / "trapd-provision.example.toml").unlink())):
    try:
        attempt()
        out[name] = "done"
    except PermissionError:
        out[name] = "refused"
print(json.dumps(out))
"""


def mode_owner(root: Path, path: str) -> tuple[str, str, str]:
    info = (root / path.lstrip("/")).stat()
    names = {int(f[2]): f[0] for f in (line.split(":") for line in (root / "etc/passwd").read_text().splitlines())}
    groups = {int(f[2]): f[0] for f in (line.split(":") for line in (root / "etc/group").read_text().splitlines())}
    return oct(stat.S_IMODE(info.st_mode)), names.get(info.st_uid, str(info.st_uid)), groups.get(info.st_gid, "?")


def run(*command: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def exec_start_pre_tmpfiles(root: Path) -> subprocess.CompletedProcess:
    """trapd.service's ExecStartPre (the tmpfiles step before every start), pointed at ROOT."""
    line = unit_values("trapd.service", "ExecStartPre")[0].lstrip("-+@!:")
    program, *args = line.split()
    assert Path(program).name == "systemd-tmpfiles"
    return run(program, f"--root={root}", *args)


def install_into(root: Path, *args: str) -> Path:
    result = subprocess.run(["bash", str(INSTALL), "--root", str(root), *args], capture_output=True, text=True,
                            timeout=600, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture
def sysroot() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="trapd-sysroot-"))
    root.chmod(0o755)  # the trapd user must be able to walk into it
    try:
        if base_passwd_root(root) is None:
            pytest.skip("Debian's base-passwd tables are missing (/usr/share/base-passwd)")
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def installed(sysroot: Path) -> Path:
    return install_into(sysroot, "--no-venv")


def test_boot_creates_the_user_and_owners_that_let_trapd_read_and_rewrite_its_config(installed):
    root = installed
    users = run("systemd-sysusers", f"--root={root}")
    assert users.returncode == 0, users.stderr
    passwd = {f[0]: f for f in (line.split(":") for line in (root / "etc/passwd").read_text().splitlines())}
    assert passwd["trapd"][5:] == ["/var/lib/trapd", "/usr/sbin/nologin"]
    _, _, groups = user_ids(root, "trapd")
    by_gid = {int(f[2]): f[0] for f in (line.split(":") for line in (root / "etc/group").read_text().splitlines())}
    assert {by_gid[g] for g in groups} == set(unit_values("trapd.service", "SupplementaryGroups")[0].split())
    assert (root / "etc/trapd/station.toml").stat().st_uid == 0  # as the installer left it: root's, 0600

    folders = run("systemd-tmpfiles", f"--root={root}", "--create")
    assert folders.returncode == 0 and "unsafe" not in folders.stderr, folders.stderr
    assert mode_owner(root, "/etc/trapd") == ("0o1770", "root", "trapd")
    assert mode_owner(root, "/etc/trapd/station.toml") == ("0o600", "trapd", "trapd")
    assert mode_owner(root, "/etc/trapd/tls") == ("0o750", "root", "trapd")
    assert mode_owner(root, "/var/lib/trapd") == ("0o750", "trapd", "trapd")

    (root / "etc/trapd/tls/ca.pem").write_text("CA")  # provisioning, as root: root's file, mode 0644
    assert exec_start_pre_tmpfiles(root).returncode == 0
    assert mode_owner(root, "/etc/trapd/tls/ca.pem") == ("0o640", "root", "trapd")
    daemon = subprocess.run([*as_user(root, "trapd"), sys.executable, "-c", AS_DAEMON, str(root / "etc/trapd")],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert daemon.returncode == 0, daemon.stderr
    assert json.loads(daemon.stdout) == {"station_id": "unprovisioned", "rewrote": True, "reads_tls": "CA",
                                         "rename_tls": "refused", "write_tls": "refused",
                                         "delete_example": "refused"}
    assert mode_owner(root, "/etc/trapd/station.toml.last-good")[1] == "trapd"


def test_a_config_root_rewrote_is_handed_back_at_the_next_start(installed):
    """The reported failure: station.toml root:root 0600 under /etc/trapd made tmpfiles exit 73, and trapd 2."""
    root = installed
    assert run("systemd-sysusers", f"--root={root}").returncode == 0
    assert run("systemd-tmpfiles", f"--root={root}", "--create").returncode == 0
    config = root / "etc/trapd/station.toml"
    replacement = config.with_name(".station.toml.new")
    replacement.write_bytes(config.read_bytes())
    replacement.chmod(0o600)
    os.replace(replacement, config)  # what a root tool writing atomically leaves: root:root 0600
    assert mode_owner(root, "/etc/trapd/station.toml") == ("0o600", "root", "root")
    again = exec_start_pre_tmpfiles(root)
    assert again.returncode == 0, again.stderr
    assert mode_owner(root, "/etc/trapd/station.toml") == ("0o600", "trapd", "trapd")


def test_installed_units_pass_systemd_analyze_verify_in_the_root(sysroot):
    if subprocess.run([DEBIAN_PYTHON, "-c", "import ensurepip, setuptools"], capture_output=True).returncode:
        pytest.skip(f"{DEBIAN_PYTHON} lacks venv/setuptools (Debian packages python3-venv python3-setuptools)")
    systemd_units = Path("/usr/lib/systemd/system")  # the targets the units name, from Debian's systemd package
    if not (systemd_units / "multi-user.target").exists():
        pytest.skip(f"{systemd_units} has no multi-user.target (Debian package systemd)")
    root = install_into(sysroot, "--python", str(DEBIAN_PYTHON), "--pip-args",
                        "--no-deps --no-index --no-build-isolation")  # offline: trapd itself, not its deps
    shutil.copytree(systemd_units, root / "usr/lib/systemd/system", symlinks=True)
    assert run("systemd-sysusers", f"--root={root}").returncode == 0
    assert run("systemd-tmpfiles", f"--root={root}", "--create").returncode == 0
    units = [f"/etc/systemd/system/{name}" for name in ("trapd.service", "trapd-firstboot.service")]
    result = run("systemd-analyze", "verify", "--man=no", f"--root={root}", *units)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stdout + result.stderr


def test_an_old_stations_daemon_owned_config_folder_is_taken_back_at_the_next_start(installed):
    """An /etc/trapd the old tmpfiles gave to trapd, holding a root-owned config: the upgrade heals it."""
    root = installed
    assert run("systemd-sysusers", f"--root={root}").returncode == 0
    uid, gid, _ = user_ids(root, "trapd")
    os.chown(root / "etc/trapd", uid, gid)
    (root / "etc/trapd").chmod(0o750)
    assert mode_owner(root, "/etc/trapd/station.toml")[1] == "root"
    again = exec_start_pre_tmpfiles(root)
    assert again.returncode == 0, again.stderr
    assert mode_owner(root, "/etc/trapd") == ("0o1770", "root", "trapd")
    assert mode_owner(root, "/etc/trapd/station.toml") == ("0o600", "trapd", "trapd")
