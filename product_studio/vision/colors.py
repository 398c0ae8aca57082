"""Colour naming in Chinese and English, and a product's dominant colours.

Names come from a table (``product_studio/data/colors.csv``: English, Chinese, sRGB swatch);
a colour takes the name of the nearest swatch in CIELAB (D65) by CIEDE2000, the difference
formula that follows what people see (plain Euclidean Lab distance overstates differences
between saturated blues and understates them between greys).

Dominant colours are measured on the product's pixels only (alpha >= 128), never on the
background: k-means in Lab on up to 20,000 sampled pixels, then clusters that get the same
name are merged, and each name comes with its share of the product's area.

>>> name_color((255, 0, 0)).en, name_color((255, 0, 0)).zh
('red', '红色')
"""

from __future__ import annotations

import csv
import functools
from dataclasses import asdict, dataclass
from importlib import resources

import cv2
import numpy as np

from ..errors import UsageError
from ..item import check_mask, check_rgb

MIN_PIXELS = 50  # fewer product pixels than this: no dominant colours
MIN_SHARE = 0.05  # a colour covering less of the product than this is not reported


@dataclass(frozen=True)
class NamedColor:
    """One entry of the colour table."""

    en: str
    zh: str
    rgb: tuple[int, int, int]
    lab: tuple[float, float, float]


@dataclass(frozen=True)
class ColorShare:
    """A dominant colour of a product: its name, the measured colour and its share of the area."""

    en: str
    zh: str
    rgb: tuple[int, int, int]  # the cluster's mean colour, sRGB
    hex: str
    share: float  # of the product's pixels, 0..1
    delta_e: float  # CIEDE2000 from the named swatch (how good the name is; < 10 is close)

    def to_dict(self) -> dict:
        return asdict(self)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (uint8, ..., 3) -> CIELAB D65 float32 (L 0..100, a, b), exact float conversion."""
    arr = np.asarray(rgb)
    if arr.shape[-1] != 3:
        raise UsageError(f"colours must have 3 channels (R, G, B); got shape {arr.shape}")
    flat = arr.reshape(-1, 1, 3).astype(np.float32) / np.float32(255.0)
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(arr.shape).astype(np.float32)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB float (..., 3) -> sRGB uint8 (..., 3), clipped to the gamut."""
    arr = np.asarray(lab, np.float32)
    rgb = cv2.cvtColor(arr.reshape(-1, 1, 3), cv2.COLOR_Lab2RGB).reshape(arr.shape)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu, Dalal 2005), broadcasting over leading axes.

    >>> round(float(delta_e2000(np.array([50.0, 2.6772, -79.7751]), np.array([50.0, 0.0, -82.7485]))), 4)
    2.0425
    """
    lab1 = np.asarray(lab1, np.float64)
    lab2 = np.asarray(lab2, np.float64)
    l1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    l2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c1 = np.hypot(a1, b1)
    c2 = np.hypot(a2, b2)
    c_mean7 = ((c1 + c2) / 2.0) ** 7
    g = 0.5 * (1.0 - np.sqrt(c_mean7 / (c_mean7 + 25.0**7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360.0
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360.0
    dlp = l2 - l1
    dcp = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180.0, dh - 360.0, np.where(dh < -180.0, dh + 360.0, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dhp = 2.0 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh) / 2.0)
    lp_mean = (l1 + l2) / 2.0
    cp_mean = (c1p + c2p) / 2.0
    hsum = h1p + h2p
    hp_mean = np.where(
        c1p * c2p == 0,
        hsum,
        np.where(np.abs(h1p - h2p) <= 180.0, hsum / 2.0, np.where(hsum < 360.0, (hsum + 360.0) / 2.0, (hsum - 360.0) / 2.0)),
    )
    t = (
        1.0
        - 0.17 * np.cos(np.radians(hp_mean - 30.0))
        + 0.24 * np.cos(np.radians(2.0 * hp_mean))
        + 0.32 * np.cos(np.radians(3.0 * hp_mean + 6.0))
        - 0.20 * np.cos(np.radians(4.0 * hp_mean - 63.0))
    )
    d_theta = 30.0 * np.exp(-(((hp_mean - 275.0) / 25.0) ** 2))
    cp_mean7 = cp_mean**7
    r_c = 2.0 * np.sqrt(cp_mean7 / (cp_mean7 + 25.0**7))
    s_l = 1.0 + 0.015 * (lp_mean - 50.0) ** 2 / np.sqrt(20.0 + (lp_mean - 50.0) ** 2)
    s_c = 1.0 + 0.045 * cp_mean
    s_h = 1.0 + 0.015 * cp_mean * t
    r_t = -np.sin(np.radians(2.0 * d_theta)) * r_c
    return np.sqrt(
        (dlp / s_l) ** 2 + (dcp / s_c) ** 2 + (dhp / s_h) ** 2 + r_t * (dcp / s_c) * (dhp / s_h)
    )


@functools.cache
def color_table() -> tuple[NamedColor, ...]:
    """The named colours shipped in ``product_studio/data/colors.csv``."""
    text = resources.files("product_studio").joinpath("data/colors.csv").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    table = []
    for row in csv.DictReader(rows):
        rgb = (int(row["r"]), int(row["g"]), int(row["b"]))
        lab = tuple(float(v) for v in rgb_to_lab(np.array(rgb, np.uint8)))
        table.append(NamedColor(en=row["en"].strip(), zh=row["zh"].strip(), rgb=rgb, lab=lab))  # type: ignore[arg-type]
    return tuple(table)


@functools.cache
def _table_lab() -> np.ndarray:
    return np.array([c.lab for c in color_table()], np.float64)


def _nearest(labs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest named colour and its CIEDE2000 for each Lab row (N x 3)."""
    d = delta_e2000(labs[:, None, :], _table_lab()[None, :, :])
    idx = np.argmin(d, axis=1)
    return idx, d[np.arange(len(labs)), idx]


