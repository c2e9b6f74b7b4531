"""systemd integration with no dependency: ``sd_notify`` and a watchdog kicked only while the station is healthy.

Under ``Type=notify`` systemd passes ``$NOTIFY_SOCKET`` (a datagram unix socket; a leading ``@`` means the
abstract namespace) and, with ``WatchdogSec=``, ``$WATCHDOG_USEC``. The station says ``READY=1`` once every
stage has started, keeps a one-line ``STATUS=`` current, and sends ``WATCHDOG=1`` every half watchdog period
*only while its health check passes*: a stuck or dead worker therefore stops the kicks, and systemd restarts
the service (``Restart=on-failure`` covers a watchdog timeout). Outside systemd every call here does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping

from station.daemon.control import StationSnapshot

log = logging.getLogger(__name__)

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"
WATCHDOG_PID = "WATCHDOG_PID"
#: How often STATUS= is refreshed when systemd set no watchdog (seconds).
STATUS_INTERVAL_S = 30.0


def notify_address(environ: Mapping[str, str] | None = None) -> str | None:
    """The notify socket systemd gave this process, in the form ``socket.connect`` takes; None outside systemd."""
    value = (os.environ if environ is None else environ).get(NOTIFY_SOCKET, "")
    if value.startswith("@"):
        return "\0" + value[1:]  # abstract namespace
    if value.startswith("/"):
        return value
    return None  # unset, or a form we do not speak (e.g. vsock): behave as outside systemd


def sd_notify(message: str, *, environ: Mapping[str, str] | None = None) -> bool:
    """Send one notification (``"READY=1"``, ``"STATUS=..."``, several lines at once); True if it was sent.

    A failure to send is logged and reported as False, never raised: losing a status line must not take
    the station down (a lost WATCHDOG=1 is covered by the next one, half a period later).
    """
    address = notify_address(environ)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as exc:
        log.warning("sd_notify to %r failed: %s", address.replace("\0", "@"), exc)
        return False
    return True


def watchdog_period(environ: Mapping[str, str] | None = None) -> float | None:
    """The watchdog timeout systemd expects this process to honour, in seconds; None if there is none."""
    env = os.environ if environ is None else environ
    pid = env.get(WATCHDOG_PID)
    if pid and pid.strip() != str(os.getpid()):
        return None  # the watchdog is meant for another process (e.g. we were started by the main one)
    try:
        usec = int(env.get(WATCHDOG_USEC, ""))
    except ValueError:
        return None
    return usec / 1_000_000 if usec > 0 else None


def one_line(text: str, limit: int = 200) -> str:
    """STATUS= is a single line; keep it short enough for `systemctl status`."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class ServiceNotifier:
    """Tells systemd the station is ready, what it is doing, and — while ``health()`` is true — that it lives.

    ``health`` and ``status`` are called from the notifier's own thread; both must be quick and thread-safe.
    A ``health`` that raises counts as unhealthy.
    """

    def __init__(self, *, health: Callable[[], bool], status: Callable[[], str] | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self._health = health
        self._status = status
        self._environ = dict(os.environ if environ is None else environ)
        self._watchdog_s = watchdog_period(self._environ)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._healthy = True

    @property
    def under_systemd(self) -> bool:
        return notify_address(self._environ) is not None

    @property
    def watchdog_s(self) -> float | None:
        """The watchdog timeout (seconds), or None when systemd set none."""
        return self._watchdog_s if self.under_systemd else None

    def notify(self, *lines: str) -> bool:
        return sd_notify("\n".join(lines), environ=self._environ)

    def set_status(self, text: str) -> None:
        self.notify(f"STATUS={one_line(text)}")

    def ready(self, status: str | None = None) -> None:
        """The station has started: say READY=1 and start the watchdog/status thread."""
        if not self.under_systemd:
            return
        text = status if status is not None else self._current_status()
        lines = ["READY=1"] + ([f"STATUS={one_line(text)}"] if text else [])
        self.notify(*lines)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sd-notify", daemon=True)
            self._thread.start()

    def stopping(self, status: str = "stopping: finishing the sequence in flight") -> None:
        """Shutdown has begun: stop kicking and say STOPPING=1 (systemd then waits up to TimeoutStopSec)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.notify("STOPPING=1", f"STATUS={one_line(status)}")

    # -- the thread ------------------------------------------------------------------------------------------
    def _run(self) -> None:
        interval = self._watchdog_s / 2 if self._watchdog_s else STATUS_INTERVAL_S
        while not self._stop.wait(interval):
            self._tick()

    def _tick(self) -> None:
        healthy = self._check_health()
        lines = []
        if healthy and self._watchdog_s:
            lines.append("WATCHDOG=1")
        if healthy:
            if not self._healthy:
                log.warning("station healthy again: watchdog kicks resumed")
            status = self._current_status()
            if status:
                lines.append(f"STATUS={one_line(status)}")
        elif self._healthy:
            # Said once, on the change: from now on only silence, so systemd's watchdog fires.
            log.error("a station worker stopped or hangs: withholding watchdog kicks so systemd restarts trapd")
            lines.append("STATUS=unhealthy: a worker stopped; waiting for the watchdog to restart trapd")
        self._healthy = healthy
        if lines:
            self.notify(*lines)

    def _check_health(self) -> bool:
        try:
            return bool(self._health())
        except Exception:  # a broken health check is itself a reason to be restarted
            log.exception("health check raised; treating the station as unhealthy")
            return False

    def _current_status(self) -> str:
        if self._status is None:
            return ""
        try:
            return self._status()
        except Exception:
            log.exception("status callable raised")
            return ""


def station_status(snapshot: StationSnapshot) -> str:
    """One STATUS= line for the running station: what it has done and whether the uplink is up."""
    parts = [f"station {snapshot.station_id}",
             f"{snapshot.count('sequences_closed')} sequences",
             f"{snapshot.count('triggers')} triggers"]
    dropped = snapshot.count("triggers_dropped")
    if dropped:
        parts.append(f"{dropped} triggers dropped")
    if snapshot.mqtt_connected is not None:
        parts.append("MQTT connected" if snapshot.mqtt_connected else "MQTT offline (queued)")
    return ", ".join(parts)
