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


# ----------------------------------------------------------------------------------------------
# a product's main coloured material

# Shading multiplies a material's colour in linear light by a factor k; CIELAB's L* + 16, a* and
# b* are then all multiplied by k^(1/3) (above L* 8, the cube-root part of CIELAB). So the hue
# angle and the saturation C* / (L* + 16) of a material stay put from its highlights to its
# shadows, while a second material (a red bow tie on an orange-brown teddy, coffee in a red cup)
# differs in one or both.
HUE_TOLERANCE = 10.0  # degrees of Lab hue that count as one unit of material distance
SATURATION_TOLERANCE = 1.3  # a saturation ratio that counts as one unit
MATERIAL_NEAR, MATERIAL_FAR = 1.0, 1.5  # material distance: full membership .. none
CHROMA_MIN = (5.0, 10.0)  # C*: a colour below the first is neutral, above the second chromatic (a ramp between)
SATURATION_MIN = (0.12, 0.2)  # C* / (L* + 16): the same for saturation (a white with a warm cast is ~0.1)
SKIN_HUE, SKIN_SATURATION = (30.0, 70.0), (0.15, 0.55)  # the range of skin tones, Lab hue and saturation
SKIN_WEIGHT = 1.0 / 3.0  # skin-toned pixels count this much when the main material is chosen


@dataclass(frozen=True)
class Material:
    """A product's main coloured material: its Lab hue, saturation C*/(L*+16), median colour and
    share of the product's pixels (0..1; those within ``MATERIAL_NEAR`` of it)."""

    hue: float
    saturation: float
    rgb: tuple[int, int, int]
    share: float

    def to_dict(self) -> dict:
        named = name_color(self.rgb)
        return {"name": named.en, "zh": named.zh, "rgb": list(self.rgb), "hue": round(self.hue, 1),
                "saturation": round(self.saturation, 3), "share": round(self.share, 4)}


