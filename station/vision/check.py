"""Checks a model card against its model: one finding per fact, so a technician sees everything at once.

``tensor_findings`` is also what the classifier runs at load time (it raises on the first failure);
``check_card`` runs every check a swap needs: the card itself, the catalogue codes, the file and its sha256,
the runtime, the tensors, and one classification of a plain grey frame.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from station.errors import ModelError
from station.vision.card import ModelCard, catalogue_conflicts, load_card, sha256_of
from station.vision.runtime import interpreter_class, load_interpreter

INTEGER_DTYPES = ("uint8", "int8")


@dataclasses.dataclass(frozen=True)
class Finding:
    """One checked fact: its name, whether it holds, and a line that says what was found (and what to do)."""

    name: str
    ok: bool
    detail: str


def _dtype_name(dtype: Any) -> str:
    return np.dtype(dtype).name


def tensor_findings(card: ModelCard, inputs: list[dict], outputs: list[dict]) -> list[Finding]:
    """The model's tensors against the card: input shape, input type and quantization, output type and count."""
    if len(inputs) != 1 or len(outputs) != 1:
        return [Finding("tensors", False, f"expected one input and one output tensor (image classifier), "
                                          f"the model has {len(inputs)} and {len(outputs)}")]
    tensor_in, tensor_out = inputs[0], outputs[0]
    shape, want = [int(n) for n in tensor_in["shape"]], [1, card.input.height, card.input.width, 3]
    in_type, out_type = _dtype_name(tensor_in["dtype"]), _dtype_name(tensor_out["dtype"])
    scale, zero = tensor_in["quantization"]
    count = int(np.prod(tensor_out["shape"]))
    return [
        Finding("input shape", shape == want, f"model input shape {shape}" + (
            " as the card says" if shape == want else f", card says {want}")),
        Finding("input dtype", in_type == card.input.dtype, f"model input is {in_type}" + (
            " as the card says" if in_type == card.input.dtype else
            f", card says {card.input.dtype}; only full-integer models are supported")),
        Finding("input quantization", bool(scale), f"scale {scale:g}, zero point {zero}" if scale else
                "input tensor is not quantized (scale 0); convert the model to full integer"),
        Finding("output dtype", out_type in INTEGER_DTYPES, f"model output is {out_type}" + (
            "" if out_type in INTEGER_DTYPES else "; need int8/uint8 (full-integer conversion)")),
        Finding("output count", count == card.outputs.count, f"model has {count} outputs" + (
            " as the card says" if count == card.outputs.count else f", card says {card.outputs.count}")),
    ]


def _label_finding(card: ModelCard) -> Finding:
    if card.outputs.labels is not None:
        return Finding("labels", True, f"{len(card.outputs.labels)} labels for {card.outputs.count} outputs")
    mapped = len(card.outputs.map or {})
    species = len(set((card.outputs.map or {}).values()))
    return Finding("labels", True, f"{mapped} of {card.outputs.count} outputs mapped to {species} species, "
                                   f"the rest to {card.outputs.unmapped}")


def _catalogue_finding(card: ModelCard) -> Finding:
    problems = catalogue_conflicts(card)
    if problems:
        return Finding("catalogue", False, "; ".join(problems) + " (copy entries from station/vision/species.toml)")
    codes = ", ".join(f"{s.key}={s.code}" for s in card.species[:8]) + (", …" if len(card.species) > 8 else "")
    return Finding("catalogue", True, f"{len(card.species)} species, codes as in the catalogue ({codes})")


def model_file_findings(model_path: Path, sha256: str) -> list[Finding]:
    """The model file exists and has the sha256 its card says (classifier and detector cards alike)."""
    if not model_path.is_file():
        return [Finding("model file", False, f"{model_path} not found; check model_file in the card")]
    found = [Finding("model file", True, f"{model_path} ({model_path.stat().st_size:,} bytes)")]
    digest = sha256_of(model_path)
    found.append(Finding("sha256", digest == sha256, f"{digest}" + (
        " as the card says" if digest == sha256 else
        f" but the card says {sha256}: the file is corrupt or the card belongs to another model")))
    return found


def _classify_finding(card_path: Path) -> Finding:
    from station.vision.classifier import Classifier  # imports this module: keep the cycle lazy

    try:
        classifier = Classifier.from_card_file(card_path, threads=1)
        width, height = classifier.input_size
        scores = classifier.classify(np.full((height, width, 3), 128, dtype=np.uint8))
    except ModelError as exc:
        return Finding("classify", False, str(exc))
    total = sum(scores.values())
    # A quantized softmax over many outputs loses some mass to rounding (each tiny probability becomes 0).
    sane = all(0.0 <= v <= 1.0001 for v in scores.values()) and total <= 1.05
    top = max(scores, key=scores.__getitem__)
    return Finding("classify", sane, f"a grey frame gives {top} {scores[top]:.2f} "
                                     f"(probabilities sum to {total:.3f} over {len(scores)} species)")


def check_card(card_path: Path) -> list[Finding]:
    """Every check, in order; stops early only where the next checks cannot run. Detector cards
    (``kind = "detector"``) get the detector's checks (``check_detector.py``)."""
    from station.vision.detector_card import card_kind

    try:
        if card_kind(card_path) == "detector":
            from station.vision.check_detector import check_detector_card

            return check_detector_card(card_path)
    except ModelError as exc:
        return [Finding("card", False, str(exc))]
    try:
        card, model_path = load_card(card_path)
    except ModelError as exc:
        return [Finding("card", False, str(exc))]
    findings = [Finding("card", True, f"{card.name} {card.version}: {card.outputs.count} outputs, "
                                      f"{len(card.species)} species, input {card.input.width}x"
                                      f"{card.input.height} {card.input.dtype} {card.input.colour_order}"),
                _catalogue_finding(card), *model_file_findings(model_path, card.sha256)]
    if not model_path.is_file():
        return findings
    try:
        interpreter = load_interpreter(model_path, threads=1)
    except ModelError as exc:
        return [*findings, Finding("runtime", False, str(exc))]
    findings.append(Finding("runtime", True, f"loads in {interpreter_class()[1]}"))
    tensors = tensor_findings(card, interpreter.get_input_details(), interpreter.get_output_details())
    findings += tensors
    if all(f.ok for f in tensors):
        findings.append(_label_finding(card))
        if all(f.ok for f in findings):
            findings.append(_classify_finding(card_path))
    return findings
