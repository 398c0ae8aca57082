"""Colour variants: recolour the product inside its mask, keeping its shading and texture.

Contract: pixels are RGB, HxWx3, uint8 (sRGB); a mask is HxW uint8, 255 = product (soft edges
blend). Nothing here prints or writes files.

How a variant is made (``recolor``), in CIELAB (D65):

1. Statistics of the product's own pixels (mask >= 128, minus what is kept): the median
   lightness ``Ls``.
2. Lightness: ``Lt + gain * (L - Ls)``, where ``Lt`` is the target's lightness: the median
   moves to the target and every pixel keeps its detail, scaled. The gain is the geometric mean
   of the shadows' (``Lt / Ls``: shading multiplies the colour, so a darker product has
   proportionally darker shadows) and the highlights' (``(100 - Lt) / (100 - Ls)``: the room
   left up to white), lowered so the product's 2nd..98th percentiles fit in 2..99, and held
   within 0.35 .. 2.5: a white shirt made navy still shows its folds, a black boot made white
   still shows its seams. The few values that would still leave 0..100 roll off smoothly.
   The target's lightness is held within ``lightness_range`` (10 .. 94 by default): a product
   photographed "black" is never L* = 0, or it would show no shading at all.
3. Chroma and hue: the target's hue everywhere (so an achromatic product -- white, black,
   grey, no hue to rotate -- still comes out in the target colour); the target's chroma scaled
   with each pixel's new lightness in the shadows (as shading does).
4. Gamut: a colour outside sRGB loses chroma at constant lightness and hue (the largest
   chroma per L for the target's hue, found by bisection), so shading is never bent by channel
   clipping; then the chroma of the pixels below the target's is lifted (three steps of at most
   2x, never above the target's) until the product's median chroma is the target's.
5. Blending: ``out = original + w * (variant - original)`` with ``w = mask/255 * (1 -
   keep/255) * strength``. Pixels with ``w == 0`` -- the background, and kept text and logos --
   are bit-identical to the input.

What is left alone (``prepare_recolor``):

- text: RapidOCR's line boxes (``vision.ocr.read_text``) of two characters or more, centred
  on the product and smaller than half of it; inside each box the glyphs are the pixels
  of the ink colour, far from the box's median (paper) colour (``text_glyph_mask``), grown by
  one pixel.
- logos, "detected" meaning: a connected region inside the product (not touching its outline)
  of pixels far from the product's main colour (distance > 22 with lightness at half weight),
  between 0.02 % and 8 % of the product's area, with a sharp edge (the colour steps by more
  than half the threshold from its inside to a ring 2-3 px outside it). Shading is gradual
  and fails the edge test; a sole or a stripe touching the outline is part of the product.

What is recoloured (``region``, ``prepare_recolor``): by default ("auto") the product's main
coloured material (``material_region``: the most common Lab hue and saturation C*/(L*+16), which
shading leaves alone; whites, blacks, greys, metal, skin and parts of another colour stay), or
exactly the user's mask when one is given; a product without a coloured material is an
OperationError, never tinted. ``keep_colors`` leaves colours and their shades alone in any region.
``region="all"`` recolours the whole product.
``region="dominant"`` recolours only the product's largest colour: the product's colours are
clustered and named (``vision.colors.dominant_colors``), each pixel goes to the nearest
cluster (lightness at half weight), and the largest cluster wins together with the clusters of
its hue (its shadows and highlights).

>>> pixels = np.full((40, 40, 3), 240, np.uint8); pixels[10:30, 10:30] = (200, 30, 30)
>>> mask = np.zeros((40, 40), np.uint8); mask[10:30, 10:30] = 255
>>> out = recolor(pixels, mask, (20, 30, 75))
>>> bool((out[:10] == pixels[:10]).all()), out[20, 20].tolist()
(True, [20, 30, 75])
"""

from __future__ import annotations

import difflib
import hashlib
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import numpy as np
from pydantic import Field, field_validator

from ..errors import OperationError, UsageError
from ..item import ImageItem, StepRecord, check_mask, check_rgb
from ..vision.colors import (
    color_table,
    color_weight,
    dominant_colors,
    MATERIAL_FAR,
    MATERIAL_NEAR,
    chromatic_weight,
    find_color,
    hue_saturation,
    main_material,
    material_distance,
    rgb_to_lab,
)
from .registry import LOCAL_ONLY, OpOptions, register_op

Region = Literal["auto", "material", "dominant", "all"]
MaskMethod = Literal["u2netp", "grabcut"]

MIN_PIXELS = 50  # fewer product pixels than this: nothing to recolour
GAIN_MIN, GAIN_MAX = 0.35, 2.5  # limits of the lightness-detail gain
ROLL_OFF = 6.0  # L* units over which values roll off towards 0 and 100
LIGHTNESS_RANGE = (10.0, 94.0)
LOGO_DISTANCE = 22.0  # colour distance from the main colour (L at half weight) that marks a logo pixel
LOGO_MIN_SHARE, LOGO_MAX_SHARE = 0.0002, 0.08
TEXT_MIN_DISTANCE = 12.0
MAX_GLYPH_SHARE = 0.7  # glyphs cover less of their line's box than this
MAX_TEXT_BOX_SHARE = 0.5  # an OCR box larger than this share of the product is not a label on it
MAX_COLORS = 24
NEAR_HUE = 4.0  # material distance of a colour near enough that a part of the material can fade into it
PART_BORDER = 0.5  # a part of the material touching a region of a near colour this much of its size is that region's edge
MIN_MATERIAL_SHARE = 0.1  # a main coloured material covering less of the product than this: none to recolour

