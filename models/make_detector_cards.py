"""Write our cards for the two third-party reference detectors kept in ``../shared/models/``.

    .venv/bin/python models/make_detector_cards.py [--shared ../shared/models]

- ``models/megadetector-lite-640.toml``: MegadetectorLite (YOLOX-tiny, one class "object"), the int8
  conversion with TFLite's detection post-processing appended (4 output tensors);
- ``models/coco-yolox-nano-416.toml``: a COCO YOLOX-nano with its raw head (decoded by the station);
- with ``--bundled``: ``models/detector/mdlite-yolox-tiny-640.toml``, the card of the project's own conversion.

The models stay in the shared folder (they are not copied into the project); the cards point at them with a
path relative to the card, so tests that use them skip where that folder is absent. The bundled detector a
fresh install uses has its own card under ``models/detector/``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from station.config.toml import dumps
from station.vision.card import card_species_from_catalogue, sha256_of
from station.vision.detector_card import load_detector_card

MODELS_DIR = Path(__file__).resolve().parent
DEFAULT_SHARED = MODELS_DIR.parents[1] / "shared" / "models"

MDLITE = {
    "card": "megadetector-lite-640.toml", "dir": "megadetector-lite-yolox-tiny",
    "file": "mdlite_yolox_tiny_640_pp_uint8.tflite",
    "sha256": "01f1a747",  # prefix checked; the full digest is read from the file
}
COCO = {
    "card": "coco-yolox-nano-416.toml", "dir": "coco-yolox-nano-ti-lite",
    "file": "yolox_nano_ti_lite_416_full_integer_quant.tflite", "sha256": "d42aaa4c",
}
#: COCO classes that matter at a camera trap, by name in coco80_labels.txt. Its animal names are wrong on
#: camera-trap photos more often than not (a coyote as sheep), so every animal is only "an animal".
COCO_MAP = {"person": "human", "bicycle": "vehicle", "car": "vehicle", "motorcycle": "vehicle", "bus": "vehicle",
            "truck": "vehicle", "bird": "unknown_animal", "cat": "unknown_animal", "dog": "unknown_animal",
            "horse": "unknown_animal", "sheep": "unknown_animal", "cow": "unknown_animal",
            "elephant": "unknown_animal", "bear": "unknown_animal", "zebra": "unknown_animal",
            "giraffe": "unknown_animal"}


def _model(shared: Path, facts: dict[str, str]) -> tuple[str, str]:
    path = shared / facts["dir"] / facts["file"]
    if not path.is_file():
        raise SystemExit(f"{path}: not found (pass --shared)")
    digest = sha256_of(path)
    if not digest.startswith(facts["sha256"]):
        raise SystemExit(f"{path}: sha256 {digest} is not the reference file this card is for")
    # The project's layout: the shared folder sits beside the checkout (``<checkout>/../shared/models``).
    return f"../../shared/models/{facts['dir']}/{facts['file']}", digest


def mdlite_card(shared: Path) -> dict[str, Any]:
    model_file, digest = _model(shared, MDLITE)
    return mdlite_card_document(model_file, digest)


BUNDLED_DIR = MODELS_DIR / "detector"
BUNDLED_MODEL = "mdlite-yolox-tiny-640.tflite"  # written by models/detector/convert.py


def bundled_card() -> dict[str, Any]:
    """The card of the project's own MegadetectorLite conversion (``models/detector/``)."""
    model = BUNDLED_DIR / BUNDLED_MODEL
    if not model.is_file():
        raise SystemExit(f"{model}: not built yet; run models/detector/convert.py first")
    doc = mdlite_card_document(BUNDLED_MODEL, sha256_of(model))
    doc.update({"name": "megadetector-lite-yolox-tiny-640", "version": "2022.05.28-trapd1",
                "summary": "MegadetectorLite (DrivenData's YOLOX-tiny trained on MegaDetector's boxes over "
                           "camera-trap video frames), converted by the project (models/detector/convert.py) "
                           "from the weights in the PyPI wheel zamba==2.7.2 to full-integer TFLite with the "
                           "standard detection post-processing appended; 640x640 input. One class: 'object' = "
                           "animal, person or vehicle.",
                "licence": "MIT (zamba weights, LICENSE.zamba-MIT) and Apache-2.0 (YOLOX network, "
                           "LICENSE.yolox-Apache-2.0); both notices are beside the model"})
    return doc


