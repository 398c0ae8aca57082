"""Run an image-to-image network on overlapping tiles, within a memory cap.

    out = run_tiled(image, network, scale=2, max_tile_pixels=512 * 512, overlap=16)

``image`` is a float32 HxWxC array; ``network`` maps a float32 1×C×h×w numpy array to 1×C×(h·scale)×
(w·scale) (an onnxruntime session's run, or a torch module wrapped in numpy; no torch here). An image of at most ``max_tile_pixels`` pixels goes through in one piece. A larger one is
cut into core tiles that partition it; each core is run with ``overlap`` pixels of real context on
every side (fewer at the image border) and only the core of the result is kept. A convolutional
network's output at a pixel depends only on its receptive field, so with ``overlap`` at least the
network's receptive radius the tiled result equals the untiled one (up to float rounding) and no
seam can show. Core offsets are multiples of ``align`` (2 for a network that pixel-unshuffles).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import UsageError

Network = Callable[[np.ndarray], np.ndarray]


def core_spans(length: int, core: int, align: int = 1) -> list[tuple[int, int]]:
    """(start, end) of consecutive cores of at most ``core`` pixels covering ``0..length``;
    every start is a multiple of ``align``."""
    core = max(align, core - core % align)
    return [(start, min(length, start + core)) for start in range(0, length, core)]


def run_tiled(
    image: np.ndarray,
    network: Network,
    *,
    scale: int = 1,
    max_tile_pixels: int = 512 * 512,
    overlap: int = 16,
    align: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Apply ``network`` to ``image`` (float32 HxWxC) tile by tile; returns float32
    (H·scale)x(W·scale)xC. Each tile, context included, has at most ``max_tile_pixels`` pixels.
    ``progress(done, total)`` is called after each tile."""
    if image.ndim != 3:
        raise UsageError(f"run_tiled takes an HxWxC array; got shape {image.shape}")
    if overlap < 0:
        raise UsageError(f"overlap must be >= 0; got {overlap}")
    side = math.isqrt(max(0, max_tile_pixels))
    core = side - 2 * overlap
    if core < max(16, align):
        raise UsageError(
            f"max_tile_pixels={max_tile_pixels} leaves no room inside the {overlap} px context of each tile; "
            f"use at least {(2 * overlap + 16) ** 2}"
        )
    h, w, c = image.shape
    tensor = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)[None]
    if h * w <= max_tile_pixels:
        out = np.asarray(network(tensor))[0].transpose(1, 2, 0)
        if progress:
            progress(1, 1)
        return np.ascontiguousarray(out, dtype=np.float32)
    # A thin image gets longer cores along its long side, still within the cap.
    core_h = core_w = core
    if h < side:
        core_w = max_tile_pixels // h - 2 * overlap
    elif w < side:
        core_h = max_tile_pixels // w - 2 * overlap
    rows, cols = core_spans(h, core_h, align), core_spans(w, core_w, align)
    out = np.empty((h * scale, w * scale, c), np.float32)
    done, total = 0, len(rows) * len(cols)
    for y0, y1 in rows:
        ty0, ty1 = max(0, y0 - overlap), min(h, y1 + overlap)
        ty0 -= ty0 % align
        for x0, x1 in cols:
            tx0, tx1 = max(0, x0 - overlap), min(w, x1 + overlap)
            tx0 -= tx0 % align
            piece = np.asarray(network(np.ascontiguousarray(tensor[:, :, ty0:ty1, tx0:tx1])))[0]
            keep = piece[:, (y0 - ty0) * scale : (y1 - ty0) * scale, (x0 - tx0) * scale : (x1 - tx0) * scale]
            out[y0 * scale : y1 * scale, x0 * scale : x1 * scale] = keep.transpose(1, 2, 0)
            done += 1
            if progress:
                progress(done, total)
    return out