# sRGB (D65) <-> CIE XYZ, the matrices OpenCV uses, so the round trip matches rgb_to_lab.
_XYZ_TO_RGB = np.array(
    [[3.240479, -1.53715, -0.498535], [-0.969256, 1.875991, 0.041556], [0.055648, -0.204043, 1.057311]], np.float32
)
_WHITE = np.array([0.950456, 1.0, 1.088754], np.float32)


# ----------------------------------------------------------------------------------------------
# colours


@dataclass(frozen=True)
class TargetColor:
    """A colour asked for: as written, its sRGB value, and the short name used in file names."""

    text: str
    rgb: tuple[int, int, int]
    slug: str

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)

    def to_dict(self) -> dict[str, Any]:
        return {"color": self.text, "rgb": list(self.rgb), "hex": self.hex, "slug": self.slug}


def _css_names() -> dict[str, str]:
    from PIL import ImageColor

    return dict(ImageColor.colormap)


def _known_names() -> list[str]:
    names = set(_css_names())
    for c in color_table():
        names.update((c.en, c.zh, c.zh.removesuffix("色")))
    return sorted(names)


def parse_color(text: str) -> TargetColor:
    """A colour from a CSS/X11 name (``navy``, ``seagreen``, ``sea green``), ``#hex`` (3 or 6
    digits, ``#`` optional for 6), ``rgb(r, g, b)``, ``hsl(h, s%, l%)``, or a name of the colour
    table in English or Chinese (``denim blue``, ``红色``, ``藏青``, ``墨绿``).

    English CSS names take the CSS value (``red`` is 255, 0, 0); the table's own names
    (``charcoal``, ``camel``, ``rose red``) and Chinese names take its swatch. An unknown name
    raises UsageError with the closest known names.

    >>> parse_color("navy").rgb, parse_color("#2e8b57").slug, parse_color("藏青").rgb
    ((0, 0, 128), '2e8b57', (20, 30, 75))
    """
    from PIL import ImageColor

    if not isinstance(text, str) or not text.strip():
        raise UsageError("a colour is empty; give a name (red, navy, 藏青), #hex or rgb(r, g, b)")
    raw = text.strip()
    key = raw.lower()
    hexed = key.removeprefix("#")
    if re.fullmatch(r"[0-9a-f]{6}", hexed) or (key.startswith("#") and re.fullmatch(r"[0-9a-f]{3}", hexed)):
        if len(hexed) == 3:
            hexed = "".join(ch * 2 for ch in hexed)
        rgb = tuple(int(hexed[i : i + 2], 16) for i in (0, 2, 4))
        return TargetColor(text=raw, rgb=rgb, slug=hexed)  # type: ignore[arg-type]
    if key.startswith("#"):
        raise UsageError(f"'{raw}' is not a hex colour; write #rrggbb (six hex digits) or #rgb")
    if re.match(r"^(rgb|hsl|hsv|hsb)a?\(", key):
        try:
            value = ImageColor.getrgb(key.replace(" ", ""))
        except ValueError:
            raise UsageError(f"cannot read the colour '{raw}'; write rgb(46, 139, 87) with values 0..255") from None
        rgb = tuple(int(v) for v in value[:3])
        return TargetColor(text=raw, rgb=rgb, slug="{:02x}{:02x}{:02x}".format(*rgb))  # type: ignore[arg-type]
    compact = re.sub(r"[\s_-]+", "", key)
    css = _css_names()
    if compact in css:
        rgb = tuple(int(v) for v in ImageColor.getrgb(css[compact])[:3])
        return TargetColor(text=raw, rgb=rgb, slug=compact)  # type: ignore[arg-type]
    spaced = re.sub(r"[\s_]+", " ", key)
    named = find_color(spaced) or next((c for c in color_table() if re.sub(r"[\s_-]+", "", c.en) == compact), None)
    if named is not None:
        slug = re.sub(r"[\s_]+", "-", raw.strip().lower()) if not raw.isascii() else re.sub(r"[\s_]+", "-", named.en)
        return TargetColor(text=raw, rgb=named.rgb, slug=slug)
    close = difflib.get_close_matches(compact if raw.isascii() else raw, _known_names(), n=4, cutoff=0.6)
    if not raw.isascii():
        close += [c.zh for c in color_table() if any(ch in c.zh for ch in raw if ch != "色") and c.zh not in close]
    hint = f" Did you mean: {', '.join(close[:5])}?" if close else ""
    raise UsageError(
        f"unknown colour '{raw}'.{hint} Use a CSS name (red, navy, seagreen), #rrggbb, rgb(r, g, b) or a Chinese name (红色, 藏青)"
    )


