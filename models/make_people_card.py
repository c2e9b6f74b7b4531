"""Writes models/coco-yolox-nano-people.toml: our detector card for a third-party COCO detector used as the
station's person/vehicle separator (``[model] people`` in station.toml; docs/accuracy.md has the measurement).

The model itself (YOLOX-nano, TI "lite" variant, full-integer, 416x416, from the public GitHub repository
MaxCYCHEN/yolox-ti-lite_tflite_int8; Texas Instruments BSD-3-Clause + Apache-2.0) is not in the project:
the card points at the shared copy, and a park that has the file sets the card's model_file to it.

    python models/make_people_card.py [--shared ../shared/models/coco-yolox-nano-ti-lite]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.config.toml import dumps  # noqa: E402
from station.vision.card import card_species_from_catalogue, sha256_of  # noqa: E402

MODEL_FILE = "yolox_nano_ti_lite_416_full_integer_quant.tflite"
CARD = Path(__file__).resolve().parent / "coco-yolox-nano-people.toml"
HUMAN = ("person",)
VEHICLES = ("bicycle", "car", "motorcycle", "bus", "truck")
#: Chosen on the shared real-camtrap-dev photos (docs/accuracy.md): a person hint at 0.3 found people in
#: 9 of 15 photos with people for 3 of 81 false; vehicles at 0.35 gave no false vehicle.
THRESHOLDS = {"human": 0.3, "vehicle": 0.35}


def card_document(shared: Path) -> dict:
    labels = [line.strip() for line in (shared / "coco80_labels.txt").read_text(encoding="utf-8").splitlines()
              if line.strip()]
    mapping = {labels.index(name): "human" for name in HUMAN}
    mapping.update({labels.index(name): "vehicle" for name in VEHICLES})
    model_path = shared / MODEL_FILE
    return {
        "schema_version": 1, "name": "coco-yolox-nano-people", "version": "1.0.0", "kind": "detector",
        "field_model": True,
        "model_file": f"../../shared/models/coco-yolox-nano-ti-lite/{MODEL_FILE}",
        "sha256": sha256_of(model_path),
        "summary": "A card of ours for a third-party COCO detector (YOLOX-nano, 80 classes), used only to tell "
                   "people and vehicles from animals inside the camera-trap detector's boxes. Only person "
                   "(-> human) and bicycle, car, motorcycle, bus, truck (-> vehicle) are read; its animal "
                   "classes are ignored (it calls a dog a horse and a coyote a sheep).",
        "trained_on": "COCO 2017 (everyday photos), by its authors; never trained on camera-trap photos. "
                      "Measured as a person/vehicle hint on 96 real camera-trap photos (not Amur fauna): "
                      "see docs/accuracy.md.",
        "not_for": "Species, or people at night: it missed some people in the dev set and called one cougar "
                   "and one owl a person. It is a hint beside a camera-trap detector, not a detector of its own.",
        "licence": "Texas Instruments BSD-3-Clause and Apache-2.0 (YOLOX): see LICENSE beside the model; "
                   "this card: the project's",
        "default_threshold": THRESHOLDS["human"],
        "input": {"width": 416, "height": 416, "colour_order": "RGB", "dtype": "int8",
                  "value_range": [0.0, 255.0]},
        "output": {"format": "yolox", "classes": len(labels), "labels": labels,
                   "map": {str(k): v for k, v in sorted(mapping.items())}, "strides": [8, 16, 32],
                   "nms_iou": 0.45, "score_floor": 0.05, "max_boxes": 20},
        "species": card_species_from_catalogue(["human", "vehicle"], THRESHOLDS),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "models"
                        / "coco-yolox-nano-ti-lite", help="Folder with the model and coco80_labels.txt.")
    parser.add_argument("--out", type=Path, default=CARD, help="Card to write.")
    args = parser.parse_args(argv)
    args.out.write_text(dumps(card_document(args.shared), header="Our card for a third-party model (not copied "
                              "into the project),\nwritten by models/make_people_card.py; edit there, not here."),
                        encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
