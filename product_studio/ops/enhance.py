"""Enhancement: white balance, exposure/levels, local contrast (CLAHE) and sharpening.

Classical baselines that learned models will have to beat. Every function takes RGB HxWx3 uint8
sRGB pixels and returns a new array of the same shape and dtype; options are keyword-only and
``strength`` blends with the input (0 = unchanged, 1 = the full effect).

The work is done with 256-entry look-up tables and OpenCV where it can be: white balance is one
per-channel LUT (gains applied in linear light), levels is one LUT on the L channel of LAB, CLAHE
runs on L, and sharpening adds a thresholded luminance detail to all three channels alike, so no
step shifts hue or adds colour fringes. ``enhance`` chains them with a single LAB round trip;
a 2000x2000 photo takes about 0.1 s on one core.

``enhance`` does no harm to a product's colour. It first decides which pixels are the product:
the item's alpha when it has one (a cut-out: the transparent pixels' colours mean nothing and
are never counted), otherwise the backdrop estimated from the image's border
(``estimate_backdrop``: the pixels connected to the border within a small colour distance of
its median), otherwise -- a cluttered scene -- the whole image. Then:

- white balance reads the cast on a reference that should be neutral: a light, low-chroma
  backdrop (a white or grey sweep under a coloured light); never the product's own colours. A
  backdrop that is mostly clipped white says the light is neutral and well exposed (no change).
  A near-white backdrop also sets the exposure: one linear gain makes it white, so an
  under-exposed studio shot comes up and a well-exposed one stays as it is. A cut-out, or a
  product on a coloured backdrop, has no such reference: its colours are left as they are (a
  slightly blue cloud or a grey-brown fur cannot be told from a cast; ``white_balance`` with a
  mask on a grey card is the tool for that). A cluttered scene is balanced on its near-neutral
  pixels;
- with a product known, levels are that backdrop gain alone (a product's own histogram cannot
  tell a navy bag from an under-exposed one), and local contrast and sharpening add detail
  whose mean over the product is zero, so its mean colour stays where it was. A cluttered
  scene keeps the classical levels stretch and CLAHE on the whole image.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from pydantic import Field

from ..errors import UsageError
from ..item import ImageItem, check_mask, check_rgb
from .registry import OpOptions, register_op

# sRGB <-> linear light, as 256-entry tables and a vectorised encoder.
_CODES = np.arange(256, dtype=np.float64) / 255.0
SRGB_TO_LINEAR = np.where(_CODES <= 0.04045, _CODES / 12.92, ((_CODES + 0.055) / 1.055) ** 2.4)

# White balance: Minkowski norm of the "shades of grey" estimate (1 = grey world, inf = white
# patch), the codes counted as clipped or too dark to say anything about the illuminant, the
# largest per-channel gain, and how many samples the estimate reads at most.
WB_NORM = 6.0
WB_CLIPPED = 250
WB_DARK = 5
WB_MAX_GAIN = 2.5
WB_MIN_SAMPLES = 16
STATS_SAMPLES = 250_000
_LINEAR_POWER = np.power(SRGB_TO_LINEAR, WB_NORM)

# Levels: never stretch by more than this factor; lift the mid-tones of an image whose mean
# lightness (after the stretch) is below DARK_MEAN towards MID_GREY, with a gamma no lower than
# MIN_GAMMA; the chroma follows the lightness change up to a factor of MAX_CHROMA_GAIN.
MAX_STRETCH = 4.0
DARK_MEAN = 0.4
MID_GREY = 0.5
MIN_GAMMA = 0.6
MAX_CHROMA_GAIN = 2.0

# Product vs backdrop (``estimate_backdrop``), on a copy whose longer side is at most BACKDROP_SIDE:
# the border ring is BORDER_SHARE of the shorter side; a backdrop is the pixels within BACKDROP_DE
# (CIELAB dE76) of the ring's median colour and connected to the ring; at least BORDER_AGREEMENT
# of the ring must be such pixels (at least half: a product may touch the frame; else the border
# is a cluttered scene), and the backdrop must
# cover BACKDROP_MIN_SHARE..BACKDROP_MAX_SHARE of the image.
BACKDROP_SIDE = 256
BORDER_SHARE = 0.03
BACKDROP_DE = 12.0
BORDER_AGREEMENT = 0.5
BACKDROP_MIN_SHARE = 0.05
BACKDROP_MAX_SHARE = 0.98
# A backdrop is a white-balance reference when it is light (L* >= REFERENCE_MIN_L) and not a
# coloured paper (chroma C* <= REFERENCE_MAX_CHROMA: a strong camera cast on white stays below);
# a white reference (it also sets the exposure) when L* >= WHITE_MIN_L. Backdrop pixels with every
# channel >= WB_CLIPPED are white; with one channel at BACKDROP_CLIPPED they are clipped (unusable).
REFERENCE_MIN_L = 50.0
REFERENCE_MAX_CHROMA = 25.0
WHITE_MIN_L = 88.0  # about half a stop under white; a darker sweep is a grey one
BACKDROP_CLIPPED = 254
# Near-neutral pixels of a scene: in linear light, every channel within NEUTRAL_SPREAD (relative) of
# the estimated illuminant's proportions, the brightest channel above NEUTRAL_DARK (noise) and
# below WB_CLIPPED; NEUTRAL_ROUNDS refinements; at least NEUTRAL_MIN_SHARE of the scene.
NEUTRAL_SPREAD = 0.08
NEUTRAL_DARK = 30
NEUTRAL_ROUNDS = 3
NEUTRAL_MIN_SHARE = 0.05
GAIN_NOOP = 0.01  # gains all within 1 +- this change no code by more than about one: not applied


def _srgb_encode(linear: np.ndarray) -> np.ndarray:
    x = np.clip(linear, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1.0 / 2.4) - 0.055)


def check_number(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise UsageError(f"{name} must be a number between {low} and {high}; got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and low <= value <= high):
        raise UsageError(f"{name} must be between {low} and {high}; got {value}")
    return value


def check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise UsageError(f"{name} must be a whole number between {low} and {high}; got {value!r}")
    if not low <= value <= high:
        raise UsageError(f"{name} must be between {low} and {high}; got {value}")
    return int(value)


def _check_estimate_mask(mask: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    if mask is None:
        return None
    if not isinstance(mask, np.ndarray) or mask.ndim != 2 or mask.dtype not in (np.bool_, np.uint8):
        got = getattr(mask, "shape", type(mask).__name__), getattr(mask, "dtype", "")
        raise UsageError(f"mask must be HxW bool or uint8 (non-zero = estimate from this pixel); got {got}")
    if mask.shape != tuple(shape):
        raise UsageError(f"mask has shape {mask.shape} but the image is {tuple(shape)}; resize the mask to the image")
    if not mask.any():
        raise UsageError("mask selects no pixels; mark the pixels to estimate the white balance from (non-zero)")
    return mask


def _sample_step(shape: tuple[int, ...]) -> int:
    """Stride that leaves about STATS_SAMPLES pixels: statistics need no more, and striding keeps values exact."""
    return max(1, int(math.sqrt(shape[0] * shape[1] / STATS_SAMPLES)))


# --------------------------------------------------------------------------------------------
# White balance


def white_balance_gains(pixels: np.ndarray, *, mask: np.ndarray | None = None) -> np.ndarray | None:
    """Per-channel gains (R, G, B) in linear light that make the estimated illuminant neutral.

    The illuminant is a "shades of grey" estimate (Minkowski norm ``WB_NORM`` of linear RGB): a
    hybrid between grey world and white patch. Pixels with a channel at or above ``WB_CLIPPED``
    (clipped: their true colour is unknown) or all channels at or below ``WB_DARK`` are ignored,
    as are pixels outside ``mask`` when it is given. Gains keep the mean level and are limited to
    ``1/WB_MAX_GAIN .. WB_MAX_GAIN``. Returns None when too few pixels are left to estimate from.
    pixels: RGB, HxWx3, uint8; mask: HxW bool/uint8 or None.
    """
    check_rgb(pixels)
    return _estimate_gains(pixels, _check_estimate_mask(mask, pixels.shape[:2]))


def _estimate_gains(pixels: np.ndarray, mask: np.ndarray | None) -> np.ndarray | None:
    step = _sample_step(pixels.shape)
    sample = pixels[::step, ::step].reshape(-1, 3)
    peak = sample.max(axis=1)
    usable = (peak < WB_CLIPPED) & (peak > WB_DARK)
    if mask is not None:
        usable &= mask[::step, ::step].reshape(-1) > 0
    if np.count_nonzero(usable) < WB_MIN_SAMPLES:
        return None
    illuminant = np.power(np.mean(_LINEAR_POWER[sample[usable]], axis=0), 1.0 / WB_NORM)
    if np.any(illuminant <= 1e-6):
        return None
    gains = illuminant.mean() / illuminant
    return np.clip(gains, 1.0 / WB_MAX_GAIN, WB_MAX_GAIN)


def _gain_lut(gains: np.ndarray) -> np.ndarray:
    """256x1x3 uint8 LUT applying linear-light ``gains`` to sRGB codes, channel by channel."""
    table = _srgb_encode(SRGB_TO_LINEAR[:, None] * gains[None, :]) * 255.0
    return np.clip(np.rint(table), 0, 255).astype(np.uint8).reshape(256, 1, 3)


def _white_balance(pixels: np.ndarray, strength: float, mask: np.ndarray | None) -> np.ndarray:
    gains = _estimate_gains(pixels, mask)
    if gains is None or strength == 0.0:
        return pixels
    # Geometric blend: half strength corrects half of the cast in log-gain terms.
    return cv2.LUT(pixels, _gain_lut(np.power(gains, strength)))


def white_balance(pixels: np.ndarray, *, strength: float = 1.0, mask: np.ndarray | None = None) -> np.ndarray:
    """Remove a colour cast: estimate the illuminant and scale R, G, B to make it neutral.

    pixels: RGB, HxWx3, uint8. strength: 0..1, the share of the correction applied (in log gain).
    mask: optional HxW bool/uint8; non-zero pixels are the ones to estimate from (for example the
    background sweep, or a grey card). Returns a new RGB uint8 array: an unchanged copy when no
    estimate is possible (every pixel clipped or black).

    >>> grey = np.full((4, 4, 3), 128, np.uint8) * np.array([1.2, 1.0, 0.8])
    >>> out = white_balance(grey.astype(np.uint8))
    >>> bool(np.ptp(out.reshape(-1, 3).mean(axis=0)) <= 2)
    True
    """
    check_rgb(pixels)
    strength = check_number("strength", strength, 0.0, 1.0)
    mask = _check_estimate_mask(mask, pixels.shape[:2])
    out = _white_balance(pixels, strength, mask)
    return out.copy() if out is pixels else out


# --------------------------------------------------------------------------------------------
# Exposure / levels (on L of LAB)


def _levels_tables(lightness: np.ndarray, strength: float, clip: float) -> tuple[np.ndarray, np.ndarray] | None:
    """(L LUT uint8[256], chroma gain float32[256]) for a uint8 LAB lightness plane, or None if identity."""
    hist = cv2.calcHist([lightness], [0], None, [256], [0, 256]).ravel()
    cdf = np.cumsum(hist) / hist.sum()
    low = float(np.searchsorted(cdf, clip / 100.0, side="right"))
    high = float(np.searchsorted(cdf, 1.0 - clip / 100.0, side="left"))
    high = max(high, low)
    if (high - low) * MAX_STRETCH < 255.0:  # a nearly flat image: stretch it no more than MAX_STRETCH
        width = 255.0 / MAX_STRETCH
        low = min(max(0.0, (low + high - width) / 2.0), 255.0 - width)
        high = low + width
    stretched = np.clip((np.arange(256) - low) / (high - low), 0.0, 1.0)
    mean = float(hist @ stretched) / hist.sum()
    if 0.0 < mean < DARK_MEAN:  # under-exposed: a gamma that moves the mean towards mid-grey
        gamma = min(1.0, max(MIN_GAMMA, math.log(MID_GREY) / math.log(mean)))
        stretched = np.power(stretched, gamma)
    curve = (1.0 - strength) * np.arange(256) + strength * 255.0 * stretched
    lut = np.clip(np.rint(curve), 0, 255).astype(np.uint8)
    if np.array_equal(lut, np.arange(256)):
        return None
    # LAB's L + 16 and a, b all scale with the cube root of a change of exposure: scaling the
    # chroma by the same factor as L + 16 keeps hue and saturation (R:G:B in linear light).
    before = np.arange(256) * (100.0 / 255.0) + 16.0
    after = lut.astype(np.float64) * (100.0 / 255.0) + 16.0
    chroma = np.clip(after / before, 1.0 / MAX_CHROMA_GAIN, MAX_CHROMA_GAIN).astype(np.float32)
    return lut, chroma


def _scale_chroma(channel: np.ndarray, gain: np.ndarray) -> np.ndarray:
    centred = channel.astype(np.float32)
    centred -= 128.0
    cv2.multiply(centred, gain, centred)
    return cv2.add(centred, 128.0, dtype=cv2.CV_8U)


def _levels_lab(planes: list[np.ndarray], strength: float, clip: float) -> list[np.ndarray]:
    tables = _levels_tables(planes[0], strength, clip)
    if tables is None:
        return planes
    lut, chroma = tables
    gain = cv2.LUT(planes[0], chroma)
    return [cv2.LUT(planes[0], lut), _scale_chroma(planes[1], gain), _scale_chroma(planes[2], gain)]


def _split_lab(pixels: np.ndarray) -> list[np.ndarray]:
    return list(cv2.split(cv2.cvtColor(pixels, cv2.COLOR_RGB2LAB)))


def _merge_lab(planes: list[np.ndarray]) -> np.ndarray:
    return cv2.cvtColor(cv2.merge(planes), cv2.COLOR_LAB2RGB)


def adjust_levels(pixels: np.ndarray, *, strength: float = 1.0, clip: float = 0.5) -> np.ndarray:
    """Exposure and levels: stretch the lightness range and lift under-exposed mid-tones.

    pixels: RGB, HxWx3, uint8. The ``clip`` percent darkest and brightest pixels (by LAB
    lightness) become black and white; the range between is stretched linearly (by at most
    ``MAX_STRETCH``, so a flat image is not blown up), then, if the mean is still dark, a gamma
    brings it towards mid-grey. The a, b chroma is scaled with the lightness, so hue and
    saturation are kept. strength: 0..1 blend of the curve with the identity. clip: 0..10 (%).
    Returns a new RGB uint8 array.
    """
    check_rgb(pixels)
    strength = check_number("strength", strength, 0.0, 1.0)
    clip = check_number("clip", clip, 0.0, 10.0)
    if strength == 0.0:
        return pixels.copy()
    planes = _split_lab(pixels)
    adjusted = _levels_lab(planes, strength, clip)
    return pixels.copy() if adjusted is planes else _merge_lab(adjusted)


# --------------------------------------------------------------------------------------------
# Local contrast (CLAHE on L)


def _clahe(lightness: np.ndarray, strength: float, clip_limit: float, tile: int) -> np.ndarray:
    equalised = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tile, tile)).apply(lightness)
    if strength >= 1.0:
        return equalised
    return cv2.addWeighted(equalised, strength, lightness, 1.0 - strength, 0.0)


def local_contrast(pixels: np.ndarray, *, strength: float = 1.0, clip_limit: float = 2.0, tile: int = 8) -> np.ndarray:
    """Local contrast: CLAHE (contrast-limited adaptive histogram equalisation) on LAB lightness.

    pixels: RGB, HxWx3, uint8. clip_limit: 0.1..40, how far each tile's histogram may peak
    before it is clipped (higher = stronger, noisier). tile: 1..64 tiles per side. a and b are
    kept, so colours do not shift. strength: 0..1 blend with the input lightness.
    Returns a new RGB uint8 array.
    """
    check_rgb(pixels)
    strength = check_number("strength", strength, 0.0, 1.0)
    clip_limit = check_number("clip_limit", clip_limit, 0.1, 40.0)
    tile = check_int("tile", tile, 1, 64)
    if strength == 0.0:
        return pixels.copy()
    planes = _split_lab(pixels)
    planes[0] = _clahe(planes[0], strength, clip_limit, tile)
    return _merge_lab(planes)


# --------------------------------------------------------------------------------------------
# Sharpening (unsharp mask on luminance, with a threshold)


def _sharpen(
    pixels: np.ndarray, amount: float, radius: float, threshold: int, *, luma: np.ndarray | None = None
) -> np.ndarray:
    """``luma``: the luminance to take the detail from (a cut-out as seen on white), default ``pixels``'."""
    luma = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY) if luma is None else luma
    blurred = cv2.GaussianBlur(luma, (0, 0), sigmaX=radius, borderType=cv2.BORDER_REFLECT)
    detail = cv2.subtract(luma, blurred, dtype=cv2.CV_16S)
    # Soft threshold: detail within +-threshold (noise, flat areas) is dropped and the rest is
    # shrunk by the threshold, so there is no jump where the threshold starts to act.
    detail -= np.clip(detail, -threshold, threshold)
    if not detail.any():
        return pixels
    delta = cv2.multiply(detail, amount, dtype=cv2.CV_16S)  # rounds, saturates
    return cv2.add(pixels, cv2.merge([delta, delta, delta]), dtype=cv2.CV_8U)


