"""A running simulated station with its ranger's page, and a headless Chromium to drive it.

The page is built around the running ``StationApp`` here (not through ``StationApp.start``), so these tests
run whether or not the app wires the page itself; when it does (``StationApp.preview_frame`` exists), the
app's own wiring is used instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from station.daemon.app import StationApp
from station.hardware import factory
from station.hardware.preview import PreviewCamera
from station.web.auth import hash_password
from station.web.server import WebServer
from station.web.settings import WebSection
from tests.conftest import ROOT, make_config

PASSWORD = "amur-forest-42"
CHROMIUM = Path(os.environ.get("TRAPD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "web"
PHONE = {"width": 390, "height": 844}


class PageStation:
    """The station, its page, its address, and every deployment id the page announced."""

    def __init__(self, app: StationApp, web: WebServer) -> None:
        self.app, self.web = app, web
        host, port = web.address
        self.url = f"http://{host}:{port}"
        self.deployments: list[str] = []
        announce = web.on_deployment

        def recorded(deployment_id: str) -> None:
            self.deployments.append(deployment_id)
            if announce is not None:
                announce(deployment_id)

        web.on_deployment = recorded


def _app_wires_page() -> bool:
    return hasattr(StationApp, "preview_frame")


@contextlib.contextmanager
def page_station(data_dir: Path) -> Iterator[PageStation]:
    settings = {"port": 0, "bind": "127.0.0.1", "password_hash": hash_password(PASSWORD)}
    if _app_wires_page():  # the integration patch is applied: the app builds its own page
        app = StationApp(make_config(data_dir, web=settings))
        app.start()
        web = app.parts.web
    else:
        with pytest.MonkeyPatch.context() as patch:
            build = factory.build_camera
            patch.setattr(factory, "build_camera", lambda *a, **k: PreviewCamera(build(*a, **k)))
            app = StationApp(make_config(data_dir))
            app.start()
        camera = app.parts.camera
        camera.set_idle(lambda: app.triggers.empty() and app.parts.capture.busy_since is None
                        and app.stats.get("sequences_opened") == app.stats.get("sequences_closed"))
        web = WebServer(app, WebSection(**settings), preview=camera.preview_jpeg)
    try:
        web.enable_for(120)
        yield PageStation(app, web)
    finally:
        web.stop()
        app.stop()


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageStation]:
    with page_station(tmp_path_factory.mktemp("web-station")) as running:
        yield running


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                                   "(pip install playwright; the browser is Debian's chromium)")
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set TRAPD_CHROMIUM)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def phone(browser, station: PageStation):
    """A fresh phone-sized browser context (no cookies, English locale) that has a GPS position."""
    context = browser.new_context(viewport=PHONE, locale="en-GB", base_url=station.url,
                                  geolocation={"latitude": 43.108211, "longitude": 131.873535, "accuracy": 12},
                                  permissions=["geolocation"])
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def log_in(page, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("#password", password)
    page.click("main form button")


# Tests wait on a page with tests.conftest.wait_until, checking its DOM from Python: the page's
# Content-Security-Policy forbids eval, so Playwright's ``wait_for_function`` cannot be used (the policy stays on).
def images_loaded(page, selector: str) -> bool:
    return page.eval_on_selector_all(selector, "imgs => imgs.length > 0 && imgs.every("
                                               "img => img.complete && img.naturalWidth > 0)")