def hue_saturation(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lab (..., 3) -> (hue angle in degrees 0..360, saturation C*/(L*+16)): the two numbers shading
    leaves alone (see above). A neutral colour has saturation ~0 and an arbitrary hue.

    >>> h, s = hue_saturation(rgb_to_lab(np.array([[200, 30, 30], [106, 11, 11]], np.uint8)))  # 1/4 the light
    >>> [round(float(v), 2) for v in (h[0], h[1], s[0], s[1])]
    [35.65, 34.81, 1.31, 1.29]
    """
    lab = np.asarray(lab, np.float32)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) % 360.0
    return hue.astype(np.float32), (chroma / np.maximum(lab[..., 0] + 16.0, 1.0)).astype(np.float32)


def material_distance(
    hue: np.ndarray, saturation: np.ndarray, ref_hue: float, ref_saturation: float, lightness: np.ndarray | None = None
) -> np.ndarray:
    """How far colours are from a material's (hue, saturation), in units of the tolerances: 10
    degrees of hue or a saturation ratio of 1.3 is 1. Shades of one material stay below 1.

    With ``lightness`` (L*), the tolerances widen in deep shadow, up to twice at L* <= 10: there
    CIELAB's linear toe and the 8-bit steps of sRGB move hue and saturation."""
    turn = np.abs((np.asarray(hue, np.float32) - ref_hue + 180.0) % 360.0 - 180.0)
    ratio = np.log(np.maximum(np.asarray(saturation, np.float32), 1e-3) / max(ref_saturation, 1e-3))
    d = np.sqrt((turn / HUE_TOLERANCE) ** 2 + (ratio / np.log(SATURATION_TOLERANCE)) ** 2)
    if lightness is not None:
        d = d / (1.0 + _ramp(30.0 - np.asarray(lightness, np.float32), 0.0, 20.0))
    return d


def _ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip((np.asarray(x, np.float32) - lo) / (hi - lo), 0.0, 1.0)


def chromatic_weight(lab: np.ndarray) -> np.ndarray:
    """0 for neutral colours (whites, blacks, greys, metal: little chroma or saturation) .. 1 for
    clearly chromatic ones, a ramp between (``CHROMA_MIN``, ``SATURATION_MIN``)."""
    lab = np.asarray(lab, np.float32)
    _, saturation = hue_saturation(lab)
    return _ramp(np.hypot(lab[..., 1], lab[..., 2]), *CHROMA_MIN) * _ramp(saturation, *SATURATION_MIN)


def _circular_mean(hue: np.ndarray, weight: np.ndarray) -> float:
    rad = np.radians(hue)
    return float(np.degrees(np.arctan2((weight * np.sin(rad)).sum(), (weight * np.cos(rad)).sum())) % 360.0)


def _mode(hue: np.ndarray, sat: np.ndarray, vote: np.ndarray) -> tuple[float, float]:
    """The (hue, saturation) with the most ``vote`` near it: a histogram in bins of a quarter of the
    tolerances, summed with weights falling from 1 to 0 at material distance 1.1 (hue wraps around)."""
    step_h, step_s = HUE_TOLERANCE / 4.0, np.log(SATURATION_TOLERANCE) / 4.0
    lo_s = np.log(0.05)
    n_h, n_s = int(round(360.0 / step_h)), int(np.ceil((np.log(4.0) - lo_s) / step_s))
    ih = np.clip((hue / step_h).astype(int), 0, n_h - 1)
    js = np.clip(((np.log(np.maximum(sat, 0.05)) - lo_s) / step_s).astype(int), 0, n_s - 1)
    hist = np.zeros((n_h, n_s), np.float32)
    np.add.at(hist, (ih, js), vote.astype(np.float32))
    y, x = np.mgrid[-4:5, -4:5]
    kernel = np.maximum(0.0, 1.0 - (y**2 + x**2) / 20.25).astype(np.float32)  # tapered: the peak is a cluster's centre
    padded = np.pad(hist, ((4, 4), (0, 0)), mode="wrap")
    score = cv2.filter2D(padded, -1, kernel, borderType=cv2.BORDER_CONSTANT)[4:-4]
    i, j = np.unravel_index(int(np.argmax(score)), score.shape)
    return float((i + 0.5) * step_h), float(np.exp(lo_s + (j + 0.5) * step_s))


def main_material(pixels: np.ndarray, mask: np.ndarray, *, max_samples: int = 20_000, seed: int = 0) -> Material | None:
    """The product's main coloured material, or None when it has none (fewer than 50 chromatic pixels).

    pixels: RGB, HxWx3, uint8; mask: HxW uint8, 255 = product (>= 128 counts). Among the product's
    chromatic pixels (``chromatic_weight``), the (hue, saturation) with the most pixels within
    ``MATERIAL_NEAR`` (a mode: ``_mode``'s histogram, then refined three times to the mean of
    those within reach); skin tones count a third, so a model's arm loses to the dress she
    wears unless the dress is small. ``share`` is of all the product's pixels, neutral ones
    included: a white cup with a red logo has a material of a small share.

    >>> img = np.full((40, 40, 3), 250, np.uint8); img[:, :24] = (30, 60, 160); img[:4, :4] = (200, 30, 30)
    >>> m = main_material(img, np.full((40, 40), 255, np.uint8))
    >>> name_color(m.rgb).en, round(m.share, 2)
    ('blue', 0.59)
    """
    check_rgb(pixels)
    check_mask(mask, pixels.shape[:2])
    chosen = pixels[mask >= 128]
    total = len(chosen)
    if total < MIN_PIXELS:
        return None
    rng = np.random.default_rng(seed)
    if total > max_samples:
        chosen = chosen[rng.choice(total, max_samples, replace=False)]
    lab = rgb_to_lab(chosen)
    weight = chromatic_weight(lab)
    colourful = weight >= 0.5
    if int(colourful.sum()) < MIN_PIXELS:
        return None
    hue, sat = hue_saturation(lab)
    skin = (hue >= SKIN_HUE[0]) & (hue <= SKIN_HUE[1]) & (sat >= SKIN_SATURATION[0]) & (sat <= SKIN_SATURATION[1])
    vote = weight * np.where(skin, SKIN_WEIGHT, 1.0).astype(np.float32)
    ref_hue, ref_sat = _mode(hue[colourful], sat[colourful], vote[colourful])
    for _ in range(3):
        near = (material_distance(hue, sat, ref_hue, ref_sat) < MATERIAL_NEAR) & colourful
        if not near.any():
            return None
        ref_hue = _circular_mean(hue[near], weight[near])
        ref_sat = float(np.exp(np.average(np.log(np.maximum(sat[near], 1e-3)), weights=weight[near])))
    near = (material_distance(hue, sat, ref_hue, ref_sat) < MATERIAL_NEAR) & colourful
    rgb = lab_to_rgb(np.median(lab[near], axis=0))
    return Material(hue=ref_hue, saturation=ref_sat, rgb=tuple(int(v) for v in rgb),  # type: ignore[arg-type]
                    share=float(near.sum()) / len(lab))


def material_weight(lab: np.ndarray, material: Material) -> np.ndarray:
    """How much each colour (Lab, ..., 3) belongs to ``material``: 1 within ``MATERIAL_NEAR`` of it,
    0 beyond ``MATERIAL_FAR`` and for neutral colours, ramps between (float32, 0..1)."""
    hue, sat = hue_saturation(lab)
    d = material_distance(hue, sat, material.hue, material.saturation, np.asarray(lab, np.float32)[..., 0])
    near = 1.0 - _ramp(d, MATERIAL_NEAR, MATERIAL_FAR)
    return (near * chromatic_weight(lab)).astype(np.float32)


def color_weight(lab: np.ndarray, color_lab: np.ndarray) -> np.ndarray:
    """How near each colour (Lab, ..., 3) is to one colour, counting its shades: a chromatic colour
    by material distance (its shadows and highlights are near), a neutral one (white, black,
    grey: they differ in lightness only) by Lab distance, 1 within 15 .. 0 beyond 25."""
    color_lab = np.asarray(color_lab, np.float32).reshape(3)
    hue, sat = hue_saturation(color_lab)
    if float(chromatic_weight(color_lab)) >= 0.5:
        return material_weight(lab, Material(hue=float(hue), saturation=float(sat), rgb=(0, 0, 0), share=0.0))
    distance = np.sqrt(((np.asarray(lab, np.float32) - color_lab) ** 2).sum(axis=-1))
    return (1.0 - _ramp(distance, 15.0, 25.0)).astype(np.float32)