def split_colors(text: str) -> list[str]:
    """``"red, navy,rgb(46,139,87)，藏青"`` -> the colours (commas inside brackets do not split;
    Chinese commas and 、 split too)."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if ch in ",，、;" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_colors(specs: str | Sequence[str]) -> list[TargetColor]:
    """Several colours (a comma-separated string or a list of them), duplicates dropped, each
    checked before any work; UsageError naming the first unknown one."""
    items = split_colors(specs) if isinstance(specs, str) else [c for s in specs for c in split_colors(s)]
    if not items:
        raise UsageError("no colour given; for example --colors red,navy,#2e8b57")
    out: list[TargetColor] = []
    for text in items:
        color = parse_color(text)
        if all(c.slug != color.slug for c in out):
            out.append(color)
    if len(out) > MAX_COLORS:
        raise UsageError(f"{len(out)} colours asked for; at most {MAX_COLORS} at once")
    return out


# ----------------------------------------------------------------------------------------------
# colour transfer


def _lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """CIELAB (N x 3) -> linear sRGB (N x 3), unclipped (values outside 0..1 are out of gamut)."""
    fy = (lab[:, 0] + 16.0) / 116.0
    f = np.stack([fy + lab[:, 1] / 500.0, fy, fy - lab[:, 2] / 200.0], axis=1)
    xyz = np.where(f > 6.0 / 29.0, f**3, 3.0 * (6.0 / 29.0) ** 2 * (f - 4.0 / 29.0)) * _WHITE
    return xyz @ _XYZ_TO_RGB.T


def _in_gamut(linear: np.ndarray, tol: float = 1e-4) -> np.ndarray:
    return ((linear >= -tol) & (linear <= 1.0 + tol)).all(axis=1)


def _max_chroma_scale(lightness: np.ndarray, a: float, b: float) -> np.ndarray:
    """For the hue of (a, b): the largest factor m <= 1 such that (L, m*a, m*b) is inside sRGB,
    at each L of ``lightness`` (bisection)."""
    lo = np.zeros(len(lightness), np.float32)
    hi = np.ones(len(lightness), np.float32)
    ok = _in_gamut(_lab_to_linear(np.column_stack([lightness, np.full_like(lightness, a), np.full_like(lightness, b)])))
    lo[ok] = 1.0
    for _ in range(14):
        mid = (lo + hi) / 2.0
        good = _in_gamut(_lab_to_linear(np.column_stack([lightness, a * mid, b * mid])))
        lo = np.where(ok, lo, np.where(good, mid, lo))
        hi = np.where(ok, hi, np.where(good, hi, mid))
    return lo


def _chroma_caps(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """For the hue of (a, b): L* from 0 to 100 in 0.25 steps, and the largest chroma factor at each."""
    grid = np.linspace(0.0, 100.0, 401, dtype=np.float32)
    return grid, _max_chroma_scale(grid, a, b) * np.float32(0.999)


def _fit_gamut(lightness: np.ndarray, shade: np.ndarray, a: float, b: float, limit: np.ndarray) -> np.ndarray:
    """sRGB (float 0..255, N x 3) of (L, f*a, f*b) with f = min(shade, limit): one hue, so the
    gamut's edge depends on L alone (``_chroma_caps``), and chroma is capped at fixed L and hue."""
    factor = np.minimum(shade, limit)
    lab = np.column_stack([lightness, a * factor, b * factor]).astype(np.float32).reshape(-1, 1, 3)
    return cv2.cvtColor(lab, cv2.COLOR_Lab2RGB).reshape(-1, 3) * np.float32(255.0)


def _roll_off(x: np.ndarray, lo: float = 0.0, hi: float = 100.0, knee: float = ROLL_OFF) -> np.ndarray:
    """Identity in [lo + knee, hi - knee], smooth exponential approach to lo and hi outside it."""
    top, bottom = hi - knee, lo + knee
    x = np.where(x > top, hi - knee * np.exp(-(x - top) / knee), x)
    return np.where(x < bottom, lo + knee * np.exp(-(bottom - x) / knee), x)


def _check_strength(strength: float) -> float:
    s = float(strength)
    if not 0.0 <= s <= 1.0:
        raise UsageError(f"strength must be between 0 and 1; got {strength}")
    return s


def _check_target(target_rgb: Any) -> np.ndarray:
    arr = np.asarray(target_rgb)
    if arr.shape != (3,) or not np.issubdtype(arr.dtype, np.number) or arr.min() < 0 or arr.max() > 255:
        raise UsageError(f"target colour must be 3 numbers 0..255 (R, G, B); got {target_rgb!r}. Parse names with parse_color")
    return np.round(arr).astype(np.uint8)


