"""deploy/image/check-wheels.py: the wheel tags and requirements it asks pip about for each Pi OS, and (slow,
needs PyPI) the resolution itself: Bookworm stays on numpy 1.24.2 with ml_dtypes 0.5.4, 32-bit has no wheels."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "deploy" / "image" / "check-wheels.py"


@pytest.fixture(scope="module")
def wheels():
    spec = importlib.util.spec_from_file_location("check_wheels", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def target(wheels, name):
    return next(t for t in wheels.TARGETS if t.name == name)


def test_every_glibc_tag_up_to_the_targets_is_offered(wheels):
    tags = wheels.platforms(target(wheels, "bookworm-arm64"))
    assert tags[0] == "manylinux_2_36_aarch64" and "manylinux_2_27_aarch64" in tags  # LiteRT's tag
    assert "manylinux_2_37_aarch64" not in tags and {"manylinux2014_aarch64", "linux_aarch64"} <= set(tags)


def test_trapds_markers_are_evaluated_for_the_target_not_this_machine(wheels):
    arm64 = wheels.requirements(target(wheels, "bookworm-arm64"))
    armhf = wheels.requirements(target(wheels, "bookworm-armhf"))
    assert any(r.startswith("ai-edge-litert") for r in arm64)
    assert not any(r.startswith("ai-edge-litert") for r in armhf)  # no 32-bit wheels: not even asked for
    assert all(";" not in r for r in arm64 + armhf)


@pytest.mark.slow
def test_pip_resolves_every_supported_pi_os_and_no_32_bit_one():
    done = subprocess.run([sys.executable, str(SCRIPT), "--json"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(done.stdout)
    bookworm, trixie = results["bookworm-arm64"]["versions"], results["trixie-arm64"]["versions"]
    assert (bookworm["numpy"], bookworm["ml-dtypes"]) == ("1.24.2", "0.5.4")
    assert trixie["numpy"] == "2.2.4"
    assert int(results["bookworm-arm64-unpinned"]["versions"]["numpy"].split(".")[0]) >= 2  # the trap
    assert {"numpy", "pillow", "ai-edge-litert"} <= set(results["bookworm-armhf"]["no_wheels"])
