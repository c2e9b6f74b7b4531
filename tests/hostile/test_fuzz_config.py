"""The standing hostile-input suite, config side: generated station.toml files and generated changes.

Whatever the file says, loading it gives a config or one ConfigError — never another exception; and no
change through `set_key` (what remote config_set uses) can leave a file that does not load.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.config.edit import set_key
from station.config.file import default_config_text
from station.config.load import load_config, parse_toml_text, validate_config
from station.config.models import StationConfig
from station.errors import ConfigError

SECTIONS = [name for name, field in StationConfig.model_fields.items() if not field.exclude]
KEYS = [(name, key) for name in SECTIONS
        for key in StationConfig.model_fields[name].annotation.model_fields]  # type: ignore[union-attr]

scalars = st.one_of(st.booleans(), st.integers(), st.integers(min_value=-(10**40), max_value=10**40),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=80),
                    st.text(alphabet=st.characters(max_codepoint=0x9F), max_size=20))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=8)


@st.composite
def documents(draw) -> dict:
    document: dict = {}
    for section, key in draw(st.lists(st.sampled_from(KEYS), max_size=12)):
        document.setdefault(section, {})[key] = draw(values)
    if draw(st.booleans()):
        document.setdefault(draw(st.text(min_size=1, max_size=10)), {})["x"] = draw(values)
    return document


def _load_or_config_error(text: bytes) -> None:
    try:
        raw = parse_toml_text(text, source="fuzz.toml")
        validate_config(raw, source="fuzz.toml", base_dir=Path("/nonexistent"))
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.toml")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_generated_config_files_load_or_give_one_config_error(document):
    _load_or_config_error(tomlkit.dumps(document).encode("utf-8"))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_arbitrary_bytes_load_or_give_one_config_error(data):
    _load_or_config_error(data)


BASE = default_config_text({"station": {"id": "fuzz-st", "data_dir": "data"}, "mqtt": {"enabled": False}})


@settings(max_examples=100, deadline=None)
@given(key=st.one_of(st.sampled_from([f"{s}.{k}" for s, k in KEYS]), st.text(max_size=40)),
       value=scalars)
def test_no_change_can_leave_a_file_that_does_not_load(key, value):
    """Item 1: every later start must still work, whatever config_set was asked."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "station.toml"
        path.write_text("# a technician's comment\n" + BASE)
        before = path.read_bytes()
        try:
            set_key(path, key, value)
        except ConfigError:
            assert path.read_bytes() == before  # refused: untouched
            return
        config = load_config(path)  # accepted: it loads, and the comment survived
        assert config.station.id == "fuzz-st" and path.read_text().startswith("# a technician's comment\n")
