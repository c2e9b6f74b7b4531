"""Train, convert and card the bundled *pipeline model* (``trapd-pipeline-v1``) in one command.

    .venv-train/bin/python models/train_pipeline.py --out models/pipeline --seed 1

The training data are synthetic scenes from ``station.hardware.scenes`` -- exactly what the simulated camera
shows -- rendered for every subject, by day and by night, at several frame sizes and burst positions, and
downsized the way the station does it at run time (the whole frame, Pillow bilinear, to the model's input
size, RGB uint8). A small Keras CNN is trained on them, converted to a full-integer TFLite model (uint8 in,
uint8 softmax out), evaluated with LiteRT on scenes whose seeds were never used in training, and described
by a model card written beside it. The model is for demos and tests of the pipeline; it has never seen a
real photo. Needs the training venv (``tensorflow-cpu``, ``ai-edge-litert``); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from station.hardware.scenes import SUBJECTS, Scene, render
from station.vision.card import card_species_from_catalogue, sha256_of

sys.path.insert(0, str(Path(__file__).resolve().parent))
import trainlib  # noqa: E402  (sibling module of this script)

NAME = "trapd-pipeline-v1"
VERSION = "1.0.0"
#: Frame sizes the station is likely to be configured with; the model sees all of them, downsized.
FRAME_SIZES: tuple[tuple[int, int], ...] = ((1280, 720), (960, 540), (640, 480), (640, 360), (320, 240))
FRAME_INDICES = 5  # burst positions 0..4: the subject walks across the frame
TRAIN_SEED_START = 1  # training scenes use seeds 1..per_class (the same seeds for every subject)
HELDOUT_SEED_START = 500_001  # held-out scenes: never overlaps training; tests use 900_000+
#: People and big cats matter most (poaching, the parks' flagship species): report them more readily.
THRESHOLDS = {"blank": 0.5, "human": 0.4, "amur_tiger": 0.45, "amur_leopard": 0.45,
              "wild_boar": 0.6, "sika_deer": 0.6}
DEFAULT_THRESHOLD = 0.5
REPRODUCIBILITY = ("Built with a fixed seed, tf.config.experimental.enable_op_determinism() and oneDNN off. "
                   "Checked on the build machine (x86-64, --threads 2): separate runs gave byte-identical "
                   ".tflite files (same sha256). Another CPU, TensorFlow version or thread count may give "
                   "different bytes and slightly different accuracy.")


say = trainlib.progress_printer("train_pipeline")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("models/pipeline"), help="output folder")
    parser.add_argument("--seed", type=int, default=1, help="seed for weights, shuffling and dropout")
    parser.add_argument("--size", type=int, default=64, help="model input width and height in pixels")
    parser.add_argument("--per-class", type=int, default=1500, help="training scenes per subject")
    parser.add_argument("--heldout-per-class", type=int, default=250, help="held-out scenes per subject")
    parser.add_argument("--epochs", type=int, default=7, help="training epochs")
    parser.add_argument("--threads", type=int, default=2,
                        help="rendering processes and TensorFlow threads (the card's figures used 2)")
    args = parser.parse_args(argv)
    if TRAIN_SEED_START + args.per_class > HELDOUT_SEED_START or args.heldout_per_class > 399_999:
        parser.error("scene seed ranges would overlap: training, held-out and the tests' 900000+ must not")
    return args


# --- data ---------------------------------------------------------------------------------------------


def frame_plan(seed: int) -> tuple[bool, tuple[int, int], int]:
    """Night or day, camera frame size and burst position of the scene with this seed (deterministic)."""
    rng = random.Random(f"trapd-pipeline-plan:{seed}")
    return rng.random() < 0.5, rng.choice(FRAME_SIZES), rng.randrange(FRAME_INDICES)


def model_input(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """What the station feeds the model: the whole RGB frame resized (bilinear) to the input size."""
    small = Image.fromarray(pixels).convert("RGB").resize(size, Image.Resampling.BILINEAR)
    return np.asarray(small, dtype=np.uint8)


def _render_job(job: tuple[str, int, int]) -> np.ndarray:
    subject, seed, side = job
    night, frame_size, frame_index = frame_plan(seed)
    return model_input(render(Scene(subject, night, seed), frame_size, frame_index), (side, side))


def render_set(first_seed: int, per_class: int, side: int, threads: int,
               what: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, side, side, 3) uint8 and labels (N,) for ``per_class`` scenes of every subject."""
    jobs = [(subject, first_seed + i, side) for subject in SUBJECTS for i in range(per_class)]
    labels = np.repeat(np.arange(len(SUBJECTS), dtype=np.int64), per_class)
    images = np.empty((len(jobs), side, side, 3), dtype=np.uint8)
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=max(1, threads)) as pool:
        for i, image in enumerate(pool.map(_render_job, jobs, chunksize=32)):
            images[i] = image
            if (i + 1) % 1000 == 0 or i + 1 == len(jobs):
                say(f"rendered {what}: {i + 1}/{len(jobs)} ({time.monotonic() - started:.0f} s)")
    return images, labels