def name_color(rgb: tuple[int, int, int] | np.ndarray) -> NamedColor:
    """The nearest named colour (CIEDE2000 in CIELAB) to an sRGB colour (3 ints 0..255)."""
    arr = np.asarray(rgb)
    if arr.shape != (3,) or not np.issubdtype(arr.dtype, np.number) or arr.min() < 0 or arr.max() > 255:
        raise UsageError(f"a colour is 3 numbers 0..255 (R, G, B); got {rgb!r}")
    idx, _ = _nearest(rgb_to_lab(np.round(arr).astype(np.uint8)).reshape(1, 3).astype(np.float64))
    return color_table()[int(idx[0])]


def find_color(name: str) -> NamedColor | None:
    """A table colour by its English or Chinese name (case-insensitive; '红' finds '红色')."""
    key = name.strip().lower()
    for c in color_table():
        if key in (c.en, c.zh) or (key + "色") == c.zh:
            return c
    return None


def _kmeans(data: np.ndarray, k: int, *, iterations: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Plain k-means with k-means++ seeding (deterministic for a seed): (centres k x d, labels N)."""
    rng = np.random.default_rng(seed)
    n = len(data)
    k = min(k, n)
    centres = [data[rng.integers(n)]]
    d2 = np.sum((data - centres[0]) ** 2, axis=1)
    for _ in range(1, k):
        total = d2.sum()
        if total <= 0:
            break
        centres.append(data[rng.choice(n, p=d2 / total)])
        d2 = np.minimum(d2, np.sum((data - centres[-1]) ** 2, axis=1))
    c = np.array(centres)
    labels = np.zeros(n, np.intp)
    for _ in range(iterations):
        dist = ((data[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
        new_labels = np.argmin(dist, axis=1)
        if _ > 0 and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        for j in range(len(c)):
            members = data[labels == j]
            if len(members):
                c[j] = members.mean(axis=0)
    return c, labels


def dominant_colors(
    pixels: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    k: int = 6,
    max_colors: int = 3,
    min_share: float = MIN_SHARE,
    max_samples: int = 20_000,
    seed: int = 0,
) -> list[ColorShare]:
    """The product's main colours, named, with their share of the product's area.

    pixels: RGB, HxWx3, uint8. mask: HxW uint8, 255 = product (pixels >= 128 count); None: the
    whole frame. Returns at most ``max_colors`` colours covering at least ``min_share`` each,
    largest first; an empty list when the mask holds fewer than 50 pixels.

    >>> img = np.zeros((20, 20, 3), np.uint8); img[:] = (0, 0, 255); img[5:15, 5:15] = (255, 0, 0)
    >>> m = np.zeros((20, 20), np.uint8); m[5:15, 5:15] = 255
    >>> [c.en for c in dominant_colors(img, m)]
    ['red']
    """
    check_rgb(pixels)
    if mask is not None:
        check_mask(mask, pixels.shape[:2])
        chosen = pixels[mask >= 128]
    else:
        chosen = pixels.reshape(-1, 3)
    if len(chosen) < MIN_PIXELS:
        return []
    if not 1 <= k <= 16:
        raise UsageError(f"k must be 1..16; got {k}")
    rng = np.random.default_rng(seed)
    if len(chosen) > max_samples:
        chosen = chosen[rng.choice(len(chosen), max_samples, replace=False)]
    lab = rgb_to_lab(chosen).astype(np.float64)
    centres, labels = _kmeans(lab, k, seed=seed)
    counts = np.bincount(labels, minlength=len(centres)).astype(np.float64)
    idx, _ = _nearest(centres)
    merged: dict[int, tuple[float, np.ndarray]] = {}
    for j, name_idx in enumerate(idx):
        if counts[j] == 0:
            continue
        weight, lab_sum = merged.get(int(name_idx), (0.0, np.zeros(3)))
        merged[int(name_idx)] = (weight + counts[j], lab_sum + centres[j] * counts[j])
    total = counts.sum()
    out = []
    table = color_table()
    for name_idx, (weight, lab_sum) in sorted(merged.items(), key=lambda kv: -kv[1][0]):
        share = weight / total
        if share < min_share:
            continue
        mean_lab = lab_sum / weight
        rgb = tuple(int(v) for v in lab_to_rgb(mean_lab.astype(np.float32)))
        named = table[name_idx]
        out.append(
            ColorShare(
                en=named.en,
                zh=named.zh,
                rgb=rgb,  # type: ignore[arg-type]
                hex="#{:02x}{:02x}{:02x}".format(*rgb),
                share=round(float(share), 4),
                delta_e=round(float(delta_e2000(mean_lab, np.array(named.lab))), 2),
            )
        )
    return out[:max_colors]
