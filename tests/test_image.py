"""The station image: shell scripts are shellcheck-clean, and install.sh lays out a station into a temporary root
(unit, config and venv where the unit expects them) without root and without touching this machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from station.config.load import load_config
from tests.conftest import ROOT
from tests.test_service import unit_values

DEPLOY = ROOT / "deploy"
IMAGE = DEPLOY / "image"
INSTALL = IMAGE / "install.sh"
NOBODY = 65534
DEBIAN_PYTHON = Path("/usr/bin/python3")  # what a Pi's venv is made from (with its apt packages visible)


def shell_scripts() -> list[Path]:
    """Every shell script under deploy/: *.sh, and files whose first line names a shell."""
    found = []
    for path in sorted(DEPLOY.rglob("*")):
        if not path.is_file():
            continue
        with path.open("rb") as handle:
            first = handle.readline()
        if path.suffix == ".sh" or (first.startswith(b"#!") and any(s in first for s in (b"bash", b"/sh"))):
            found.append(path)
    return found


def test_the_shell_scripts_are_found():
    names = {p.relative_to(DEPLOY).as_posix() for p in shell_scripts()}
    assert {"image/install.sh", "image/system-setup.sh", "image/stage-trapd/prerun.sh",
            "image/stage-trapd/00-trapd/01-run.sh", "image/trapd-wrapper.sh"} <= names


@pytest.mark.parametrize("script", shell_scripts(), ids=lambda p: p.relative_to(DEPLOY).as_posix())
def test_shell_script_parses(script):
    shell = "sh" if script.read_bytes().startswith(b"#!/bin/sh") else "bash"
    subprocess.run([shell, "-n", str(script)], check=True, timeout=60)


@pytest.mark.parametrize("script", shell_scripts(), ids=lambda p: p.relative_to(DEPLOY).as_posix())
def test_shell_script_is_shellcheck_clean(script):
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (Debian package shellcheck; scripts/bootstrap.sh installs it)")
    result = subprocess.run(["shellcheck", "-x", str(script.relative_to(ROOT))], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pi_gen_stage_has_what_pi_gen_runs():
    stage = IMAGE / "stage-trapd"
    for script in (stage / "prerun.sh", stage / "00-trapd" / "01-run.sh", INSTALL):
        assert os.access(script, os.X_OK), f"{script} must be executable (pi-gen runs it directly)"
    packages = (stage / "00-trapd" / "00-packages-nr").read_text().split()
    assert {"python3-picamera2", "python3-libcamera", "python3-venv", "mosquitto-clients"} <= set(packages)
    assert {"network-manager", "dnsmasq-base", "avahi-daemon"} <= set(packages)  # the ranger's hotspot and name
    assert 'IMG_SUFFIX="-trapd"' in (stage / "EXPORT_IMAGE").read_text()


# -- install.sh into a temporary root ------------------------------------------------------------------------------
def as_unprivileged() -> list[str]:
    """A command prefix that drops root (install --root must not need it); nothing when already unprivileged."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv (util-linux) is missing: cannot drop privileges")
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


@pytest.fixture
def target_root() -> Iterator[Path]:
    """An empty folder standing for a Pi's root file system, with the boot files pi-gen's stage1 makes."""
    root = Path(tempfile.mkdtemp(prefix="trapd-root-"))  # not under pytest's 0700 tmp: nobody must enter it
    (root / "boot" / "firmware").mkdir(parents=True)
    (root / "boot" / "firmware" / "cmdline.txt").write_text(
        "console=serial0,115200 console=tty1 root=PARTUUID=0b7c0b6c-02 rootfstype=ext4 fsck.repair=yes rootwait\n")
    (root / "boot" / "firmware" / "config.txt").write_text("camera_auto_detect=1\n\n[all]\n")
    (root / "etc").mkdir()
    (root / "etc" / "fstab").write_text("proc /proc proc defaults 0 0\n"
                                        "PARTUUID=0b7c0b6c-01 /boot/firmware vfat defaults 0 2\n"
                                        "PARTUUID=0b7c0b6c-02 / ext4 defaults 0 1\n")
    if os.geteuid() == 0:
        for path in [root, *root.rglob("*")]:
            os.chown(path, NOBODY, NOBODY)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without PYTHONPATH: the installed venv must find trapd on its own."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return {**env, **extra}


