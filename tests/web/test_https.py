"""The ranger's page over HTTPS with the certificate `trapd provision` made, as a phone would see it.

Headless Chromium gets an NSS database (its own $HOME) that trusts the station's CA, the way a ranger's
phone does once the CA is installed, and resolves trapd-<id>.local to this machine (``--host-resolver-
rules``; on the hotspot avahi answers that name). The name is not ``localhost``, so only real HTTPS makes
the page a secure context: the GPS button filling the form is the proof.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from station.daemon.app import StationApp
from station.network.certs import fingerprint
from station.provision.apply import provision
from station.web.auth import hash_password
from station.web.errors import WebError
from tests.conftest import make_config, wait_until
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, PHONE, log_in

STATION_ID = "llnp-0412"
HOST = f"trapd-{STATION_ID}.local"
GEO = {"latitude": 43.108211, "longitude": 131.873535, "accuracy": 9}


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory) -> Path:
    """/etc/trapd of a provisioned station: its tls/web-*.pem are what the page serves."""
    etc = tmp_path_factory.mktemp("https-etc")
    provision(etc / "station.toml", station_id=STATION_ID, hotspot="simulated",
              hotspot_password="forest-ranger-7", system_root=etc.parent / (etc.name + "-root"))
    return etc / "tls"


@contextlib.contextmanager
def tls_station(data_dir: Path, cert: Path | None, key: Path | None) -> Iterator[StationApp]:
    web = {"port": 0, "bind": "127.0.0.1", "password_hash": hash_password(PASSWORD), "enabled_after_start_s": 120}
    if cert is not None and key is not None:
        web.update(tls_cert_file=str(cert), tls_key_file=str(key))
    app = StationApp(make_config(data_dir, web=web, hotspot={"adapter": "simulated"}))
    app.start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="module")
def station(provisioned, tmp_path_factory) -> Iterator[StationApp]:
    with tls_station(tmp_path_factory.mktemp("https-data"), provisioned / "web-cert.pem",
                     provisioned / "web-key.pem") as app:
        yield app


@pytest.fixture(scope="module")
def trusting_home(provisioned, tmp_path_factory) -> Path:
    """A $HOME whose NSS database trusts the station's CA (what installing web-ca.pem on a phone does)."""
    if shutil.which("certutil") is None:
        pytest.skip("certutil not installed (apt-get install libnss3-tools)")
    home = tmp_path_factory.mktemp("phone-home")
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "trapd station CA",
                    "-i", str(provisioned / "web-ca.pem")], check=True, capture_output=True)
    return home


def launch(playwright, station: StationApp, home: Path):
    port = station.parts.web.address[1]
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), env={**os.environ, "HOME": str(home)},
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {HOST} 127.0.0.1"]), f"{station.parts.web.scheme}://{HOST}:{port}"


@pytest.fixture(scope="module")
def playwright():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set TRAPD_CHROMIUM)")
    with sync_api.sync_playwright() as running:
        yield running


def test_a_phone_that_trusts_the_station_ca_gets_the_page_and_its_gps(playwright, station, trusting_home, artifacts):
    browser, url = launch(playwright, station, trusting_home)
    try:
        context = browser.new_context(viewport=PHONE, locale="en-GB", base_url=url, geolocation=GEO,
                                      permissions=["geolocation"])
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.goto("/login")
        page.screenshot(path=artifacts / "https-login.png", full_page=True)
        log_in(page)
        assert page.url.startswith(f"{url}/status")
        assert page.evaluate("window.isSecureContext") is True
        session = next(c for c in context.cookies() if c["httpOnly"])
        assert session["secure"] is True  # the session cookie never travels over plain HTTP
        page.goto("/deployment")
        page.click("#gps")
        wait_until(lambda: page.input_value("#latitude") != "", timeout=10, message="the GPS position")
        assert (page.input_value("#latitude"), page.input_value("#longitude")) == ("43.108211", "131.873535")
        page.screenshot(path=artifacts / "https-deployment-gps.png", full_page=True)
        # a ranger who typed http:// lands on the HTTPS page
        page.goto(url.replace("https://", "http://") + "/status")
        assert page.url == f"{url}/status"
        context.close()
    finally:
        browser.close()


def test_over_plain_http_the_same_phone_gets_no_gps_and_is_told_to_use_https(playwright, trusting_home, tmp_path):
    with tls_station(tmp_path / "data", None, None) as plain:
        browser, url = launch(playwright, plain, trusting_home)
        try:
            context = browser.new_context(viewport=PHONE, locale="en-GB", base_url=url, geolocation=GEO,
                                          permissions=["geolocation"])
            page = context.new_page()
            log_in(page)
            assert url.startswith("http://") and page.evaluate("window.isSecureContext") is False
            page.goto("/deployment")
            page.click("#gps")
            assert "open this page with https://" in page.inner_text("#gpsmsg")
            assert page.input_value("#latitude") == ""
        finally:
            browser.close()


