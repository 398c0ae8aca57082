"""Denoising: a noise-level estimate and non-local means, the classical baseline.

``estimate_noise_sigma`` measures the standard deviation of additive noise from the image
itself; ``denoise_nlm`` sets OpenCV's non-local means filter strength from it, so one
``strength`` setting suits clean and noisy photos alike. The ``denoise`` step's default method
is the learned CNN (``product_studio.restore.denoise.denoise_cnn``, a U-Net told the same noise
estimate) when its shipped weights load, else non-local means.

Speed: non-local means is slow -- about 1.4 s per megapixel on one core (the noise estimate
itself takes about 10 ms per megapixel); the CNN's speed is in docs/restoration.md.
"""

from __future__ import annotations

import math
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from ..errors import UsageError
from ..item import ImageItem, check_rgb
from .enhance import check_number
from .registry import OpOptions, register_op

# Immerkaer's noise kernel: the difference of two Laplacians, blind to any locally planar
# (and most smooth) signal. Its response to white noise of std sigma has std 6 * sigma.
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_KERNEL_NORM = 6.0
_MAD_TO_SIGMA = 1.0 / 0.6744897501960817  # median(|N(0, 1)|)
_MAX_RESPONSES = 1_000_000

# NLM filter strength h = NLM_H_PER_SIGMA * strength * sigma on the lightness; the chroma
# channels get CHROMA_H_SHARE of that (OpenCV's hColor). With these, strength 0.5 (h = 0.6 sigma)
# gave the best PSNR on skimage's astronaut (256 px) with Gaussian noise of sigma 5..25, from a
# sweep of h = 0.4 .. 1.2 sigma and hColor = 1 .. 1.5 h; smooth images prefer a little more.
NLM_H_PER_SIGMA = 1.2
CHROMA_H_SHARE = 1.0
MIN_H = 0.5  # below this the filter would change nothing visible: skip it


def estimate_noise_sigma(pixels: np.ndarray) -> float:
    """Standard deviation (in 0..255 levels) of additive white noise per channel, estimated blind.

    pixels: RGB, HxWx3, uint8, at least 3x3. Each channel is filtered with Immerkaer's
    3x3 kernel, which cancels smooth image content, and the noise level is read from the
    median absolute response (robust to the edges and texture that remain), averaged over the
    channels. On Gaussian noise over a smooth image it is within a few percent of the truth;
    strong fine texture reads as extra noise. A clean smooth 8-bit image gives well under 1.
    """
    check_rgb(pixels)
    if pixels.shape[0] < 3 or pixels.shape[1] < 3:
        raise UsageError(f"estimating the noise needs at least 3x3 pixels; got {pixels.shape[1]}x{pixels.shape[0]}")
    # Integer responses (|r| <= 16 * 255 fits int16); only interior ones: the border would see
    # reflected, not real, neighbours.
    response = cv2.filter2D(pixels, cv2.CV_16S, _NOISE_KERNEL)[1:-1, 1:-1]
    step = max(1, int(math.sqrt(response.shape[0] * response.shape[1] / _MAX_RESPONSES)))
    magnitudes = np.abs(response[::step, ::step].reshape(-1, 3))
    sigmas = [_grouped_median(magnitudes[:, c]) * _MAD_TO_SIGMA / _KERNEL_NORM for c in range(3)]
    return float(np.mean(sigmas))


def _grouped_median(values: np.ndarray) -> float:
    """Median of non-negative integers that are rounded continuous values, interpolated within its bin.

    A plain median of integers is coarse (a noise sigma of 2 has a median |response| near 8, so
    one step is 12%); spreading each bin's count evenly over the values that round to it is not.
    """
    counts = np.bincount(values.astype(np.intp))
    cumulative = np.cumsum(counts)
    half = values.size / 2.0
    k = int(np.searchsorted(cumulative, half))
    below = cumulative[k] - counts[k]
    low, width = (0.0, 0.5) if k == 0 else (k - 0.5, 1.0)  # |x| rounds to 0 only from [0, 0.5)
    return low + (half - below) / counts[k] * width


def denoise_nlm(pixels: np.ndarray, *, strength: float = 0.5, sigma: float | None = None) -> np.ndarray:
    """Non-local means denoising (OpenCV ``fastNlMeansDenoisingColored``), tuned to the noise level.

    pixels: RGB, HxWx3, uint8. sigma: the noise std in levels (0..100); estimated with
    ``estimate_noise_sigma`` when None. strength: 0..1; the filter strength is
    ``h = NLM_H_PER_SIGMA * strength * sigma`` (0.5 is the best-PSNR setting, 1 smooths
    twice as hard, 0 returns an identical copy). A clean image (h below ``MIN_H``) comes back
    unchanged. Returns a new RGB uint8 array.
    """
    check_rgb(pixels)
    strength = check_number("strength", strength, 0.0, 1.0)
    if sigma is None:
        sigma = estimate_noise_sigma(pixels) if strength > 0.0 else 0.0
    else:
        sigma = check_number("sigma", sigma, 0.0, 100.0)
    h = NLM_H_PER_SIGMA * strength * sigma
    if h < MIN_H:
        return pixels.copy()
    # OpenCV converts BGR to LAB inside; give it BGR so lightness and chroma are the real ones.
    bgr = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    out = cv2.fastNlMeansDenoisingColored(
        bgr, None, h=h, hColor=h * CHROMA_H_SHARE, templateWindowSize=7, searchWindowSize=21
    )
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


class DenoiseOptions(OpOptions):
    strength: float = Field(0.5, ge=0.0, le=1.0, description="0 = unchanged, 0.5 = best PSNR, 1 = smooth twice as hard")
    method: Literal["auto", "cnn", "nlm"] = Field(
        "auto", description="cnn (learned, fast), nlm (non-local means, classical), auto = cnn when its weights are installed"
    )


def resolve_denoise_method(method: str) -> str:
    """``auto`` -> ``cnn`` when the shipped denoiser loads, else ``nlm``; others unchanged."""
    if method != "auto":
        return method
    from ..restore.denoise import denoiser_available

    return "cnn" if denoiser_available() else "nlm"


@register_op("denoise", options=DenoiseOptions)
def denoise_step(item: ImageItem, options: DenoiseOptions) -> ImageItem:
    """Remove sensor/JPEG noise, with the filter set from an estimate of the noise level."""
    sigma = estimate_noise_sigma(item.pixels)
    method = resolve_denoise_method(options.method)
    if method == "cnn":
        from ..restore.denoise import denoise_cnn, load_denoiser

        model = load_denoiser()
        pixels = denoise_cnn(item.pixels, strength=options.strength, sigma=sigma, model=model)
        label = f"{model.model_name}@{_sha_prefix(model)}"
    else:
        pixels = denoise_nlm(item.pixels, strength=options.strength, sigma=sigma)
        label = None
    out = item.replace(pixels=pixels)
    out.metadata["noise_sigma"] = round(sigma, 2)
    out.metadata["denoise_method"] = method
    if label:
        out.metadata["_model"] = label
    return out


def _sha_prefix(model: object) -> str:
    from ..models.registry import read_manifest

    path = getattr(model, "weight_path", "")
    entry = read_manifest().get("weights", {}).get(path.rsplit("/", 1)[-1], {})
    return str(entry.get("sha256", "unshipped"))[:12]
