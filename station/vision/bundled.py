"""Where the project's own pipeline model lives: ``models/pipeline/`` beside the ``station`` package
(a source checkout, or /opt/trapd on a station image)."""

from __future__ import annotations

from pathlib import Path

from station.errors import ModelError

BUNDLED_CARD = Path("models") / "pipeline" / "trapd-pipeline-v1.toml"


def bundled_card() -> Path:
    candidate = Path(__file__).resolve().parents[2] / BUNDLED_CARD
    if not candidate.is_file():
        raise ModelError(f"the bundled model card is not at {candidate}; install trapd from its checkout or "
                         "image, or set [model] card in station.toml")
    return candidate
