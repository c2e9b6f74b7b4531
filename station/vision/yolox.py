"""Decoding a raw YOLOX head in numpy: grid/stride decode, then per-class non-maximum suppression.

Each row of the head is (tx, ty, tw, th, objectness, class scores...), with objectness and class scores
already squashed to 0..1 (the exported models apply the sigmoid). A row's centre is (t + grid) * stride and
its size exp(t) * stride, in input pixels; rows are laid out stride by stride, each grid row-major.
"""

from __future__ import annotations

import numpy as np


def grid_size(width: int, height: int, strides: list[int]) -> int:
    """Number of rows the head has for this input size."""
    return sum((height // s) * (width // s) for s in strides)


def _grids(width: int, height: int, strides: list[int]) -> tuple[np.ndarray, np.ndarray]:
    cells, steps = [], []
    for stride in strides:
        ys, xs = np.mgrid[0: height // stride, 0: width // stride]
        cells.append(np.stack([xs.reshape(-1), ys.reshape(-1)], axis=1))
        steps.append(np.full(cells[-1].shape[0], stride))
    return np.concatenate(cells).astype(np.float32), np.concatenate(steps).astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Greedy non-maximum suppression over corner boxes ``[x0, y0, x1, y1]``; indices kept, best first."""
    order = np.argsort(-scores)
    keep = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        x0 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y0 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x1 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y1 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        overlap = inter / np.maximum(areas[best] + areas[rest] - inter, 1e-9)
        order = rest[overlap <= iou]
    return keep


def decode_yolox(head: np.ndarray, *, width: int, height: int, strides: list[int], score_floor: float,
                 nms_iou: float, max_boxes: int, classes_wanted: list[int], groups: list[int]
                 ) -> list[tuple[float, float, float, float, float, int]]:
    """Rows ``(x, y, w, h, score, class)`` normalised to the input, top-left origin, best first.

    Only ``classes_wanted`` are read (a COCO model's chairs are not decoded at all); suppression runs within
    each group (``groups[i]`` for ``classes_wanted[i]``), so a car box and a truck box on the same vehicle,
    both "vehicle" to the station, become one box."""
    cells, steps = _grids(width, height, strides)
    wanted = np.asarray(classes_wanted, dtype=np.intp)
    class_scores = head[:, 5 + wanted] * head[:, 4:5]
    best = np.argmax(class_scores, axis=1)
    scores = class_scores[np.arange(len(best)), best]
    classes = wanted[best]
    group_of = dict(zip(classes_wanted, groups, strict=True))
    chosen = np.nonzero(scores >= score_floor)[0]
    if not chosen.size:
        return []
    centre = (head[chosen, 0:2] + cells[chosen]) * steps[chosen, None]
    size = np.exp(np.clip(head[chosen, 2:4], -10, 10)) * steps[chosen, None]
    corners = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    corners /= np.array([width, height, width, height], dtype=np.float32)
    corners = np.clip(corners, 0.0, 1.0)
    kept: list[int] = []
    chosen_groups = np.array([group_of[int(c)] for c in classes[chosen]])
    for group in np.unique(chosen_groups):
        members = np.nonzero(chosen_groups == group)[0]
        kept += [int(members[i]) for i in nms(corners[members], scores[chosen][members], nms_iou)]
    kept.sort(key=lambda i: -scores[chosen][i])
    rows = []
    for i in kept[:max_boxes]:
        x0, y0, x1, y1 = (float(v) for v in corners[i])
        rows.append((x0, y0, x1 - x0, y1 - y0, float(scores[chosen][i]), int(classes[chosen][i])))
    return rows
