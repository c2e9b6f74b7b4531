"""Issue 14, items 1, 6, 7, 8: config-file mistakes and attacks give one line and exit 2 (never a traceback),
and a station whose file broke starts on its last-known-good copy, loudly."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from station.cli.main import main
from station.config.edit import good_copy, set_key
from station.config.file import default_config_text
from station.fsutil import write_atomic
from tests.conftest import wait_until

GOOD = {"station": {"id": "cfg-st", "data_dir": "data"}, "mqtt": {"enabled": False},
        "capture": {"burst_interval_s": 0.02}, "camera": {"width": 320, "height": 240}}


def trapd(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "station", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def one_clear_line(stderr: str) -> bool:
    return "Traceback" not in stderr and len([line for line in stderr.splitlines() if line.strip()]) <= 3


@contextlib.contextmanager
def read_only_folder(path: Path):
    path.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); run as root")
    try:
        (path / "data").mkdir()
        subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)
        yield path / "data"
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_an_empty_station_toml_does_not_run_a_simulated_demo_station(tmp_path):
    """Item 7."""
    (tmp_path / "station.toml").write_text("")
    result = trapd("run", "-c", "station.toml", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    for key in ("station.id", "hardware.camera", "hardware.trigger"):
        assert f"station.toml: {key}: Field required" in result.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("section,line,expected", [
    ("mqtt", 'host = "broker..example.org"', "mqtt.host: Value error, 'broker..example.org' is not a host name"),
    ("mqtt", 'topic_root = "' + "a" * 70_000 + '"', "mqtt.topic_root: String should have at most 128"),
    ("mqtt", 'topic_root = "camtrap//v1"', "mqtt.topic_root: Value error, must be 1 to 8 levels"),
    ("capture", 'burst_frames = "3"', "capture.burst_frames: Input should be a valid integer"),
    ("capture", "burst_frames = true", "capture.burst_frames: Input should be a valid integer"),
    ("station", 'park = "LLNP\\u007f"', "station.park: control character U+007F not allowed"),
    ("web", 'port = "8080"', "web.port: Input should be a valid integer"),
])
def test_typos_and_attacks_in_the_file_are_refused_at_load(tmp_path, section, line, expected):
    """Items 6 and 8: a bad host name or a 70,000-character topic root passed validation and the link
    died later; "3" and true were taken for 3."""
    sections = {"station": ['id = "cfg-st"'], "hardware": ['camera = "simulated"', 'trigger = "simulated"',
                                                          'illuminator = "none"']}
    sections.setdefault(section, []).append(line)
    text = "".join(f"[{name}]\n" + "\n".join(lines) + "\n" for name, lines in sections.items())
    (tmp_path / "station.toml").write_text(text)
    result = CliRunner().invoke(main, ["status", "-c", str(tmp_path / "station.toml")])
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output


MISTAKES = ["unwritable", "is a file", "NUL", "nested 5000 deep", "5000 digits"]
COMMANDS = [["run"], ["status"], ["selftest"], ["detections"], ["store", "recover"],
            ["export", "--camtrap-dp", "--out", "pkg", "--no-validate"], ["web", "passwd", "--password-stdin"]]


def _write_mistake(folder: Path, mistake: str, read_only: Path | None) -> Path:
    overrides = {name: dict(values) for name, values in GOOD.items()}
    extra = ""
    if mistake == "unwritable":
        overrides["station"]["data_dir"] = str(read_only)
    elif mistake == "is a file":
        (folder / "afile").write_text("not a folder")
        overrides["station"]["data_dir"] = "afile"
    elif mistake == "NUL":
        overrides["station"]["data_dir"] = "da\x00ta"
    elif mistake == "nested 5000 deep":
        extra = "[model]\nx = " + "[" * 5000 + "]" * 5000 + "\n"
    elif mistake == "5000 digits":
        extra = "[queues]\nframes = " + "9" * 5000 + "\n"
    text = default_config_text(overrides).replace("\\u0000", "\\u0000")
    path = folder / "station.toml"
    path.write_text(text + extra)
    return path


@pytest.mark.skipif(os.geteuid() != 0, reason="a read-only data folder needs a tmpfs mount (root)")
@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_command_answers_a_config_mistake_with_one_line_and_exit_2(tmp_path, mistake):
    """Item 8: a traceback and exit 1 for an unwritable data_dir, a data_dir that is a file, a NUL in it,
    arrays nested 5,000 deep, a 5,000-digit integer."""
    with read_only_folder(tmp_path / "ro") as read_only:
        path = _write_mistake(tmp_path, mistake, read_only)
        for command in COMMANDS:
            args = [*command[:2], "-c", str(path), *command[2:]] if command[0] in ("store", "web") else \
                [command[0], "-c", str(path), *command[1:]]
            result = CliRunner().invoke(main, args, input="a-long-enough-password\n")
            shown = f"{' '.join(command)} / {mistake}: exit {result.exit_code}: {result.output[-300:]}"
            assert result.exception is None or isinstance(result.exception, SystemExit), shown
            assert "Traceback" not in result.output, shown
            reads_only = command[0] in ("status", "export") and mistake == "unwritable"
            needs_no_data = command[0] == "web" and mistake in ("unwritable", "is a file")
            assert result.exit_code == (result.exit_code if reads_only or needs_no_data else 2), shown
            if result.exit_code == 2:
                assert one_clear_line(result.output), shown


def test_a_broken_file_with_a_good_copy_starts_loudly_on_the_copy(tmp_path):
    """Item 1: a remote change can never stop a station from starting. The file broke (here: a DEL byte
    written by an older trapd); the last-known-good copy from the last change is used, and said so."""
    path = tmp_path / "station.toml"
    write_atomic(path, default_config_text(GOOD).encode())
    set_key(path, "capture.burst_frames", 4)  # the previous file is kept as station.toml.good
    assert good_copy(path).is_file()
    path.write_text(path.read_text().replace('park = "LLNP"', 'park = "LLNP\x7f"'))
    daemon = subprocess.Popen([sys.executable, "-m", "station", "--log-level", "warning", "run", "-c", str(path)],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def started() -> bool:
            assert daemon.poll() is None, daemon.communicate()[1]
            return (tmp_path / "data" / "trapd.run.json").exists()

        wait_until(started, timeout=60, interval=0.2, message="the daemon's run state file")
        status = trapd("status", "-c", str(path), cwd=tmp_path)
        assert status.returncode == 0 and "CONFIG FALLBACK" in status.stdout and "station.toml.good" in status.stdout
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, stderr
    assert "WARNING: " in stderr and "not valid TOML: Illegal character" in stderr
    assert "running on station.toml.good" in stderr
    no_copy = tmp_path / "other.toml"
    no_copy.write_text(path.read_text())
    assert trapd("run", "-c", str(no_copy), cwd=tmp_path).returncode == 2  # no good copy: the error stands