def recolor(
    pixels: np.ndarray,
    mask: np.ndarray,
    target_rgb: tuple[int, int, int] | np.ndarray,
    *,
    keep: np.ndarray | None = None,
    strength: float = 1.0,
    lightness_range: tuple[float, float] = LIGHTNESS_RANGE,
) -> np.ndarray:
    """The product (``mask``) in another colour, its shading and texture kept. A new array.

    pixels: RGB, HxWx3, uint8. mask: HxW uint8, 255 = product; soft values blend. target_rgb:
    3 ints 0..255 (``parse_color(...).rgb``). keep: HxW uint8, 255 = leave alone (text, logos).
    strength: 0 (unchanged) .. 1 (the full new colour). lightness_range: the target's L* is held
    within it (see the module's docstring). Pixels with mask 0 or keep 255 come back
    bit-identical. OperationError when fewer than 50 product pixels are left to recolour.
    """
    check_rgb(pixels)
    check_mask(mask, pixels.shape[:2])
    if keep is not None:
        check_mask(keep, pixels.shape[:2], name="keep")
    strength = _check_strength(strength)
    target = _check_target(target_rgb)
    lo_l, hi_l = (float(v) for v in lightness_range)
    if not 0.0 <= lo_l < hi_l <= 100.0:
        raise UsageError(f"lightness_range must be (low, high) with 0 <= low < high <= 100; got {lightness_range}")

    weight = mask.astype(np.float32) / 255.0
    if keep is not None:
        weight *= 1.0 - keep.astype(np.float32) / 255.0
    weight *= strength
    solid_map = mask >= 128
    if keep is not None:
        solid_map &= keep < 128
    if int(solid_map.sum()) < MIN_PIXELS:
        raise OperationError(
            f"only {int(solid_map.sum())} product pixels to recolour (at least {MIN_PIXELS}); check the mask, or turn off "
            "the text and logo protection"
        )
    idx = np.flatnonzero(weight.ravel() > 0)
    out = pixels.copy()
    if len(idx) == 0:  # strength 0
        return out
    flat = pixels.reshape(-1, 3)[idx]
    w = weight.ravel()[idx]
    solid = solid_map.ravel()[idx]
    lab = rgb_to_lab(flat)
    lightness = lab[:, 0]
    l_src = float(np.median(lightness[solid]))
    t_lab = rgb_to_lab(target).astype(np.float32)
    l_tgt = float(np.clip(t_lab[0], lo_l, hi_l))

    # 2. lightness: the detail around the median, scaled by one gain (see the module's docstring).
    detail = lightness - l_src
    shadows = l_tgt / max(l_src, 1.0)
    highlights = (100.0 - l_tgt) / max(100.0 - l_src, 1.0)
    gain = float(np.sqrt(shadows * highlights))
    low, high = (float(v) for v in np.percentile(detail[solid], [2, 98]))
    if low < 0:
        gain = min(gain, (l_tgt - 2.0) / -low)
    if high > 0:
        gain = min(gain, (99.0 - l_tgt) / high)
    gain = float(np.clip(gain, GAIN_MIN, GAIN_MAX))
    new_l = _roll_off(l_tgt + detail * gain)

    # 3. chroma: the target's hue; chroma follows the new lightness in the shadows.
    shade = np.clip(new_l / max(l_tgt, 1e-3), 0.0, 1.0)
    shade /= max(float(np.median(shade[solid])), 1e-3)
    grid, cap = _chroma_caps(float(t_lab[1]), float(t_lab[2]))
    limit = np.interp(new_l, grid, cap).astype(np.float32)
    for _ in range(3):  # the gamut trims the brightest and darkest: lift the rest so the median is the target's
        median = float(np.median(np.minimum(shade, limit)[solid]))
        if median >= 0.995 or median <= 1e-3:
            break
        shade *= min(1.0 / median, 2.0)

    # 4. gamut, 5. blend.
    variant = _fit_gamut(new_l.astype(np.float32), shade.astype(np.float32), float(t_lab[1]), float(t_lab[2]), limit)
    blended = flat.astype(np.float32) + w[:, None] * (variant - flat.astype(np.float32))
    out.reshape(-1, 3)[idx] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    return out


# ----------------------------------------------------------------------------------------------
# what to recolour, what to leave alone


