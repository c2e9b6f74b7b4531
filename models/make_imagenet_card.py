"""Write ``models/imagenet-mobilenet-v2.toml``: our card for the third-party ImageNet MobileNet V2 (int8).

    .venv/bin/python models/make_imagenet_card.py [--shared ../shared/models/imagenet-mobilenet-v2]

The model itself stays in the shared folder (it is not ours and is never copied into the project); the card
points at it with a path relative to the card. Every ImageNet index in the class map below is checked
against ``imagenet_labels.txt`` (line *i* is output *i*; line 0 is ``background``) before anything is
written, so a wrong number fails here instead of mislabelling animals in the field.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from station.config.toml import dumps
from station.vision.card import card_species_from_catalogue, load_card, sha256_of
from station.vision.species import catalogue

MODELS_DIR = Path(__file__).resolve().parent
CARD_PATH = MODELS_DIR / "imagenet-mobilenet-v2.toml"
DEFAULT_SHARED = MODELS_DIR.parents[1] / "shared" / "models" / "imagenet-mobilenet-v2"
MODEL_NAME = "mobilenet_v2_1.0_224_quant.tflite"
SHA256 = "7aad0c74c5e3c06e5eb3c827e13304fdd68a83da6087d92ee169c24ff9fd4776"

#: species key -> ImageNet classes, by the first name on their line of imagenet_labels.txt. The script
#: looks the numbers up (and refuses a name that is missing or on two lines), so no index is typed by hand.
CLASS_MAP: dict[str, list[str]] = {
    "human": ["groom", "scuba diver", "ballplayer", "military uniform", "jean", "jersey", "sweatshirt",
              "cardigan", "trench coat", "fur coat", "poncho", "cloak", "suit", "lab coat", "bulletproof vest",
              "backpack", "rifle", "assault rifle", "revolver", "cowboy hat", "sombrero", "ski mask", "mask",
              "gasmask", "crash helmet", "sunglasses", "sunglass", "cowboy boot", "running shoe", "mitten",
              "chain saw", "hatchet", "umbrella"],
    "amur_tiger": ["tiger"],
    "amur_leopard": ["leopard", "jaguar", "cheetah"],
    "snow_leopard": ["snow leopard"],
    "eurasian_lynx": ["lynx"],
    "leopard_cat": ["tabby", "tiger cat", "Egyptian cat"],
    "wild_boar": ["hog", "wild boar", "warthog"],
    "red_fox": ["red fox", "kit fox", "Arctic fox", "grey fox"],
    "asian_badger": ["badger"],
    "brown_bear": ["brown bear"],
    "asiatic_black_bear": ["American black bear", "sloth bear"],
    "sika_deer": ["hartebeest", "impala", "gazelle"],
    "manchurian_hare": ["wood rabbit", "hare", "Angora"],
    "cattle": ["ox", "water buffalo", "bison"],
    "unknown_animal": ["timber wolf", "white wolf", "red wolf", "coyote", "dhole", "cougar", "porcupine",
                       "fox squirrel", "marmot", "beaver", "bighorn", "ibex", "weasel", "mink", "polecat",
                       "black-footed ferret", "otter", "black grouse", "ruffed grouse", "partridge", "quail"],
    "vehicle": ["jeep", "pickup", "tractor", "motor scooter", "moped", "minivan", "police van", "ambulance",
                "cab", "beach wagon", "convertible", "limousine", "sports car", "racer", "moving van",
                "minibus", "trailer truck", "tow truck", "garbage truck", "fire engine", "half track", "tank",
                "snowmobile", "harvester", "snowplow", "recreational vehicle", "amphibian", "go-kart",
                "golfcart", "Model T", "school bus", "car wheel", "grille", "car mirror", "mountain bike",
                "bicycle-built-for-two", "horse cart", "oxcart"],
}
#: Dog breeds are one contiguous block of the label file; checked by its first and last line and neighbours.
DOG_BREEDS = ("Chihuahua", "Mexican hairless")  # first and last breed; every line between is a dog
#: Probabilities are spread over 1001 classes and a species gets the sum of its classes (the runtime adds
#: them up), so thresholds sit well below the pipeline model's. Lower for people and big cats (missing one
#: costs more than a false alarm); higher where many classes are summed (dogs: 118 breeds, catch-alls) or
#: where a confusion is likely (a leopard in grey IR light often looks like a snow leopard to ImageNet).
THRESHOLDS: dict[str, float] = {
    "blank": 0.5, "human": 0.3, "amur_tiger": 0.3, "amur_leopard": 0.3, "snow_leopard": 0.5,
    "eurasian_lynx": 0.35, "leopard_cat": 0.4, "wild_boar": 0.35, "red_fox": 0.35, "asian_badger": 0.4,
    "brown_bear": 0.35, "asiatic_black_bear": 0.35, "sika_deer": 0.4, "manchurian_hare": 0.4,
    "cattle": 0.4, "domestic_dog": 0.5, "unknown_animal": 0.5, "vehicle": 0.35,
}
DEFAULT_THRESHOLD = 0.4


def read_labels(path: Path) -> list[str]:
    """First name of each line: line *i* is output *i* (line 0 is ``background``)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) != 1001 or lines[0].strip() != "background":
        raise SystemExit(f"{path}: expected 1001 lines starting with 'background', got {len(lines)}")
    return [line.split(",")[0].strip() for line in lines]


