"""Labels rendered on the spot for the OCR tests (DejaVu for Latin, WQY Zen Hei for Chinese)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def render_label(lines: list[str], *, size: int = 40, angle: float = 0.0, margin: int = 30) -> np.ndarray:
    """RGB uint8: dark text lines on a light card, rotated by ``angle`` degrees (counter-clockwise)."""
    for font_path in (LATIN_FONT, CJK_FONT):
        if not font_path.is_file():
            pytest.skip(f"font {font_path} is not installed (the Makefile's apt step installs it)")
    fonts = [ImageFont.truetype(str(CJK_FONT if any(ord(c) > 0x2E80 for c in t) else LATIN_FONT), size) for t in lines]
    widths = [f.getbbox(t)[2] for f, t in zip(fonts, lines)]
    w, h = max(widths) + 2 * margin, len(lines) * int(size * 1.8) + 2 * margin
    card = Image.new("RGB", (w, h), (245, 242, 235))
    draw = ImageDraw.Draw(card)
    for i, (font, text) in enumerate(zip(fonts, lines)):
        draw.text((margin, margin + i * int(size * 1.8)), text, font=font, fill=(20, 20, 30))
    if angle:
        card = card.rotate(angle, expand=True, fillcolor=(245, 242, 235), resample=Image.BICUBIC)
    return np.asarray(card).copy()


@pytest.fixture
def label():
    return render_label