def sharpen(pixels: np.ndarray, *, strength: float = 1.0, radius: float = 1.5, threshold: int = 2) -> np.ndarray:
    """Unsharp mask on luminance with a threshold, so flat areas and fine noise stay untouched.

    pixels: RGB, HxWx3, uint8. The detail is luminance minus its Gaussian blur (sigma
    ``radius`` px, 0.3..20); detail within +-``threshold`` levels (0..255) is ignored, the rest
    is shrunk by the threshold, multiplied by ``strength`` (0..4; 1 doubles the detail) and
    added equally to R, G and B (no colour fringes). A flat image comes back identical.
    Returns a new RGB uint8 array.
    """
    check_rgb(pixels)
    strength = check_number("strength", strength, 0.0, 4.0)
    radius = check_number("radius", radius, 0.3, 20.0)
    threshold = check_int("threshold", threshold, 0, 255)
    if strength == 0.0:
        return pixels.copy()
    out = _sharpen(pixels, strength, radius, threshold)
    return out.copy() if out is pixels else out


# --------------------------------------------------------------------------------------------
# The product, its backdrop and the neutral reference


def estimate_backdrop(pixels: np.ndarray) -> np.ndarray | None:
    """The even studio backdrop around a product: HxW bool (True = backdrop), or None.

    Cheap (a few ms): on a copy at most ``BACKDROP_SIDE`` px long, the pixels within
    ``BACKDROP_DE`` (CIELAB dE76) of the border ring's median colour that are connected to the
    ring, eroded by one pixel of that copy so no product edge counts. A gradient sweep stays
    within the distance; the product's shadow counts as product. None when the border is not one
    even colour (a cluttered scene) or the backdrop covers almost nothing or almost everything.
    pixels: RGB, HxWx3, uint8.
    """
    check_rgb(pixels)
    return _estimate_backdrop(pixels)