def index_of(labels: list[str], name: str) -> int:
    """The one output index whose first name is ``name``; refuse a missing or ambiguous name."""
    found = [i for i, label in enumerate(labels) if label == name]
    if len(found) != 1:
        raise SystemExit(f"ImageNet class {name!r} is on {len(found)} lines of the label file, need exactly 1")
    return found[0]


def dog_indices(labels: list[str]) -> list[int]:
    first, last = (index_of(labels, name) for name in DOG_BREEDS)
    if labels[first - 1] != "sea lion" or labels[last + 1] != "timber wolf" or last - first + 1 != 118:
        raise SystemExit("the dog-breed block of the label file is not where ImageNet-1k has it")
    return list(range(first, last + 1))


def class_map(labels: list[str]) -> dict[int, str]:
    """ImageNet output index -> species key, every index looked up and checked in the label file."""
    mapping: dict[int, str] = {i: "domestic_dog" for i in dog_indices(labels)}
    for species, names in CLASS_MAP.items():
        for name in names:
            index = index_of(labels, name)
            if index in mapping:
                raise SystemExit(f"ImageNet class {name!r} ({index}) is mapped twice")
            mapping[index] = species
    return dict(sorted(mapping.items()))


def tensor_facts(model_path: Path) -> dict[str, Any]:
    """Shapes, types and quantization read from the model itself, checked against what the card says."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model_path))
    tensor_in = interpreter.get_input_details()[0]
    tensor_out = interpreter.get_output_details()[0]
    if list(tensor_in["shape"]) != [1, 224, 224, 3] or list(tensor_out["shape"]) != [1, 1001]:
        raise SystemExit(f"{model_path}: unexpected tensor shapes {tensor_in['shape']} -> {tensor_out['shape']}")
    (in_scale, in_zero), (out_scale, out_zero) = tensor_in["quantization"], tensor_out["quantization"]
    return {"input_tensor": f"uint8 [1, 224, 224, 3], scale {in_scale}, zero point {in_zero}",
            "output_tensor": f"uint8 [1, 1001], scale {out_scale}, zero point {out_zero} (softmax)"}


SUMMARY = (
    "A card of ours for a third-party, general-purpose model: MobileNet V2 1.0/224, quantization-aware "
    "trained by Google on ImageNet-1k (1001 outputs, 0 = background), used as is through a class map. "
    "Many ImageNet classes fold into one species and the station sums their probabilities. Choices made: "
    "ImageNet has no deer, so deer-like antelopes (hartebeest, impala, gazelle) all map to sika_deer, the "
    "commonest deer at the parks' camera traps; roe and red deer are reported as sika_deer too, so read "
    "sika_deer from this model as 'a deer'. Leopard, jaguar and cheetah map to amur_leopard; small striped or "
    "spotted cats (tabby, tiger cat, Egyptian cat) to leopard_cat; sloth bear to asiatic_black_bear; hog and "
    "warthog to wild_boar; all 118 dog breeds to domestic_dog; ox, water buffalo and bison to cattle; "
    "wolves, mustelids, rodents and ground birds to unknown_animal. ImageNet has no person class, so human "
    "is inferred from clothing, gear and weapons (military uniform, jeans, backpack, rifle, ski mask, ...), "
    "and vehicle from cars, trucks, tractors, snowmobiles and bikes. Everything else counts as blank.")
TRAINED_ON = ("ImageNet-1k (ILSVRC 2012) web photos, by the model's authors. It was never trained on "
              "camera-trap photos: no night IR frames, no partial bodies at the frame edge, no motion blur, "
              "no Amur subspecies as such.")
NOT_FOR = ("Trusting its species calls in the field without review: it was never trained on camera-trap "
           "photos, and is expected to be weak on night IR frames (grey leopards may come out as snow "
           "leopard), on animals partly in view, and on people (it has no person class). It cannot tell sika, "
           "roe and red deer apart and has no raccoon dog class. Use it as a realistic workload for tests and "
           "benchmarks and as the reference for mapping a foreign model onto the station's species codes.")


def card_document(shared: Path, mapping: dict[int, str]) -> dict[str, Any]:
    model_path = shared / MODEL_NAME
    if sha256_of(model_path) != SHA256:
        raise SystemExit(f"{model_path}: sha256 is not {SHA256}; this card is for that exact file")
    keys = ["blank", *mapping.values()]
    in_catalogue_order = [key for key in catalogue() if key in keys]
    return {
        "schema_version": 1, "name": "imagenet-mobilenet-v2", "version": "1.0.0", "kind": "classifier",
        "field_model": False,
        "model_file": Path(os.path.relpath(model_path, CARD_PATH.parent)).as_posix(), "sha256": SHA256,
        "summary": SUMMARY, "trained_on": TRAINED_ON, "not_for": NOT_FOR,
        "licence": "Apache-2.0 (the model, by its authors: see LICENSE beside it; this card: the project's)",
        "empty_species": "blank", "default_threshold": DEFAULT_THRESHOLD,
        "input": {"width": 224, "height": 224, "colour_order": "RGB", "dtype": "uint8",
                  "value_range": [-1.0, 1.0]},
        "outputs": {"count": 1001, "unmapped": "blank", "map": mapping},
        "training": {"by": "Google (MobileNet V2, quantization-aware training); not trained by this project",
                     "dataset": "ImageNet-1k (ILSVRC 2012)", "source": "google-coral/test_data",
                     "labels_file": "imagenet_labels.txt (line i is output i; line 0 is background)",
                     "class_map": "written by models/make_imagenet_card.py, every index looked up by name",
                     **tensor_facts(model_path)},
        "species": card_species_from_catalogue(in_catalogue_order, THRESHOLDS),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="folder holding the model")
    args = parser.parse_args(argv)
    mapping = class_map(read_labels(args.shared / "imagenet_labels.txt"))
    header = ("Our card for a third-party model (not copied into the project), written by\n"
              "models/make_imagenet_card.py; edit the class map there and rerun, not here.")
    CARD_PATH.write_text(dumps(card_document(args.shared.resolve(), mapping), header=header),
                         encoding="utf-8")
    card, model_path = load_card(CARD_PATH)
    print(f"wrote {CARD_PATH}: {len(mapping)} of 1001 classes mapped to {len(card.species) - 1} species; "
          f"model at {model_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
