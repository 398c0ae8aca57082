"""Shared sources for the compliance-detection benchmark (``compliance_detection.py``).

The cases are composed here, offline, from what is on the machine:

- product cut-outs: the photographs among Tux Paint's stamps (Debian ``tuxpaint-stamps-default``,
  GPL-2, ``/usr/share/doc/tuxpaint-stamps-default/copyright``): objects, food, animals, plants
  already cut out with an alpha channel, picked by ``product_studio.train.scenes`` (drawings,
  letters and flags left out). They are split by name: ``part="dev"`` uses the stamps the
  detector scenes fit on, ``part="held_out"`` every fifth stamp, which no threshold here was
  chosen on. Plus the transparent ``samples/teddy_bear.png`` (openclipart, public domain) in dev;
- photographs: the KDE Plasma wallpapers in ``/usr/share/wallpapers`` (Debian
  ``plasma-workspace-wallpapers``, LGPLv3 per metadata.json, package GPL-2+), split by theme the
  same way, and the photos in ``samples/`` (``samples/SOURCES.md``);
- fonts: DejaVu (Latin; Debian ``fonts-dejavu-core``, Bitstream Vera licence) and WenQuanYi Zen Hei
  (Chinese and Latin; Debian ``fonts-wqy-zenhei``, GPL-2 with font exception).

A ``Case`` is one image and the set of rule names it violates (empty: compliant). Helpers:
``cutouts(part)``, ``compose_on_white(rgba, side=..., fill=...)`` (returns the canvas and the
product's alpha), ``paste(canvas, alpha, rgba, (x, y))``, ``photographs(part)``,
``photo_crop(rng, photo, (w, h))`` and ``font(rng, size, cjk=...)``. Everything is a function of
its seed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import ImageFont

ROOT = Path(__file__).resolve().parents[1]
WALLPAPERS = Path("/usr/share/wallpapers")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
LATIN_FONT_NAMES = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansCondensed-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf",
    "DejaVuSansMono-Bold.ttf", "DejaVuSerifCondensed-Bold.ttf",
)

Part = Literal["dev", "held_out"]
HELD_OUT_EVERY = 5


@dataclass
class Case:
    """One benchmark image. rgb: HxWx3 uint8. expected: the rule names it violates (empty: compliant).
    kind: a short label of how it was made ("overlay/badge", "compliant/printed" ...), for per-kind rows."""

    name: str
    rgb: np.ndarray
    expected: frozenset[str]
    kind: str = ""
    notes: dict = field(default_factory=dict)


def _check_part(part: str) -> None:
    if part not in ("dev", "held_out"):
        raise ValueError(f"part must be 'dev' or 'held_out'; got {part!r}")


def _held_out(key: str) -> bool:
    return zlib.crc32(key.encode()) % HELD_OUT_EVERY == 0


@lru_cache(maxsize=2)
def cutouts(part: Part = "dev") -> tuple[np.ndarray, ...]:
    """The product cut-outs of ``part``: RGBA uint8 arrays trimmed to their alpha's box."""
    _check_part(part)
    from product_studio.train.scenes import _stamp_pixels, stamp_files

    paths = stamp_files("validation" if part == "held_out" else "fit")
    found = []
    for path in paths:
        rgba = _stamp_pixels(path)
        if rgba is not None:
            found.append(trim(rgba))
    teddy = ROOT / "samples" / "teddy_bear.png"
    if part == "dev" and teddy.is_file():
        image = cv2.imread(str(teddy), cv2.IMREAD_UNCHANGED)
        if image is not None and image.ndim == 3 and image.shape[2] == 4:
            found.append(trim(cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)))
    if not found:
        raise RuntimeError("no product cut-outs: install Debian tuxpaint-stamps-default")
    return tuple(found)