def install(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = clean_env(HOME=str(root))  # pip must not write to the real home
    return subprocess.run([*as_unprivileged(), "bash", str(INSTALL), "--root", str(root), *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_install_lays_out_a_station_where_the_units_expect_it(target_root):
    result = install(target_root, "--no-venv", "--data-label", "trapd-data")
    assert result.returncode == 0, result.stderr
    unit = target_root / "etc/systemd/system/trapd.service"
    assert unit.read_text() == (DEPLOY / "systemd/trapd.service").read_text()
    for name in ("trapd.service", "trapd-firstboot.service"):
        wanted = target_root / "etc/systemd/system/multi-user.target.wants" / name
        assert os.readlink(wanted) == f"/etc/systemd/system/{name}"
    config = load_config(target_root / "etc/trapd/station.toml")  # the path in ExecStart
    assert "/etc/trapd/station.toml" in unit_values("trapd.service", "ExecStart")[0]
    assert str(config.data_dir) in unit_values("trapd.service", "ReadWritePaths")[0].split()
    assert (target_root / config.data_dir.relative_to("/")).is_dir()
    assert (target_root / unit_values("trapd.service", "WorkingDirectory")[0].lstrip("/")).is_dir()
    assert (target_root / "opt/trapd/station/daemon/service.py").is_file()  # the source the venv installs (editable)
    assert (target_root / "etc/systemd/journald.conf.d/trapd.conf").read_text().count("Storage=volatile") == 1
    assert os.access(target_root / "usr/local/bin/trapd", os.X_OK)
    assert (target_root / "boot/firmware/trapd-provision.example.toml").is_file()
    polkit_rule = target_root / "etc/polkit-1/rules.d/50-trapd-hotspot.rules"  # the ranger's hotspot switch
    assert polkit_rule.read_text() == (DEPLOY / "polkit/50-trapd-hotspot.rules").read_text()


def test_install_configures_uart_fstab_and_services_once_however_often_it_runs(target_root):
    for _ in range(2):
        result = install(target_root, "--no-venv", "--data-label", "trapd-data")
        assert result.returncode == 0, result.stderr
    config_txt = (target_root / "boot/firmware/config.txt").read_text()
    assert config_txt.startswith("camera_auto_detect=1") and config_txt.count("enable_uart=1") == 1
    assert "dtoverlay=disable-bt" in config_txt
    cmdline = (target_root / "boot/firmware/cmdline.txt").read_text()
    assert "console=serial0" not in cmdline and cmdline.startswith("console=tty1 root=") and cmdline.count("\n") == 1
    fstab = [line.split() for line in (target_root / "etc/fstab").read_text().splitlines()
             if line and not line.startswith("#")]
    by_mount = {fields[1]: fields for fields in fstab}
    assert len(fstab) == len(by_mount) == 5  # proc, boot, root, /tmp, data: nothing added twice
    assert "noatime" in by_mount["/"][3].split(",") and by_mount["/tmp"][2] == "tmpfs"
    assert by_mount["/var/lib/trapd"][0] == "LABEL=trapd-data" and "nofail" in by_mount["/var/lib/trapd"][3]
    assert os.readlink(target_root / "etc/systemd/system/hciuart.service") == "/dev/null"


def test_install_keeps_a_provisioned_config(target_root):
    assert install(target_root, "--no-venv").returncode == 0
    config = target_root / "etc/trapd/station.toml"
    config.write_text('[station]\nid = "llnp-0412"\n')
    assert install(target_root, "--no-venv").returncode == 0
    assert tomllib.loads(config.read_text())["station"]["id"] == "llnp-0412"


def test_install_into_the_running_system_needs_root():
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv (util-linux) is missing: cannot drop privileges")
    prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if os.geteuid() == 0 else []
    result = subprocess.run([*prefix, "bash", str(INSTALL), "--no-venv"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "needs root" in result.stderr


def debian_python_or_skip() -> Path:
    probe = "import ensurepip, setuptools, wheel"
    if not DEBIAN_PYTHON.exists() or subprocess.run([DEBIAN_PYTHON, "-c", probe], capture_output=True).returncode:
        pytest.skip(f"{DEBIAN_PYTHON} with venv, setuptools and wheel is needed "
                    "(Debian packages python3-venv python3-setuptools python3-wheel)")
    return DEBIAN_PYTHON


def test_install_makes_a_venv_with_system_packages_that_runs_trapd(target_root, tmp_path):
    python = debian_python_or_skip()
    # Offline: only trapd itself is installed; running it borrows click from this venv below.
    result = install(target_root, "--python", str(python), "--pip-args", "--no-deps --no-index --no-build-isolation",
                     timeout=600)
    assert result.returncode == 0, result.stderr
    venv = target_root / "opt/trapd/.venv"
    assert "include-system-site-packages = true" in (venv / "pyvenv.cfg").read_text()
    assert unit_values("trapd.service", "ExecStart")[0].split()[0] == "/opt/trapd/.venv/bin/trapd"
    trapd = venv / "bin" / "trapd"
    assert trapd.read_text().startswith(f"#!{venv}/bin/python")
    where = subprocess.run([venv / "bin/python", "-c", "import station.vision.bundled as b; print(b.bundled_card())"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120, env=clean_env())
    assert where.stdout.strip() == str(target_root / "opt/trapd/models/pipeline/trapd-pipeline-v1.toml"), where.stderr
    import click

    (tmp_path / "deps").mkdir()
    (tmp_path / "deps" / "click").symlink_to(Path(click.__file__).parent)
    version = subprocess.run([trapd, "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                             env=clean_env(PYTHONPATH=str(tmp_path / "deps")))
    assert version.returncode == 0 and version.stdout.startswith("trapd, version"), version.stderr
