"""Train a small int8 classifier from labelled photos and write its model card, in one command.

    .venv-train/bin/python models/train.py PHOTOS --out models/mypark --name mypark-v1 [--labels map.toml]

PHOTOS is a folder with one subfolder per class (named by species keys of station/vision/species.toml, or
mapped with --labels), or a Camtrap DP package (media.csv, observations.csv and the photos). For a classifier
behind the detector, give it crops: ``trapd model crops DETECTOR-CARD labels.csv --out crops`` cuts the
detector's boxes from a park's labelled photos into such a folder (pass --field-model for real photos). Photos are
prepared exactly as the station prepares a frame (whole photo, RGB, bilinear to the input size); a share of
them (whole sequences at a time) is held out. A small CNN is trained on the CPU, converted to full-integer
TFLite (uint8 in and out, int8 inside) with a representative dataset, evaluated on the held-out photos
through the station's own classifier, and described by a card beside it, which is then checked as
`trapd model check` would. Progress goes to stderr. Deterministic for a given seed, machine, TensorFlow
version and --threads. Needs the training venv (``pip install -e '.[train]'``).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from station.errors import StationError
from station.vision.card import ModelCard, card_species_from_catalogue, sha256_of
from station.vision.check import check_card
from station.vision.classifier import Classifier
from station.vision.dataset import DatasetError, LabelledImage, LabelledSet, load_label_map, model_input, read_labelled
from station.vision.evaluate import evaluate_pixels
from station.vision.plots import write_report
from station.vision.species import catalogue

sys.path.insert(0, str(Path(__file__).resolve().parent))
import trainlib  # noqa: E402  (sibling module of this script)

say = trainlib.progress_printer("train")
EMPTY = "blank"
#: A few hundred labelled photos make only a few batches per epoch: repeat them so that every epoch has at
#: least this many, and let batch-norm statistics follow faster than Keras' default (0.99).
MIN_STEPS_PER_EPOCH = 50
BN_MOMENTUM = 0.9


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="labelled folder or Camtrap DP package")
    parser.add_argument("--out", type=Path, required=True, help="output folder (model, card, held-out report)")
    parser.add_argument("--name", required=True, help="model name, also the file names (e.g. mypark-v1)")
    parser.add_argument("--version", default="1.0.0", help="model version written in the card")
    parser.add_argument("--labels", type=Path, help="TOML map of folder or scientific names to species keys")
    parser.add_argument("--include-machine", action="store_true",
                        help="Camtrap DP: also train on observations made by a machine")
    parser.add_argument("--size", type=int, default=96, help="model input width and height in pixels")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs")
    parser.add_argument("--seed", type=int, default=1, help="seed for the split, weights, shuffling, dropout")
    parser.add_argument("--threads", type=int, default=2, help="decoding processes and TensorFlow threads")
    parser.add_argument("--heldout", type=float, default=0.2, help="share of sequences held out for metrics")
    parser.add_argument("--max-per-class", type=int, default=5000, help="most training photos per class")
    parser.add_argument("--threshold", action="append", default=[], metavar="KEY=VALUE",
                        help="per-species threshold in the card (repeatable); others get --default-threshold")
    parser.add_argument("--default-threshold", type=float, default=0.5)
    parser.add_argument("--no-flip", action="store_true", help="no random left-right mirroring in training")
    parser.add_argument("--trained-on", default="", help="card text: what the photos are (cameras, places)")
    parser.add_argument("--not-for", default="", help="card text: what the model must not be used for")
    parser.add_argument("--field-model", action="store_true",
                        help="the photos are real camera-trap photos (e.g. crops from `trapd model crops`): the card "
                             "says field_model = true, so the station runs it on a real camera; without it the "
                             "station refuses the model there unless model.allow_non_field is set")
    args = parser.parse_args(argv)
    if not 8 <= args.size <= 512 or args.epochs < 1 or not 0.0 < args.heldout < 0.9:
        parser.error("need 8 <= --size <= 512, --epochs >= 1 and 0 < --heldout < 0.9")
    args.thresholds = parse_thresholds(parser, args.threshold)
    return args


def parse_thresholds(parser: argparse.ArgumentParser, items: list[str]) -> dict[str, float]:
    found = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            found[key.strip()] = float(value)
        except ValueError:
            parser.error(f"--threshold {item!r}: write it as species_key=0.4")
        if key.strip() not in catalogue() or not 0.0 <= found[key.strip()] <= 1.0:
            parser.error(f"--threshold {item!r}: need a catalogue species key and a value in 0..1")
    return found


# --- data ---------------------------------------------------------------------------------------------


def _rank(seed: int, group: str) -> str:
    return hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()


def split(images: list[LabelledImage], share: float, seed: int) -> tuple[list[LabelledImage], list[LabelledImage]]:
    """Hold out about ``share`` of each class's groups (sequences), at least one where a class has two."""
    held_groups: set[str] = set()
    by_class: dict[str, set[str]] = collections.defaultdict(set)
    for image in images:
        by_class[image.species].add(image.group)
    for species in sorted(by_class):
        groups = sorted(by_class[species], key=lambda g: _rank(seed, g))
        want = max(1, round(share * len(groups))) if len(groups) > 1 else 0
        held_groups.update(groups[:want])
    return ([i for i in images if i.group not in held_groups], [i for i in images if i.group in held_groups])


