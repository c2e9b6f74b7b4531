"""The command line as a technician meets it: help everywhere, clear errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from station.cli.main import main
from tests.conftest import ROOT, all_commands


@pytest.mark.parametrize("name,command", all_commands(main, "trapd"), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_has_help_and_is_in_the_readme(name, command):
    assert command.help and len(command.help.strip()) > 20, f"{name} has no help text"
    result = CliRunner().invoke(main, name.split()[1:] + ["--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
    assert f"`{name}" in (ROOT / "README.md").read_text(), f"{name} is not documented in README.md"


def trapd(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "station", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_init_writes_a_config_that_validates(tmp_path):
    assert trapd("init", cwd=tmp_path).returncode == 0
    text = (tmp_path / "station.toml").read_text()
    assert "[station]" in text and "# Frames captured per trigger." in text
    again = trapd("init", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr


@pytest.mark.parametrize("mistake,expected", [
    ("[capture]\nburst_frames = 0\n", "capture.burst_frames: Input should be greater than or equal to 1"),
    ("[camera]\nwidht = 640\n", "camera.widht: unknown key"),
    ("[hardware]\ncamera = \"webcam\"\n", "hardware.camera: Input should be 'simulated', 'replay' or 'picamera2'"),
    ("[station\n", "not valid TOML"),
    ("[station]\nid = \"Bad Id!\"\n", "station.id: String should match pattern"),
])
def test_config_mistakes_give_one_clear_message_and_exit_2(tmp_path, mistake, expected):
    (tmp_path / "station.toml").write_text(mistake)
    result = trapd("status", "-c", "station.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"station.toml: {expected}" in result.stderr


def test_missing_config_says_how_to_make_one(tmp_path):
    result = trapd("run", "-c", "nowhere.toml", cwd=tmp_path)
    assert result.returncode == 2 and "trapd init nowhere.toml" in result.stderr


def test_unsupported_hardware_fails_at_start_without_falling_back(tmp_path):
    head = '[station]\nid = "cli-station"\n[hardware]\ntrigger = "simulated"\nilluminator = "none"\n'
    (tmp_path / "station.toml").write_text(head + "camera = \"replay\"\n[mqtt]\nenabled = false\n")
    result = trapd("run", "-c", "station.toml", cwd=tmp_path)
    assert result.returncode == 2 and "camera.replay_dir: required" in result.stderr
    (tmp_path / "station.toml").write_text(head + "camera = \"picamera2\"\n[mqtt]\nenabled = false\n")
    result = trapd("run", "-c", "station.toml", cwd=tmp_path)
    # the toy pipeline model would decide a real camera's photos: a config mistake, said in one line
    assert result.returncode == 2 and "model.allow_non_field: trapd-pipeline-v1 1.0.0 is not a field model" in \
        result.stderr and "Traceback" not in result.stderr
    (tmp_path / "station.toml").write_text(head + "camera = \"picamera2\"\n[model]\nallow_non_field = true\n"
                                           "[mqtt]\nenabled = false\n")
    result = trapd("run", "-c", "station.toml", cwd=tmp_path)
    assert result.returncode == 1 and "picamera2 is not importable" in result.stderr
    assert "Traceback" not in result.stderr


def test_schema_command_matches_committed_schema(tmp_path):
    assert trapd("schema", "--out", str(tmp_path), cwd=ROOT).returncode == 0
    for generated in tmp_path.glob("*.json"):
        committed = ROOT / "docs" / "schema" / generated.name
        assert committed.read_text() == generated.read_text(), f"run `trapd schema` and commit {committed}"
    assert json.loads((tmp_path / "detection.schema.json").read_text())["title"] == "DetectionMessage"