def _distance(lab: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Colour distance with lightness at half weight (shading moves L more than a,b)."""
    d = lab - ref
    return np.sqrt((0.5 * d[..., 0]) ** 2 + d[..., 1] ** 2 + d[..., 2] ** 2)


def _main_lab(pixels: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    colours = dominant_colors(pixels, mask, max_colors=1, min_share=0.0)
    if not colours:
        return None
    return rgb_to_lab(np.array(colours[0].rgb, np.uint8)).astype(np.float32)


def dominant_region(pixels: np.ndarray, mask: np.ndarray, *, max_colors: int = 6) -> np.ndarray:
    """The part of the product (``mask``) in its largest colour: HxW uint8, soft edges.

    The colours come from ``vision.colors.dominant_colors``; each product pixel goes to the
    nearest (lightness at half weight). Colours of the largest one's hue (within 20 degrees, both
    chromatic, with at least 0.6 of its chroma per unit of lightness) count as it: its shadows
    and highlights are the same material. Specks are
    cleaned and the edge feathered by 1 px. A one-colour product gives the mask back.
    """
    check_rgb(pixels)
    check_mask(mask, pixels.shape[:2])
    colours = dominant_colors(pixels, mask, max_colors=max_colors, min_share=0.03)
    if len(colours) <= 1:
        return mask.copy()
    centres = rgb_to_lab(np.array([c.rgb for c in colours], np.uint8)).astype(np.float32)
    chroma = np.hypot(centres[:, 1], centres[:, 2])
    hue = np.degrees(np.arctan2(centres[:, 2], centres[:, 1]))
    turn = np.abs((hue - hue[0] + 180.0) % 360.0 - 180.0)
    saturation = chroma / np.maximum(centres[:, 0], 10.0)  # shading keeps it; a tinted white has little
    same = (np.arange(len(centres)) == 0) | (
        (chroma[0] >= 10.0) & (chroma >= 6.0) & (turn <= 20.0) & (saturation >= 0.6 * saturation[0])
    )
    inside = mask > 0
    lab = rgb_to_lab(pixels[inside])
    d = np.stack([_distance(lab, c) for c in centres], axis=1)
    chosen = np.zeros(mask.shape, np.uint8)
    chosen[inside] = np.where(same[np.argmin(d, axis=1)], 255, 0)
    side = max(3, round(0.004 * max(mask.shape)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    chosen = cv2.morphologyEx(cv2.morphologyEx(chosen, cv2.MORPH_OPEN, kernel), cv2.MORPH_CLOSE, kernel)
    chosen = cv2.GaussianBlur(chosen, (3, 3), 0)
    return np.minimum(chosen, mask)


def _keep_lab(keep_colors: Sequence[TargetColor | str]) -> list[np.ndarray]:
    colors = [c if isinstance(c, TargetColor) else parse_color(c) for c in keep_colors]
    return [rgb_to_lab(np.array(c.rgb, np.uint8)).astype(np.float32) for c in colors]


def keep_color_mask(pixels: np.ndarray, mask: np.ndarray, keep_colors: Sequence[TargetColor | str]) -> np.ndarray:
    """The product's pixels (``mask`` > 0) near any of ``keep_colors`` (names, #hex or TargetColor),
    their shades included (``vision.colors.color_weight``): HxW uint8, 255 = leave alone."""
    check_rgb(pixels)
    check_mask(mask, pixels.shape[:2])
    out = np.zeros(mask.shape, np.uint8)
    labs = _keep_lab(keep_colors)
    inside = mask > 0
    if not labs or not inside.any():
        return out
    lab = rgb_to_lab(pixels[inside])
    near = np.max([color_weight(lab, c) for c in labs], axis=0)
    out[inside] = np.round(near * 255.0).astype(np.uint8)
    return out


def _runs_into(labels: np.ndarray, j: int, box: np.ndarray, others: np.ndarray, other_areas: np.ndarray) -> bool:
    """Whether part ``j`` (of ``labels``, its stats row ``box``) touches, within 2 px, a region of a
    near colour (``others``: its labels, ``other_areas``: their sizes) at least half its own size."""
    x, y, w, h = (int(v) for v in box[:4])
    y0, y1, x0, x1 = max(0, y - 3), min(labels.shape[0], y + h + 3), max(0, x - 3), min(labels.shape[1], x + w + 3)
    part = (labels[y0:y1, x0:x1] == j).astype(np.uint8)
    touched = np.unique(others[y0:y1, x0:x1][cv2.dilate(part, np.ones((5, 5), np.uint8)) > 0])
    touched = touched[touched > 0]
    return bool(len(touched)) and float(other_areas[touched].max()) >= PART_BORDER * float(box[cv2.CC_STAT_AREA])


def material_region(
    pixels: np.ndarray, mask: np.ndarray, *, keep_colors: Sequence[TargetColor | str] = ()
) -> tuple[np.ndarray, dict[str, Any]]:
    """The product's main coloured material, what a recolour changes: (HxW uint8, 255 = recolour,
    soft edges; facts about it for the step's metadata).

    pixels: RGB, HxWx3, uint8; mask: HxW uint8, 255 = product. The material is
    ``vision.colors.main_material`` (the most common hue and saturation among the product's
    chromatic pixels, skin tones at a third). Its shades (same hue and saturation C*/(L*+16), any
    lightness) are recoloured; whites, blacks, greys and metal (little chroma) and parts of another
    colour (a bow tie, the coffee in a cup) are not. As hysteresis thresholding does: the
    chromatic pixels within ``MATERIAL_FAR`` (1.5) of the material, in parts (connected regions)
    whose median distance is within ``MATERIAL_NEAR`` (1.0) and that hold 0.05 % of the product
    or more: a shade next to the material joins it. A part apart from the largest one is dropped
    when it runs into a region of a near colour (chromatic, not the material but within
    ``NEAR_HUE`` of it, specks of texture opened away) of at least ``PART_BORDER`` (half) its
    size: it is the edge of something else of a near hue (the dark rim of the coffee in a red cup),
    not a piece of the material between outlines (a teddy's arm) or around a tag of another colour. Pixels near a colour of ``keep_colors`` (with their shades) are
    taken out first. The edges are then softened by a guided filter steered by the photo, never
    onto neutral pixels (a black outline next to the material stays black).

    OperationError when the product has no main coloured material: less than 10 % of it is of one
    chromatic colour (a white, black, grey or metal product; a white cup with a red logo); the
    message says to recolour it whole (region all) or to give the part with a mask.
    """
    from ..vision.guided_filter import guided_filter

    check_rgb(pixels)
    check_mask(mask, pixels.shape[:2])
    product = mask >= 128
    area = int(product.sum())
    if area < MIN_PIXELS:
        raise OperationError(f"only {area} product pixels (at least {MIN_PIXELS}); check the mask, or give one with --mask")
    material = main_material(pixels, mask)
    keep_labs = _keep_lab(keep_colors)
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    crop = pixels[y0:y1, x0:x1]
    crop_mask = mask[y0:y1, x0:x1]
    weight = np.zeros(crop_mask.shape, np.float32)
    if material is not None:
        lab = rgb_to_lab(crop)
        hue, sat = hue_saturation(lab)
        distance = material_distance(hue, sat, material.hue, material.saturation, lab[..., 0])
        candidate = (crop_mask >= 128) & (chromatic_weight(lab) >= 0.5) & (distance < MATERIAL_FAR)
        for c in keep_labs:
            candidate &= color_weight(lab, c) < 0.5
        count, labels, stats, _ = cv2.connectedComponentsWithStats(candidate.astype(np.uint8), connectivity=8)
        sums = np.bincount(labels.ravel(), weights=(distance < MATERIAL_NEAR).ravel(), minlength=count)
        close = sums >= 0.5 * stats[:, cv2.CC_STAT_AREA]  # the part's median distance is within MATERIAL_NEAR
        big = stats[:, cv2.CC_STAT_AREA] >= max(4, 0.0005 * area)
        parts = close & big
        parts[0] = False
        other = (crop_mask >= 128) & (chromatic_weight(lab) >= 0.5) & ~candidate & (distance < NEAR_HUE)  # a near colour
        other = cv2.morphologyEx(other.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))  # not texture specks
        _, others, other_stats, _ = cv2.connectedComponentsWithStats(other, connectivity=8)
        largest = int(np.argmax(np.where(parts, stats[:, cv2.CC_STAT_AREA], 0)))
        for j in np.flatnonzero(parts):
            if j != largest and _runs_into(labels, j, stats[j], others, other_stats[:, cv2.CC_STAT_AREA]):
                parts[j] = False
        region = parts[labels].astype(np.float32)
        radius = max(2, round(0.002 * max(crop_mask.shape)))
        weight = np.clip(guided_filter(crop.astype(np.float32) / 255.0, region, radius=radius, eps=1e-3), 0.0, 1.0)
        weight = np.where(region > 0, weight, np.minimum(weight, chromatic_weight(lab)))  # soft edges stop at neutrals
        weight *= crop_mask.astype(np.float32) / 255.0
    share = float((weight[crop_mask >= 128] >= 0.5).sum()) / area
    if material is None or share < MIN_MATERIAL_SHARE:
        coloured = float(chromatic_weight(rgb_to_lab(pixels[product])).mean())
        kept = " once the --keep colours are left out" if keep_labs and material is not None else ""
        why = "it is white, black, grey or metal" if coloured < 0.3 else "its colours are many small parts"
        raise OperationError(
            f"the product has no main coloured material to recolour{kept}: {share:.0%} of it is of one colour and "
            f"{coloured:.0%} is coloured at all ({why}); recolour the whole product with region 'all' (--region all), "
            "or give the part to recolour with a mask (--mask)"
        )
    out = np.zeros(mask.shape, np.uint8)
    out[y0:y1, x0:x1] = np.round(weight * 255.0).astype(np.uint8)
    facts = {**material.to_dict(), "share": round(share, 4)}
    return out, facts


def _lines_through(ink: np.ndarray, height: int, width: int) -> np.ndarray:
    """Straight ink lines longer than the text box (``height`` x ``width``), grown by one pixel:
    the product's own outlines and seams run through an OCR box and beyond it; letters do not."""
    ink = ink.astype(np.uint8)
    vertical = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((max(3, int(1.15 * height)), 1), np.uint8))
    horizontal = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, max(3, int(1.15 * width))), np.uint8))
    return cv2.dilate(vertical | horizontal, np.ones((3, 3), np.uint8)) > 0


