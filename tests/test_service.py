"""systemd integration: notify messages on a fake notify socket, the watchdog that stops when a worker hangs,
the units checked by `systemd-analyze verify`, and a real `trapd run` talking to a fake systemd."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from station.daemon.service import ServiceNotifier, one_line, sd_notify, station_status, watchdog_period
from tests.conftest import ROOT
from tests.crash_tools import write_station_config

SYSTEMD_DIR = ROOT / "deploy" / "systemd"
UNITS = ("trapd.service", "trapd-firstboot.service")
WAIT_S = 30.0  # generous: a busy 2-core machine may be slow to schedule the notifier thread


class FakeSystemd:
    """The receiving end of $NOTIFY_SOCKET, as systemd binds it."""

    def __init__(self, sock: socket.socket, env_value: str) -> None:
        self.sock = sock
        self.env_value = env_value
        self.received: list[str] = []

    def next(self, timeout: float = WAIT_S) -> str:
        self.sock.settimeout(timeout)
        message = self.sock.recv(4096).decode()
        self.received.append(message)
        return message

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = WAIT_S) -> str:
        """Read messages until one matches (each message may hold several lines)."""
        while True:
            message = self.next(timeout)
            if predicate(message):
                return message

    def pending(self) -> list[str]:
        """Messages already queued on the socket, without waiting."""
        found = []
        self.sock.setblocking(False)
        try:
            while True:
                found.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            return found
        finally:
            self.sock.setblocking(True)


@pytest.fixture
def fake_systemd() -> Iterator[FakeSystemd]:
    folder = tempfile.mkdtemp(prefix="sd-")  # short: a unix socket path has at most 107 bytes
    path = os.path.join(folder, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    try:
        yield FakeSystemd(sock, path)
    finally:
        sock.close()
        shutil.rmtree(folder, ignore_errors=True)


class SwitchableHealth:
    """A health check the test flips, counting the calls that answered 'unhealthy'."""

    def __init__(self) -> None:
        self.ok = True
        self.unhealthy_answers = 0
        self._changed = threading.Condition()

    def __call__(self) -> bool:
        with self._changed:
            if not self.ok:
                self.unhealthy_answers += 1
                self._changed.notify_all()
            return self.ok

    def wait_unhealthy_answers(self, count: int) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.unhealthy_answers >= count, timeout=WAIT_S)


def lines(message: str) -> list[str]:
    return message.split("\n")


# -- the notify protocol -------------------------------------------------------------------------------------------
def test_outside_systemd_nothing_is_sent_and_no_thread_starts():
    notifier = ServiceNotifier(health=lambda: True, environ={})
    assert sd_notify("READY=1", environ={}) is False
    assert not notifier.under_systemd and notifier.watchdog_s is None
    notifier.ready()
    assert not any(t.name == "sd-notify" for t in threading.enumerate())
    notifier.stopping()


def test_ready_status_and_stopping_reach_the_socket_named_in_the_environment(fake_systemd, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", fake_systemd.env_value)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    notifier = ServiceNotifier(health=lambda: True, status=lambda: "station llnp-0412, 3 sequences")
    notifier.ready()
    assert lines(fake_systemd.next()) == ["READY=1", "STATUS=station llnp-0412, 3 sequences"]
    notifier.set_status("recovering 2 open sequences")
    assert fake_systemd.next() == "STATUS=recovering 2 open sequences"
    notifier.stopping()
    message = lines(fake_systemd.next())
    assert message[0] == "STOPPING=1" and message[1].startswith("STATUS=stopping")
    assert not any(t.name == "sd-notify" and t.is_alive() for t in threading.enumerate())


def test_abstract_namespace_socket_is_supported():
    name = f"trapd-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(WAIT_S)
        assert sd_notify("READY=1", environ={"NOTIFY_SOCKET": "@" + name}) is True
        assert sock.recv(4096) == b"READY=1"


def test_a_missing_socket_is_reported_not_raised(tmp_path):
    assert sd_notify("READY=1", environ={"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False


def test_watchdog_period_comes_from_the_environment_and_respects_watchdog_pid():
    assert watchdog_period({"WATCHDOG_USEC": "60000000"}) == 60.0
    assert watchdog_period({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid())}) == 60.0
    assert watchdog_period({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}) is None  # meant for another
    assert watchdog_period({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_period({"WATCHDOG_USEC": "soon"}) is None
    assert watchdog_period({}) is None


# -- the watchdog ---------------------------------------------------------------------------------------------------
def test_watchdog_is_kicked_while_healthy_and_goes_silent_when_a_worker_hangs(fake_systemd):
    health = SwitchableHealth()
    notifier = ServiceNotifier(health=health, status=lambda: "all well",
                               environ={"NOTIFY_SOCKET": fake_systemd.env_value, "WATCHDOG_USEC": "100000"})
    assert notifier.watchdog_s == 0.1
    notifier.ready()
    try:
        assert lines(fake_systemd.next())[0] == "READY=1"
        for _ in range(2):
            kick = fake_systemd.wait_for(lambda m: "WATCHDOG=1" in lines(m))
            assert "STATUS=all well" in lines(kick)

        health.ok = False
        fake_systemd.wait_for(lambda m: any(line.startswith("STATUS=unhealthy") for line in lines(m)))
        # Several more watchdog periods with the worker still stuck: not one kick may follow.
        assert health.wait_unhealthy_answers(5)
        assert not [m for m in fake_systemd.pending() if "WATCHDOG=1" in lines(m)]

        health.ok = True  # the worker came back before systemd gave up: kicks resume
        fake_systemd.wait_for(lambda m: "WATCHDOG=1" in lines(m))
    finally:
        notifier.stopping()


def test_a_health_check_that_raises_counts_as_unhealthy(fake_systemd):
    raised = threading.Event()

    def broken() -> bool:
        raised.set()
        raise RuntimeError("worker table corrupted")

    notifier = ServiceNotifier(health=broken,
                               environ={"NOTIFY_SOCKET": fake_systemd.env_value, "WATCHDOG_USEC": "100000"})
    notifier.ready()
    try:
        assert fake_systemd.next() == "READY=1"
        message = fake_systemd.next()
        assert raised.is_set() and "WATCHDOG=1" not in lines(message)
        assert lines(message)[0].startswith("STATUS=unhealthy")
    finally:
        notifier.stopping()


def test_status_is_one_short_line():
    assert one_line("a\nb   c") == "a b c"
    assert len(one_line("x" * 500)) == 200


def test_station_status_line_from_a_running_station(tmp_path):
    from station.daemon.control import StationSnapshot

    snapshot = StationSnapshot(station_id="test-station", park="LLNP", deployment_id=None, board={},
                               disk_free=1, disk_total=2, disk_low=False, mqtt_connected=False, lora=None,
                               queue_depths={}, model="m", uptime_s=1.0, warmup_left_s=0.0,
                               counters={"sequences_closed": 4, "triggers": 9})
    assert station_status(snapshot) == "station test-station, 4 sequences, 9 triggers, MQTT offline (queued)"


# -- the units ------------------------------------------------------------------------------------------------------
def unit_entries(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) for every assignment; repeated keys (DeviceAllow=) are all kept."""
    entries, section = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
        else:
            key, _, value = line.partition("=")
            entries.append((section, key, value))
    return entries


