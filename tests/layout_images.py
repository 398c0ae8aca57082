"""Pictures for the layout tests (borders, collages, several items): the real teddy-bear cut-out from
samples/ (openclipart, public domain) and drawn products, composed on white. Shared by
tests/vision/test_layout_defects.py, tests/vision/test_item_count.py and
tests/marketplaces/test_layout_rules.py."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def teddy(longest: int) -> np.ndarray:
    """The teddy bear cut-out (RGBA uint8), trimmed to its alpha and scaled so its longer side is ``longest``."""
    rgba = cv2.cvtColor(cv2.imread(str(SAMPLES / "teddy_bear.png"), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    ys, xs = np.nonzero(rgba[..., 3] > 8)
    rgba = rgba[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    s = longest / max(rgba.shape[:2])
    return cv2.resize(rgba, (round(rgba.shape[1] * s), round(rgba.shape[0] * s)), interpolation=cv2.INTER_AREA)


def paste(canvas: np.ndarray, rgba: np.ndarray, x: int, y: int) -> np.ndarray:
    """``rgba`` composited over ``canvas`` (RGB, in place) with its top-left corner at (x, y)."""
    h, w = rgba.shape[:2]
    a = rgba[..., 3:].astype(np.float32) / 255.0
    region = canvas[y : y + h, x : x + w].astype(np.float32)
    canvas[y : y + h, x : x + w] = (region * (1 - a) + rgba[..., :3] * a + 0.5).astype(np.uint8)
    return canvas


def white(size: int = 1200) -> np.ndarray:
    return np.full((size, size, 3), 255, np.uint8)


def teddy_on_white(size: int = 1200, fill: float = 0.8) -> np.ndarray:
    """The teddy centred on a white square canvas, its longer side ``fill`` x the canvas."""
    bear = teddy(round(size * fill))
    h, w = bear.shape[:2]
    return paste(white(size), bear, (size - w) // 2, (size - h) // 2)


def bottle(longest: int, colour: tuple[int, int, int]) -> np.ndarray:
    """A drawn bottle (RGBA): a rounded body, a shoulder and a neck, shaded left to right."""
    h, w = longest, longest // 3
    rgba = np.zeros((h, w, 4), np.uint8)
    shade = np.linspace(0.75, 1.1, w)[None, :, None]
    body = np.clip(np.array(colour, np.float32)[None, None, :] * shade, 0, 255).astype(np.uint8)
    mask = np.zeros((h, w), np.uint8)
    cv2.rectangle(mask, (0, h // 3), (w - 1, h - 1), 255, -1)
    cv2.ellipse(mask, (w // 2, h // 3), (w // 2, h // 8), 0, 180, 360, 255, -1)
    cv2.rectangle(mask, (w // 3, 0), (2 * w // 3, h // 3), 255, -1)
    rgba[..., :3] = np.broadcast_to(body, (h, w, 3))
    rgba[..., 3] = mask
    return rgba


def box_product(size: int = 1200, share: float = 0.9) -> np.ndarray:
    """A cardboard box seen from the front on white: a rectangle ``share`` of the canvas wide, a darker
    straight top edge, a tape stripe down its middle (straight lines that are the product's own)."""
    img = white(size)
    m = round(size * (1 - share) / 2)
    img[m + size // 10 : size - m, m : size - m] = (176, 132, 84)
    img[m + size // 10 : m + size // 10 + 6, m : size - m] = (120, 86, 50)
    c = size // 2
    img[m + size // 10 : size - m, c - 12 : c + 12] = (205, 180, 140)
    return img


def phone(size: int = 1200) -> np.ndarray:
    """A phone standing on white: a black rounded rectangle, 92% of the height, with a grey screen edge."""
    img = white(size)
    x0, x1, y0, y1 = round(size * 0.3), round(size * 0.7), round(size * 0.04), round(size * 0.96)
    cv2.rectangle(img, (x0, y0), (x1, y1), (25, 25, 28), -1, lineType=cv2.LINE_AA)
    cv2.rectangle(img, (x0 + 20, y0 + 60), (x1 - 20, y1 - 60), (40, 60, 90), -1)
    return img


def grid_collage(rows: int, cols: int, *, size: int = 1200, gutter: int = 16, colour=(210, 210, 210)) -> np.ndarray:
    """Product shots on white (teddy, bottles) in a rows x cols grid separated by ``gutter`` px of
    ``colour`` (a gutter of 1-3 px reads as a divider line)."""
    img = np.empty((size, size, 3), np.uint8)
    img[:] = colour
    ph, pw = (size - (rows - 1) * gutter) // rows, (size - (cols - 1) * gutter) // cols
    products = [teddy(round(0.8 * min(ph, pw))), bottle(round(0.8 * ph), (200, 40, 40)),
                bottle(round(0.8 * ph), (40, 90, 200)), teddy(round(0.6 * min(ph, pw)))[:, ::-1]]
    for r in range(rows):
        for c in range(cols):
            y, x = r * (ph + gutter), c * (pw + gutter)
            y1, x1 = (size if r == rows - 1 else y + ph), (size if c == cols - 1 else x + pw)  # no strip left over
            panel = img[y:y1, x:x1]
            panel[:] = 255
            p = products[(r * cols + c) % len(products)]
            paste(panel, p, (x1 - x - p.shape[1]) // 2, (y1 - y - p.shape[0]) // 2)
    return img


def two_products(size: int = 1200) -> np.ndarray:
    """The teddy and a red bottle side by side on white, apart."""
    img = white(size)
    bear = teddy(round(size * 0.55))
    paste(img, bear, round(size * 0.05), (size - bear.shape[0]) // 2)
    b = bottle(round(size * 0.6), (200, 40, 40))
    return paste(img, b, round(size * 0.72), (size - b.shape[0]) // 2)
