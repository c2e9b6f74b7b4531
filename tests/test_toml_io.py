"""station.config.toml: every TOML writer reads back what it was given, and every reader names the file,
the line and column and what to do, as the caller's error type."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.config.file import default_config_text
from station.config.toml import dumps, read_toml, toml_value
from station.errors import ConfigError, ModelError
from station.limits import TextBounds
from station.provision.files import SECRET_KEYS, retire_provision_file
from station.provision.request import ProvisionRequest

HOSTILE = ['say "hi"', "back\\slash\\", "two\nlines\r\n", '"""', "'''", "тигр 老虎 🐅", "tab\there",
           "nul\x00 bell\x07 esc\x1b del\x7f", "\u2028\u2029", "# not a comment", "[not.a.table]", "=", ""]
#: Any text a string may hold (TOML strings take every Unicode scalar value, escaped where needed).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


def _back(value: object) -> object:
    return tomllib.loads(f"k = {toml_value(value)}\n")["k"]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_string_reads_back_equal(text: str) -> None:
    assert _back(text) == text
    assert _back([text, text]) == [text, text]
    assert _back({text: text}) == {text: text}


@given(TEXT)
def test_any_string_reads_back_equal(text: str) -> None:
    assert _back(text) == text


def test_values_of_every_kind_read_back_equal() -> None:
    for value in (True, False, 0, -7, 2**63 - 1, 0.1, 1e-7, 1e300, -0.0, [], {}, [[1, 2], ["a"]],
                  {"a": {"b": [1.5]}}):
        assert _back(value) == value
    assert _back(Path("media/a b")) == "media/a b"
    assert toml_value(None) is None


@settings(max_examples=60)
@given(st.dictionaries(TEXT, TEXT, max_size=4), TEXT)
def test_a_document_reads_back_equal(table: dict[str, str], text: str) -> None:
    doc = {"name": text, "table": {"scalars": table, "list": [text]}, "species": [{"key": text, "code": 1}],
           "map": {0: text}}
    written = dumps(doc, header="written by a test\nsecond line")
    expected = {**doc, "map": {"0": text}}
    assert tomllib.loads(written) == expected


def test_a_document_keeps_its_header_and_sections() -> None:
    text = dumps({"a": 1, "t": {"b": "x"}, "u": {"v": [{"w": 2}]}}, header="line one\nline two")
    assert text.startswith("# line one\n# line two\n\na = 1\n")
    assert "[t]\n" in text and "[u]\n" in text and "[[u.v]]\n" in text


@pytest.mark.parametrize("text", HOSTILE)
def test_the_default_station_toml_keeps_hostile_values(text: str) -> None:
    written = default_config_text({"mqtt": {"password": text, "username": text}, "station": {"park": text}})
    raw = tomllib.loads(written)
    assert raw["mqtt"]["password"] == text and raw["mqtt"]["username"] == text and raw["station"]["park"] == text


def test_the_retired_provisioning_file_keeps_hostile_values_and_blanks_secrets(tmp_path: Path) -> None:
    boot_file = tmp_path / "trapd-provision.toml"
    boot_file.write_text("station_id = \"x\"\n")
    raw = {"station_id": "llnp-0412", "park": HOSTILE[0], "broker_url": HOSTILE[1], "username": HOSTILE[2],
           "hotspot_ssid": HOSTILE[5], "password": HOSTILE[3], "web_password": HOSTILE[4] * 4}
    retire_provision_file(boot_file, raw, ProvisionRequest.model_validate(raw))
    applied = tomllib.loads((tmp_path / "trapd-provision.toml.applied").read_text(encoding="utf-8"))
    assert applied == {key: "" if key in SECRET_KEYS else value for key, value in raw.items()}
    assert not boot_file.exists()


def test_a_broken_file_is_one_error_with_line_column_and_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "card.toml"
    path.write_text('name = "x"\nlabels = [unclosed\n')
    with pytest.raises(ModelError) as caught:
        read_toml(path, error=ModelError, what="model card", fix="regenerate it")
    message = str(caught.value)
    assert message.startswith(f"{path}: cannot read model card: not valid TOML: ")
    assert "(at line 2, column 11)" in message and message.endswith("; regenerate it")


def test_missing_unreadable_too_large_and_too_deep_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="nope.toml: no such file; make one"):
        read_toml(missing, error=ConfigError, missing="no such file; make one")
    assert read_toml(missing, error=ConfigError, default={"a": {}}) == {"a": {}}
    with pytest.raises(ConfigError, match="cannot read: "):
        read_toml(tmp_path, error=ConfigError)
    bounds = TextBounds(max_bytes=1024, max_depth=3, kind="test file", usual_depth="one")
    big, deep = tmp_path / "big.toml", tmp_path / "deep.toml"
    big.write_text("a = 1\n" * 400)
    deep.write_text("a = [[[[1]]]]\n")
    with pytest.raises(ConfigError, match="larger than 1 KB; this is not a test file"):
        read_toml(big, error=ConfigError, bounds=bounds)
    with pytest.raises(ConfigError, match="nested deeper than 3 levels; test file needs one"):
        read_toml(deep, error=ConfigError, bounds=bounds)
    (tmp_path / "latin1.toml").write_bytes(b'a = "\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        read_toml(tmp_path / "latin1.toml", error=ConfigError)
    nested = tmp_path / "nested.toml"
    nested.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_toml(nested, error=ConfigError)


def test_the_fleet_alerts_file_keeps_hostile_names_and_loads_as_central_config(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from station.central.config import validate_central_config
    from station.cli.fleet import _write_setup

    villages = [SimpleNamespace(name=name or "-", latitude=43.1, longitude=130.9, country="CN") for name in HOSTILE]
    zones = [SimpleNamespace(name=HOSTILE[0], polygon=[(43.0, 130.8), (43.0, 131.0), (43.2, 131.0)])]
    _write_setup(tmp_path, SimpleNamespace(settlements=villages, zones=zones, registry=lambda: []))
    text = (tmp_path / "alerts.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    assert [village["name"] for village in raw["alerts"]["settlements"]] == [v.name for v in villages]
    assert raw["alerts"]["protected_zones"][0]["polygon"] == [[43.0, 130.8], [43.0, 131.0], [43.2, 131.0]]
    assert text.startswith("# paste into central.toml\n") and "[alerts]" in text
    validate_central_config(raw, source="alerts.toml")