def text_glyph_mask(
    pixels: np.ndarray, boxes: Sequence[Sequence[Sequence[float]]], *, mask: np.ndarray | None = None
) -> np.ndarray:
    """The glyphs inside text boxes (OCR line boxes: 4 (x, y) corners each): HxW uint8, 255 = glyph.

    In each box (only its product pixels when ``mask`` is given), the paper is the box's median
    colour (text covers less than half of its box); pixels farther from it than an Otsu
    threshold (at least 12) are ink candidates, the ink is their median colour, and the glyphs
    are the candidates nearer the ink than half-way from the paper, minus straight lines longer than
    the box (the product's outlines running through it), grown by one pixel to take the anti-aliased edge. A box
    where this covers over 70 % is skipped (not a line of text).
    """
    check_rgb(pixels)
    h, w = pixels.shape[:2]
    if mask is not None:
        check_mask(mask, (h, w))
    out = np.zeros((h, w), np.uint8)
    for box in boxes:
        pts = np.asarray(box, np.float32).reshape(-1, 2)
        box_w, box_h = (float(v) for v in pts.max(axis=0) - pts.min(axis=0))
        margin = max(3, round(0.3 * box_h))
        x0, y0 = np.floor(pts.min(axis=0)).astype(int) - margin
        x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + margin + 1
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(inside, [np.round(pts - (x0, y0)).astype(np.int32)], 255)
        inside = cv2.dilate(inside, np.ones((3, 3), np.uint8)) > 0
        on_product = mask[y0:y1, x0:x1] >= 128 if mask is not None else np.ones(inside.shape, bool)
        inside &= on_product
        if inside.sum() < MIN_PIXELS:
            continue
        lab = rgb_to_lab(pixels[y0:y1, x0:x1])
        paper = np.median(lab[inside], axis=0)
        d = np.sqrt(((lab - paper) ** 2).sum(axis=2))
        values = d[inside]
        top = max(float(values.max()), 1e-6)
        scaled = np.clip(values / top * 255.0, 0, 255).astype(np.uint8).reshape(-1, 1)
        otsu, _ = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        far = d > max(TEXT_MIN_DISTANCE, otsu / 255.0 * top)
        if not (far & inside).any():
            continue
        ink = np.median(lab[far & inside], axis=0)
        near_ink = np.sqrt(((lab - ink) ** 2).sum(axis=2)) < 0.5 * float(np.sqrt(((ink - paper) ** 2).sum()))
        inky = far & near_ink & on_product
        glyph = inky & inside
        if glyph.sum() > MAX_GLYPH_SHARE * inside.sum():
            continue  # "ink" over most of the box: a picture or a shading edge, not a line of text
        glyph &= ~_lines_through(inky, round(box_h), round(box_w))
        grown = cv2.dilate(glyph.astype(np.uint8) * 255, np.ones((3, 3), np.uint8))
        region = out[y0:y1, x0:x1]
        np.maximum(region, grown, out=region)
    return out


