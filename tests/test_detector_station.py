"""The station with a detector first (the bundled MegadetectorLite): real camera-trap photos through the
replay camera, end to end."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from station.daemon.app import StationApp
from station.errors import ConfigError, ModelError
from station.types import Trigger
from station.vision.station_vision import load_vision, model_label
from station.wire.ids import utc_now
from station.wire.messages import DetectionMessage
from tests.conftest import make_config, running_station
from tests.shared_assets import ROOT, dev_photo_path, photo_folder

BUNDLED_CARD = ROOT / "models" / "detector" / "mdlite-yolox-tiny-640.toml"
VERSION = "2022.05.28-trapd1"
DETECTOR = f"megadetector-lite-yolox-tiny-640 {VERSION}"  # the bundled detector, as every output names it

BANNER = [0.0, 0.93, 1.0, 0.07]  # the camera's info strip at the bottom of dev058 (a logo gets boxed)


def rows(db: Path, sql: str, params=()) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def detector_config(tmp_path: Path, photos: list[str], **sections):
    folder = photo_folder(tmp_path / "sd", photos)
    model = {"detector": "bundled", **sections.pop("model", {})}
    return make_config(tmp_path / "data", hardware={"camera": "replay"},
                       camera={"replay_dir": str(folder), "replay_loop": False, "width": 1024, "height": 768},
                       capture={"burst_frames": len(photos), "burst_interval_s": 0.0, "quiet_period_s": 0.2},
                       model=model, **sections)


def run_one_sequence(config) -> StationApp:
    with running_station(config) as app:
        app.on_trigger(Trigger(source="manual", at=utc_now()))
        assert app.wait_idle(60)
    return app


def detection_message(db: Path) -> DetectionMessage:
    payload = rows(db, "SELECT payload FROM outbox WHERE kind = 'detection'")[0][0]
    return DetectionMessage.model_validate_json(payload)


def test_boxes_become_a_counted_detection_with_its_box_and_the_model_named(tmp_path: Path) -> None:
    """Two people in one frame (dev003) and a bear in the next (dev062): one 'something' seen, count 2."""
    app = run_one_sequence(detector_config(tmp_path, ["dev003", "dev062"]))
    db = app.db_path
    boxes = rows(db, "SELECT m.frame_index, d.species_key, d.box_x, d.box_y, d.box_width, d.box_height, d.score, "
                     "d.model FROM frame_detections d JOIN media m USING (media_id) "
                     "ORDER BY m.frame_index, d.score DESC")
    assert [(frame, species) for frame, species, *_ in boxes] == [
        (0, "unknown_animal"), (0, "unknown_animal"), (1, "unknown_animal")]
    assert all(0 <= x <= 1 and 0 <= y <= 1 and 0 < w <= 1 and 0 < h <= 1 for _, _, x, y, w, h, _, _ in boxes)
    assert all(model == DETECTOR for *_, model in boxes)
    observations = rows(db, "SELECT observation_type, species_key, scientific_name, count, classified_by "
                            "FROM observations")
    assert observations == [("unknown", "unknown_animal", None, 2, DETECTOR)]
    message = detection_message(db)
    assert message.schema_ == "detection/1.1" and message.empty is False
    assert [(m.name, m.version) for m in message.models] == [("megadetector-lite-yolox-tiny-640", VERSION)]
    detection = message.detections[0]
    assert detection.count == 2 and detection.observation_type == "unknown" and detection.scientific_name is None
    best = max(boxes, key=lambda row: row[6])
    assert detection.box == pytest.approx(list(best[2:6]), abs=1e-4)
    assert detection.confidence == pytest.approx(best[6], abs=1e-4)


def test_a_sequence_of_empty_frames_is_blank(tmp_path: Path) -> None:
    app = run_one_sequence(detector_config(tmp_path, ["dev023", "dev030"]))
    assert rows(app.db_path, "SELECT count(*) FROM frame_detections") == [(0,)]
    assert rows(app.db_path, "SELECT observation_type, count FROM observations") == [("blank", None)]
    assert detection_message(app.db_path).empty is True


def test_a_mask_over_the_info_banner_drops_the_boxed_logo(tmp_path: Path) -> None:
    def boxes_low_in_frame(config) -> list[tuple]:
        app = run_one_sequence(config)
        return rows(app.db_path, "SELECT box_y FROM frame_detections WHERE box_y + box_height / 2 > 0.93")

    assert boxes_low_in_frame(detector_config(tmp_path / "plain", ["dev058"])), "the logo is boxed unmasked"
    assert boxes_low_in_frame(detector_config(tmp_path / "masked", ["dev058"],
                                              detection={"masks": [BANNER]})) == []


def test_the_lores_stream_is_the_detectors_input(tmp_path: Path) -> None:
    config = detector_config(tmp_path, ["dev062"])
    app = run_one_sequence(config)
    assert app.parts.vision.input_size == (640, 640)
    status = json.loads(rows(app.db_path, "SELECT payload FROM outbox WHERE kind = 'detection'")[0][0])
    assert status["model"] == {"name": "megadetector-lite-yolox-tiny-640", "version": VERSION}


def test_a_non_field_model_on_a_real_camera_is_refused_unless_allowed(tmp_path: Path) -> None:
    """The toy pipeline model (field_model = false) would decide real photos from picamera2: refused at start,
    before the camera is opened, with the key that allows it named."""
    config = make_config(tmp_path / "data", hardware={"camera": "picamera2", "trigger": "simulated"})
    with pytest.raises(ConfigError, match="model.allow_non_field.*trapd-pipeline-v1 1.0.0 is not a field model"):
        StationApp(config).start()
    allowed = make_config(tmp_path / "data", hardware={"camera": "picamera2", "trigger": "simulated"},
                          model={"allow_non_field": True})
    assert load_vision(allowed).non_field_models() == ["trapd-pipeline-v1 1.0.0"]
    simulated = make_config(tmp_path / "data")  # the simulated camera: the toy model is what it is for
    assert model_label(load_vision(simulated)) == "trapd-pipeline-v1 1.0.0"


def test_the_lora_summary_carries_the_count(tmp_path: Path) -> None:
    """MQTT down: the LoRa summary of the sequence says how many were counted (the most boxes in one frame)."""
    from station.devtools.mosquitto import free_port
    from station.wire.lora_codec import DetectionFrame, decode_uplink
    from tests.test_lora_link import LORA, wait_uplinks

    config = detector_config(tmp_path, ["dev003"], lora={**LORA, "max_priority": 1},
                             mqtt={"enabled": True, "port": free_port(), "reconnect_max_s": 1.0})
    with running_station(config) as app:
        simulator = app.parts.lora.modem.simulator
        app.on_trigger(Trigger(source="manual", at=utc_now()))
        assert app.wait_idle(60)
        uplinks = wait_uplinks(simulator, 2)
    frames = [decode_uplink(u.payload) for u in uplinks]
    counts = [(d.species_code, d.count) for f in frames if isinstance(f, DetectionFrame) for d in f.detections]
    assert counts == [(254, 2)]  # unknown_animal, two boxes in the frame


def test_the_thumbnail_of_a_small_box_is_cropped_to_it(tmp_path: Path) -> None:
    """A bear filling 5 % of the frame (dev062): the thumbnail shows the box with a margin, not the landscape."""
    import io

    from PIL import Image

    app = run_one_sequence(detector_config(tmp_path, ["dev062"]))
    thumb = rows(app.db_path, "SELECT payload FROM outbox WHERE kind = 'media'")[0][0]
    box = detection_message(app.db_path).detections[0].box
    assert box[2] * box[3] < 0.25
    with Image.open(io.BytesIO(thumb)) as image:
        ratio = image.width / image.height
    with Image.open(dev_photo_path("dev062")) as photo:
        width, height = photo.size
    # the crop is the box grown by 60 % of its size on each side (clipped to the frame), so its shape follows
    # the box's, not the frame's 4:3
    grown_w = min(1.0, box[0] + box[2] * 1.6) - max(0.0, box[0] - box[2] * 0.6)
    grown_h = min(1.0, box[1] + box[3] * 1.6) - max(0.0, box[1] - box[3] * 0.6)
    assert ratio == pytest.approx(grown_w * width / (grown_h * height), rel=0.05)


def test_camtrap_dp_export_has_a_media_level_observation_per_box(tmp_path: Path) -> None:
    import csv

    from station.camtrapdp.station_export import StationExport, export_station
    from station.camtrapdp.validate import validate_package

    app = run_one_sequence(detector_config(tmp_path, ["dev003", "dev062"]))
    out = tmp_path / "package"
    export_station(app.db_path, app.config.data_dir / "media", out,
                   StationExport("test-station", "LLNP", "RU", latitude=43.1, longitude=131.9))
    assert validate_package(out) == []
    with (out / "observations.csv").open(encoding="utf-8", newline="") as handle:
        observations = list(csv.DictReader(handle))
    events = [o for o in observations if o["observationLevel"] == "event"]
    media = [o for o in observations if o["observationLevel"] == "media"]
    assert [(o["observationType"], o["count"]) for o in events] == [("unknown", "2")]
    assert len(media) == 3 and all(o["mediaID"] and o["count"] == "1" for o in media)
    stored = {tuple(round(v, 4) for v in row) for row in rows(
        app.db_path, "SELECT box_x, box_y, box_width, box_height FROM frame_detections")}
    exported = {tuple(round(float(o[k]), 4) for k in ("bboxX", "bboxY", "bboxWidth", "bboxHeight")) for o in media}
    assert exported == stored
    assert {o["classifiedBy"] for o in media} == {DETECTOR}


def test_init_and_the_pi_image_use_the_bundled_real_detector(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from station.cli.main import main
    from station.config.load import load_config

    result = CliRunner().invoke(main, ["init", str(tmp_path / "station.toml")])
    assert result.exit_code == 0, result.output
    written = load_config(tmp_path / "station.toml")
    pi = load_config(Path(__file__).resolve().parents[1] / "deploy" / "image" / "station.pi.toml")
    for config in (written, pi):
        assert config.model.detector == Path("bundled") and not config.model.allow_non_field


def test_the_bundled_detector_loads_as_a_field_model(tmp_path: Path) -> None:
    from station.config.load import load_config
    from station.vision.bundled import BUNDLED_DETECTOR

    pi = load_config(Path(__file__).resolve().parents[1] / "deploy" / "image" / "station.pi.toml")
    bundled = Path(__file__).resolve().parents[1] / BUNDLED_DETECTOR
    if not bundled.is_file():
        pytest.skip(f"{BUNDLED_DETECTOR} is not built in this checkout yet (models/detector/convert.py)")
    vision = load_vision(pi)
    assert vision.detector is not None and vision.non_field_models() == []
    assert pi.detector_path == bundled


def test_the_demo_names_the_toy_model_in_what_it_prints() -> None:
    """The demo runs the toy model on simulated scenes (the detector does not find drawn animals) and says so."""
    from click.testing import CliRunner

    from station.cli.main import main

    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "not a field model" in result.output.splitlines()[0]
    assert "decided by: trapd-pipeline-v1 1.0.0" in result.output
    detections = [line for line in result.output.splitlines() if "/detections" in line]
    assert detections and all(line.endswith("(by trapd-pipeline-v1 1.0.0)") for line in detections)


def test_model_reload_with_a_detector_card_puts_the_detector_in_front(tmp_path: Path) -> None:
    card = BUNDLED_CARD
    config = make_config(tmp_path / "data")  # the toy classifier on whole frames
    with running_station(config) as app:
        assert app.parts.vision.detector is None
        label = app.reload_model(card)
        assert label == f"{DETECTOR} + trapd-pipeline-v1 1.0.0"
        assert app.parts.vision.input_size == (640, 640) and app.parts.classifier.card.name == "trapd-pipeline-v1"
        bad = tmp_path / "bad.toml"  # beside a copy of the model, with a wrong sha256
        (tmp_path / "mdlite-yolox-tiny-640.tflite").symlink_to(card.parent / "mdlite-yolox-tiny-640.tflite")
        bad.write_text(card.read_text(encoding="utf-8").replace("sha256 = \"4b6e", "sha256 = \"ffff"),
                       encoding="utf-8")
        with pytest.raises(ModelError, match="sha256 does not match"):
            app.reload_model(bad)
        assert app.parts.vision.detector is not None and app.parts.vision.detector.card.label.startswith("megadetector")