def _estimate_backdrop(pixels: np.ndarray) -> np.ndarray | None:
    h, w = pixels.shape[:2]
    scale = min(1.0, BACKDROP_SIDE / max(h, w))
    small = pixels
    if scale < 1.0:
        small = cv2.resize(pixels, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    if min(sh, sw) < 8:
        return None
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    band = max(1, round(BORDER_SHARE * min(sh, sw)))
    ring = np.ones((sh, sw), bool)
    ring[band:-band, band:-band] = False
    near = np.linalg.norm(lab - np.median(lab[ring], axis=0), axis=2) <= BACKDROP_DE
    if near[ring].mean() < BORDER_AGREEMENT:
        return None
    _, labels = cv2.connectedComponents(near.astype(np.uint8), connectivity=4)
    touching = np.unique(labels[ring & near])
    backdrop = cv2.erode(np.isin(labels, touching[touching > 0]).astype(np.uint8), np.ones((3, 3), np.uint8),
                         borderType=cv2.BORDER_REPLICATE)
    if not BACKDROP_MIN_SHARE <= backdrop.mean() <= BACKDROP_MAX_SHARE:
        return None
    if scale < 1.0:
        backdrop = cv2.resize(backdrop, (w, h), interpolation=cv2.INTER_NEAREST)
    return backdrop > 0


def _backdrop_gains(pixels: np.ndarray, backdrop: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(white-balance gains, exposure gain) in linear light that make a light, near-neutral
    backdrop neutral (and, if it is near white, white); None when the backdrop is no reference."""
    step = _sample_step(pixels.shape)
    sample = pixels[::step, ::step][backdrop[::step, ::step]]
    # Clipped white pixels stay (they say "white, at least"); one clipped channel is unusable.
    usable = (sample.min(axis=1) >= WB_CLIPPED) | (sample.max(axis=1) < BACKDROP_CLIPPED)
    usable &= sample.max(axis=1) > WB_DARK
    if np.count_nonzero(usable) < WB_MIN_SAMPLES:
        return None
    linear = SRGB_TO_LINEAR[sample[usable]]
    linear[sample[usable].min(axis=1) >= WB_CLIPPED] = 1.0  # white as far as the camera could tell
    illuminant = np.median(linear, axis=0)
    if np.any(illuminant <= 1e-6):
        return None
    colour = _srgb_encode(illuminant).astype(np.float32).reshape(1, 1, 3)
    lightness, a, b = cv2.cvtColor(colour, cv2.COLOR_RGB2Lab)[0, 0]
    if lightness < REFERENCE_MIN_L or math.hypot(a, b) > REFERENCE_MAX_CHROMA:
        return None
    gains = np.clip(illuminant.mean() / illuminant, 1.0 / WB_MAX_GAIN, WB_MAX_GAIN)
    level = 1.0
    if lightness >= WHITE_MIN_L:  # a white sweep: make it white (never darker: a clipped one stays)
        level = float(np.clip(1.0 / (illuminant * gains).max(), 1.0, WB_MAX_GAIN))
    return gains, level


def _neutral_gains(pixels: np.ndarray) -> np.ndarray | None:
    """White-balance gains from a scene's near-neutral pixels, or None when fewer than
    ``NEUTRAL_MIN_SHARE`` of them are neutral: a cast the scene's own colours would only hide is
    left alone (grey world would take a wooden table's brown for a cast)."""
    step = _sample_step(pixels.shape)
    sample = pixels[::step, ::step].reshape(-1, 3)
    needed = max(WB_MIN_SAMPLES, NEUTRAL_MIN_SHARE * len(sample))
    peak = sample.max(axis=1)
    linear = SRGB_TO_LINEAR[sample[(peak > NEUTRAL_DARK) & (peak < WB_CLIPPED)]]
    if len(linear) < needed:
        return None
    ratios = linear / linear.mean(axis=1, keepdims=True)  # (1, 1, 1) for a grey
    illuminant = np.ones(3)
    for _ in range(NEUTRAL_ROUNDS):
        neutral = np.all(np.abs(ratios / (illuminant / illuminant.mean()) - 1.0) <= NEUTRAL_SPREAD, axis=1)
        if np.count_nonzero(neutral) < needed:
            return None
        illuminant = linear[neutral].mean(axis=0)
    return np.clip(illuminant.mean() / illuminant, 1.0 / WB_MAX_GAIN, WB_MAX_GAIN)


def _product_weights(pixels: np.ndarray, alpha: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(product weights HxW float32 0..1, backdrop HxW bool): from the alpha, else from the
    border's backdrop; (None, None) for a cluttered scene."""
    if alpha is not None:
        return alpha.astype(np.float32) / 255.0, None
    backdrop = _estimate_backdrop(pixels)
    if backdrop is None:
        return None, None
    return (~backdrop).astype(np.float32), backdrop


def _local_mean(values: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    """Weighted mean of ``values`` over about a ``size`` px neighbourhood: two box filters on a copy
    reduced so the box is 8 px wide, brought back by bilinear interpolation (smooth, and cheap)."""
    h, w = values.shape
    factor = max(1, size // 8)
    small = (max(1, w // factor), max(1, h // factor))
    num = cv2.resize(values * weights, small, interpolation=cv2.INTER_AREA)
    den = cv2.resize(weights, small, interpolation=cv2.INTER_AREA)
    kernel = (max(1, size // factor),) * 2
    num, den = cv2.blur(cv2.blur(num, kernel), kernel), cv2.blur(cv2.blur(den, kernel), kernel)
    return cv2.resize(num / np.maximum(den, 1e-3), (w, h), interpolation=cv2.INTER_LINEAR)


def _seen(plane: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """A lightness or luma plane as it will be seen over white (255): a cut-out's hidden pixels drop out."""
    return cv2.convertScaleAbs(plane * weights + 255.0 * (1.0 - weights))


def _product_contrast(lightness: np.ndarray, seen: np.ndarray, weights: np.ndarray, strength: float) -> np.ndarray:
    """``lightness`` plus the CLAHE detail of ``seen`` (the product as the shopper sees it) minus its
    local and overall mean over the product, on the product only: contrast, not tone."""
    equalised = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(seen)
    delta = cv2.subtract(equalised, seen, dtype=cv2.CV_32F)
    delta -= _local_mean(delta, weights, max(3, max(seen.shape) // 16))
    total = float(weights.sum())
    if total > 0:
        delta -= float(cv2.sumElems(delta * weights)[0]) / total
    delta *= strength * (weights > 0)
    return cv2.add(lightness, delta, dtype=cv2.CV_8U)


def _keep_mean(changed: np.ndarray, before: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``changed`` less its mean RGB change over the product: detail added on L with a and b kept
    still moves the mean a little (sRGB is not linear in L, and codes clip)."""
    total = float(weights.sum())
    if total <= 0:
        return changed
    diff = cv2.subtract(changed, before, dtype=cv2.CV_32F)
    shift = np.array([cv2.sumElems(diff[..., c] * weights)[0] for c in range(3)], np.float32) / total
    return cv2.convertScaleAbs(changed.astype(np.float32) - shift) if np.abs(shift).max() >= 0.25 else changed


def _enhance_product(pixels, strength, weights, backdrop, alpha, *, white_balance, exposure, contrast, sharpen):
    out = pixels
    if white_balance or exposure:
        reference = _backdrop_gains(pixels, backdrop) if backdrop is not None else None
        gains, level = reference if reference is not None else (None, 1.0)
        total = np.ones(3)
        if white_balance and gains is not None:
            total *= np.power(gains, strength)
        if exposure:
            total *= level**strength
        if np.abs(total - 1.0).max() >= GAIN_NOOP:
            out = cv2.LUT(out, _gain_lut(total))
    # A cut-out is judged as it will be shown, on white; its transparent pixels are kept as they are.
    product = (weights > 0).view(np.uint8)
    if contrast:
        planes = _split_lab(out)
        seen = _seen(planes[0], weights) if alpha is not None else planes[0]
        planes[0] = _product_contrast(planes[0], seen, weights, strength)
        # the LAB round trip only on the product: the rest stays exactly as it was
        out = cv2.copyTo(_keep_mean(_merge_lab(planes), out, weights), product, out.copy())
    if sharpen:
        luma = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
        out = _sharpen(out, strength, 1.5, 2, luma=_seen(luma, weights) if alpha is not None else luma)
    if alpha is not None and out is not pixels:
        out = cv2.copyTo(pixels, (alpha == 0).view(np.uint8), out)
    return out


# --------------------------------------------------------------------------------------------
# All of it


def enhance(
    pixels: np.ndarray,
    *,
    strength: float = 0.5,
    white_balance: bool = True,
    exposure: bool = True,
    contrast: bool = True,
    sharpen: bool = True,
    alpha: np.ndarray | None = None,
) -> np.ndarray:
    """One-call enhancement that keeps a product's true colour: white balance and exposure, local
    contrast, sharpening.

    pixels: RGB, HxWx3, uint8. alpha: HxW uint8 (255 = product) or None. strength: 0..1 given
    to every enabled stage (0 returns an identical copy of the input, 1 is each stage's full
    effect). The product is the alpha's opaque part; without an alpha, what is not the border's
    backdrop (``estimate_backdrop``). With a product known: white balance and exposure from the
    backdrop when it is a light neutral one (else none), one gain LUT; local
    contrast (CLAHE detail on lightness) and sharpening with no mean change over the product;
    transparent pixels unchanged; a well-exposed product on white (or cut out) keeps its mean
    colour. Without one (a cluttered scene): white balance from near-neutral pixels, then the
    classical levels stretch, CLAHE and sharpening of the whole image.
    Returns a new RGB uint8 array.
    """
    check_rgb(pixels)
    strength = check_number("strength", strength, 0.0, 1.0)
    if alpha is not None:
        check_mask(alpha, pixels.shape[:2], name="alpha")
    if strength == 0.0 or not (white_balance or exposure or contrast or sharpen):
        return pixels.copy()
    weights, backdrop = _product_weights(pixels, alpha)
    if weights is not None:
        out = _enhance_product(pixels, strength, weights, backdrop, alpha, white_balance=white_balance,
                               exposure=exposure, contrast=contrast, sharpen=sharpen)
        return out.copy() if out is pixels else out
    out = pixels
    if white_balance:
        gains = _neutral_gains(pixels)
        if gains is not None:
            out = cv2.LUT(out, _gain_lut(np.power(gains, strength)))
    if exposure or contrast:
        planes = _split_lab(out)
        if exposure:
            planes = _levels_lab(planes, strength, 0.5)
        if contrast:
            planes[0] = _clahe(planes[0], strength, 2.0, 8)
        out = _merge_lab(planes)
    if sharpen:
        out = _sharpen(out, strength, 1.5, 2)
    return out.copy() if out is pixels else out


class EnhanceOptions(OpOptions):
    strength: float = Field(0.5, ge=0.0, le=1.0, description="0 = unchanged, 1 = full effect of every stage")
    white_balance: bool = Field(
        True, description="remove a colour cast measured on a light neutral backdrop (a scene: on its neutral pixels)"
    )
    exposure: bool = Field(True, description="make a near-white backdrop white; levels on a scene with no product")
    contrast: bool = Field(True, description="local contrast (CLAHE detail on lightness)")
    sharpen: bool = Field(True, description="thresholded unsharp mask on luminance")


@register_op("enhance", options=EnhanceOptions)
def enhance_step(item: ImageItem, options: EnhanceOptions) -> ImageItem:
    """White balance, exposure, local contrast and sharpening that keep the product's colour; the
    alpha is kept and, when there is one, is what the product is."""
    pixels = enhance(
        item.pixels,
        strength=options.strength,
        white_balance=options.white_balance,
        exposure=options.exposure,
        contrast=options.contrast,
        sharpen=options.sharpen,
        alpha=item.alpha,
    )
    return item.replace(pixels=pixels)
