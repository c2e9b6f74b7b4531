"""PNG pictures of an evaluation, drawn with Pillow alone: a confusion matrix and the empty-vs-animal curve;
and ``write_report``, which puts them with the JSON report and the text table in one folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from station.vision.evaluate import Evaluation, TradeoffPoint, confusion_table

WHITE, BLACK, GREY, LIGHT = (255, 255, 255), (20, 20, 20), (120, 120, 120), (225, 225, 225)
BLUE, ORANGE, GREEN = (31, 90, 170), (214, 110, 20), (30, 140, 60)
CELL = 46
Font = ImageFont.ImageFont | ImageFont.FreeTypeFont  # load_default gives either, by Pillow version


def _font(size: int) -> Font:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one fixed bitmap font
        return ImageFont.load_default()


def _text_width(draw: ImageDraw.ImageDraw, text: str, font: Font) -> int:
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    return int(right - left)


def _vertical_text(text: str, font: Font, colour: tuple[int, int, int]) -> Image.Image:
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font)
    label = Image.new("RGBA", (int(right - left) + 2, int(bottom - top) + 4), (255, 255, 255, 0))
    ImageDraw.Draw(label).text((-left + 1, -top + 2), text, font=font, fill=colour)
    return label.rotate(90, expand=True)


def _cell_colour(share: float) -> tuple[int, int, int]:
    """White for 0, deep blue for 1 (share of the row)."""
    red, green, blue = (int(round(w + (b - w) * share)) for w, b in zip(WHITE, BLUE, strict=True))
    return red, green, blue


def confusion_png(labels: list[str], matrix: np.ndarray, path: Path, *, title: str) -> Path:
    """Rows: true class; columns: the station's verdict. Cells show counts, shaded by share of the row."""
    font, small = _font(14), _font(12)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = max(_text_width(probe, key, font) for key in labels) + 16
    left, top = label_w + 28, label_w + 56
    width, height = left + CELL * len(labels) + 90, top + CELL * len(labels) + 40
    image = Image.new("RGB", (max(width, 420), height), WHITE)
    draw = ImageDraw.Draw(image)
    draw.text((12, 10), title, font=font, fill=BLACK)
    draw.text((left, 32), "predicted (at the card's thresholds)", font=small, fill=GREY)
    image.paste(_vertical_text("true class", small, GREY), (6, top), _vertical_text("true class", small, GREY))
    totals = matrix.sum(axis=1)
    for i, key in enumerate(labels):
        draw.text((left - 8 - _text_width(draw, key, font), top + i * CELL + CELL // 2 - 8), key, font=font,
                  fill=BLACK)
        column = _vertical_text(key, font, BLACK)
        image.paste(column, (left + i * CELL + CELL // 2 - column.width // 2, top - 8 - column.height), column)
        for j in range(len(labels)):
            count = int(matrix[i, j])
            share = count / totals[i] if totals[i] else 0.0
            box = (left + j * CELL, top + i * CELL, left + (j + 1) * CELL, top + (i + 1) * CELL)
            draw.rectangle(box, fill=_cell_colour(share), outline=GREEN if i == j else LIGHT, width=2 if i == j else 1)
            if count:
                text = str(count)
                draw.text((box[0] + (CELL - _text_width(draw, text, font)) // 2, box[1] + CELL // 2 - 8), text,
                          font=font, fill=WHITE if share > 0.55 else BLACK)
        recall = f"{100 * matrix[i, i] / totals[i]:.0f} %" if totals[i] else "-"
        draw.text((left + CELL * len(labels) + 8, top + i * CELL + CELL // 2 - 8), recall, font=small, fill=GREY)
    draw.text((left + CELL * len(labels) + 8, top - 20), "recall", font=small, fill=GREY)
    image.save(path, "PNG")
    return path


def _plot_xy(threshold: float, rate: float, box: tuple[int, int, int, int]) -> tuple[float, float]:
    x0, y0, x1, y1 = box
    return x0 + threshold * (x1 - x0), y1 - rate * (y1 - y0)


def _axes(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], font: Font) -> None:
    x0, y0, x1, y1 = box
    for step in range(11):
        x, y = x0 + step * (x1 - x0) / 10, y1 - step * (y1 - y0) / 10
        draw.line((x, y0, x, y1), fill=LIGHT)
        draw.line((x0, y, x1, y), fill=LIGHT)
        draw.text((x - 10, y1 + 6), f"{step / 10:.1f}", font=font, fill=GREY)
        draw.text((x0 - 44, y - 7), f"{step * 10} %", font=font, fill=GREY)
    draw.rectangle(box, outline=BLACK)


def _series(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], colour: tuple[int, int, int],
            box: tuple[int, int, int, int]) -> None:
    xy = [_plot_xy(t, r, box) for t, r in points]
    if len(xy) > 1:
        draw.line(xy, fill=colour, width=3)
    for x, y in xy:
        draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=colour)


def tradeoff_png(points: list[TradeoffPoint], card_point: TradeoffPoint, path: Path, *, title: str,
                 card_threshold: float) -> Path:
    """Share of empty photos kept and of animals missed against one threshold for every non-empty species;
    the card's own per-species thresholds are marked at its default threshold."""
    font, small = _font(15), _font(12)
    image = Image.new("RGB", (820, 545), WHITE)
    draw = ImageDraw.Draw(image)
    box = (80, 50, 790, 450)
    draw.text((16, 12), title, font=font, fill=BLACK)
    _axes(draw, box, small)
    draw.text((box[0] + 220, box[3] + 30), "threshold for every non-empty species", font=small, fill=GREY)
    kept = [(p.threshold, p.empty_kept) for p in points if p.threshold is not None and p.empty_kept is not None]
    missed = [(p.threshold, p.animals_missed) for p in points
              if p.threshold is not None and p.animals_missed is not None]
    _series(draw, kept, ORANGE, box)
    _series(draw, missed, BLUE, box)
    for rate, colour in ((card_point.empty_kept, ORANGE), (card_point.animals_missed, BLUE)):
        if rate is not None:
            x, y = _plot_xy(card_threshold, rate, box)
            draw.rectangle((x - 7, y - 7, x + 7, y + 7), outline=colour, width=3)
    legend = [(ORANGE, "empty photos kept (false alarms)" + ("" if kept else ": no empty photos")),
              (BLUE, "animals/people missed" + ("" if missed else ": no photos with animals")),
              (BLACK, "squares: the card's per-species thresholds")]
    for row, (colour, text) in enumerate(legend):
        x, y = (16, 290, 540)[row], 512
        draw.rectangle((x, y + 4, x + 14, y + 14), fill=colour if row < 2 else WHITE, outline=colour, width=2)
        draw.text((x + 20, y), text, font=small, fill=BLACK)
    image.save(path, "PNG")
    return path


def write_report(evaluation: Evaluation, out: Path, *, card_threshold: float,
                 extra: dict[str, object] | None = None) -> dict[str, Path]:
    """report.json, confusion.txt, confusion.png and tradeoff.png in ``out``; returns them by kind."""
    out.mkdir(parents=True, exist_ok=True)
    labels, matrix = evaluation.confusion()
    files = {"json": out / "report.json", "table": out / "confusion.txt", "confusion": out / "confusion.png",
             "tradeoff": out / "tradeoff.png"}
    title = f"{evaluation.model}: {len(evaluation.truth)} photos, accuracy {100 * evaluation.accuracy():.1f} %"
    confusion_png(labels, matrix, files["confusion"], title=title)
    tradeoff_png(evaluation.tradeoff(), evaluation.at_card_thresholds(), files["tradeoff"],
                 title=f"{evaluation.model}: empty photos kept vs animals missed", card_threshold=card_threshold)
    files["table"].write_text("\n".join(confusion_table(labels, matrix)) + "\n", encoding="utf-8")
    report = {**evaluation.report(), **(extra or {}), "files": {k: str(v) for k, v in files.items()}}
    files["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return files
