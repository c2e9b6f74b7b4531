"""``WebServer``: the ranger's page, listening only while it is switched on.

Off by default. ``enable_for(seconds)`` opens the port (``[web] bind``:``port``) for that long; the daemon
does it at start for ``[web] enabled_after_start_s``, and a remote command or a button on the board can do
it later. While someone uses the page it stays on at least ``session_timeout_s`` past their last request;
when the time is up the port is closed and every login ends. With no ``password_hash`` the page never opens.

One thread accepts, a fixed pool of workers serves (``limits.BoundedHTTPServer``: HTTP/1.0, no keep-alive,
a bounded number of connections, each with a deadline), one waits for the switch-off time. While the page
is off none of them exists.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from station.daemon.control import StationControl
from station.web.auth import LoginThrottle, Sessions
from station.web.errors import WebError
from station.web.handler import PageHandler
from station.web.limits import BoundedHTTPServer
from station.web.media import ThumbnailCache
from station.web.settings import WebSection
from station.web.tls import tls_context, with_tls
from station.web.views import Views

if TYPE_CHECKING:
    from station.hardware.hotspot import HotspotSwitch

log = logging.getLogger(__name__)

Preview = Callable[[], "bytes | None"]


class WebServer:
    """The ranger's page for one running station (``station.daemon.control.StationControl``).

    ``preview`` returns a small JPEG of the camera's view, or None while the camera is busy (the station's
    ``preview_frame``); ``on_deployment`` is told the new deployment id when a ranger starts one ("" when
    one ends) so new sequences carry it (the station's ``set_deployment``). ``tls`` is the (certificate, key)
    pair for HTTPS (``station.web.tls``); ``hotspot`` follows the page on and off (``station.hardware.hotspot``).
    """

    def __init__(self, station: StationControl, settings: WebSection, *, preview: Preview | None = None,
                 on_deployment: Callable[[str], None] | None = None, tls: tuple[Path, Path] | None = None,
                 hotspot: HotspotSwitch | None = None) -> None:
        self.station = station
        self.settings = settings
        self.tls = tls
        self.hotspot = hotspot
        self.preview = preview
        self.on_deployment = on_deployment
        self.sessions = Sessions(timeout_s=settings.session_timeout_s)
        self.throttle = LoginThrottle()
        self.thumbnails = ThumbnailCache()
        self.views = Views(self)
        self._lock = threading.Lock()
        self._httpd: BoundedHTTPServer | None = None
        self._deadline = 0.0
        self._wake = threading.Event()

    @classmethod
    def for_station(cls, station: StationControl, *, hotspot: HotspotSwitch | None = None) -> WebServer:
        """The page as the daemon runs it: settings from ``[web]``, preview and deployment hooks from the
        station, and the ranger's Wi-Fi (if there is one) following the page."""
        web: WebSection = station.config.web
        tls = None
        if web.tls_cert_file is not None and web.tls_key_file is not None:
            tls = (station.config.resolve(web.tls_cert_file), station.config.resolve(web.tls_key_file))
        return cls(station, web, preview=station.preview_frame, on_deployment=station.set_deployment, tls=tls,
                   hotspot=hotspot)

    # -- switching on and off ----------------------------------------------------------------------------------
    def start(self) -> None:
        """At daemon start: on for ``enabled_after_start_s`` (if set and a password exists)."""
        seconds = self.settings.enabled_after_start_s
        if seconds <= 0:
            return
        if not self.settings.password_hash:
            log.warning("[web] enabled_after_start_s is set but there is no password_hash: the ranger's page "
                        "stays off (set one with `trapd web passwd`)")
            return
        self.enable_for(seconds)

    def enable_for(self, seconds: float) -> None:
        """Serve the page for ``seconds`` from now (extends, never shortens, a window already open)."""
        if not self.settings.password_hash:
            raise WebError("the ranger's page has no password: set [web] password_hash with `trapd web passwd`")
        with self._lock:
            self._deadline = max(self._deadline, time.monotonic() + seconds)
            if self._httpd is None:
                self._httpd = self._listen()
                threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.5},
                                 name="web", daemon=True).start()
                threading.Thread(target=self._switch_off_when_due, name="web-timer", daemon=True).start()
                log.info("ranger's page on at %s://%s:%d for %.0f s", self.scheme, *self.address, seconds)
                if self.hotspot is not None:
                    self.hotspot.want(True)
        self._wake.set()

    def keep_on(self) -> None:
        """Someone is using the page: keep it on at least one session timeout from now."""
        with self._lock:
            if self._httpd is not None:
                self._deadline = max(self._deadline, time.monotonic() + self.settings.session_timeout_s)

    def disable(self) -> None:
        """Close the port now and end every login (returns once the port is closed)."""
        with self._lock:
            httpd = self._httpd
            if httpd is not None:
                httpd.shutdown()  # waits for the serving loop (at most its poll interval), not for requests
                httpd.server_close()
                self._httpd = None
                self.sessions.clear()
                log.info("ranger's page off")
                if self.hotspot is not None:
                    self.hotspot.want(False)
            self._deadline = 0.0
        self._wake.set()

    def stop(self) -> None:
        """At daemon stop."""
        self.disable()

    # -- state -------------------------------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return self._httpd is not None

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually bound; port 0 in the settings means a free one was chosen."""
        httpd = self._httpd
        if httpd is None:
            raise WebError("the ranger's page is off")
        host, port = httpd.server_address[:2]
        return str(host), int(port)

    @property
    def scheme(self) -> str:
        return "https" if self.tls is not None else "http"

    def seconds_left(self) -> float:
        return max(0.0, self._deadline - time.monotonic()) if self.enabled else 0.0

    # -- internals ---------------------------------------------------------------------------------------------
    def _listen(self) -> BoundedHTTPServer:
        server_class: type[BoundedHTTPServer] = BoundedHTTPServer
        if self.tls is not None:  # read at every opening: a bad pair is one WebError, the page stays off
            server_class = with_tls(server_class, tls_context(*self.tls))  # type: ignore[assignment]
        try:
            httpd = server_class((self.settings.bind, self.settings.port), PageHandler)
        except OSError as exc:
            raise WebError(f"the ranger's page cannot listen on {self.settings.bind}:{self.settings.port} "
                           f"({exc.strerror or exc}); choose another [web] port or bind") from exc
        httpd.web = self  # type: ignore[attr-defined]  # what PageHandler reaches through self.server
        return httpd

    def _switch_off_when_due(self) -> None:
        while True:
            with self._lock:
                if self._httpd is None:
                    return
                left = self._deadline - time.monotonic()
            if left <= 0:
                self.disable()
                return
            self._wake.wait(left)
            self._wake.clear()