# --- evaluation and card ------------------------------------------------------------------------------


def evaluate(model_path: Path, images: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy per subject of the int8 model under LiteRT, quantizing input from the tensor's own params."""
    predicted = trainlib.predict_int8(model_path, images)
    return {subject: round(float(np.mean(predicted[labels == k] == k)), 4)
            for k, subject in enumerate(SUBJECTS)}


def card_document(args: argparse.Namespace, model_path: Path, per_class_accuracy: dict[str, float],
                  tf_version: str) -> dict[str, Any]:
    overall = round(sum(per_class_accuracy.values()) / len(per_class_accuracy), 4)
    return {
        "schema_version": 1, "name": NAME, "version": VERSION, "kind": "classifier", "field_model": False,
        "model_file": model_path.name, "sha256": sha256_of(model_path),
        "summary": ("The project's own pipeline model: a small int8 CNN that tells apart the six subjects the "
                    "simulated camera draws (empty, person, Amur tiger, Amur leopard, wild boar, sika deer), "
                    "by day and under the simulated IR lamp at night. It exists so the demo station, the tests "
                    "and the benchmarks run the real classify path end to end with a model the project builds "
                    "itself (models/train_pipeline.py)."),
        "trained_on": ("Synthetic scenes only, rendered by the project's simulated camera "
                       "(station/hardware/scenes.py): stylised shapes on a drawn forest background. It is a "
                       "pipeline model for demos and tests, NOT a field model; it has never seen a real photo."),
        "not_for": ("Real camera-trap photos of any kind, and deciding anything in the field: its accuracy on "
                    "real images is unknown and should be assumed to be near chance. It knows only the six "
                    "subjects above. For field use, put a model trained on labelled camera-trap photos (or a "
                    "general ImageNet model with a class map) behind its own card."),
        "licence": "Apache-2.0", "empty_species": "blank", "default_threshold": DEFAULT_THRESHOLD,
        "input": {"width": args.size, "height": args.size, "colour_order": "RGB", "dtype": "uint8"},
        "outputs": {"count": len(SUBJECTS), "labels": list(SUBJECTS)},
        "training": training_table(args, per_class_accuracy, overall, tf_version),
        "species": card_species_from_catalogue(list(SUBJECTS), THRESHOLDS),
    }


def training_table(args: argparse.Namespace, per_class_accuracy: dict[str, float], overall: float,
                   tf_version: str) -> dict[str, Any]:
    return {
        "script": "models/train_pipeline.py", "seed": args.seed, "threads": args.threads,
        "tensorflow": tf_version,
        "images_per_class": args.per_class, "heldout_images_per_class": args.heldout_per_class,
        "epochs": args.epochs,
        "train_scene_seeds": f"{TRAIN_SEED_START}..{TRAIN_SEED_START + args.per_class - 1}",
        "heldout_scene_seeds": f"{HELDOUT_SEED_START}..{HELDOUT_SEED_START + args.heldout_per_class - 1}",
        "frame_sizes": [f"{w}x{h}" for w, h in FRAME_SIZES], "frame_indices": f"0..{FRAME_INDICES - 1}",
        "night_fraction": 0.5, "preprocessing": "whole frame, Pillow bilinear resize to input size, RGB uint8",
        "heldout_accuracy_int8": overall, "reproducibility": REPRODUCIBILITY,
        "per_class_accuracy_int8": per_class_accuracy,
    }


def write_card(doc: dict[str, Any], out: Path) -> Path:
    header = (f"Model card of {NAME} {VERSION}, written by models/train_pipeline.py; do not edit by hand,\n"
              "rebuild instead (see models/README.md).")
    return trainlib.write_card(doc, out / f"{NAME}.toml", header=header)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    x_train, y_train = render_set(TRAIN_SEED_START, args.per_class, args.size, args.threads, "training")
    x_held, y_held = render_set(HELDOUT_SEED_START, args.heldout_per_class, args.size, args.threads, "held-out")
    tf = trainlib.configure_tensorflow(args.seed, args.threads)
    model = trainlib.build_model(tf, args.size, len(SUBJECTS), name=NAME.replace("-", "_"))
    say(f"model: {model.count_params()} parameters, input {args.size}x{args.size}x3; training")
    trainlib.train(tf, model, x_train, y_train, args.epochs, args.seed, say)
    model_path = args.out / f"{NAME}.tflite"
    model_path.write_bytes(trainlib.convert(tf, model, x_train))
    say(f"wrote {model_path} ({model_path.stat().st_size} bytes); evaluating the int8 model")
    accuracy = evaluate(model_path, x_held, y_held)
    say("held-out accuracy (int8): " + ", ".join(f"{k} {v:.3f}" for k, v in accuracy.items()))
    card_path = write_card(card_document(args, model_path, accuracy, tf.__version__), args.out)
    say(f"wrote {card_path}; sha256 {sha256_of(model_path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
