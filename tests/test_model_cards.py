"""The model cards in ``models/``.

The bundled pipeline model must match its card (file hash, tensors) and still do its one job: name the
subject of freshly rendered scenes whose seeds were never used in training. The ImageNet card must be
consistent with the third-party model it describes; that model lives outside the project
(``../shared/models``) and those checks are skipped where it is absent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from station.hardware.scenes import SUBJECTS, Scene, render
from station.vision.card import ModelCard, catalogue_conflicts, load_card, sha256_of

ROOT = Path(__file__).resolve().parents[1]
PIPELINE_CARD = ROOT / "models" / "pipeline" / "trapd-pipeline-v1.toml"
IMAGENET_CARD = ROOT / "models" / "imagenet-mobilenet-v2.toml"
SHARED_IMAGENET = Path(__file__).resolve().parents[2] / "shared" / "models" / "imagenet-mobilenet-v2"
FRESH_SEED = 900_000  # training used 1..1500 and the held-out evaluation 500_001..500_250
SCENES_PER_SUBJECT = 20

needs_shared_model = pytest.mark.skipif(
    not SHARED_IMAGENET.is_dir(),
    reason=f"third-party ImageNet model folder {SHARED_IMAGENET} is absent (it is never copied into the project)")


def make_interpreter(model_path: Path) -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        from tflite_runtime.interpreter import Interpreter  # 32-bit Pi OS
    interpreter = Interpreter(model_path=str(model_path), num_threads=1)
    interpreter.allocate_tensors()
    return interpreter


def check_tensors(interpreter: Any, card: ModelCard) -> None:
    tensor_in = interpreter.get_input_details()[0]
    tensor_out = interpreter.get_output_details()[0]
    assert list(tensor_in["shape"]) == [1, card.input.height, card.input.width, 3]
    assert np.dtype(tensor_in["dtype"]).name == card.input.dtype
    assert int(np.prod(tensor_out["shape"])) == card.outputs.count
    assert np.dtype(tensor_out["dtype"]).name in ("uint8", "int8")


@pytest.fixture(scope="module")
def pipeline() -> tuple[ModelCard, Path]:
    return load_card(PIPELINE_CARD)


def test_pipeline_card_loads_and_says_what_it_is(pipeline: tuple[ModelCard, Path]) -> None:
    card, model_path = pipeline
    assert card.version == "1.0.0"
    assert card.outputs.labels == list(SUBJECTS)
    assert card.empty_species == "blank"
    assert "never seen a real photo" in card.trained_on
    assert catalogue_conflicts(card) == []
    assert model_path == PIPELINE_CARD.parent / card.model_file
    assert model_path.stat().st_size < 300_000


def test_pipeline_sha256_matches_the_file(pipeline: tuple[ModelCard, Path]) -> None:
    card, model_path = pipeline
    assert sha256_of(model_path) == card.sha256


def test_pipeline_tensors_agree_with_the_card(pipeline: tuple[ModelCard, Path]) -> None:
    card, model_path = pipeline
    check_tensors(make_interpreter(model_path), card)


def classify(interpreter: Any, card: ModelCard, pixels: np.ndarray) -> str:
    """What the station does: whole frame, bilinear resize to the input size, RGB uint8, quantize, argmax."""
    size = (card.input.width, card.input.height)
    small = np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR), dtype=np.float64)
    tensor_in = interpreter.get_input_details()[0]
    scale, zero = tensor_in["quantization"]
    info = np.iinfo(tensor_in["dtype"])
    quantized = np.clip(np.round(small / scale + zero), info.min, info.max).astype(tensor_in["dtype"])
    interpreter.set_tensor(tensor_in["index"], quantized[None, ...])
    interpreter.invoke()
    scores = interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).reshape(-1)
    return card.output_species()[int(np.argmax(scores))]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_pipeline_names_the_subject_of_fresh_scenes(pipeline: tuple[ModelCard, Path], subject: str) -> None:
    card, model_path = pipeline
    interpreter = make_interpreter(model_path)
    right = 0
    for i in range(SCENES_PER_SUBJECT):
        scene = Scene(subject=subject, night=i % 2 == 1, seed=FRESH_SEED + i)
        frame_size = (1280, 720) if i % 4 < 2 else (640, 480)
        right += classify(interpreter, card, render(scene, frame_size, i % 3)) == subject
    assert right >= 0.9 * SCENES_PER_SUBJECT, f"{subject}: {right}/{SCENES_PER_SUBJECT} right"


def test_imagenet_card_loads_and_maps_into_range() -> None:
    card, model_path = load_card(IMAGENET_CARD)
    assert card.outputs.count == 1001 and card.outputs.map
    assert all(0 <= index < card.outputs.count for index in card.outputs.map)
    assert set(card.outputs.map.values()) <= set(card.species_by_key())
    assert card.outputs.unmapped == "blank" == card.empty_species
    assert (card.input.width, card.input.height, card.input.dtype) == (224, 224, "uint8")
    assert "never trained on camera-trap photos" in card.not_for
    assert catalogue_conflicts(card) == []
    assert model_path == (IMAGENET_CARD.parent / card.model_file).resolve()


@needs_shared_model
def test_imagenet_card_matches_the_shared_model() -> None:
    card, model_path = load_card(IMAGENET_CARD)
    assert model_path == (SHARED_IMAGENET / "mobilenet_v2_1.0_224_quant.tflite").resolve()
    assert sha256_of(model_path) == card.sha256
    check_tensors(make_interpreter(model_path), card)


@needs_shared_model
def test_imagenet_map_agrees_with_the_label_file() -> None:
    """Line i of the label file is output i (line 0 is background): catches an off-by-one class map."""
    card, _ = load_card(IMAGENET_CARD)
    labels = (SHARED_IMAGENET / "imagenet_labels.txt").read_text(encoding="utf-8").splitlines()
    first_name = {index: labels[index].split(",")[0] for index in card.outputs.map}
    named = {species: {first_name[i] for i, key in card.outputs.map.items() if key == species}
             for species in ("amur_tiger", "snow_leopard", "eurasian_lynx", "brown_bear", "asian_badger")}
    assert named == {"amur_tiger": {"tiger"}, "snow_leopard": {"snow leopard"}, "eurasian_lynx": {"lynx"},
                     "brown_bear": {"brown bear"}, "asian_badger": {"badger"}}
    assert first_name[653] == "military uniform" and card.outputs.map[653] == "human"
