"""The bundled detector built by models/detector/convert.py: the committed files are the ones the README
names, they have the standard interface, and they behave like the reference conversion on real photos.

The comparison with the reference uses ``../shared/`` (the reference model and the real-camtrap-dev photos)
and is skipped, with the reason, where that folder is absent.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, SHARED_MODELS

DETECTOR_DIR = ROOT / "models" / "detector"
REFERENCE_DIR = SHARED_MODELS / "megadetector-lite-yolox-tiny"
DEV_SET = ROOT.parent / "shared" / "datasets" / "real-camtrap-dev"
#: README rows: | `file` | bytes | `sha256` | ...
ROW = re.compile(r"^\| `(mdlite-yolox-tiny-(\d+)\.tflite)` \| ([\d,]+) \| `([0-9a-f]{64})` \|", re.MULTILINE)
#: Every 12th photo of the dev set: a person, a vehicle, a blank, a night cougar, roe deer, boar, coyote, skunk.
SAMPLE = [f"dev{n:03d}.jpg" for n in range(1, 97, 12)]


def _compare_module():
    spec = importlib.util.spec_from_file_location("detector_compare", DETECTOR_DIR / "compare.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def _readme_rows() -> list[tuple[str, int, int, str]]:
    text = (DETECTOR_DIR / "README.md").read_text(encoding="utf-8")
    return [(name, int(size), int(nbytes.replace(",", "")), digest) for name, size, nbytes, digest in ROW.findall(text)]


def test_committed_detectors_are_the_files_the_readme_names() -> None:
    rows = _readme_rows()
    listed = {name for name, *_ in rows}
    on_disk = {p.name for p in DETECTOR_DIR.glob("*.tflite")}
    assert "mdlite-yolox-tiny-640.tflite" in listed and "mdlite-yolox-tiny-320.tflite" in listed
    assert listed == on_disk, "every committed .tflite has a README row, and every row a file"
    for name, _size, nbytes, digest in rows:
        data = (DETECTOR_DIR / name).read_bytes()
        assert len(data) == nbytes, f"{name}: {len(data):,} bytes, the README says {nbytes:,}"
        assert hashlib.sha256(data).hexdigest() == digest, f"{name}: sha256 differs from the README's"
    for notice in ("LICENSE.zamba-MIT", "LICENSE.yolox-Apache-2.0"):
        assert (DETECTOR_DIR / notice).stat().st_size > 500, f"{notice} must sit beside the models"


def test_cards_beside_the_detectors_name_their_sha256() -> None:
    import tomllib

    cards = sorted(DETECTOR_DIR.glob("*.toml"))
    for card in cards:
        doc = tomllib.loads(card.read_text(encoding="utf-8"))
        model = card.parent / doc["model_file"]
        assert doc["kind"] == "detector"
        assert doc["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest(), f"{card.name}: stale sha256"


@pytest.mark.parametrize("name, size", [(name, size) for name, size, *_ in _readme_rows()])
def test_detector_has_the_standard_interface(name: str, size: int) -> None:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(DETECTOR_DIR / name), num_threads=1)
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    assert tuple(inp["shape"]) == (1, size, size, 3) and inp["dtype"] == np.uint8
    assert tuple(inp["quantization"]) == (1.0, 0), "raw RGB pixels: scale 1, zero point 0"
    outputs = interpreter.get_output_details()
    assert [tuple(o["shape"]) for o in outputs] == [(1, 20, 4), (1, 20), (1, 20), (1,)]
    assert all(o["dtype"] == np.float32 for o in outputs)
    # A uniform grey frame has nothing in it: no box at the station's default threshold.
    interpreter.set_tensor(inp["index"], np.full((1, size, size, 3), 128, dtype=np.uint8))
    interpreter.invoke()
    scores = interpreter.get_tensor(outputs[2]["index"])[0]
    count = int(interpreter.get_tensor(outputs[3]["index"])[0])
    assert count == 0 or float(scores[:count].max()) < 0.25


@pytest.mark.skipif(not REFERENCE_DIR.is_dir() or not (DEV_SET / "images").is_dir(),
                    reason="needs ../shared/models/megadetector-lite-yolox-tiny and "
                           "../shared/datasets/real-camtrap-dev")
@pytest.mark.parametrize("size", [640, 320])
def test_detector_agrees_with_the_reference_on_real_photos(size: int) -> None:
    compare = _compare_module()
    ours = compare.Detector(DETECTOR_DIR / f"mdlite-yolox-tiny-{size}.tflite")
    ref = compare.Detector(REFERENCE_DIR / f"mdlite_yolox_tiny_{size}_pp_uint8.tflite")
    labels = compare.read_labels(DEV_SET / "labels.csv")
    result = compare.compare(ours, ref, [DEV_SET / "images" / name for name in SAMPLE], labels)
    assert result["same_decision_as_reference"] == len(SAMPLE), result["disagreements"]
    assert result["empty_vs_not_right"]["ours"] >= result["empty_vs_not_right"]["reference"]
    boxes = result["boxes"]
    assert boxes["matched_iou_ge_0.5"] >= 0.9 * boxes["reference"], boxes
    assert result["matched_iou"]["mean"] >= 0.85, result["matched_iou"]
    assert result["top_score_abs_diff"]["max"] <= 0.1, result["top_score_abs_diff"]
