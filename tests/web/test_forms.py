"""The deployment form's checks, and the strings of the three languages."""

from __future__ import annotations

import re
import string

import pytest

from station.web.forms import parse_deployment, values_from_row
from station.web.i18n import EN, TABLES, pick_language, species_name, translator


def test_a_full_form_becomes_a_deployments_row():
    form = parse_deployment({"latitude": "43.108211", "longitude": "131.873535", "accuracy": "8.4",
                             "camera_height": "0.9", "heading": "45", "tilt": "-10", "habitat": " oak forest ",
                             "feature_type": "trailGame", "notes": "n", "setup_by": "Li Wei", "location_name": "K-4"})
    assert form.ok
    assert form.columns == {"latitude": 43.108211, "longitude": 131.873535, "coordinate_uncertainty_m": 8,
                            "camera_height_m": 0.9, "camera_heading_deg": 45.0, "camera_tilt_deg": -10.0,
                            "location_name": "K-4", "habitat": "oak forest", "comments": "n", "setup_by": "Li Wei",
                            "feature_type": "trailGame"}
    assert parse_deployment(values_from_row(form.columns)).columns == form.columns  # shown again unchanged


@pytest.mark.parametrize("latitude, longitude, expected", [
    ("43.1234, 131.5678", "", (43.1234, 131.5678)),  # a pair pasted from a maps app
    ("43.1234;131.5678", "", (43.1234, 131.5678)),
    ("43,1234", "131,5678", (43.1234, 131.5678)),  # decimal commas
    ("-33.9", "18.4", (-33.9, 18.4)),
])
def test_coordinates_are_read_the_ways_phones_give_them(latitude, longitude, expected):
    form = parse_deployment({"latitude": latitude, "longitude": longitude})
    assert form.ok and (form.columns["latitude"], form.columns["longitude"]) == expected


def test_problems_are_named_by_field_for_the_page_to_translate():
    form = parse_deployment({"latitude": "", "longitude": "200", "tilt": "steep", "heading": "nan",
                             "feature_type": "swimmingPool", "notes": "x" * 1001})
    assert ("err_required", {"field": "latitude"}) in form.errors
    assert ("err_range", {"field": "longitude", "lo": "-180", "hi": "180"}) in form.errors
    assert ("err_number", {"field": "tilt"}) in form.errors
    assert ("err_range", {"field": "heading", "lo": "0", "hi": "360"}) in form.errors
    assert ("err_required", {"field": "feature_type"}) in form.errors
    assert ("err_too_long", {"field": "notes", "n": 1000}) in form.errors


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", ["ru", "zh"])
def test_every_language_has_every_string_with_the_same_placeholders(language):
    table = TABLES[language]
    assert set(table) == set(EN)
    for key, text in EN.items():
        assert _placeholders(table[key]) == _placeholders(text), key
        assert table[key].strip(), key


def test_translations_species_names_and_the_browsers_language():
    assert translator("ru")("walk_warmup", s=12) == "Датчик ещё прогревается (осталось 12 с)."
    assert translator("xx")("log_in") == "Log in"
    assert (species_name("amur_tiger", "en"), species_name("amur_tiger", "ru"), species_name("amur_tiger", "zh")) == (
        "Amur tiger", "Амурский тигр", "东北虎")
    assert species_name("blank", "zh") == "空拍" and species_name("not_a_species", "ru") == "not_a_species"
    assert pick_language(None, "ru-RU,ru;q=0.9,en;q=0.8") == "ru"
    assert pick_language(None, "zh-CN,zh;q=0.9") == "zh"
    assert pick_language("en", "zh-CN") == "en"  # the page's own switch wins
    assert pick_language(None, "de-DE") == "en" and pick_language("fr", None) == "en"
    assert all(re.fullmatch(r"[a-z_A-Z]+", key) for key in EN)
