"""Detector cards and the per-frame detector pipeline, on real camera-trap photos (the shared dev set)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from station.errors import ModelError
from station.vision.card import load_card
from station.vision.classifier import Classifier
from station.vision.detector import Box
from station.vision.detector_card import DetectorCard, card_kind, load_detector_card
from station.vision.frame_pipeline import FramePipeline, crop
from station.vision.settings import DetectionSection
from station.vision.yolox import decode_yolox, grid_size
from tests.shared_assets import COCO_CARD, MDLITE_CARD, ROOT, dev_labels, dev_photo, reference_detector

PIPELINE_CARD = ROOT / "models" / "pipeline" / "trapd-pipeline-v1.toml"
BLANKS = ("dev023", "dev030")  # a day and a night-IR empty frame
ANIMALS = ("dev050", "dev062", "dev080")  # red deer at night, brown bear by day, two wild dogs at night


@pytest.fixture(scope="module")
def mdlite():
    return reference_detector(MDLITE_CARD)


def _iou(a: Box, b: Box) -> float:
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.width, b.x + b.width), min(a.y + a.height, b.y + b.height)
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / (a.area + b.area - inter)


def test_reference_cards_are_detector_cards() -> None:
    for path in (MDLITE_CARD, COCO_CARD):
        card, _ = load_detector_card(path)
        assert card_kind(path) == "detector"
        assert card.species_by_key().keys() >= set(card.output.map.values())
    assert load_detector_card(MDLITE_CARD)[0].field_model is True
    assert load_detector_card(COCO_CARD)[0].field_model is False
    assert card_kind(PIPELINE_CARD) == "classifier"


def test_a_card_with_a_class_outside_the_model_or_an_unlisted_species_is_refused(tmp_path: Path) -> None:
    raw = tomllib.loads(MDLITE_CARD.read_text(encoding="utf-8"))
    raw["output"]["map"] = {"1": "unknown_animal"}
    with pytest.raises(ValueError, match="outside 0..classes-1"):
        DetectorCard.model_validate(raw)
    raw["output"]["map"] = {"0": "amur_tiger"}
    with pytest.raises(ValueError, match="not listed under"):
        DetectorCard.model_validate(raw)
    bad = tmp_path / "bad.toml"
    bad.write_text(MDLITE_CARD.read_text(encoding="utf-8").replace('kind = "detector"', 'kind = "detectr"'))
    with pytest.raises(ModelError, match="kind"):
        load_detector_card(bad)


def test_yolox_decode_puts_a_box_where_the_head_says() -> None:
    """One cell of the stride-16 grid fires: centre (t + grid) * stride, size exp(t) * stride."""
    width = height = 64
    strides = [8, 16, 32]
    head = np.zeros((grid_size(width, height, strides), 5 + 3), dtype=np.float32)
    row = 8 * 8 + 2 * 4 + 1  # stride 16 grid (4 x 4), cell x=1, y=2
    head[row, :5] = [0.5, 0.5, np.log(2.0), np.log(1.0), 0.9]
    head[row, 5 + 2] = 0.8
    head[row + 1, :5] = [0.5, 0.5, np.log(2.0), np.log(1.0), 0.9]  # its neighbour: overlaps, weaker
    head[row + 1, 5 + 2] = 0.5
    rows = decode_yolox(head, width=width, height=height, strides=strides, score_floor=0.1, nms_iou=0.3,
                        max_boxes=5, classes_wanted=[0, 2], groups=[0, 1])
    assert len(rows) == 1
    x, y, w, h, score, cls = rows[0]
    # centre (1.5 * 16, 2.5 * 16) = (24, 40), size (32, 16) -> top-left (8, 32), normalised by 64
    assert (round(x, 4), round(y, 4), round(w, 4), round(h, 4)) == (0.125, 0.5, 0.5, 0.25)
    assert (round(score, 2), cls) == (0.72, 2)


def test_megadetector_lite_finds_the_animals_and_no_blanks(mdlite) -> None:
    labels = dev_labels()
    for name in BLANKS:
        boxes = [b for b in mdlite.detect(dev_photo(name)) if b.score >= 0.25]
        assert boxes == [], f"{name} is {labels[name]['label']} but got {boxes}"
    for name in ANIMALS:
        boxes = [b for b in mdlite.detect(dev_photo(name)) if b.score >= 0.25]
        assert boxes, f"{name} ({labels[name]['label']}) has no box"
        for box in boxes:
            assert 0 <= box.x <= 1 and 0 <= box.y <= 1 and box.x + box.width <= 1.0001
            assert box.species == "unknown_animal" and box.class_index == 0


def test_the_coco_yolox_head_boxes_the_same_person_as_megadetector_lite(mdlite) -> None:
    coco = reference_detector(COCO_CARD)
    photo = dev_photo("dev001")  # one person, daylight
    people = [b for b in coco.detect(photo) if b.species == "human" and b.score >= 0.5]
    objects = [b for b in mdlite.detect(photo) if b.score >= 0.25]
    assert people and objects
    assert _iou(people[0], objects[0]) > 0.4


def test_thresholds_masks_and_minimum_area_decide_which_boxes_count(mdlite) -> None:
    photo = dev_photo("dev080")  # two wild dogs
    found = FramePipeline(mdlite).analyse_image(photo)
    assert not found.blank
    best = found.boxes[0].box
    centre = (best.x + best.width / 2, best.y + best.height / 2)
    masked = FramePipeline(mdlite, settings=DetectionSection(
        masks=[(centre[0] - 0.01, centre[1] - 0.01, 0.02, 0.02)])).analyse_image(photo)
    assert best not in [v.box for v in masked.boxes]
    assert FramePipeline(mdlite, settings=DetectionSection(thresholds={"unknown_animal": 0.99})
                         ).analyse_image(photo).blank
    assert FramePipeline(mdlite, settings=DetectionSection(min_box_area=0.9)).analyse_image(photo).blank


def test_a_box_the_classifier_cannot_name_stays_an_animal_never_blank(mdlite) -> None:
    """The toy pipeline classifier on real crops: whatever it says, a box is never turned into blank."""
    classifier = Classifier.from_card_file(PIPELINE_CARD, threads=1)
    pipeline = FramePipeline(mdlite, classifier)
    card, _ = load_card(PIPELINE_CARD)
    for name in ANIMALS:
        verdict = pipeline.analyse_image(dev_photo(name))
        assert verdict.boxes, name
        for box in verdict.boxes:
            assert box.species != "blank"
            assert box.species in set(card.outputs.labels) | {"unknown_animal"}
            assert box.classified == (box.species != "unknown_animal")
    assert pipeline.models == [mdlite.card.label, "trapd-pipeline-v1 1.0.0"]


def test_crops_grow_by_the_margin_and_stay_inside_the_picture() -> None:
    pixels = np.zeros((100, 200, 3), dtype=np.uint8)
    box = Box(x=0.5, y=0.5, width=0.25, height=0.2, score=0.9, class_index=0, species="unknown_animal")
    assert crop(pixels, box, 0.0).shape[:2] == (20, 50)
    assert crop(pixels, box, 0.2).shape[:2] == (28, 70)
    edge = Box(x=0.9, y=0.9, width=0.1, height=0.1, score=0.9, class_index=0, species="unknown_animal")
    assert crop(pixels, edge, 0.5).shape[:2] == (15, 30)


def test_model_check_passes_a_detector_card_and_says_what_is_wrong_with_a_bad_one(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from station.cli.main import main
    from tests.shared_assets import reference_card

    card = reference_card(MDLITE_CARD, tmp_path)
    good = CliRunner().invoke(main, ["model", "check", str(card)])
    assert good.exit_code == 0, good.output
    assert "PASS  detect" in good.output and "PASS  field model        yes" in good.output
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(card.read_text(encoding="utf-8").replace('format = "postprocessed"', 'format = "yolox"'),
                     encoding="utf-8")
    bad = CliRunner().invoke(main, ["model", "check", str(wrong)])
    assert bad.exit_code == 1
    assert "FAIL  tensors" in bad.output and "a raw YOLOX head is one output tensor; the model has 4" in bad.output