def mdlite_card_document(model_file: str, digest: str) -> dict[str, Any]:
    return {
        "schema_version": 1, "name": "megadetector-lite-yolox-tiny-640", "version": "2022.05.28-ref",
        "kind": "detector", "field_model": True, "model_file": model_file, "sha256": digest,
        "summary": "Reference int8 conversion of MegadetectorLite (DrivenData's YOLOX-tiny trained on "
                   "MegaDetector's boxes over camera-trap video frames), 640x640 input, TFLite detection "
                   "post-processing appended. One class: 'object' = animal, person or vehicle.",
        "trained_on": "Camera-trap video frames (zamba), labelled by MegaDetector.",
        "not_for": "Telling people from animals (one class), or naming species: pair it with a classifier "
                   "on the crops. Boxes the camera maker's logo in some info banners: mask that strip.",
        "licence": "MIT (zamba weights) and Apache-2.0 (YOLOX network); notices beside the model",
        "default_threshold": 0.25,
        "input": {"width": 640, "height": 640, "colour_order": "RGB", "dtype": "uint8"},
        "output": {"format": "postprocessed", "classes": 1, "labels": ["object"], "map": {0: "unknown_animal"},
                   "max_boxes": 20},
        "species": card_species_from_catalogue(["unknown_animal"]),
    }


def coco_card(shared: Path) -> dict[str, Any]:
    model_file, digest = _model(shared, COCO)
    labels = (shared / COCO["dir"] / "coco80_labels.txt").read_text(encoding="utf-8").splitlines()
    if len(labels) != 80:
        raise SystemExit(f"coco80_labels.txt has {len(labels)} lines, expected 80")
    mapping = {labels.index(name): key for name, key in COCO_MAP.items()}
    return {
        "schema_version": 1, "name": "coco-yolox-nano-ti-lite-416", "version": "9938bce-ref",
        "kind": "detector", "field_model": False, "model_file": model_file, "sha256": digest,
        "summary": "A YOLOX-nano for the 80 COCO classes (TI's 'lite' variant, full integer), raw YOLOX head. "
                   "People and vehicles map to human and vehicle; every animal class to unknown_animal.",
        "trained_on": "COCO 2017 (web photos), not camera-trap photos.",
        "not_for": "Finding animals in camera-trap photos or naming them; at best a person/vehicle hint.",
        "licence": "BSD-3-Clause (Texas Instruments) and Apache-2.0 (YOLOX); LICENSE beside the model",
        "default_threshold": 0.3,
        "input": {"width": 416, "height": 416, "colour_order": "RGB", "dtype": "int8"},
        "output": {"format": "yolox", "classes": 80, "labels": labels, "map": dict(sorted(mapping.items())),
                   "strides": [8, 16, 32], "nms_iou": 0.45, "score_floor": 0.05, "max_boxes": 20},
        "species": card_species_from_catalogue(["human", "vehicle", "unknown_animal"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="folder holding the reference models")
    parser.add_argument("--bundled", action="store_true",
                        help=f"write only the card of the bundled detector (models/detector/{BUNDLED_MODEL})")
    args = parser.parse_args(argv)
    if args.bundled:
        path = BUNDLED_DIR / BUNDLED_MODEL.replace(".tflite", ".toml")
        header = ("Card of the bundled detector, written by models/make_detector_cards.py --bundled;\n"
                  "rebuild the model with models/detector/convert.py and rerun, not edit here.")
        path.write_text(dumps(bundled_card(), header=header), encoding="utf-8")
        print(f"wrote {path}: {load_detector_card(path)[0].label}", file=sys.stderr)
        return 0
    header = ("Our card for a third-party reference detector (not copied into the project), written by\n"
              "models/make_detector_cards.py; edit it there and rerun, not here.")
    for name, build in ((MDLITE["card"], mdlite_card), (COCO["card"], coco_card)):
        path = MODELS_DIR / name
        path.write_text(dumps(build(args.shared.resolve()), header=header), encoding="utf-8")
        card, _ = load_detector_card(path)
        print(f"wrote {path}: {card.label}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