def cap_per_class(images: list[LabelledImage], limit: int, seed: int) -> list[LabelledImage]:
    """At most ``limit`` photos of each class (a seeded choice), in their original order."""
    taken: collections.Counter = collections.Counter()
    keep: set[Path] = set()
    for image in sorted(images, key=lambda i: _rank(seed, str(i.path))):
        if taken[image.species] < limit:
            taken[image.species] += 1
            keep.add(image.path)
    return [i for i in images if i.path in keep]


def _load_job(job: tuple[str, int]) -> np.ndarray | str:
    path, side = job
    try:
        return model_input(Path(path), (side, side))
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"


def load_pixels(images: list[LabelledImage], side: int, threads: int, what: str,
                skipped: collections.Counter) -> tuple[np.ndarray, list[LabelledImage]]:
    """Decode in ``threads`` processes (order kept); unreadable photos are counted and dropped."""
    pixels, kept = [], []
    with ProcessPoolExecutor(max_workers=max(1, threads)) as pool:
        jobs = [(str(image.path), side) for image in images]
        loaded = pool.map(_load_job, jobs, chunksize=16)
        for done, (image, found) in enumerate(zip(images, loaded, strict=True), start=1):
            if isinstance(found, str):
                skipped[found] += 1
            else:
                pixels.append(found)
                kept.append(image)
            if done % 500 == 0 or done == len(images):
                say(f"decoded {what}: {done}/{len(images)}")
    return np.stack(pixels) if pixels else np.empty((0, side, side, 3), np.uint8), kept


def class_weights(labels: np.ndarray, classes: int) -> dict[int, float]:
    """Balanced weights, so that a class of many photos (often the empty one) does not drown the rest."""
    counts = np.bincount(labels, minlength=classes)
    return {k: float(len(labels) / (classes * counts[k])) for k in range(classes) if counts[k]}


# --- card ---------------------------------------------------------------------------------------------


def card_document(args: argparse.Namespace, classes: list[str], model_path: Path,
                  summary: dict[str, Any]) -> dict[str, Any]:
    keys = [key for key in catalogue() if key in set(classes) | {EMPTY}]
    source = "Camtrap DP package" if summary["source"] == "camtrap-dp" else "labelled folder"
    trained_on = args.trained_on or (f"{summary['train_photos']} labelled photos from the {source} "
                                     f"{args.source.name!r}; photos per class in [training] below.")
    return {
        "schema_version": 1, "name": args.name, "version": args.version, "kind": "classifier",
        "field_model": bool(args.field_model), "model_file": model_path.name, "sha256": sha256_of(model_path),
        "summary": (f"A small int8 CNN ({len(classes)} classes, {args.size}x{args.size} RGB input) trained by "
                    "models/train.py on labelled photos."),
        "trained_on": trained_on,
        "not_for": args.not_for or ("Species it was not trained on, and cameras or places unlike its training "
                                    "photos. Check it with `trapd model eval` on photos from your own stations "
                                    "before relying on it."),
        "licence": "", "empty_species": EMPTY, "default_threshold": args.default_threshold,
        "input": {"width": args.size, "height": args.size, "colour_order": "RGB", "dtype": "uint8"},
        "outputs": {"count": len(classes), "labels": classes},
        "training": summary,
        "species": card_species_from_catalogue(keys, {k: args.thresholds.get(k, args.default_threshold)
                                                      for k in keys}),
    }


def training_summary(args: argparse.Namespace, labelled: LabelledSet, train_set: list[LabelledImage],
                     held: list[LabelledImage], skipped: collections.Counter, tf_version: str) -> dict[str, Any]:
    return {
        "script": "models/train.py", "source": labelled.source, "source_name": args.source.name,
        "seed": args.seed, "threads": args.threads, "tensorflow": tf_version, "epochs": args.epochs,
        "flip": not args.no_flip, "min_steps_per_epoch": MIN_STEPS_PER_EPOCH, "batch_norm_momentum": BN_MOMENTUM,
        "heldout_share": args.heldout, "max_per_class": args.max_per_class,
        "preprocessing": "whole photo, RGB, Pillow bilinear resize to the input size, uint8",
        "train_photos": len(train_set), "heldout_photos": len(held),
        "train_per_class": dict(collections.Counter(i.species for i in train_set)),
        "heldout_per_class": dict(collections.Counter(i.species for i in held)),
        "skipped": dict(skipped),
    }


