"""Folds the per-frame verdicts of one sequence into detections (one per species seen)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


def aggregate_boxes(results: Sequence[FrameResult], *, new_id: Callable[[], str]) -> list[Detection]:
    """Detections of a detector pipeline: one per species that has a box in at least one frame.

    ``count`` is the largest number of boxes of that species in one frame of the sequence; confidence and
    ``box`` are those of its best box, ``best_media_id`` that box's frame. No box in any frame: blank.
    """
    best: dict[str, tuple[float, str, tuple[float, float, float, float]]] = {}
    counts: dict[str, int] = {}
    seen: dict[str, int] = {}
    for result in results:
        for species, number in _species_counts(result).items():
            counts[species] = max(counts.get(species, 0), number)
            seen[species] = seen.get(species, 0) + 1
        for verdict in result.boxes:
            if verdict.species not in best or verdict.confidence > best[verdict.species][0]:
                best[verdict.species] = (verdict.confidence, result.media_id, verdict.box.as_tuple())
    if not results:
        return []
    sequence_id = results[0].sequence_id
    detections = [Detection(observation_id=new_id(), sequence_id=sequence_id, species=species,
                            confidence=round(score, 4), best_media_id=media, frames_seen=seen[species],
                            count=counts[species], box=box)
                  for species, (score, media, box) in best.items()]
    return sorted(detections, key=lambda d: -d.confidence)


def _species_counts(result: FrameResult) -> dict[str, int]:
    counts: dict[str, int] = {}
    for verdict in result.boxes:
        counts[verdict.species] = counts.get(verdict.species, 0) + 1
    return counts
