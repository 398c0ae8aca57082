"""Synthetic images and presets for the marketplace tests: real files in tmp_path, no mocks."""

from __future__ import annotations

import numpy as np
from PIL import Image

from product_studio.marketplaces import Preset, load_preset

def product_on_white(size: int | tuple[int, int], fill: float, *, color=(20, 40, 60), offset=(0, 0)) -> np.ndarray:
    """A white canvas (w, h) with a dark square whose side is ``fill`` x the shorter canvas side."""
    w, h = (size, size) if isinstance(size, int) else size
    pixels = np.full((h, w, 3), 255, np.uint8)
    side = round(fill * min(w, h))
    x0, y0 = (w - side) // 2 + offset[0], (h - side) // 2 + offset[1]
    pixels[y0 : y0 + side, x0 : x0 + side] = color
    return pixels


def write(path, pixels: np.ndarray, fmt: str | None = None, **kw) -> str:
    mode = "RGBA" if pixels.shape[2] == 4 else "RGB"
    Image.fromarray(pixels, mode).save(path, format=fmt, **kw)
    return str(path)


def custom_preset(base: str = "amazon-main", **changes) -> Preset:
    """A preset like ``base`` with some fields changed (validated like a user's file)."""
    data = load_preset(base).model_dump(by_alias=True)
    data.update(changes)
    return Preset.model_validate(data)