def test_a_phone_without_the_ca_is_warned_and_the_fingerprint_is_what_provisioning_printed(
        playwright, station, provisioned, tmp_path):
    browser, url = launch(playwright, station, tmp_path)  # an empty $HOME: trusts nothing of the station's
    try:
        page = browser.new_page()
        with pytest.raises(Exception, match="ERR_CERT_AUTHORITY_INVALID"):
            page.goto(f"{url}/login")
    finally:
        browser.close()
    host, port = station.parts.web.address
    unverified = ssl.create_default_context()
    unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((host, port)) as raw, unverified.wrap_socket(raw) as tls:
        served = ssl.DER_cert_to_PEM_cert(tls.getpeercert(binary_form=True)).encode()
    assert fingerprint(served) == fingerprint((provisioned / "web-cert.pem").read_bytes())


def test_python_verifies_the_page_against_the_station_ca_by_name_and_hotspot_address(station, provisioned):
    host, port = station.parts.web.address
    context = ssl.create_default_context(cafile=provisioned / "web-ca.pem")
    for name in (HOST, "10.42.0.1"):
        with socket.create_connection((host, port)) as raw, context.wrap_socket(raw, server_hostname=name):
            pass
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch|doesn't match"):
        with socket.create_connection((host, port)) as raw, context.wrap_socket(raw, server_hostname="evil.local"):
            pass


def test_plain_http_is_redirected_to_https_and_never_served(station):
    host, port = station.parts.web.address
    connection = http.client.HTTPConnection(host, port, timeout=5)
    connection.request("GET", "/status", headers={"Host": f"{HOST}:{port}"})
    answer = connection.getresponse()
    assert answer.status == 301 and answer.getheader("Location") == f"https://{HOST}:{port}/status"
    assert b"<html" not in answer.read().lower()
    for host_header in ("evil.example/x", "a b", ""):  # nothing odd is echoed into a Location
        with socket.create_connection((host, port), timeout=5) as raw:
            raw.sendall(f"GET / HTTP/1.1\r\nHost: {host_header}\r\n\r\n".encode())
            assert raw.recv(200).startswith(b"HTTP/1.0 400")


def test_a_silent_or_garbage_connection_does_not_hold_up_a_phone(station, provisioned):
    host, port = station.parts.web.address
    context = ssl.create_default_context(cafile=provisioned / "web-ca.pem")
    with socket.create_connection((host, port)) as silent, socket.create_connection((host, port)) as garbage:
        garbage.sendall(b"\x16\x03\x01\x00\x05hello")  # looks like TLS, is not
        with socket.create_connection((host, port)) as raw, context.wrap_socket(raw, server_hostname=HOST) as tls:
            tls.sendall(f"GET /login HTTP/1.0\r\nHost: {HOST}:{port}\r\n\r\n".encode())
            assert tls.recv(12) == b"HTTP/1.0 200"
        # Order, not time: the phone was answered while the silent client is still open and unanswered (the
        # server gives it REQUEST_DEADLINE_S, 10 s); a server that served one at a time would have cut it first.
        silent.setblocking(False)
        with pytest.raises(BlockingIOError):
            silent.recv(1)


def test_the_hotspot_is_on_exactly_while_the_page_is(station):
    assert station.parts.hotspot.wait_settled(5) and station.parts.hotspot.hotspot.is_up
    station.parts.web.disable()
    assert station.parts.hotspot.wait_settled(5) and not station.parts.hotspot.hotspot.is_up
    station.enable_web(120)
    assert station.parts.hotspot.wait_settled(5) and station.parts.hotspot.hotspot.is_up


def test_a_hotspot_left_on_is_switched_off_at_start_when_the_page_stays_off(tmp_path):
    config = make_config(tmp_path, web={"port": 0, "bind": "127.0.0.1"}, hotspot={"adapter": "simulated"})
    app = StationApp(config)
    app.start()
    try:
        assert app.parts.hotspot.wait_settled(5)
        assert app.parts.hotspot.hotspot.switches == [False] and not app.parts.web.enabled
    finally:
        app.stop()


@pytest.mark.parametrize("mistake", ["missing", "not a certificate", "key of another certificate"])
def test_a_bad_certificate_keeps_the_page_off_with_one_line_and_the_station_captures(
        mistake, provisioned, tmp_path, caplog):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copy(provisioned / "web-key.pem", key)
    if mistake == "not a certificate":
        cert.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
    elif mistake == "key of another certificate":
        other = tmp_path / "other"
        other.mkdir()
        provision(other / "station.toml", station_id="llnp-0413")
        shutil.copy(other / "tls" / "web-cert.pem", cert)
    with caplog.at_level(logging.ERROR), tls_station(tmp_path / "data", cert, key) as app:
        assert not app.parts.web.enabled
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "\n" not in errors[0] and "ranger's page stays off" in errors[0]
        assert {"missing": "does not exist", "not a certificate": "not a PEM certificate",
                "key of another certificate": "does not belong"}[mistake] in errors[0]
        with pytest.raises(WebError, match="stays off"):
            app.enable_web(60)
        app.parts.trigger_source.fire(subject="amur_tiger")  # the station itself goes on capturing
        assert app.wait_idle(timeout=30)
        assert app.stats.get("sequences_closed") >= 1