def trim(rgba: np.ndarray) -> np.ndarray:
    """``rgba`` cropped to the box of its alpha > 8."""
    ys, xs = np.nonzero(rgba[..., 3] > 8)
    if ys.size == 0:
        return rgba
    return np.ascontiguousarray(rgba[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


def scale_rgba(rgba: np.ndarray, longest: int) -> np.ndarray:
    """``rgba`` resized so its longer side is ``longest`` (colours premultiplied while resizing,
    so no dark fringe grows at the edge)."""
    h, w = rgba.shape[:2]
    s = longest / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    a = rgba[..., 3:].astype(np.float32) / 255.0
    pre = np.concatenate([rgba[..., :3].astype(np.float32) * a, a * 255.0], axis=2)
    out = cv2.resize(pre, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    out = np.clip(out, 0, 255)
    alpha = out[..., 3:] / 255.0
    rgb = np.where(alpha > 1e-3, out[..., :3] / np.maximum(alpha, 1e-3), 0)
    return np.concatenate([np.clip(rgb, 0, 255), out[..., 3:]], axis=2).round().astype(np.uint8)


def paste(canvas: np.ndarray, alpha: np.ndarray, rgba: np.ndarray, at: tuple[int, int]) -> None:
    """Composite ``rgba`` over ``canvas`` (HxWx3 uint8) in place with its top-left at ``at`` = (x, y),
    clipped to the canvas; ``alpha`` (HxW uint8, the product mask so far) takes the max."""
    x, y = at
    h, w = rgba.shape[:2]
    H, W = canvas.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return
    part = rgba[y0 - y : y1 - y, x0 - x : x1 - x]
    a = part[..., 3:].astype(np.float32) / 255.0
    region = canvas[y0:y1, x0:x1].astype(np.float32)
    canvas[y0:y1, x0:x1] = np.clip(region * (1 - a) + part[..., :3] * a, 0, 255).round().astype(np.uint8)
    alpha[y0:y1, x0:x1] = np.maximum(alpha[y0:y1, x0:x1], part[..., 3])


def compose_on_white(
    rgba: np.ndarray,
    *,
    side: int = 1600,
    fill: float = 0.85,
    aspect: float = 1.0,
    center: tuple[float, float] = (0.5, 0.5),
) -> tuple[np.ndarray, np.ndarray]:
    """A cut-out on pure white: (RGB HxWx3 uint8, the product's alpha HxW uint8).

    side: the canvas's longer side; aspect: width / height. fill: the product's longer side over the
    canvas's matching side, as the ``fill`` rule measures it. center: where the product's centre goes,
    as shares of the canvas width and height.
    """
    if aspect >= 1:
        W, H = side, max(1, round(side / aspect))
    else:
        W, H = max(1, round(side * aspect)), side
    h, w = rgba.shape[:2]
    s = min(fill * W / w, fill * H / h)
    scaled = scale_rgba(rgba, max(1, round(max(h, w) * s)))
    canvas = np.full((H, W, 3), 255, np.uint8)
    alpha = np.zeros((H, W), np.uint8)
    sh, sw = scaled.shape[:2]
    paste(canvas, alpha, scaled, (round(center[0] * W - sw / 2), round(center[1] * H - sh / 2)))
    return canvas, alpha


@lru_cache(maxsize=2)
def _photo_paths(part: Part) -> tuple[Path, ...]:
    files = sorted(WALLPAPERS.glob("*/contents/images/*.jpg")) + sorted(WALLPAPERS.glob("*/contents/images/*.png"))
    by_theme: dict[str, Path] = {}
    for f in files:  # one file per theme: the smallest that is landscape
        theme = f.parts[-4]
        if theme not in by_theme or f.stat().st_size < by_theme[theme].stat().st_size:
            by_theme[theme] = f
    chosen = [p for theme, p in sorted(by_theme.items()) if _held_out(theme) == (part == "held_out")]
    if part == "dev":
        chosen += sorted((ROOT / "samples").glob("*.jpg"))
    return tuple(chosen)


@lru_cache(maxsize=16)
def _read_photo(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise RuntimeError(f"cannot read {path}")
    h, w = image.shape[:2]
    s = min(1.0, 1600 / max(h, w))
    if s < 1:
        image = cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def photographs(part: Part = "dev") -> list[Path]:
    """The photograph files of ``part`` (wallpaper themes split by name; samples/ in dev)."""
    _check_part(part)
    paths = list(_photo_paths(part))
    if not paths:
        raise RuntimeError("no photographs: install Debian plasma-workspace-wallpapers")
    return paths


def photo_crop(rng: np.random.Generator, photo: Path, size: tuple[int, int]) -> np.ndarray:
    """A random crop of ``photo`` resized to ``size`` = (width, height): RGB uint8."""
    image = _read_photo(photo)
    H, W = image.shape[:2]
    w, h = size
    s = max(w / W, h / H) * rng.uniform(1.0, 1.6)
    cw, ch = min(W, round(w / s)), min(H, round(h / s))
    x, y = int(rng.integers(0, W - cw + 1)), int(rng.integers(0, H - ch + 1))
    return cv2.resize(image[y : y + ch, x : x + cw], (w, h), interpolation=cv2.INTER_AREA)


def font(rng: np.random.Generator, size: int, *, cjk: bool = False) -> ImageFont.FreeTypeFont:
    """A font of ``size`` px: WenQuanYi Zen Hei for Chinese, one of the DejaVu faces (or Zen Hei) otherwise."""
    if cjk:
        return ImageFont.truetype(str(CJK_FONT), size)
    names = [n for n in LATIN_FONT_NAMES if (DEJAVU / n).is_file()]
    pick = int(rng.integers(len(names) + 1))
    path = CJK_FONT if pick == len(names) else DEJAVU / names[pick]
    return ImageFont.truetype(str(path), size)
