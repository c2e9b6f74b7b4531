"""install.sh in debootstrapped Debian roots, inside a chroot as pi-gen's stage runs it (slow: `make soak`).

- Bookworm (amd64 here; the same packages as Raspberry Pi OS 12): python3-numpy 1.24 and python3-bottleneck,
  a compiled extension built against it, stand in for picamera2 and simplejpeg. The stage's own 01-run.sh
  installs trapd from PyPI into the venv, then sysusers and tmpfiles run in the chroot (the step that
  exited 73). The venv must keep the OS's numpy, bottleneck must import, and the int8 model must give the
  same scores as this machine's venv.
- Bookworm i386: a 32-bit userland on a 64-bit kernel (uname says x86_64), as 32-bit Pi OS on a Pi 4/5
  (uname says aarch64): install.sh and trapd refuse it with one message.

The roots are cached in .cache/roots/ (gitignored) and built when absent (about a minute each from the
Debian mirror); installing into the venv needs PyPI. Each test works on a copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.debian_roots import copy_root, debootstrap_root

STAGE = ROOT / "deploy" / "image" / "stage-trapd" / "00-trapd"
BOOKWORM_PACKAGES = ("systemd", "python3-venv", "python3-numpy", "python3-bottleneck", "ca-certificates")
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # Debian's pip trusts the system bundle
PIP_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1"}
# pi-gen's on_chroot runs a script on stdin in the image's root, with /proc mounted (the fixture mounts it;
# pi-gen also binds /dev and /sys, which the install does not need and a test should not risk).
ON_CHROOT = 'on_chroot() { chroot "${ROOTFS_DIR}" /bin/bash -e; }\n'
SCORES = """
import json, sys
import numpy
from station.hardware.scenes import Scene, render
from station.vision.bundled import bundled_card
from station.vision.classifier import Classifier
classifier = Classifier.from_card_file(bundled_card(), threads=1)
subjects = ("amur_tiger", "amur_leopard", "wild_boar", "human", "blank")
scores = {s: classifier.classify(render(Scene(subject=s, night=n), (320, 240))) for s in subjects for n in (False,)}
print(json.dumps({"numpy": numpy.__version__, "numpy_file": numpy.__file__, "scores": scores}))
"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="debootstrap and chroot need root"),
]


def cached_root(name: str, **kwargs) -> Path:
    try:
        return debootstrap_root(name, **kwargs)
    except RuntimeError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="trapd-debian-"))
    try:
        yield folder
    finally:
        if not os.path.ismount(folder / "root" / "proc"):
            shutil.rmtree(folder, ignore_errors=True)


def in_root(root: Path, *command: str, user: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    userspec = [f"--userspec={user}:{user}"] if user else []
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": "/root", "LANG": "C.UTF-8", **PIP_ENV}
    return subprocess.run(["chroot", *userspec, str(root), *command], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd="/")


def run_stage(root: Path) -> subprocess.CompletedProcess:
    """pi-gen's stage step 01-run.sh, with ROOTFS_DIR and on_chroot as pi-gen provides them."""
    script = ON_CHROOT + (STAGE / "01-run.sh").read_text()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))},
           "ROOTFS_DIR": str(root), "TRAPD_SOURCE": str(ROOT), **PIP_ENV}
    return subprocess.run(["bash", "-e", "-c", script], cwd=STAGE, env=env, capture_output=True, text=True,
                          timeout=1800)


@pytest.fixture
def bookworm(scratch: Path) -> Iterator[Path]:
    root = copy_root(cached_root("bookworm-pi", include=BOOKWORM_PACKAGES), scratch / "root")
    (root / "boot" / "firmware").mkdir(parents=True, exist_ok=True)
    (root / "boot" / "firmware" / "config.txt").write_text("camera_auto_detect=1\n")
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")  # pip in the chroot reaches PyPI...
    shutil.copy(HOST_CA_BUNDLE, root / HOST_CA_BUNDLE.lstrip("/"))  # ...through this machine's proxy, if any
    if subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], capture_output=True).returncode:
        pytest.skip("cannot mount /proc for the chroot (systemd-tmpfiles needs it, as under pi-gen)")
    try:
        yield root
    finally:
        subprocess.run(["umount", "--lazy", str(root / "proc")], check=True)


