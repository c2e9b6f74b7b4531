"""A contact sheet of evaluated photos with the boxes the station kept (Pillow only), and the pipeline
evaluation's report folder (report.json + boxes.png)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw

from station.vision.evaluate_pipeline import PhotoResult, PipelineEvaluation
from station.vision.plots import BLACK, WHITE, _font

KIND_COLOURS = {"human": (220, 30, 30), "vehicle": (240, 190, 0), "animal": (40, 200, 70)}
TILE = 300


def sample_results(results: list[PhotoResult], size: int) -> list[PhotoResult]:
    """Up to ``size`` photos, spread over the true kinds, the wrong calls first within each kind."""
    by_kind: dict[str, list[PhotoResult]] = {}
    for result in sorted(results, key=lambda r: (r.call == _truth_call(r), r.photo.file)):
        by_kind.setdefault(result.photo.kind, []).append(result)
    picked: list[PhotoResult] = []
    while len(picked) < size and any(by_kind.values()):
        for kind in sorted(by_kind):
            if by_kind[kind] and len(picked) < size:
                picked.append(by_kind[kind].pop(0))
    return picked


def _truth_call(result: PhotoResult) -> str:
    return "human" if result.photo.has_people else result.photo.kind


def _tile(result: PhotoResult) -> Image.Image:
    with Image.open(result.photo.path) as image:
        frame = image.convert("RGB")
    frame.thumbnail((TILE, TILE - 34))
    tile = Image.new("RGB", (TILE, TILE), WHITE)
    left, top = (TILE - frame.width) // 2, 0
    tile.paste(frame, (left, top))
    draw = ImageDraw.Draw(tile)
    small = _font(11)
    for box in result.boxes:
        colour = KIND_COLOURS.get(str(box["kind"]), (255, 255, 255))
        x0, y0 = left + float(box["x"]) * frame.width, top + float(box["y"]) * frame.height
        x1, y1 = x0 + float(box["width"]) * frame.width, y0 + float(box["height"]) * frame.height
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=3)
        draw.text((x0 + 3, y0 + 2), f"{box['species']} {float(box['score']):.2f}", font=small, fill=colour)
    right = result.call == _truth_call(result)
    truth = result.photo.label + (f" + {result.photo.people} people" if result.photo.kind != "human"
                                  and result.photo.has_people else "")
    draw.text((4, TILE - 32), f"{Path(result.photo.file).name}: true {truth}", font=small, fill=BLACK)
    draw.text((4, TILE - 17), f"station: {result.call}" + ("" if right else "  (WRONG)"), font=small,
              fill=BLACK if right else (200, 0, 0))
    return tile


def boxes_png(results: list[PhotoResult], path: Path, *, title: str, size: int = 16) -> Path:
    """A grid of sample photos, boxes coloured by kind (red human, yellow vehicle, green animal)."""
    picked = sample_results(results, size)
    columns = 4
    rows = max(1, -(-len(picked) // columns))
    sheet = Image.new("RGB", (columns * TILE, rows * TILE + 30), WHITE)
    ImageDraw.Draw(sheet).text((8, 8), title, font=_font(14), fill=BLACK)
    for i, result in enumerate(picked):
        sheet.paste(_tile(result), ((i % columns) * TILE, 30 + (i // columns) * TILE))
    sheet.save(path, "PNG")
    return path


def write_pipeline_report(evaluation: PipelineEvaluation, out: Path, *,
                          extra: dict[str, object] | None = None, sample: int = 16) -> dict[str, Path]:
    """report.json (summary and every photo's call and boxes) and boxes.png in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": out / "report.json", "boxes": out / "boxes.png"}
    boxes_png(evaluation.results, files["boxes"], size=sample,
              title=f"{' + '.join(evaluation.models)}: {len(evaluation.results)} photos (a sample)")
    report = {**evaluation.report(), **(extra or {}), "files": {k: str(v) for k, v in files.items()}}
    files["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return files
