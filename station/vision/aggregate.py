"""Folds the per-frame verdicts of one sequence into detections (one per species seen)."""

from __future__ import annotations

from typing import Callable, Sequence

from station.types import Detection, FrameResult


def top_species(scores: dict[str, float]) -> tuple[str, float]:
    key = max(scores, key=scores.__getitem__)
    return key, scores[key]


def aggregate(results: Sequence[FrameResult], *, empty_species: str, threshold: Callable[[str], float],
              new_id: Callable[[], str]) -> list[Detection]:
    """Detections for every non-empty species that reaches its threshold in at least one frame.

    Confidence is the species' best frame score; the best frame is the one a person should look at first.
    A sequence with no detection is empty (Camtrap DP observationType "blank"). Ordered by confidence.
    """
    best: dict[str, tuple[float, str, int]] = {}
    for result in results:
        for species, score in result.scores.items():
            if species == empty_species or score < threshold(species):
                continue
            top, media, seen = best.get(species, (0.0, result.media_id, 0))
            if score > top:
                top, media = score, result.media_id
            best[species] = (top, media, seen + 1)
    if not results:
        return []
    sequence_id = results[0].sequence_id
    detections = [Detection(observation_id=new_id(), sequence_id=sequence_id, species=species,
                            confidence=round(score, 4), best_media_id=media, frames_seen=seen)
                  for species, (score, media, seen) in best.items()]
    return sorted(detections, key=lambda d: -d.confidence)
