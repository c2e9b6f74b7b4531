"""The page over plain HTTP: switched on and off, the login gate, the throttle, headers, and the preview
sharing the camera with real bursts."""

from __future__ import annotations

import http.client
import socket
import threading
from urllib.parse import urlencode

import pytest

from station.daemon.app import StationApp
from station.web.auth import FREE_FAILURES
from station.web.errors import WebError
from station.web.server import WebServer
from station.web.settings import WebSection
from tests.conftest import make_config, running_station, wait_until
from tests.web.conftest import PASSWORD


def call(station, method: str, path: str, *, form: dict | None = None, cookie: str | None = None,
         headers: dict | None = None) -> http.client.HTTPResponse:
    host, port = station.web.address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    sent = dict(headers or {})
    if cookie:
        sent["Cookie"] = cookie
    body = None
    if form is not None:
        body = urlencode(form)
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=sent)
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


def log_in(station) -> str:
    response = call(station, "POST", "/login", form={"password": PASSWORD})
    assert response.status == 303 and response.getheader("Location") == "/status"
    return response.getheader("Set-Cookie").split(";")[0]


def settings(**overrides) -> WebSection:
    return WebSection(**{"port": 0, "bind": "127.0.0.1", **overrides})


def test_the_page_is_off_until_asked_and_switches_itself_off(station):
    web = WebServer(station.app, settings(password_hash=station.web.settings.password_hash))
    web.start()  # enabled_after_start_s = 0: stays off
    assert not web.enabled and web.seconds_left() == 0
    web.enable_for(0.5)
    host, port = web.address
    socket.create_connection((host, port), timeout=2).close()
    wait_until(lambda: not web.enabled, timeout=5, message="the page to switch itself off")
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=2).close()


def test_with_no_password_the_page_never_opens(station):
    web = WebServer(station.app, settings(enabled_after_start_s=600))
    web.start()
    assert not web.enabled
    with pytest.raises(WebError, match="trapd web passwd"):
        web.enable_for(60)


def test_a_taken_port_is_reported(station):
    web = WebServer(station.app, settings(port=station.web.address[1], password_hash="scrypt$n=2,r=1,p=1$AA==$AA=="))
    with pytest.raises(WebError, match="cannot listen"):
        web.enable_for(60)


def test_without_a_login_pages_lead_to_the_login_and_data_is_refused(station):
    assert call(station, "GET", "/status").getheader("Location") == "/login"
    assert call(station, "GET", "/").getheader("Location") == "/login"
    for method, path in (("GET", "/api/walk"), ("GET", "/api/preview.jpg"), ("POST", "/deployment"),
                         ("GET", "/media/01900000-0000-7000-8000-000000000000/thumb"), ("POST", "/detections/mark")):
        assert call(station, method, path, form={} if method == "POST" else None).status == 401, path
    assert call(station, "GET", "/status", cookie="trapd_session=forged").status == 303


def test_a_login_sets_a_strict_http_only_cookie_and_keeps_the_page_on(station):
    station.web.enable_for(0)  # keep the window as it is; a login extends it
    cookie = log_in(station)
    assert station.web.seconds_left() > station.web.settings.session_timeout_s - 5
    page = call(station, "GET", "/status", cookie=cookie)
    assert page.status == 200 and page.getheader("Cache-Control") == "no-store"
    policy = page.getheader("Content-Security-Policy")
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">'.encode() in page.body and "frame-ancestors 'none'" in policy
    assert page.getheader("Server") == "trapd" and page.getheader("X-Content-Type-Options") == "nosniff"
    response = call(station, "POST", "/login", form={"password": PASSWORD})
    attributes = {part.strip() for part in response.getheader("Set-Cookie").split(";")}
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= attributes
    out = call(station, "POST", "/logout", cookie=cookie)
    assert "Max-Age=0" in out.getheader("Set-Cookie")
    assert call(station, "GET", "/status", cookie=cookie).status == 303  # that session is over


def test_a_cross_site_post_is_refused(station):
    cookie = log_in(station)
    response = call(station, "POST", "/deployment", form={"action": "end"}, cookie=cookie,
                    headers={"Origin": "http://evil.example"})
    assert response.status == 403


def test_wrong_passwords_are_refused_then_rate_limited(station):
    try:
        for _ in range(FREE_FAILURES):
            assert call(station, "POST", "/login", form={"password": "guess-guess"}).status == 401
        locked = call(station, "POST", "/login", form={"password": PASSWORD})  # even the right one, for now
        assert locked.status == 429 and b"wait 30 s" in locked.body
        assert station.app.stats.get("web_login_failures") >= FREE_FAILURES
    finally:
        station.web.throttle.succeeded("127.0.0.1")


def test_redirects_stay_on_the_station_and_bad_input_is_refused(station):
    assert call(station, "GET", "/lang/ru?next=//evil.example/").getheader("Location") == "/status"
    assert call(station, "GET", "/lang/ru?next=/walk").getheader("Location") == "/walk"
    assert call(station, "GET", "/lang/de").status == 404
    cookie = log_in(station)
    assert call(station, "GET", "/api/walk?after=../../etc", cookie=cookie).status == 400
    assert call(station, "GET", "/media/01900000-0000-7000-8000-000000000000", cookie=cookie).status == 404
    assert call(station, "GET", "/media/..%2F..%2Fstation.db", cookie=cookie).status == 404
    unknown = call(station, "POST", "/detections/mark", form={"event_id": "nope", "wrong": "1"}, cookie=cookie)
    assert unknown.status == 404


def test_previews_during_a_walk_test_never_cost_a_burst_a_frame(station):
    """A phone on the aiming page keeps asking for previews while the ranger walks past the PIR."""
    app, cookie = station.app, log_in(station)
    stop, answers = threading.Event(), []

    def keep_previewing() -> None:
        while not stop.is_set():
            answers.append(call(station, "GET", "/api/preview.jpg", cookie=cookie).status)

    frames_before = app.stats.get("frames")
    viewer = threading.Thread(target=keep_previewing)
    viewer.start()
    try:
        for _ in range(3):
            app.parts.trigger_source.fire("amur_leopard")
            assert app.wait_idle(10)
    finally:
        stop.set()
        viewer.join()
    assert app.stats.get("frames") - frames_before == 3 * app.config.capture.burst_frames
    assert app.stats.get("capture_errors") == 0
    assert set(answers) <= {200, 503} and 200 in answers


@pytest.mark.skipif(not hasattr(StationApp, "enable_web"), reason="the app does not wire the page in yet "
                    "(apply /tmp/trapd-web/config.patch and app.patch)")
def test_the_daemon_opens_its_page_after_start_and_goes_on_without_it(tmp_path, station):
    page = {"enabled_after_start_s": 60, "port": 0, "bind": "127.0.0.1",
            "password_hash": station.web.settings.password_hash}
    with running_station(make_config(tmp_path / "a", web=page)) as app:
        assert app.parts.web.enabled and 55 < app.parts.web.seconds_left() <= 60
        assert call(app.parts, "GET", "/login").status == 200
    assert not app.parts.web.enabled
    taken = {**page, "port": station.web.address[1]}
    with running_station(make_config(tmp_path / "b", web=taken)) as app:  # the port is busy: no page, no crash
        assert not app.parts.web.enabled and app.healthy()
        with pytest.raises(WebError, match="cannot listen"):
            app.enable_web(1)
