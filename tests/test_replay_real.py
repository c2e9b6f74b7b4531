"""`trapd replay` with the real detector on real camera-trap photos (a few from the shared dev set, which is
not Amur fauna): people found by the people card, counts from boxes, a per-photo report with boxes, and a
non-field model refused unless allowed."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from station.cli.replay import replay
from station.config.file import default_config_text
from tests.shared_assets import COCO_CARD, DEV_SET, MDLITE_CARD, shared_path
from tests.test_pipeline_eval import PEOPLE_CARD, local_card

#: camera folder -> dev photos: a man walking, then three wild boar (one sequence each: a day apart)
CARD = {"ridge/CAM01/DCIM": ("dev001",), "valley/CAM02": ("dev060", "dev025")}


@pytest.fixture(scope="module")
def sd_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sdcard")
    for folder, names in CARD.items():
        for i, name in enumerate(names):
            source = shared_path(*DEV_SET, "images", f"{name}.jpg")
            if source is None:
                pytest.skip("the real camera-trap dev set ../shared/datasets/real-camtrap-dev is absent")
            target = root / folder / f"IMG_{i:04d}.JPG"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
            moment = 1_760_000_000 + 86_400 * i  # the dev photos carry no EXIF: dated by these file times
            os.utime(target, (moment, moment))
    return root


def _config(tmp_path: Path, **model: str) -> Path:
    config = tmp_path / "station.toml"
    config.write_text(default_config_text({"station": {"id": "sd-import", "data_dir": "data"},
                                           "model": model, "mqtt": {"enabled": False}}))
    return config


def test_real_photos_are_imported_with_the_detector_and_the_people_card(sd_card: Path, tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    config = _config(tmp_path, detector=str(local_card(MDLITE_CARD, cards)),
                     people=str(local_card(PEOPLE_CARD, cards)))
    report = tmp_path / "photos.csv"
    result = CliRunner().invoke(replay, ["-c", str(config), str(sd_card), "--utc-offset", "+10:00",
                                         "--report", str(report)])
    assert result.exit_code == 0, result.output
    models = "megadetector-lite-yolox-tiny-640 2022.05.28-ref + coco-yolox-nano-people 1.0.0"
    assert f"models: {models}" in result.output and "3 photos dated by their file's modification" in result.output
    rows = {row["file"]: row for row in csv.DictReader(report.open(encoding="utf-8"))}
    person = rows["ridge/CAM01/DCIM/IMG_0000.JPG"]
    assert (person["observation_type"], person["species"], person["count"]) == ("human", "human", "1")
    assert person["time_source"] == "mtime" and person["models"] == models
    boar = rows["valley/CAM02/IMG_0000.JPG"]
    assert boar["observation_type"] == "unknown" and boar["count"] == "3"  # no classifier: animals unnamed
    assert len(json.loads(boar["boxes"])) == 3
    assert rows["valley/CAM02/IMG_0001.JPG"]["observation_type"] == "blank"
    with sqlite3.connect(tmp_path / "data" / "station.db") as conn:
        observed = conn.execute("SELECT observation_type, count FROM observations ORDER BY observation_type").fetchall()
        boxes = conn.execute("SELECT count(*), min(model) FROM frame_detections").fetchone()
    assert observed == [("blank", None), ("human", 1), ("unknown", 3)]
    assert boxes == (4, models)


def test_a_non_field_detector_is_refused_unless_allowed(sd_card: Path, tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    config = _config(tmp_path, detector=str(local_card(COCO_CARD, cards)))
    refused = CliRunner().invoke(replay, ["-c", str(config), str(sd_card)])
    assert refused.exit_code == 2 and "is not a field model" in refused.output
    assert "trapd replay --allow-non-field" in refused.output
    allowed = CliRunner().invoke(replay, ["-c", str(config), str(sd_card), "--allow-non-field"])
    assert allowed.exit_code == 0, allowed.output
    assert "models: coco-yolox-nano-ti-lite-416" in allowed.output
