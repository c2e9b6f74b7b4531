"""A missing, corrupt or mismatched model is a clear error at start-up, never a crash in the field."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from station.errors import ModelError
from station.vision.bundled import bundled_card
from station.vision.card import sha256_of
from station.vision.classifier import Classifier


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """A copy of the bundled card and model that a test may damage."""
    card = bundled_card()
    text = card.read_text(encoding="utf-8")
    model_file = re.search(r'^model_file = "(.+)"$', text, re.M).group(1)
    shutil.copy(card.parent / model_file, tmp_path / model_file)
    (tmp_path / card.name).write_text(text, encoding="utf-8")
    return tmp_path / card.name


def model_path_of(card: Path) -> Path:
    return card.parent / re.search(r'^model_file = "(.+)"$', card.read_text(), re.M).group(1)


def set_sha(card: Path, sha: str) -> None:
    card.write_text(re.sub(r'^sha256 = ".*"$', f'sha256 = "{sha}"', card.read_text(), flags=re.M))


def test_intact_copy_loads(model_copy):
    assert Classifier.from_card_file(model_copy).card.outputs.count >= 2


def test_truncated_model_is_caught_by_the_card_checksum(model_copy):
    model = model_path_of(model_copy)
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    with pytest.raises(ModelError, match="sha256 does not match"):
        Classifier.from_card_file(model_copy)


def test_corrupt_model_with_matching_checksum_is_refused_by_the_runtime(model_copy):
    model = model_path_of(model_copy)
    model.write_bytes(b"not a flatbuffer" * 100)
    set_sha(model_copy, sha256_of(model))
    with pytest.raises(ModelError, match="not a usable TFLite model"):
        Classifier.from_card_file(model_copy)


def test_missing_model_file(model_copy):
    model_path_of(model_copy).unlink()
    with pytest.raises(ModelError, match="model file not found"):
        Classifier.from_card_file(model_copy)


def test_card_that_does_not_match_the_tensors(model_copy):
    model_copy.write_text(re.sub(r"^width = \d+$", "width = 17", model_copy.read_text(), count=1, flags=re.M))
    with pytest.raises(ModelError, match="model input shape"):
        Classifier.from_card_file(model_copy)


def test_card_with_wrong_label_count(model_copy):
    text = re.sub(r"^count = (\d+)$", lambda m: f"count = {int(m.group(1)) + 1}", model_copy.read_text(),
                  count=1, flags=re.M)
    model_copy.write_text(text)
    with pytest.raises(ModelError, match="outputs.labels has"):
        Classifier.from_card_file(model_copy)


def test_daemon_with_a_corrupt_model_exits_with_a_clear_message(model_copy, tmp_path):
    model = model_path_of(model_copy)
    model.write_bytes(model.read_bytes()[:1000])
    config = tmp_path / "station.toml"
    config.write_text(f'[station]\nid = "model-st"\n[hardware]\ncamera = "simulated"\ntrigger = "simulated"\n'
                      f'[model]\ncard = "{model_copy}"\n[mqtt]\nenabled = false\n')
    result = subprocess.run([sys.executable, "-m", "station", "run", "-c", str(config)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert "sha256 does not match the card" in result.stderr and "Traceback" not in result.stderr
