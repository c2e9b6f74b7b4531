"""The ranger's page in headless Chromium on a phone-sized screen: log in, walk test, aim, deployment form,
detections, languages. Screenshots go to test-artifacts/web/."""

from __future__ import annotations

import sqlite3

import pytest

from station.daemon.app import StationApp
from station.web.i18n import species_name
from tests.conftest import wait_until
from tests.web.conftest import images_loaded, log_in

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")

def query(station, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    with sqlite3.connect(f"file:{station.app.db_path}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql, params).fetchall()


def test_a_wrong_password_is_refused(phone, artifacts):
    phone.goto("/status")
    assert phone.url.endswith("/login")
    phone.fill("#password", "not-the-password")
    phone.click("main form button")
    assert phone.locator("[role=alert]").inner_text() == "Wrong password."
    assert phone.url.endswith("/login")
    assert not [c for c in phone.context.cookies() if c["name"] == "trapd_session"]
    phone.screenshot(path=artifacts / "login-refused.png", full_page=True)
    phone.goto("/status")
    assert phone.url.endswith("/login")


def test_logging_in_shows_the_status(phone, station, artifacts):
    log_in(phone)
    assert phone.url.endswith("/status")
    session = next(c for c in phone.context.cookies() if c["name"] == "trapd_session")
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert "no reading" in phone.inner_text("#s-power")  # the simulated station has no companion board
    assert "Free" in phone.inner_text("#s-storage") and "GB" in phone.inner_text("#s-storage")
    assert "off" in phone.inner_text("#s-link")  # MQTT is disabled in this station's config
    assert station.app.parts.classifier.card.name in phone.inner_text("#s-station")
    assert phone.inner_text("#clock") == "Phone and station agree"
    phone.screenshot(path=artifacts / "status.png", full_page=True)


def test_walk_test_shows_each_trigger_with_its_frame(phone, station, artifacts):
    log_in(phone)
    phone.goto("/walk")
    assert phone.is_visible("#waiting")
    frames_per_burst = station.app.config.capture.burst_frames
    for fired in (1, 2):
        station.app.parts.trigger_source.fire("amur_tiger")
        wait_until(lambda n=fired: phone.inner_text("#count") == str(n), timeout=10,
                   message=f"{fired} trigger(s) shown")
        wait_until(lambda n=fired: phone.locator("#frames img").count() >= n * frames_per_burst,
                   timeout=10, message="the frames of the burst")
        assert station.app.wait_idle(10)
    wait_until(lambda: images_loaded(phone, "#frames img"), timeout=10, message="every frame loaded")
    assert phone.is_hidden("#waiting")
    shown = phone.eval_on_selector_all("#frames figure", "figs => figs.map(f => f.dataset.mediaId)")
    stored = {row["media_id"] for row in query(station, "SELECT media_id FROM media")}
    assert set(shown) <= stored and len(shown) == 2 * frames_per_burst
    assert "burst 1, frame 1" in phone.inner_text("#frames")
    phone.wait_for_selector("#motion", state="hidden")
    phone.screenshot(path=artifacts / "walk-test.png", full_page=True)


def test_aim_shows_a_live_preview_that_is_never_stored(phone, station, artifacts):
    media_before = query(station, "SELECT count(*) AS n FROM media")[0]["n"]
    log_in(phone)
    phone.goto("/aim")
    wait_until(lambda: images_loaded(phone, "#preview"), timeout=10, message="the first preview")
    first = phone.get_attribute("#preview", "src")
    wait_until(lambda: phone.get_attribute("#preview", "src") != first, timeout=10, message="a newer preview")
    width = phone.eval_on_selector("#preview", "img => img.naturalWidth")
    assert 0 < width <= 480
    phone.screenshot(path=artifacts / "aim.png", full_page=True)
    assert query(station, "SELECT count(*) AS n FROM media")[0]["n"] == media_before


def test_the_deployment_form_records_a_camtrap_dp_deployment(phone, station, artifacts):
    log_in(phone)
    phone.goto("/deployment")
    phone.fill("#location_name", "Kedrovaya Pad, ridge trail 4")
    phone.click("#gps")  # the phone's position (the browser context's geolocation)
    wait_until(lambda: phone.input_value("#latitude") != "", timeout=10, message="the GPS position")
    phone.fill("#camera_height", "0,8")  # a decimal comma, as a Russian keyboard types it
    phone.fill("#heading", "270")
    phone.fill("#tilt", "-5")
    phone.fill("#habitat", "Korean pine and broadleaf forest")
    phone.select_option("#feature_type", "trailGame")
    phone.fill("#notes", "Strapped to an oak, 3 m from the trail.")
    phone.fill("#setup_by", "Ivan Petrov")
    phone.screenshot(path=artifacts / "deployment-form.png", full_page=True)
    phone.click("#submit")
    assert "done=started" in phone.url
    row = query(station, "SELECT * FROM deployments WHERE end IS NULL")[0]
    assert row["station_id"] == "test-station" and row["deployment_id"] in phone.inner_text("[role=status]")
    assert (row["latitude"], row["longitude"], row["coordinate_uncertainty_m"]) == (43.108211, 131.873535, 12)
    assert (row["camera_height_m"], row["camera_heading_deg"], row["camera_tilt_deg"]) == (0.8, 270, -5)
    assert (row["feature_type"], row["setup_by"], row["location_name"]) == (
        "trailGame", "Ivan Petrov", "Kedrovaya Pad, ridge trail 4")
    assert row["habitat"].startswith("Korean pine") and row["comments"].startswith("Strapped") and row["start"]
    assert station.deployments[-1] == row["deployment_id"]
    phone.screenshot(path=artifacts / "deployment-open.png", full_page=True)

    phone.once("dialog", lambda dialog: dialog.accept())
    phone.click("#end")
    assert "done=ended" in phone.url
    ended = query(station, "SELECT * FROM deployments WHERE deployment_id = ?", (row["deployment_id"],))[0]
    assert ended["end"] and ended["end"] >= ended["start"]
    assert station.deployments[-1] == ""
    assert "No deployment is open" in phone.inner_text("#state")


def test_a_bad_deployment_form_is_refused_with_reasons(phone, station):
    log_in(phone)
    phone.goto("/deployment")
    phone.fill("#latitude", "43.1")
    phone.fill("#longitude", "231.9")
    phone.fill("#tilt", "steep")
    phone.click("#submit")
    alerts = phone.locator("[role=alert]").all_inner_texts()
    assert "Longitude: must be between -180 and 180." in alerts
    assert "Tilt (degrees, down is negative): not a number." in alerts
    assert phone.input_value("#latitude") == "43.1"  # what was typed is kept for correction
    assert not query(station, "SELECT * FROM deployments WHERE end IS NULL")


def test_a_sequence_can_be_marked_wrong_and_taken_back(phone, station, artifacts):
    station.app.parts.trigger_source.fire("wild_boar")
    assert station.app.wait_idle(10)
    event_id = query(station, "SELECT event_id FROM events ORDER BY start DESC LIMIT 1")[0]["event_id"]
    log_in(phone)
    phone.goto("/detections")
    card = phone.locator(f"#e-{event_id}")
    card.locator("button").click()
    assert "Marked wrong" in phone.locator(f"#e-{event_id}").inner_text()
    review = query(station, "SELECT verdict, reviewed_at FROM event_reviews WHERE event_id = ?", (event_id,))
    assert review and review[0]["verdict"] == "wrong"
    phone.screenshot(path=artifacts / "detections-marked-wrong.png")
    phone.locator(f"#e-{event_id} button").click()
    assert "Marked wrong" not in phone.locator(f"#e-{event_id}").inner_text()
    assert not query(station, "SELECT 1 FROM event_reviews WHERE event_id = ?", (event_id,))


def test_the_language_switch_shows_russian_and_chinese(phone, station, artifacts):
    station.app.parts.trigger_source.fire("amur_tiger")
    assert station.app.wait_idle(10)
    seen = query(station, "SELECT species_key, observation_type FROM observations o JOIN events e USING (event_id) "
                          "ORDER BY e.start DESC, o.classification_probability DESC LIMIT 1")[0]
    key = seen["species_key"] or seen["observation_type"]
    log_in(phone)
    phone.click("header a[lang=ru]")
    assert phone.url.endswith("/status")
    assert phone.get_attribute("html", "lang") == "ru"
    assert phone.inner_text("nav.tabs a.on") == "Состояние"
    assert "Батарея" in phone.inner_text("#s-power")
    phone.screenshot(path=artifacts / "status-ru.png", full_page=True)
    phone.goto("/detections")
    assert species_name(key, "ru") in phone.inner_text("main")
    phone.click("header a[lang=zh]")
    assert phone.url.endswith("/detections") and phone.get_attribute("html", "lang") == "zh"
    assert phone.inner_text("h1") == "最近的拍摄序列"
    assert species_name(key, "zh") in phone.inner_text("main")
    wait_until(lambda: images_loaded(phone, "main img"), timeout=10, message="the thumbnails")
    phone.screenshot(path=artifacts / "detections-zh.png", full_page=True)
    phone.goto("/walk")
    assert "走动测试" in phone.inner_text("h1")


@pytest.mark.skipif(not hasattr(StationApp, "set_deployment"), reason="the app does not take deployments from the "
                    "page yet (apply /tmp/trapd-web/app.patch)")
def test_sequences_after_a_deployment_starts_carry_its_id(phone, station):
    log_in(phone)
    phone.goto("/deployment")
    phone.fill("#latitude", "42.95, 130.85")  # pasted from a maps app
    phone.click("#submit")
    deployment_id = query(station, "SELECT deployment_id FROM deployments WHERE end IS NULL")[0]["deployment_id"]
    assert station.app.config.station.deployment_id == deployment_id
    station.app.parts.trigger_source.fire("amur_leopard")
    assert station.app.wait_idle(10)
    latest = query(station, "SELECT deployment_id FROM events ORDER BY start DESC LIMIT 1")[0]
    assert latest["deployment_id"] == deployment_id
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.click("#end")
    assert station.app.config.station.deployment_id == ""