def find_logos(pixels: np.ndarray, mask: np.ndarray, *, main_lab: np.ndarray | None = None) -> tuple[np.ndarray, list[list[int]]]:
    """Small high-contrast marks inside the product (see the module's docstring for the rule).

    Returns (HxW uint8, 255 = logo, grown by one pixel; boxes [x, y, w, h] of what was found).
    """
    check_rgb(pixels)
    check_mask(mask, pixels.shape[:2])
    solid = (mask >= 128).astype(np.uint8)
    area = int(solid.sum())
    empty = np.zeros(mask.shape, np.uint8)
    if area < MIN_PIXELS:
        return empty, []
    ref = main_lab if main_lab is not None else _main_lab(pixels, mask)
    if ref is None:
        return empty, []
    ys, xs = np.nonzero(solid)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = pixels[y0:y1, x0:x1]
    crop_solid = solid[y0:y1, x0:x1]
    dist = _distance(rgb_to_lab(crop), np.asarray(ref, np.float32))
    side = max(y1 - y0, x1 - x0)
    margin = max(3, round(0.01 * side))
    interior = cv2.erode(crop_solid, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    candidate = ((dist > LOGO_DISTANCE) & (crop_solid > 0)).astype(np.uint8)
    close = max(3, round(0.008 * side) | 1)
    grouped = cv2.morphologyEx(candidate, cv2.MORPH_CLOSE, np.ones((close, close), np.uint8)) & crop_solid
    count, labels, stats, _ = cv2.connectedComponentsWithStats(grouped, connectivity=8)
    found = np.zeros(crop_solid.shape, np.uint8)
    boxes = []
    min_area, max_area = max(12, LOGO_MIN_SHARE * area), LOGO_MAX_SHARE * area
    for j in range(1, count):
        bx, by, bw, bh, n = (int(v) for v in stats[j])
        if not min_area <= n <= max_area:
            continue
        comp = (labels[by : by + bh, bx : bx + bw] == j).astype(np.uint8)
        if (comp & ~interior[by : by + bh, bx : bx + bw].astype(bool)).any():
            continue  # touches the outline: part of the product's shape, not a mark on it
        # the ring 2-3 px outside the component, within the product
        pad = 4
        ya, yb, xa, xb = max(0, by - pad), min(grouped.shape[0], by + bh + pad), max(0, bx - pad), min(grouped.shape[1], bx + bw + pad)
        sub = (labels[ya:yb, xa:xb] == j).astype(np.uint8)
        ring = cv2.dilate(sub, np.ones((7, 7), np.uint8)) & ~cv2.dilate(sub, np.ones((3, 3), np.uint8)) & crop_solid[ya:yb, xa:xb]
        marks = (sub > 0) & (candidate[ya:yb, xa:xb] > 0)
        if not ring.any() or not marks.any():
            continue
        step = float(dist[ya:yb, xa:xb][marks].mean() - dist[ya:yb, xa:xb][ring > 0].mean())
        if step < 0.5 * LOGO_DISTANCE:
            continue
        found[ya:yb, xa:xb] |= (sub > 0) & (candidate[ya:yb, xa:xb] > 0)
        boxes.append([int(x0 + bx), int(y0 + by), bw, bh])
    out = empty
    if boxes:
        out[y0:y1, x0:x1] = cv2.dilate(found * 255, np.ones((3, 3), np.uint8)) & (crop_solid * 255)
    return out, boxes


def _plausible_label(line: Any, product: np.ndarray, product_area: int) -> bool:
    """An OCR line worth keeping: two or more characters, its box centre on the product, and the
    box small beside the product (a large box reading one letter is shading read as text)."""
    pts = np.asarray(line.box, np.float32).reshape(-1, 2)
    cx, cy = pts.mean(axis=0)
    h, w = product.shape
    on_product = product[min(h - 1, max(0, int(cy))), min(w - 1, max(0, int(cx)))] > 0
    area = float(cv2.contourArea(pts))
    return len(line.text.replace(" ", "")) >= 2 and bool(on_product) and area <= MAX_TEXT_BOX_SHARE * product_area


@dataclass
class RecolorPlan:
    """What ``prepare_recolor`` found once per photo, reused for every colour."""

    mask: np.ndarray  # HxW uint8: what gets recoloured (the product's main material, the product, its dominant region)
    keep: np.ndarray | None  # HxW uint8: text, logos and the keep colours left alone
    info: dict[str, Any] = field(default_factory=dict)  # mask source, text lines, logo boxes ...
    models: list[str] = field(default_factory=list)
    seconds: float = 0.0


def prepare_recolor(
    pixels: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    method: MaskMethod = "u2netp",
    region: Region = "auto",
    keep_colors: Sequence[TargetColor | str] = (),
    text: bool = True,
    logos: bool = True,
    min_confidence: float = 0.5,
) -> RecolorPlan:
    """Find the product's mask, what to recolour in it and what to leave alone, once per photo.

    The product is ``mask`` (a user's mask: any form ``vision.segmentation.mask_to_alpha`` takes),
    else ``alpha`` (an image with transparency), else the cut-out
    (``vision.segmentation.segment_product`` with ``method``). What is recoloured (``region``):
    "material", the product's main coloured material (``material_region``: whites, blacks, greys,
    metal, skin and parts of another colour stay); "all", the whole product; "dominant", its
    largest colour; "auto" (the default), exactly the user's ``mask`` when one is given, else the
    material. keep_colors: colours (names, #hex) left alone with their shades. text: OCR the photo
    and keep the glyphs; logos: keep detected logos. OperationError when no product is found, or
    (material) when it has no main coloured material.
    """
    from ..vision.segmentation import mask_to_alpha, segment_product

    check_rgb(pixels)
    if region not in ("auto", "material", "all", "dominant"):
        raise UsageError(f"region must be 'auto', 'material', 'all' or 'dominant'; got '{region}'")
    keep_colors = [c if isinstance(c, TargetColor) else parse_color(c) for c in keep_colors]
    start = time.perf_counter()
    models: list[str] = []
    h, w = pixels.shape[:2]
    if mask is not None:
        product, source = mask_to_alpha(mask, (h, w)), "mask"
    elif alpha is not None and int(alpha.min()) < 255:
        check_mask(alpha, (h, w), name="alpha")
        product, source = alpha.copy(), "alpha"
    else:
        model = None
        if method == "u2netp":
            from ..runtime import load_u2netp

            model = load_u2netp()
            models.append(model.label)
        product, source = segment_product(pixels, method=method, model=model), method
    if int((product >= 128).sum()) < MIN_PIXELS:
        raise OperationError(f"no product found (the {source} mask is empty); give a mask with --mask (white = product)")
    if region == "auto":
        region = "all" if source == "mask" else "material"
    info: dict[str, Any] = {"mask_source": source, "region": region, "product_pixels": int((product >= 128).sum())}
    keep = np.zeros((h, w), np.uint8)
    if region == "material":
        target, info["material"] = material_region(pixels, product, keep_colors=keep_colors)
    else:
        target = dominant_region(pixels, product) if region == "dominant" else product
        keep = np.maximum(keep, keep_color_mask(pixels, product, keep_colors))
    if keep_colors:
        info["keep_colors"] = [c.text for c in keep_colors]
    if text:
        from ..vision.ocr import load_ocr, read_text

        product_area = max(1, int((product >= 128).sum()))
        lines = [line for line in read_text(pixels, min_confidence=min_confidence) if _plausible_label(line, product, product_area)]
        boxes = [line.box for line in lines]
        keep = np.maximum(keep, text_glyph_mask(pixels, boxes, mask=product))
        info["text_lines"] = [line.text for line in lines]
        models.append(load_ocr().label)
    if logos:
        main = _main_lab(pixels, target)
        logo_mask, logo_boxes = find_logos(pixels, target, main_lab=main)
        keep = np.maximum(keep, logo_mask)
        info["logos"] = logo_boxes
    info["kept_pixels"] = int((keep > 0).sum())
    return RecolorPlan(mask=target, keep=keep if keep.any() else None, info=info, models=models,
                       seconds=time.perf_counter() - start)


def recolor_item(item: ImageItem, colors: Sequence[TargetColor], plan: RecolorPlan, *, strength: float = 1.0) -> list[ImageItem]:
    """One item per colour, each with a log entry (op "recolor") and metadata["recolor"]."""
    outs = []
    for color in colors:
        start = time.perf_counter()
        pixels = recolor(item.pixels, plan.mask, color.rgb, keep=plan.keep, strength=strength)
        out = item.replace(pixels=pixels)
        out.metadata["recolor"] = {**color.to_dict(), **plan.info}
        seconds = time.perf_counter() - start + plan.seconds / max(1, len(colors))
        out.log.append(StepRecord(op="recolor", params={"color": color.text, "strength": strength, "region": plan.info["region"]},
                                  seconds=round(seconds, 4), model=" + ".join(plan.models) or None))
        outs.append(out)
    return outs


# ----------------------------------------------------------------------------------------------
# registered step


class RecolorOptions(OpOptions):
    color: str = Field(..., description="target colour: CSS name (navy), #hex, rgb(r, g, b) or a Chinese name (藏青)")
    region: Region = Field("auto", description="material: the product's main coloured material (whites, blacks, greys, "
                           "metal, skin and parts of another colour stay); all: the whole product; dominant: its largest "
                           "colour; auto: exactly mask_path when one is given, else material")
    keep: tuple[str, ...] = Field((), description="colours left unchanged with their shades (repeatable, or comma-separated): red, '#ffcc00'")
    text: bool = Field(True, description="leave the text (OCR) on the product unchanged")
    logos: bool = Field(True, description="leave small high-contrast marks (logos) unchanged")
    strength: float = Field(1.0, ge=0.0, le=1.0, description="0 = unchanged .. 1 = the full new colour")
    method: MaskMethod = Field("u2netp", description="how to find the product when the image has no alpha and no mask_path")
    mask_path: str | None = Field(None, description="a mask file (white or opaque = what to recolour) instead of the cut-out and the material",
                                   json_schema_extra=LOCAL_ONLY)

    @field_validator("color")
    @classmethod
    def _known_color(cls, value: str) -> str:
        try:
            parse_color(value)
        except UsageError as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("keep")
    @classmethod
    def _known_keep_colors(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return tuple(c.text for c in parse_colors(value)) if value else ()
        except UsageError as exc:
            raise ValueError(exc.message) from None


_PLANS: dict[tuple[Any, ...], RecolorPlan] = {}
_PLANS_LOCK = threading.Lock()
_PLANS_KEPT = 2


def _digest(array: np.ndarray | None) -> str | None:
    return None if array is None else hashlib.blake2b(np.ascontiguousarray(array).data, digest_size=16).hexdigest()


def _cached_plan(item: ImageItem, mask: np.ndarray | None, options: RecolorOptions) -> RecolorPlan:
    """``prepare_recolor`` for the step, kept for the last few images: making several colours of one photo
    (one recipe run per colour) finds its product, text and logos once (the cost is the cut-out and OCR)."""
    key = (_digest(item.pixels), _digest(item.alpha), _digest(mask), options.method, options.region, options.keep, options.text,
           options.logos)
    with _PLANS_LOCK:
        plan = _PLANS.get(key)
    if plan is None:
        plan = prepare_recolor(item.pixels, alpha=item.alpha, mask=mask, method=options.method, region=options.region,
                               keep_colors=options.keep, text=options.text, logos=options.logos)
        with _PLANS_LOCK:
            _PLANS[key] = plan
            while len(_PLANS) > _PLANS_KEPT:
                _PLANS.pop(next(iter(_PLANS)))
    return plan


@register_op("recolor", options=RecolorOptions)
def recolor_step(item: ImageItem, options: RecolorOptions) -> ImageItem:
    """Recolour the product's main coloured material (shading and texture kept; background, text, logos and
    the product's whites, blacks, greys, metal and parts of other colours unchanged)."""
    mask = None
    if options.mask_path:
        from ..vision.segmentation import load_mask

        mask = load_mask(options.mask_path, (item.height, item.width))
    plan = _cached_plan(item, mask, options)
    color = parse_color(options.color)
    out = item.replace(pixels=recolor(item.pixels, plan.mask, color.rgb, keep=plan.keep, strength=options.strength))
    out.metadata["recolor"] = {**color.to_dict(), **plan.info}
    if plan.models:
        out.step_model = " + ".join(plan.models)
    return out