def unit_values(name: str, key: str) -> list[str]:
    return [v for _, k, v in unit_entries((SYSTEMD_DIR / name).read_text()) if k == key]


def test_the_daemon_unit_is_a_watched_notify_service_in_a_sandbox():
    one = {key: unit_values("trapd.service", key) for key in (
        "Type", "NotifyAccess", "WatchdogSec", "Restart", "User", "ProtectSystem", "ReadWritePaths", "ExecStart",
        "NoNewPrivileges", "PrivateTmp", "ProtectHome", "ProtectKernelTunables", "RestrictAddressFamilies")}
    assert one["Type"] == ["notify"] and one["NotifyAccess"] == ["main"] and one["Restart"] == ["on-failure"]
    assert int(one["WatchdogSec"][0]) >= 10 and one["User"] == ["trapd"]
    assert one["ProtectSystem"] == ["strict"] and "/var/lib/trapd" in one["ReadWritePaths"][0].split()
    assert one["ExecStart"] == ["/opt/trapd/.venv/bin/trapd run -c /etc/trapd/station.toml"]
    assert all(one[k] == ["yes"] for k in ("NoNewPrivileges", "PrivateTmp", "ProtectHome", "ProtectKernelTunables"))
    assert set(one["RestrictAddressFamilies"][0].split()) == {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}
    allowed = {value.split()[0] for value in unit_values("trapd.service", "DeviceAllow")}
    camera = {"char-video4linux", "char-media", "char-dma_heap"}
    assert camera | {"char-gpiochip", "char-ttyAMA"} <= allowed
    assert unit_values("trapd.service", "DevicePolicy") == ["closed"]
    assert set(unit_values("trapd.service", "SupplementaryGroups")[0].split()) >= {"video", "gpio", "dialout"}
    assert unit_values("trapd.service", "RestartPreventExitStatus") == ["2"]  # config mistakes: not restarted


