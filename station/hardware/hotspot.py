"""The ranger's Wi-Fi hotspot behind a small port: on while the ranger's page is on, off otherwise (power).

``[hotspot] adapter`` chooses, explicitly: ``nmcli`` switches the NetworkManager connection that provisioning
made (``station.network.wifi``); ``simulated`` only remembers its state (tests, the demo); ``none`` means no
hotspot. There is no fallback: a station configured for nmcli without nmcli says so in its log.

The daemon's user may switch that one connection thanks to ``deploy/polkit/50-trapd-hotspot.rules``.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from typing import Protocol

from station.errors import HardwareError
from station.network.settings import HotspotSection

log = logging.getLogger(__name__)


class Hotspot(Protocol):
    """A Wi-Fi access point that can be switched on and off (each call waits until it is done)."""

    def up(self) -> None: ...

    def down(self) -> None: ...


class SimulatedHotspot:
    """Remembers whether it is on and how often it was switched (what tests and the demo look at)."""

    def __init__(self) -> None:
        self.is_up = False
        self.switches: list[bool] = []

    def up(self) -> None:
        self.is_up = True
        self.switches.append(True)

    def down(self) -> None:
        self.is_up = False
        self.switches.append(False)


class NmcliHotspot:
    """``nmcli connection up|down id <connection>``, waiting at most ``timeout_s``."""

    def __init__(self, connection: str, *, timeout_s: float = 45.0, nmcli: str = "nmcli") -> None:
        self.connection = connection
        self.timeout_s = timeout_s
        self.nmcli = nmcli

    def up(self) -> None:
        self._run("up")

    def down(self) -> None:
        self._run("down")

    def _run(self, verb: str) -> None:
        binary = shutil.which(self.nmcli)
        if binary is None:
            raise HardwareError(f"hotspot: {self.nmcli} not found; install network-manager, or set "
                                '[hotspot] adapter = "none"')
        wait = str(int(self.timeout_s))
        argv = [binary, "--wait", wait, "connection", verb, "id", self.connection]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=self.timeout_s + 5)
        except subprocess.TimeoutExpired:
            raise HardwareError(f"hotspot: nmcli connection {verb} {self.connection} did not finish in "
                                f"{self.timeout_s:.0f} s") from None
        if done.returncode != 0:
            reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit {done.returncode}"]
            if verb == "down" and "not an active connection" in reason[0]:
                return  # already off: what we wanted
            raise HardwareError(f"hotspot: nmcli connection {verb} {self.connection} failed: {reason[0]} "
                                f"(was it provisioned? `nmcli connection show {self.connection}`)")


class HotspotSwitch:
    """Follows the page: ``want(True/False)`` returns at once; a thread brings the hotspot to the last wish.

    Switching takes NetworkManager seconds, and the page must not wait for it (nor hold its lock). Wishes
    that arrive while a switch runs are merged: the hotspot ends in the state last asked for. A failure is
    logged (the page may still be reached over another network) and never stops the station.
    """

    def __init__(self, hotspot: Hotspot) -> None:
        self.hotspot = hotspot
        self._wanted: bool | None = None
        self._actual: bool | None = None
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def want(self, on: bool) -> None:
        with self._cond:
            self._wanted = on
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._follow, name="hotspot", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wait_settled(self, timeout_s: float) -> bool:
        """Wait until the hotspot is in the state last asked for (tests, daemon stop)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._wanted == self._actual, timeout=timeout_s)

    def _follow(self) -> None:
        while True:
            with self._cond:
                wanted = self._wanted
                if wanted == self._actual:
                    self._thread = None
                    self._cond.notify_all()
                    return
            try:
                self.hotspot.up() if wanted else self.hotspot.down()
                log.info("ranger's hotspot %s", "on" if wanted else "off")
            except HardwareError as exc:
                log.error("%s", exc)
            with self._cond:
                self._actual = wanted  # tried: a failure is not retried until the next wish
                self._cond.notify_all()


def build_hotspot(section: HotspotSection) -> Hotspot | None:
    """The adapter ``[hotspot] adapter`` names (None for "none")."""
    if section.adapter == "simulated":
        return SimulatedHotspot()
    if section.adapter == "nmcli":
        return NmcliHotspot(section.connection, timeout_s=section.switch_timeout_s)
    return None
