"""HTTP plumbing of the ranger's page: parse a request, check the login, route it to a view, send the answer
with the security headers every answer carries."""

from __future__ import annotations

import http.cookies
import logging
import re
import secrets
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from station.web.i18n import pick_language
from station.web.limits import DeadlineRequestMixin, RequestRefused, body_length
from station.web.request import LANGUAGE_COOKIE, Request, Response, plain, redirect
from station.web.views import Views

log = logging.getLogger(__name__)

View = Callable[[Views, Request], Response]

PUBLIC: dict[tuple[str, str], View] = {("GET", "/login"): Views.login_form, ("POST", "/login"): Views.login}
PRIVATE: dict[tuple[str, str], View] = {
    ("GET", "/"): lambda views, request: redirect("/status"),
    ("GET", "/status"): Views.status, ("GET", "/walk"): Views.walk, ("GET", "/api/walk"): Views.walk_feed,
    ("GET", "/aim"): Views.aim, ("GET", "/api/preview.jpg"): Views.preview,
    ("GET", "/deployment"): Views.deployment, ("POST", "/deployment"): Views.deployment_post,
    ("GET", "/detections"): Views.detections, ("POST", "/detections/mark"): Views.mark,
    ("POST", "/logout"): Views.logout,
}
LANGUAGE_PATH = re.compile(r"^/lang/([a-z]{2})$")
MEDIA_PATH = re.compile(r"^/media/([0-9a-f-]{36})(/thumb)?$")


def security_headers(nonce: str) -> list[tuple[str, str]]:
    policy = (f"default-src 'none'; img-src 'self' blob:; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; "
              "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    return [("Content-Security-Policy", policy), ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"), ("X-Frame-Options", "DENY")]


class PageHandler(DeadlineRequestMixin, BaseHTTPRequestHandler):
    """One request; ``self.server.web`` is the ``WebServer`` this handler serves. The whole request must
    arrive within ``limits.REQUEST_DEADLINE_S`` (a stalled or trickling client must not hold a worker)."""

    server_version = "trapd"
    timeout = 15  # seconds one read or write may take (the mixin also bounds the whole request)

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def version_string(self) -> str:
        return self.server_version  # no Python version in the Server header

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        log.debug("%s %s", self.address_string(), format % args)

    def _handle(self, method: str) -> None:
        web = self.server.web  # type: ignore[attr-defined]
        try:
            request = self._parse(method)
        except RequestRefused as exc:  # the body was not read: answer and close
            self.close_connection = True
            self._send(plain(exc.status, str(exc)), secrets.token_urlsafe(12))
            return
        except ValueError as exc:
            self._send(plain(400, str(exc)), secrets.token_urlsafe(12))
            return
        try:
            response = self._route(web, request)
        except Exception:  # a bug or a failing disk must not take the station's thread down with it
            log.exception("ranger's page: %s %s failed", method, request.path)
            response = plain(500, "internal error; see the station's log")
        self._send(response, request.nonce)

    def _parse(self, method: str) -> Request:
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        form: dict[str, str] = {}
        if method == "POST":
            body = self.rfile.read(body_length(self.headers)).decode("utf-8", errors="replace")
            form = {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}
        cookies = _cookies(self.headers.get("Cookie"))
        language = pick_language(cookies.get(LANGUAGE_COOKIE), self.headers.get("Accept-Language"))
        return Request(method=method, path=url.path, query=query, form=form, cookies=cookies,
                       client=self.client_address[0], language=language, nonce=secrets.token_urlsafe(12))

    def _route(self, web, request: Request) -> Response:
        views: Views = web.views
        if request.method == "POST" and not self._same_origin():
            return plain(403, "cross-site request refused")
        public = PUBLIC.get((request.method, request.path))
        if public is not None:
            return public(views, request)
        language = LANGUAGE_PATH.match(request.path)
        if language and request.method == "GET":
            return views.language(request, language[1])
        if not web.sessions.touch(request.session):
            if request.method == "GET" and not request.path.startswith(("/api/", "/media/")):
                return redirect("/login")
            return plain(401, "log in first")
        web.keep_on()
        private = PRIVATE.get((request.method, request.path))
        if private is not None:
            return private(views, request)
        media = MEDIA_PATH.match(request.path)
        if media and request.method == "GET":
            return views.media(request, media[1], thumbnail=bool(media[2]))
        return plain(404, "not found")

    def _same_origin(self) -> bool:
        """A POST carrying an Origin must come from this page (SameSite=Strict cookies guard the rest)."""
        origin = self.headers.get("Origin")
        return origin is None or urlsplit(origin).netloc == self.headers.get("Host")

    def _send(self, response: Response, nonce: str) -> None:
        if any(c in value for _, value in response.headers for c in "\r\n\0"):  # a header split: a bug
            log.error("ranger's page: refused to send a header with a line break: %r", response.headers)
            response = plain(500, "internal error; see the station's log")
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            if not any(name == "Cache-Control" for name, _ in response.headers):
                self.send_header("Cache-Control", "no-store")
            secure = getattr(self.server, "tls", False)  # station.web.tls: cookies only over HTTPS then
            for name, value in [*security_headers(nonce), *response.headers]:
                self.send_header(name, f"{value}; Secure" if secure and name == "Set-Cookie" else value)
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("ranger's page: client went away")


def _cookies(header: str | None) -> dict[str, str]:
    jar = http.cookies.SimpleCookie()
    try:
        jar.load(header or "")
    except http.cookies.CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}