def test_the_daemon_user_and_its_groups_are_declared_for_systemd_sysusers():
    declared = (SYSTEMD_DIR / "trapd.sysusers").read_text().splitlines()
    members = {line.split()[2] for line in declared if line.startswith("m trapd ")}
    assert any(line.startswith("u trapd ") for line in declared)
    assert members == set(unit_values("trapd.service", "SupplementaryGroups")[0].split())


def systemd_analyze_or_skip() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    return tool


def verify(units: list[Path], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([systemd_analyze_or_skip(), "verify", "--man=no", *map(str, units)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_units_pass_systemd_analyze_verify(tmp_path):
    probe = tmp_path / "probe.service"
    probe.write_text(f"[Service]\nType=oneshot\nExecStart={shutil.which('true')}\n")
    if verify([probe], tmp_path).returncode != 0:
        pytest.skip("systemd-analyze verify cannot run in this container: "
                    + verify([probe], tmp_path).stderr.strip()[:200])
    # The venv does not exist here: verify copies whose ExecStart points at an existing program instead...
    copies = []
    for name in UNITS:
        text = (SYSTEMD_DIR / name).read_text().replace("/opt/trapd/.venv/bin/trapd", sys.executable)
        (tmp_path / name).write_text(text)
        copies.append(tmp_path / name)
    result = verify(copies, tmp_path)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stdout + result.stderr
    # ...and the real units, whose only complaint may be that missing program.
    result = verify([SYSTEMD_DIR / name for name in UNITS], tmp_path)
    complaints = [line for line in (result.stdout + result.stderr).splitlines()
                  if line and not re.search(r"Command /opt/trapd/\.venv/bin/trapd is not executable", line)]
    assert complaints == []


# -- end to end: a real `trapd run` under a fake systemd ------------------------------------------------------------

def test_trapd_run_reports_ready_status_watchdog_and_stopping(fake_systemd, tmp_path):
    config = write_station_config(tmp_path)
    env = dict(os.environ, NOTIFY_SOCKET=fake_systemd.env_value, WATCHDOG_USEC="2000000")
    env.pop("WATCHDOG_PID", None)
    log = (tmp_path / "trapd.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "station", "--log-level", "warning", "run", "-c", str(config)],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        ready = fake_systemd.wait_for(lambda m: "READY=1" in lines(m), timeout=120)
        assert any(line.startswith("STATUS=") and "crash-station" in line for line in lines(ready)), ready
        kick = fake_systemd.wait_for(lambda m: "WATCHDOG=1" in lines(m))
        assert any(line.startswith("STATUS=station crash-station") for line in lines(kick))
        process.send_signal(signal.SIGTERM)
        fake_systemd.wait_for(lambda m: "STOPPING=1" in lines(m))
        assert process.wait(timeout=120) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def test_a_sigterm_while_trapd_run_starts_up_stops_it_cleanly_before_anything_starts(tmp_path):
    """systemd stops the unit while trapd is still loading its libraries and reading its config: the exit is
    clean (0), not death by the signal, and nothing was started (no store made)."""
    config = write_station_config(tmp_path)
    script = (
        "import os, signal, sys\n"
        "import station.config.edit as edit\n"
        "real = edit.load_with_fallback\n"
        "def stopped_while_loading(path):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)  # the stop arrives during start-up\n"
        "    return real(path)\n"
        "edit.load_with_fallback = stopped_while_loading\n"
        "from station.cli.main import main\n"
        f"sys.argv = ['trapd', 'run', '-c', {str(config)!r}]\n"
        "main()\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert "stopped before the station started" in result.stderr
    assert not (tmp_path / "data" / "station.db").exists()
