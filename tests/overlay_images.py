"""Product shots with text for the overlay and watermark tests: the transparent teddy bear of samples/
(openclipart, public domain) on white, with promotional text beside it, text printed on it, or a
semi-transparent diagonal watermark. Fonts: DejaVu (Debian fonts-dejavu-core)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def teddy_on_white(side: int = 1000, fill: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """(RGB HxWx3 uint8, the bear's alpha HxW uint8): the bear centred on pure white."""
    rgba = np.asarray(Image.open(REPO / "samples" / "teddy_bear.png").convert("RGBA"))
    ys, xs = np.nonzero(rgba[..., 3] > 8)
    rgba = rgba[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    scale = fill * side / max(rgba.shape[:2])
    rgba = cv2.resize(rgba, (round(rgba.shape[1] * scale), round(rgba.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    h, w = rgba.shape[:2]
    y, x = (side - h) // 2, (side - w) // 2
    canvas = np.full((side, side, 3), 255.0, np.float32)
    a = rgba[..., 3:].astype(np.float32) / 255
    canvas[y : y + h, x : x + w] = canvas[y : y + h, x : x + w] * (1 - a) + rgba[..., :3] * a
    alpha = np.zeros((side, side), np.uint8)
    alpha[y : y + h, x : x + w] = rgba[..., 3]
    return canvas.round().astype(np.uint8), alpha


def add_text(pixels: np.ndarray, text: str, at: tuple[int, int], *, size: int, colour=(220, 30, 30)) -> list[int]:
    """Opaque text with its top-left at ``at``; returns its box [x0, y0, x1, y1]."""
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(BOLD, size)
    draw.text(at, text, font=font, fill=colour)
    pixels[:] = np.asarray(image)
    return [int(v) for v in draw.textbbox(at, text, font=font)]


def add_watermark(pixels: np.ndarray, text: str = "SAMPLE", *, opacity: float = 0.2, angle: float = 30.0,
                  size: int | None = None) -> None:
    """``text`` in black at ``opacity``, centred, turned by ``angle`` degrees, over everything."""
    h, w = pixels.shape[:2]
    layer = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(layer)
    font = ImageFont.truetype(BOLD, size or w // 9)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    draw.text(((w - (x1 - x0)) / 2 - x0, (h - (y1 - y0)) / 2 - y0), text, font=font, fill=255)
    layer = layer.rotate(angle, resample=Image.BICUBIC, center=(w / 2, h / 2))
    a = np.asarray(layer, np.float32)[..., None] / 255 * opacity
    pixels[:] = np.clip(pixels.astype(np.float32) * (1 - a), 0, 255).round().astype(np.uint8)


def sale_shot(side: int = 1000) -> tuple[np.ndarray, list[int]]:
    """The bear with "SALE -30%" in red in the top-left corner, off the bear; (pixels, the text's box)."""
    pixels, _ = teddy_on_white(side)
    box = add_text(pixels, "SALE -30%", (side // 40, side // 40), size=side // 14)
    return pixels, box


def printed_shot(side: int = 1000) -> np.ndarray:
    """The bear with "ACME" printed on its belly (dark letters inside the silhouette)."""
    pixels, alpha = teddy_on_white(side)
    inside = cv2.distanceTransform((alpha > 200).astype(np.uint8), cv2.DIST_L2, 5)
    cy, cx = np.unravel_index(int(np.argmax(inside)), inside.shape)
    size = side // 16
    add_text(pixels, "ACME", (int(cx - 1.4 * size), int(cy - size / 2)), size=size, colour=(25, 20, 15))
    return pixels
