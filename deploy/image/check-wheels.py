#!/usr/bin/env python3
"""Check that pip finds wheels for trapd's dependencies on every Raspberry Pi OS, without a Pi.

For each target (OS release x userland architecture) this evaluates pyproject.toml's dependency markers for
that target, then asks pip to resolve them as the target's venv would, with the OS's own numpy pinned
exactly as install.sh pins it:

    pip install --dry-run --ignore-installed --only-binary=:all: --report FILE \\
        --python-version 3.11 --implementation cp --abi cp311 \\
        --platform manylinux_2_36_aarch64 ... --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64

pip does not widen a ``manylinux_2_NN`` platform to older glibc versions, so every one from 2_17 up to the
target's glibc is passed (LiteRT's wheels are tagged manylinux_2_27; manylinux2014 alone finds none).

    deploy/image/check-wheels.py                 every target, a Markdown table on stdout
    deploy/image/check-wheels.py --json          the same as JSON
    deploy/image/check-wheels.py bookworm-arm64  one target

Needs network access to PyPI (it runs pip with --isolated: no local config, indexes or constraints) and the
``packaging`` library (pip's own dependency). Markers of indirect dependencies are evaluated by pip for the
machine running this script, not for the target; trapd's own markers are evaluated for the target here.
Exit status: 0 when every supported target resolves and every unsupported one fails as documented.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
WATCHED = ("numpy", "ml-dtypes", "ai-edge-litert", "pillow", "pydantic-core")
#: When a target does not resolve: which of these have no wheel for it at all (tflite-runtime is LiteRT's
#: predecessor, the only TFLite runtime that ever had 32-bit ARM wheels).
ESSENTIAL = ("numpy", "pillow", "ai-edge-litert", "tflite-runtime")


@dataclasses.dataclass(frozen=True)
class Target:
    name: str
    os: str
    python: str  # CPython major.minor of the OS
    glibc: tuple[int, int]
    machine: str  # the userland's wheel architecture
    os_numpy: str | None  # the OS's python3-numpy, which picamera2/simplejpeg are built against
    supported: bool


TARGETS = (
    Target("bookworm-arm64", "Raspberry Pi OS 12 Bookworm (64-bit)", "3.11", (2, 36), "aarch64", "1.24.2", True),
    Target("trixie-arm64", "Raspberry Pi OS 13 Trixie (64-bit)", "3.13", (2, 41), "aarch64", "2.2.4", True),
    Target("bookworm-arm64-unpinned", "Bookworm 64-bit without the numpy pin (what broke picamera2)", "3.11",
           (2, 36), "aarch64", None, True),
    Target("bookworm-armhf", "Raspberry Pi OS 12 Bookworm (32-bit)", "3.11", (2, 36), "armv7l", "1.24.2", False),
    Target("trixie-armhf", "Raspberry Pi OS 13 Trixie (32-bit)", "3.13", (2, 41), "armv7l", "2.2.4", False),
)


def platforms(target: Target) -> list[str]:
    """Every wheel platform tag the target's pip would accept, newest glibc first."""
    major, minor = target.glibc
    tags = [f"manylinux_{major}_{m}_{target.machine}" for m in range(minor, 16, -1)]
    return [*tags, f"manylinux2014_{target.machine}", f"linux_{target.machine}"]


def requirements(target: Target, pyproject: Path = PYPROJECT) -> list[str]:
    """trapd's dependencies that apply on the target, markers evaluated for it and removed."""
    environment = default_environment()
    environment.update(platform_machine=target.machine, python_version=target.python,
                       python_full_version=f"{target.python}.0", sys_platform="linux", platform_system="Linux",
                       implementation_name="cpython", platform_python_implementation="CPython")
    found = []
    for line in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            requirement.marker = None
            found.append(str(requirement))
    return found


def target_args(target: Target) -> list[str]:
    abi = "cp" + target.python.replace(".", "")
    return ["--python-version", target.python, "--implementation", "cp", "--abi", abi,
            *(arg for tag in platforms(target) for arg in ("--platform", tag))]


def dry_run(pip: list[str], target: Target, *args: str) -> subprocess.CompletedProcess:
    command = [*pip, "--isolated", "install", "--dry-run", "--ignore-installed", "--only-binary=:all:", "--quiet",
               *target_args(target), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def missing_wheels(target: Target, pip: list[str]) -> list[str]:
    """The essential packages that have no wheel at all for the target (any version, dependencies aside)."""
    return [name for name in ESSENTIAL if dry_run(pip, target, "--no-deps", name).returncode != 0]


def resolve(target: Target, pip: list[str]) -> dict:
    """pip's dry-run report for the target: the versions it would install, or the reason it cannot."""
    with tempfile.TemporaryDirectory(prefix="trapd-wheels-") as work:
        report = Path(work) / "report.json"
        constraints = Path(work) / "os-constraints.txt"
        constraints.write_text(f"numpy=={target.os_numpy}\n" if target.os_numpy else "")
        done = dry_run(pip, target, "--report", str(report), "--constraint", str(constraints), *requirements(target))
        if done.returncode != 0:
            return {"resolves": False, "error": _last_error(done.stderr), "no_wheels": missing_wheels(target, pip)}
        installs = json.loads(report.read_text())["install"]
    versions = {canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"] for item in installs}
    return {"resolves": True, "versions": {name: versions.get(name) for name in WATCHED}}


def _last_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip().startswith("ERROR")]
    return lines[0] if lines else stderr.strip().splitlines()[-1] if stderr.strip() else "pip failed"


def as_markdown(results: dict[str, dict]) -> str:
    head = "| target | Python | expected | resolves | " + " | ".join(WATCHED) + " |"
    rows = [head, "|" + "---|" * (4 + len(WATCHED))]
    for target in TARGETS:
        if target.name not in results:
            continue
        result = results[target.name]
        versions = result.get("versions", {})
        cells = [versions.get(name) or "-" for name in WATCHED]
        state = "yes" if result["resolves"] else "no: no wheels of " + ", ".join(result["no_wheels"])
        expected = "supported" if target.supported else "unsupported"
        rows.append(f"| {target.name} | {target.python} | {expected} | {state} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def as_expected(target: Target, result: dict) -> bool:
    """Supported targets resolve on the OS's numpy; unsupported ones must fail (no wheels)."""
    if not target.supported:
        return not result["resolves"]
    if not result["resolves"]:
        return False
    return target.os_numpy is None or result["versions"]["numpy"] == target.os_numpy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET",
                        help="targets to check (default: all): " + ", ".join(t.name for t in TARGETS))
    parser.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    parser.add_argument("--pip", default=f"{sys.executable} -m pip", help="the pip to run (default: this Python's)")
    args = parser.parse_args(argv)
    unknown = set(args.targets) - {t.name for t in TARGETS}
    if unknown:
        parser.error(f"unknown target(s): {', '.join(sorted(unknown))}")
    chosen = [t for t in TARGETS if not args.targets or t.name in args.targets]
    results = {t.name: resolve(t, args.pip.split()) for t in chosen}
    print(json.dumps(results, indent=2) if args.json else as_markdown(results))
    return 0 if all(as_expected(t, results[t.name]) for t in chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
