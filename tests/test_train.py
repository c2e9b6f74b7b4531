"""models/train.py: labelled photos in, a checked int8 model and its card out, the same bytes for the same seed.

Needs TensorFlow, which only the training venv has (the station's own venv never installs it):
    .venv-train/bin/python -m pytest tests/test_train.py
The data are a few scenes from the simulated camera's renderer, so a run takes seconds, not minutes.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from station.hardware.scenes import Scene, render
from station.vision.card import load_card, sha256_of
from station.vision.check import check_card
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is None,
    reason="TensorFlow is not installed in this venv; models/train.py needs the training venv: "
           ".venv-train/bin/python -m pytest tests/test_train.py")

CLASSES = {"blank": "blank", "Tiger": "amur_tiger", "Person": "human"}  # folder name -> species key
PER_CLASS = 10
TRAIN = ROOT / "models" / "train.py"


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A labelled folder (two classes under folder names that need the label map) and the map."""
    root = tmp_path_factory.mktemp("photos")
    for n, (folder, subject) in enumerate(CLASSES.items()):
        for i in range(PER_CLASS):
            seed = 930_000 + 100 * n + i
            (root / "set" / folder).mkdir(parents=True, exist_ok=True)
            Image.fromarray(render(Scene(subject, night=i % 2 == 1, seed=seed), (160, 120))).save(
                root / "set" / folder / f"{i:02d}.jpg", quality=90)
    (root / "labels.toml").write_text('[labels]\nTiger = "amur_tiger"\nPerson = "human"\n')
    return root


def train(source: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    args = [sys.executable, str(TRAIN), str(source), "--out", str(out), "--name", "test-model", "--size", "32",
            "--epochs", "2", "--seed", "3", "--threads", "1", "--heldout", "0.3", *extra]
    return subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.fixture(scope="module")
def trained(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("model")
    run = train(photos / "set", out, "--labels", str(photos / "labels.toml"), "--threshold", "human=0.35")
    assert run.returncode == 0, run.stderr
    return out, run


def test_training_writes_a_model_and_card_the_station_accepts(trained) -> None:
    out, run = trained
    card, model_path = load_card(out / "test-model.toml")
    assert model_path == out / "test-model.tflite" and card.sha256 == sha256_of(model_path)
    assert card.outputs.labels == ["blank", "human", "amur_tiger"]  # catalogue order
    assert (card.input.width, card.input.height, card.input.dtype) == (32, 32, "uint8")
    species = card.species_by_key()
    assert species["amur_tiger"].code == 2 and species["amur_tiger"].ru == "Амурский тигр"
    assert species["human"].threshold == 0.35 and species["blank"].threshold == 0.5
    assert all(finding.ok for finding in check_card(out / "test-model.toml"))
    training = card.training
    assert training["source"] == "folder" and training["seed"] == 3 and training["epochs"] == 2
    assert training["train_photos"] + training["heldout_photos"] == PER_CLASS * len(CLASSES)
    assert set(training["heldout_per_class"]) == {"blank", "human", "amur_tiger"}
    assert 0.0 <= training["heldout_accuracy_int8"] <= 1.0
    assert set(training["heldout_metrics_per_class"]) == {"blank", "human", "amur_tiger"}
    assert "[train " in run.stderr and "epoch 2/2" in run.stderr and "checked: PASS" in run.stderr
    assert run.stdout == ""  # progress goes to stderr only
    report = json.loads((out / "test-model-heldout" / "report.json").read_text())
    assert report["photos"] == training["heldout_photos"]
    assert (out / "test-model-heldout" / "confusion.png").is_file()


def test_the_same_seed_gives_the_same_bytes(photos: Path, trained, tmp_path: Path) -> None:
    out, _ = trained
    again = train(photos / "set", tmp_path, "--labels", str(photos / "labels.toml"), "--threshold", "human=0.35")
    assert again.returncode == 0, again.stderr
    assert sha256_of(tmp_path / "test-model.tflite") == sha256_of(out / "test-model.tflite")


def test_training_from_a_camtrap_dp_package(photos: Path, tmp_path: Path) -> None:
    package = tmp_path / "package"
    media, observations = [], []
    for n, (folder, subject) in enumerate(CLASSES.items()):
        for i, path in enumerate(sorted((photos / "set" / folder).glob("*.jpg"))):
            media_id = f"{subject}-{i}"
            (package / "media").mkdir(parents=True, exist_ok=True)
            (package / "media" / f"{media_id}.jpg").write_bytes(path.read_bytes())
            when = f"2025-06-0{n + 1}T10:{i:02d}:00Z"
            media.append({"mediaID": media_id, "deploymentID": "dep-1", "timestamp": when,
                          "filePath": f"media/{media_id}.jpg", "filePublic": "true", "fileMediatype": "image/jpeg"})
            kind = {"blank": "blank", "human": "human"}.get(subject, "animal")
            observations.append({"observationID": f"o-{media_id}", "deploymentID": "dep-1", "mediaID": media_id,
                                 "eventID": f"e-{subject}-{i // 3}", "eventStart": when, "eventEnd": when,
                                 "observationLevel": "media", "observationType": kind,
                                 "scientificName": "Panthera tigris altaica" if kind == "animal" else "",
                                 "classificationMethod": "human"})
    for name, rows in (("media.csv", media), ("observations.csv", observations)):
        with (package / name).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    run = train(package, tmp_path / "out")
    assert run.returncode == 0, run.stderr
    card, _ = load_card(tmp_path / "out" / "test-model.toml")
    assert card.training["source"] == "camtrap-dp"
    assert card.outputs.labels == ["blank", "human", "amur_tiger"]


def test_unknown_class_folders_are_refused_with_what_to_do(photos: Path, tmp_path: Path) -> None:
    run = train(photos / "set", tmp_path)
    assert run.returncode != 0
    assert "Person" in run.stderr and "--labels" in run.stderr and "Traceback" not in run.stderr
