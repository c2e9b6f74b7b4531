"""A private Mosquitto broker on a free loopback port, for the demo and the tests.

It never touches a broker already running on the machine: its own port, its own temporary config and
persistence folder, its own process, stopped and restarted on demand (fault tests).
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from station.errors import UplinkError


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if Path(p).exists()), None)


class PrivateBroker:
    def __init__(self, *, port: int | None = None, extra_config: str = "", workdir: Path | None = None,
                 listener: str | None = None, max_files: int | None = None) -> None:
        """``listener`` replaces the default anonymous plain listener (``{port}`` and ``{host}`` are filled in),
        e.g. a TLS listener with its cafile/certfile/keyfile and an ACL. ``max_files`` raises the broker's
        open-file limit (one per connection), for benchmarks that hold tens of thousands of stations."""
        binary = mosquitto_binary()
        if binary is None:
            raise UplinkError("mosquitto is not installed (Debian package `mosquitto`; `make test` installs it)")
        self.binary = binary
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self._own_dir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="trapd-broker-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.extra_config = extra_config
        self.listener = listener
        self.max_files = max_files
        self._process: subprocess.Popen | None = None

    def config_text(self) -> str:
        listener = self.listener or "listener {port} {host}\nallow_anonymous true\n"
        # As root, mosquitto drops to user "mosquitto", which cannot read a test's private temp folder.
        keep_user = "user root\n" if os.geteuid() == 0 else ""
        return (listener.format(port=self.port, host=self.host) + "\n" + keep_user +
                "persistence false\n"
                "log_dest stderr\n"
                "log_type error\nlog_type warning\nlog_type notice\n"
                f"{self.extra_config}\n")

    def start(self, timeout: float = 10.0) -> PrivateBroker:
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self.config_text())
        log = (self.workdir / "mosquitto.log").open("ab")
        self._process = subprocess.Popen([self.binary, "-c", str(conf)], stdout=log, stderr=log,
                                         start_new_session=True, preexec_fn=self._limits if self.max_files else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise UplinkError(f"mosquitto exited at start: {self.log_text()[-500:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise UplinkError(f"mosquitto did not listen on {self.host}:{self.port} within {timeout} s")

    def _limits(self) -> None:
        """In the broker's process before exec: its open-file limit."""
        limit = self.max_files
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def kill(self) -> None:
        """An abrupt broker death (no clean disconnects), for fault tests."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def log_text(self) -> str:
        path = self.workdir / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> PrivateBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
