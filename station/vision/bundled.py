"""Where the bundled models live: ``models/pipeline/`` (the toy pipeline model) and ``models/detector/``
(the real detector) beside the ``station`` package (a source checkout, or /opt/trapd on a station image)."""

from __future__ import annotations

from pathlib import Path

from station.errors import ModelError

BUNDLED_CARD = Path("models") / "pipeline" / "trapd-pipeline-v1.toml"
#: The real detector a fresh install has (MegadetectorLite, converted by models/detector/convert.py):
#: ``[model] detector = "bundled"`` in station.toml.
BUNDLED_DETECTOR = Path("models") / "detector" / "mdlite-yolox-tiny-640.toml"


def bundled_card() -> Path:
    candidate = Path(__file__).resolve().parents[2] / BUNDLED_CARD
    if not candidate.is_file():
        raise ModelError(f"the bundled model card is not at {candidate}; install trapd from its checkout or "
                         "image, or set [model] card in station.toml")
    return candidate


def bundled_detector_card() -> Path:
    candidate = Path(__file__).resolve().parents[2] / BUNDLED_DETECTOR
    if not candidate.is_file():
        raise ModelError(f"the bundled detector card is not at {candidate}; install trapd from its checkout or "
                         "image, or set [model] detector in station.toml to a detector card")
    return candidate
