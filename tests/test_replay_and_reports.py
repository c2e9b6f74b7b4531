"""Replay camera (an SD card of old photos), a foreign ImageNet model, and the status/detections reports."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest
from click.testing import CliRunner
from PIL import Image

from station.cli.main import main
from station.config.file import default_config_text
from station.hardware.scenes import Scene, render
from tests.conftest import ROOT, SHARED_MODELS, make_config, running_station

IMAGENET_CARD = ROOT / "models" / "imagenet-mobilenet-v2.toml"


def write_photos(folder, subjects):
    folder.mkdir(parents=True)
    for i, subject in enumerate(subjects):
        Image.fromarray(render(Scene(subject, seed=5000 + i), (640, 480))).save(folder / f"IMG_{i:04d}.JPG")


def test_replay_camera_classifies_a_folder_of_old_photos(tmp_path):
    write_photos(tmp_path / "sdcard", ["amur_leopard"] * 2)
    config = make_config(tmp_path / "data", hardware={"camera": "replay"},
                         camera={"replay_dir": str(tmp_path / "sdcard")})
    with running_station(config) as app:
        app.parts.trigger_source.fire()
        assert app.wait_idle(30)
    with sqlite3.connect(app.db_path) as conn:
        assert conn.execute("SELECT species_key FROM observations").fetchall() == [("amur_leopard",)]
        sizes = conn.execute("SELECT width, height, bytes FROM media").fetchall()
    originals = sorted(p.stat().st_size for p in (tmp_path / "sdcard").iterdir())
    assert sorted(s[2] for s in sizes) == originals  # the photos are stored byte for byte
    assert all((w, h) == (640, 480) for w, h, _ in sizes)


@pytest.mark.skipif(not (SHARED_MODELS / "imagenet-mobilenet-v2").is_dir(),
                    reason="../shared/models/imagenet-mobilenet-v2 is absent (third-party model, not shipped)")
def test_station_runs_the_imagenet_model_through_our_card(tmp_path):
    config = make_config(tmp_path / "data", model={"card": str(IMAGENET_CARD)})
    with running_station(config) as app:
        assert app.parts.classifier.card.outputs.count == 1001
        app.parts.trigger_source.fire("amur_tiger")
        assert app.wait_idle(60)
        classifier = app.parts.classifier
    with sqlite3.connect(app.db_path) as conn:
        scores = [json.loads(r[0]) for r in conn.execute("SELECT scores FROM media")]
        classified_by = conn.execute("SELECT DISTINCT classified_by FROM observations").fetchall()
    assert len(scores) == 2 and all(set(s) <= {sp.key for sp in classifier.card.species} for s in scores)
    assert classified_by[0][0].startswith(classifier.card.name)
    # folding 1001 ImageNet outputs into our species loses no probability mass
    pixels = render(Scene("amur_tiger", seed=77), (640, 480))
    raw = classifier.invoke_bare(classifier.quantize(pixels)).astype(float).reshape(-1) * (1 / 256)
    assert abs(sum(classifier.classify(pixels).values()) - raw.sum()) < 1e-6


def test_status_and_detection_export(tmp_path):
    data = tmp_path / "data"
    config = make_config(data)
    with running_station(config) as app:
        for subject in ("amur_tiger", "human"):
            app.parts.trigger_source.fire(subject)
            assert app.wait_idle(30)
    (tmp_path / "station.toml").write_text(default_config_text(
        {"station": {"id": "test-station", "data_dir": str(data)}}))
    runner = CliRunner()
    status = runner.invoke(main, ["status", "-c", str(tmp_path / "station.toml"), "--json"])
    assert status.exit_code == 0, status.output
    summary = json.loads(status.output)
    assert summary["sequences"] == 2 and summary["detections_per_species"] == {"amur_tiger": 1, "human": 1}
    assert summary["outbox_pending"]["detection"] == 2 and summary["daemon"]["running"] is False
    text = runner.invoke(main, ["status", "-c", str(tmp_path / "station.toml")])
    assert "detections per species: amur_tiger 1, human 1" in text.output
    exported = runner.invoke(main, ["detections", "-c", str(tmp_path / "station.toml"), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(exported.output)))
    assert sorted(r["species"] for r in rows) == ["amur_tiger", "human"]
    only = runner.invoke(main, ["detections", "-c", str(tmp_path / "station.toml"), "--format", "json",
                                "--species", "human"])
    assert [r["scientific_name"] for r in json.loads(only.output)] == ["Homo sapiens"]