def heldout_metrics(card_doc: dict[str, Any], model_path: Path, pixels: np.ndarray, held: list[LabelledImage],
                    out: Path) -> dict[str, Any]:
    """The held-out photos through the station's own classifier, at the card's thresholds; report files."""
    classifier = Classifier(ModelCard.model_validate(card_doc), model_path, threads=1)
    evaluation = evaluate_pixels(classifier, pixels, [i.species for i in held], [str(i.path) for i in held])
    write_report(evaluation, out, card_threshold=card_doc["default_threshold"])
    report = evaluation.report()
    return {"heldout_accuracy_int8": report["accuracy"], "heldout_top1_accuracy_int8": report["top1_accuracy"],
            "heldout_metrics_per_class": {k: {m: v for m, v in row.items() if m != "threshold" and v is not None}
                                          for k, row in report["per_class"].items()},
            "heldout_empty_vs_animal": {k: v for k, v in
                                        report["empty_vs_animal"]["card_thresholds"].items() if v is not None}}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    labelled = read_labelled(args.source, load_label_map(args.labels), include_machine=args.include_machine)
    say(f"{len(labelled.images)} labelled photos ({labelled.source}): "
        + ", ".join(f"{k} {v}" for k, v in labelled.counts().items()))
    train_set, held = split(labelled.images, args.heldout, args.seed)
    train_set = cap_per_class(train_set, args.max_per_class, args.seed)
    skipped = collections.Counter(labelled.skipped)
    x_train, train_set = load_pixels(train_set, args.size, args.threads, "training", skipped)
    x_held, held = load_pixels(held, args.size, args.threads, "held-out", skipped)
    classes = [key for key in catalogue() if key in {i.species for i in train_set}]
    if len(classes) < 2:
        raise SystemExit(f"{args.source}: need photos of at least two classes, found {classes}")
    if EMPTY not in classes:
        say("no 'blank' class: the model will call a photo empty only when no class reaches its threshold")
    index = {key: k for k, key in enumerate(classes)}
    y_train = np.array([index[i.species] for i in train_set], dtype=np.int64)
    tf = trainlib.configure_tensorflow(args.seed, args.threads)
    model = trainlib.build_model(tf, args.size, len(classes), name=args.name.replace("-", "_"),
                                 flip=not args.no_flip, seed=args.seed, bn_momentum=BN_MOMENTUM)
    say(f"model: {model.count_params()} parameters, {len(classes)} classes, {len(x_train)} training photos")
    trainlib.train(tf, model, x_train, y_train, args.epochs, args.seed, say,
                   class_weight=class_weights(y_train, len(classes)), min_steps_per_epoch=MIN_STEPS_PER_EPOCH)
    model_path = args.out / f"{args.name}.tflite"
    model_path.write_bytes(trainlib.convert(tf, model, x_train))
    say(f"wrote {model_path} ({model_path.stat().st_size} bytes); evaluating on {len(held)} held-out photos")
    summary = training_summary(args, labelled, train_set, held, skipped, tf.__version__)
    doc = card_document(args, classes, model_path, summary)
    if len(held):
        summary.update(heldout_metrics(doc, model_path, x_held, held, args.out / f"{args.name}-heldout"))
        say(f"held-out accuracy (int8, card thresholds): {summary['heldout_accuracy_int8']:.3f}")
    card_path = trainlib.write_card(doc, args.out / f"{args.name}.toml", header=(
        f"Model card of {args.name} {args.version}, written by models/train.py; rebuild rather than edit."))
    failed = [f for f in check_card(card_path) if not f.ok]
    for finding in failed:
        say(f"FAIL {finding.name}: {finding.detail}")
    say(f"wrote {card_path}; sha256 {doc['sha256']}; " + ("CHECK FAILED" if failed else "checked: PASS"))
    return 1 if failed else 0


def run(argv: list[str] | None = None) -> int:
    """``main`` with the station's own errors (unusable data, a refused card) as one line, not a traceback."""
    try:
        return main(argv)
    except StationError as exc:
        say(f"error: {exc}")
        return 2 if isinstance(exc, DatasetError) else 1


if __name__ == "__main__":
    sys.exit(run())
