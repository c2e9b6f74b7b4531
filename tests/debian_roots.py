"""Real Debian root file systems for install tests: a cheap one from Debian's own base user tables, and
debootstrapped ones cached under .cache/roots/ (gitignored), built by the first test that needs them.

A debootstrap takes about a minute with a warm mirror, so the tests that need one are marked ``slow``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT

ROOTS_DIR = ROOT / ".cache" / "roots"
BASE_PASSWD = Path("/usr/share/base-passwd")  # Debian's base-passwd: the users and groups every install has
MIRROR = "http://deb.debian.org/debian"


def pi_boot_files(root: Path) -> None:
    """The boot partition and fstab pi-gen's stage1 makes."""
    boot = root / "boot" / "firmware"
    boot.mkdir(parents=True, exist_ok=True)
    (boot / "cmdline.txt").write_text(
        "console=serial0,115200 console=tty1 root=PARTUUID=0b7c0b6c-02 rootfstype=ext4 fsck.repair=yes rootwait\n")
    (boot / "config.txt").write_text("camera_auto_detect=1\n\n[all]\n")
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc" / "fstab").write_text("proc /proc proc defaults 0 0\n"
                                        "PARTUUID=0b7c0b6c-01 /boot/firmware vfat defaults 0 2\n"
                                        "PARTUUID=0b7c0b6c-02 / ext4 defaults 0 1\n")


def base_passwd_root(root: Path) -> Path | None:
    """``root`` with Debian's base users and groups (passwd, group, shadow, gshadow), or None without base-passwd."""
    if not (BASE_PASSWD / "passwd.master").is_file():
        return None
    etc = root / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    passwd = (BASE_PASSWD / "passwd.master").read_text()
    group = (BASE_PASSWD / "group.master").read_text()
    (etc / "passwd").write_text(passwd)
    (etc / "group").write_text(group)
    (etc / "shadow").write_text("".join(f"{line.split(':')[0]}:*:19000:0:99999:7:::\n" for line in passwd.splitlines()))
    (etc / "gshadow").write_text("".join(f"{line.split(':')[0]}:*::\n" for line in group.splitlines()))
    for name in ("shadow", "gshadow"):
        (etc / name).chmod(0o640)
    pi_boot_files(root)
    return root


def debootstrap_root(name: str, *, suite: str = "bookworm", arch: str | None = None,
                     include: tuple[str, ...] = ()) -> Path:
    """A debootstrapped ``suite`` root in .cache/roots/NAME, built once (about a minute) and reused.

    Raises RuntimeError with the reason when it cannot be built (no debootstrap, not root, no mirror).
    """
    target = ROOTS_DIR / name
    if (target / ".complete").exists():
        return target
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is not installed (Debian package debootstrap; scripts/bootstrap.sh)")
    if os.geteuid() != 0:
        raise RuntimeError("debootstrap needs root")
    ROOTS_DIR.mkdir(parents=True, exist_ok=True)
    with open(ROOTS_DIR / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".complete").exists():
            return target
        shutil.rmtree(target, ignore_errors=True)
        command = ["nice", "-n", "10", "debootstrap", "--variant=minbase", *([f"--arch={arch}"] if arch else []),
                   *([f"--include={','.join(include)}"] if include else []), suite, str(target), MIRROR]
        done = subprocess.run(command, capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            shutil.rmtree(target, ignore_errors=True)
            raise RuntimeError(f"debootstrap {suite} failed: {done.stdout[-600:]}{done.stderr[-600:]}")
        (target / ".complete").write_text(" ".join(command) + "\n")
    return target


def copy_root(source: Path, destination: Path) -> Path:
    """A throw-away copy of a cached root (owners, modes and links kept)."""
    subprocess.run(["cp", "-a", f"{source}/.", str(destination)], check=True, timeout=300)
    return destination


def user_ids(root: Path, name: str) -> tuple[int, int, list[int]]:
    """uid, gid and supplementary gids of user NAME as ROOT's own passwd and group files say."""
    users = {f[0]: f for f in (line.split(":") for line in (root / "etc/passwd").read_text().splitlines())}
    groups = [line.split(":") for line in (root / "etc/group").read_text().splitlines()]
    uid, gid = int(users[name][2]), int(users[name][3])
    return uid, gid, [int(g[2]) for g in groups if name in g[3].split(",")]


def as_user(root: Path, name: str) -> list[str]:
    """A setpriv prefix that runs a host command with the ids ROOT gives user NAME (no chroot needed)."""
    uid, gid, extra = user_ids(root, name)
    groups = ",".join(map(str, [gid, *extra]))
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", f"--groups={groups}"]
