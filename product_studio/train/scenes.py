"""Synthetic product shots for the defect detector: photographed objects on studio backgrounds.

A marketplace photo is mostly one object with crisp rims on a plain, light background, the
picture on which a detector trained on landscapes flags rims and outlines as scratches. No such
photographs are on the machine in numbers, but Debian's ``tuxpaint-stamps-default`` (GPL-2, see
``/usr/share/doc/tuxpaint-stamps-default/copyright``) holds about a hundred photographs of single
objects, animals and plants already cut out with an alpha channel. ``product_scene`` places one
to three of them, with a soft contact shadow, on a white, grey, tinted or graded backdrop with a
little sensor noise: a studio product shot whose every pixel is clean, to be damaged by
``defects.add_defects`` like any other training photo.

The stamps are split by name, like the photographs (``restoration_data``): every fifth in sorted order
is for validation scenes only, the rest for training scenes. Scenes are a function of their seed.

    stamps = stamp_files("fit")
    scene = product_scene(stamps, seed=3, side=512)      # HxWx3 uint8, longer side 512
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from ..errors import UsageError

STAMPS_DIR = Path("/usr/share/tuxpaint/stamps")
STAMPS_PACKAGE = "tuxpaint-stamps-default"
STAMPS_LICENCE = "GPL-2 (Debian tuxpaint-stamps-default copyright)"
# Drawings, letters and flags are not photographs.
_SKIPPED_FOLDERS = ("cartoon", "symbols")
MIN_STAMP_SIDE = 96
MIN_COLOURS = 3000  # distinct colours (6 bits a channel) in the opaque part: photographs have thousands
VALIDATION_EVERY = 5

Part = Literal["fit", "validation"]


def _is_photograph(rgba: np.ndarray) -> bool:
    if min(rgba.shape[:2]) < MIN_STAMP_SIDE:
        return False
    opaque = rgba[..., 3] > 200
    if opaque.sum() < 4000:
        return False
    return len(np.unique(rgba[opaque][:, :3] // 4, axis=0)) >= MIN_COLOURS


def _read_rgba(path: Path) -> np.ndarray | None:
    """The stamp as RGBA uint8, or None when it has no alpha channel (three palette files)."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim != 3 or image.shape[2] != 4:
        return None
    return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)


@lru_cache(maxsize=1)
def _photograph_stamps() -> dict[Path, np.ndarray]:
    """Every photographic stamp's RGBA by path, in path order: the package is scanned once per
    process, and the pixels read to judge a stamp are the ones scenes are made of (about 40 MB)."""
    if not STAMPS_DIR.is_dir():
        raise UsageError(f"the product scenes need the Debian package {STAMPS_PACKAGE} ({STAMPS_DIR} is missing); "
                         f"install it with: apt-get install {STAMPS_PACKAGE}")
    found = {}
    for path in sorted(STAMPS_DIR.rglob("*.png")):
        if any(part in _SKIPPED_FOLDERS for part in path.relative_to(STAMPS_DIR).parts):
            continue
        rgba = _read_rgba(path)
        if rgba is not None and _is_photograph(rgba):
            found[path] = rgba
    return found


def _stamp_pixels(path: Path) -> np.ndarray | None:
    """A stamp's RGBA: from the scan for the package's photographs, read from disk for any other file."""
    known = _photograph_stamps().get(path) if STAMPS_DIR in path.parents else None
    return known if known is not None else _read_rgba(path)


def stamp_files(part: Part) -> list[Path]:
    """The photographic stamps of ``part``: every ``VALIDATION_EVERY``-th (sorted by path) for
    ``"validation"``, the others for ``"fit"``."""
    if part not in ("fit", "validation"):
        raise UsageError(f"part must be 'fit' or 'validation'; got {part!r}")
    stamps = list(_photograph_stamps())
    return [p for k, p in enumerate(stamps) if (k % VALIDATION_EVERY == VALIDATION_EVERY - 1) == (part == "validation")]


def _backdrop(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A studio backdrop, float 0..1: white, light grey, a pale tint, or a vertical grade."""
    kind = rng.random()
    if kind < 0.35:
        top = bottom = np.full(3, rng.uniform(0.96, 1.0))
    elif kind < 0.6:
        top = bottom = np.full(3, rng.uniform(0.6, 0.95))
    elif kind < 0.8:
        top = bottom = rng.uniform(0.55, 1.0, 3)
    else:
        top, bottom = rng.uniform(0.4, 1.0, 3), rng.uniform(0.3, 1.0, 3)
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    return np.broadcast_to(top * (1 - ramp) + bottom * ramp, (height, width, 3)).astype(np.float32)


def product_scene(stamps: list[Path], seed: int, side: int = 512) -> np.ndarray:
    """One product shot, RGB HxWx3 uint8 with its longer side ``side``: one to three stamps from
    ``stamps`` (drawn by ``seed``) on a backdrop, each with a blurred contact shadow."""
    if not stamps:
        raise UsageError("no stamps to compose a product scene from; pass stamp_files('fit') or ('validation')")
    if side < 64:
        raise UsageError(f"side must be at least 64 px; got {side}")
    rng = np.random.default_rng([seed, side])
    height = int(side * rng.choice([0.75, 1.0])) if rng.random() < 0.5 else side
    width = side if height < side else int(side * rng.choice([0.75, 1.0]))
    canvas = _backdrop(rng, height, width)
    count = int(rng.choice([1, 1, 2, 3]))
    for _ in range(count):
        rgba = _stamp_pixels(stamps[int(rng.integers(len(stamps)))])
        if rgba is None:
            continue
        scale = rng.uniform(0.35, 0.8) * min(height, width) / max(rgba.shape[:2]) / (1.0 if count == 1 else 1.4)
        scale = min(scale, 1.6)  # stamps are small; enlarging them much more would only show blur
        size = (max(8, round(rgba.shape[1] * scale)), max(8, round(rgba.shape[0] * scale)))
        rgba = cv2.resize(rgba, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        if rng.random() < 0.5:
            rgba = rgba[:, ::-1]
        h, w = rgba.shape[:2]
        if h >= height or w >= width:
            continue
        y, x = int(rng.integers(0, height - h)), int(rng.integers(0, width - w))
        alpha = rgba[..., 3:].astype(np.float32) / 255.0
        dy, dx = int(rng.integers(0, max(2, h // 20))), int(rng.integers(-w // 30 - 1, w // 30 + 2))
        shadow = np.zeros((height, width), np.float32)
        sy, sx = min(max(y + dy, 0), height - h), min(max(x + dx, 0), width - w)
        shadow[sy : sy + h, sx : sx + w] = alpha[..., 0]
        shadow = cv2.GaussianBlur(shadow, (0, 0), max(1.0, 0.04 * max(h, w)))
        canvas *= 1.0 - rng.uniform(0.15, 0.4) * shadow[..., None]
        region = canvas[y : y + h, x : x + w]
        region[:] = region * (1.0 - alpha) + rgba[..., :3].astype(np.float32) / 255.0 * alpha
    canvas += rng.normal(0.0, rng.uniform(0.002, 0.012), canvas.shape).astype(np.float32)
    return (np.clip(canvas, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def scene_photos(part: Part, count: int, sides: tuple[int, ...], *, first_seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """``count`` scenes at each size in ``sides`` from the stamps of ``part``, named
    ``scene_<part>_<seed>``; seeds run from ``first_seed`` (a different scene for every size)."""
    stamps = stamp_files(part)
    out = []
    seed = first_seed
    for side in sides:
        for _ in range(count):
            out.append((f"scene_{part}_{seed}", product_scene(stamps, seed, side)))
            seed += 1
    return out
