"""``trapd model check`` for detector cards: one finding per fact, as for classifiers (``check.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from station.errors import ModelError
from station.vision.card import catalogue_conflicts
from station.vision.check import Finding, model_file_findings
from station.vision.detector_card import DetectorCard, load_detector_card
from station.vision.runtime import interpreter_class, load_interpreter


def _card_finding(card: DetectorCard) -> Finding:
    mapped = sorted(set(card.output.map.values()))
    return Finding("card", True, f"{card.label}: detector, {card.output.format} output, {card.output.classes} "
                                 f"classes ({len(card.output.map)} mapped to {', '.join(mapped)}), input "
                                 f"{card.input.width}x{card.input.height} {card.input.dtype} {card.input.colour_order}")


def _field_finding(card: DetectorCard) -> Finding:
    if card.field_model:
        return Finding("field model", True, "yes: the card says it works on real camera-trap photos")
    return Finding("field model", True, "no (field_model = false): a real camera refuses it unless "
                                        "model.allow_non_field = true")


def _detect_finding(card_path: Path) -> Finding:
    from station.vision.detector import Detector

    try:
        detector = Detector.from_card(card_path, threads=1)
        width, height = detector.input_size
        boxes = detector.detect(np.full((height, width, 3), 128, dtype=np.uint8))
    except ModelError as exc:
        return Finding("detect", False, str(exc))
    sane = all(0 <= b.x <= 1 and 0 <= b.y <= 1 and 0 <= b.score <= 1 for b in boxes)
    strong = [b for b in boxes if b.score >= detector.card.threshold(b.species)]
    return Finding("detect", sane and not strong, f"a grey frame gives {len(boxes)} boxes, {len(strong)} above "
                                                  "threshold" + ("" if not strong else
                                                                 " (an empty frame should have none)"))


def check_detector_card(card_path: Path) -> list[Finding]:
    """Every check of a detector card, in order; stops early only where the next checks cannot run."""
    from station.vision.detector import detector_tensor_problems

    try:
        card, model_path = load_detector_card(card_path)
    except ModelError as exc:
        return [Finding("card", False, str(exc))]
    problems = catalogue_conflicts(card)
    findings = [_card_finding(card), _field_finding(card),
                Finding("catalogue", not problems, "; ".join(problems) or
                        f"{len(card.species)} species, codes as in the catalogue"),
                *model_file_findings(model_path, card.sha256)]
    if not model_path.is_file():
        return findings
    try:
        interpreter = load_interpreter(model_path, threads=1)
    except ModelError as exc:
        return [*findings, Finding("runtime", False, str(exc))]
    findings.append(Finding("runtime", True, f"loads in {interpreter_class()[1]}"))
    tensor_problems = detector_tensor_problems(card, interpreter.get_input_details(),
                                               interpreter.get_output_details())
    findings.append(Finding("tensors", not tensor_problems, "; ".join(tensor_problems) or
                            f"input and {card.output.format} outputs as the card says"))
    if all(f.ok for f in findings):
        findings.append(_detect_finding(card_path))
    return findings