def test_bookworm_image_step_keeps_the_os_numpy_applies_owners_and_runs_the_int8_model(bookworm):
    root = bookworm
    # The trap first: without a pin, pip would put numpy 2 into the venv over the OS's 1.24.
    assert in_root(root, "python3", "-m", "venv", "--system-site-packages", "/tmp/probe").returncode == 0
    unpinned = in_root(root, "/tmp/probe/bin/pip", "install", "--dry-run", "--quiet", "--report", "-",
                       "ai-edge-litert>=2.0", timeout=600)
    assert unpinned.returncode == 0, unpinned.stderr
    would = {i["metadata"]["name"]: i["metadata"]["version"] for i in json.loads(unpinned.stdout)["install"]}
    assert int(would["numpy"].split(".")[0]) >= 2

    stage = run_stage(root)
    assert stage.returncode == 0, stage.stderr[-3000:]
    assert "unsafe path transition" not in stage.stderr
    sshd = STAGE / "files" / "sshd-trapd.conf"
    assert (root / "etc/ssh/sshd_config.d/10-trapd.conf").read_text() == sshd.read_text()  # keys only
    venv = "/opt/trapd/.venv/bin/python"
    assert (root / "opt/trapd/os-constraints.txt").read_text() == "numpy==1.24.2\n"
    imports = in_root(root, venv, "-c", "import numpy, bottleneck, ml_dtypes, ai_edge_litert, PIL; "
                      "print(numpy.__version__, numpy.__file__, bottleneck.__version__, ml_dtypes.__version__)")
    assert imports.returncode == 0, imports.stderr
    numpy_version, numpy_file, _, ml_dtypes_version = imports.stdout.split()
    assert numpy_version == "1.24.2" and numpy_file.startswith("/usr/lib/python3/dist-packages/")
    assert ml_dtypes_version.startswith("0.5.")

    station = in_root(root, venv, "-c", SCORES, user="trapd", timeout=600)
    assert station.returncode == 0, station.stderr
    here = subprocess.run([sys.executable, "-c", SCORES], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert here.returncode == 0, here.stderr
    pi, host = json.loads(station.stdout), json.loads(here.stdout)
    assert pi["scores"] == host["scores"], (pi["numpy"], host["numpy"])  # same int8 outputs on numpy 1.24 and 2
    assert max(pi["scores"]["amur_tiger"], key=pi["scores"]["amur_tiger"].get) == "amur_tiger"

    owners = in_root(root, "stat", "-c", "%a %U %G %n", "/etc/trapd", "/etc/trapd/station.toml", "/etc/trapd/tls",
                     "/var/lib/trapd")
    assert owners.stdout.splitlines() == ["1770 root trapd /etc/trapd", "600 trapd trapd /etc/trapd/station.toml",
                                          "750 root trapd /etc/trapd/tls", "750 trapd trapd /var/lib/trapd"]
    check = in_root(root, "/usr/local/bin/trapd", "model", "check",
                    "/opt/trapd/models/pipeline/trapd-pipeline-v1.toml", user="trapd", timeout=600)
    assert check.returncode == 0 and "the station can load this model" in check.stdout, check.stdout + check.stderr
    units = ["/etc/systemd/system/trapd.service", "/etc/systemd/system/trapd-firstboot.service"]
    verify = subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={root}", *units],
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0 and verify.stdout + verify.stderr == "", verify.stdout + verify.stderr
    config = in_root(root, venv, "-c", "from pathlib import Path; from station.config.load import load_config; "
                     "print(load_config(Path('/etc/trapd/station.toml')).station.id)", user="trapd")
    assert config.stdout.strip() == "unprovisioned", config.stderr  # was: exit 2, "not readable"
    print(f"\nbookworm venv: numpy {numpy_version} ({numpy_file}), ml_dtypes {ml_dtypes_version}; "
          f"unpinned pip would install numpy {would['numpy']}, ml_dtypes {would.get('ml_dtypes')}; "
          f"host numpy {host['numpy']}; tiger scores {pi['scores']['amur_tiger']}")


def test_a_32_bit_userland_on_a_64_bit_kernel_is_refused_plainly(scratch):
    root = copy_root(cached_root("bookworm-i386", arch="i386", include=("python3",)), scratch / "root")
    probe = in_root(root, "python3", "-c", "import platform, struct; print(platform.machine(), struct.calcsize('P'))")
    if probe.returncode != 0:
        pytest.skip(f"this kernel cannot run i386 programs: {probe.stderr.strip()[:200]}")
    assert probe.stdout.split() == [os.uname().machine, "4"]  # the kernel's name, a 32-bit userland
    shutil.copytree(ROOT / "deploy", root / "tmp/trapd-src/deploy")
    shutil.copytree(ROOT / "station", root / "tmp/trapd-src/station", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "tmp/trapd-src/pyproject.toml")
    install = in_root(root, "bash", "/tmp/trapd-src/deploy/image/install.sh", "--source", "/tmp/trapd-src")
    assert install.returncode == 1
    assert "32-bit Raspberry Pi OS is not supported" in install.stderr and "(dpkg architecture: i386)" in install.stderr
    assert not (root / "opt/trapd").exists()  # refused before anything was written
    daemon = in_root(root, "python3", "-c", "import sys; sys.path.insert(0, '/tmp/trapd-src'); "
                     "from station.vision.runtime import interpreter_class; interpreter_class()")
    assert "32-bit Raspberry Pi OS is not supported" in daemon.stderr and "(this Python is 32-bit)" in daemon.stderr
