"""QR codes a ranger scans in the forest: one joins the station's Wi-Fi, one opens the ranger's page.

A phone acts on one payload per code, so there are two: the ``WIFI:`` text (``station.network.wifi``) and
the page's ``https://`` address. ``terminal_text`` draws one for `trapd provision`'s output; ``card_png``
makes both side by side, with the network name, password, address and certificate fingerprint written
under them, as a PNG to print and stick inside the enclosure's lid.
"""

from __future__ import annotations

import io

import segno
from PIL import Image, ImageDraw, ImageFont

SCALE = 8
BORDER = 4
MARGIN = 24


def terminal_text(payload: str) -> str:
    """The QR code as block characters (two rows of modules per line), dark on light whatever the terminal."""
    out = io.StringIO()
    segno.make(payload, error="m").terminal(out=out, compact=True, border=BORDER)
    return out.getvalue()


def card_png(codes: list[tuple[str, str]], lines: list[str]) -> bytes:
    """A PNG with a QR code per ``(caption, payload)`` side by side and ``lines`` of text below."""
    images = [_qr_image(payload) for _, payload in codes]
    font = _font(18)
    side = max(image.height for image in images)
    line_h = 26
    width = max(MARGIN * (len(images) + 1) + sum(image.width for image in images),
                MARGIN * 2 + max(int(font.getlength(line)) for line in lines) if lines else 0)
    height = MARGIN + line_h + side + MARGIN + line_h * len(lines) + MARGIN
    card = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(card)
    x = MARGIN
    for (caption, _), image in zip(codes, images, strict=True):
        draw.text((x + BORDER * SCALE, MARGIN), caption, fill="black", font=font)
        card.paste(image, (x, MARGIN + line_h))
        x += image.width + MARGIN
    y = MARGIN + line_h + side + MARGIN
    for line in lines:
        draw.text((MARGIN, y), line, fill="black", font=font)
        y += line_h
    buffer = io.BytesIO()
    card.save(buffer, format="PNG")
    return buffer.getvalue()


def _qr_image(payload: str) -> Image.Image:
    buffer = io.BytesIO()
    segno.make(payload, error="m").save(buffer, kind="png", scale=SCALE, border=BORDER)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()
