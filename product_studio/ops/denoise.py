"""Denoising: a noise-level estimate and non-local means, the classical baseline.

``estimate_noise_sigma`` (``vision.noise``) measures the standard deviation of additive noise from the image
itself; ``denoise_nlm`` sets OpenCV's non-local means filter strength from it, so one
``strength`` setting suits clean and noisy photos alike. The ``denoise`` step's default method
is the learned CNN (``product_studio.restore.denoise.denoise_cnn``, a U-Net told the same noise
estimate) when its shipped weights load, else non-local means.

Speed: non-local means is slow -- about 1.4 s per megapixel on one core (the noise estimate
itself takes about 10 ms per megapixel); the CNN's speed is in docs/restoration.md.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from ..item import ImageItem, check_rgb
from ..vision.noise import estimate_noise_sigma
from .enhance import check_number
from .registry import OpOptions, register_op

# NLM filter strength h = NLM_H_PER_SIGMA * strength * sigma on the lightness; the chroma
# channels get CHROMA_H_SHARE of that (OpenCV's hColor). With these, strength 0.5 (h = 0.6 sigma)
# gave the best PSNR on skimage's astronaut (256 px) with Gaussian noise of sigma 5..25, from a
# sweep of h = 0.4 .. 1.2 sigma and hColor = 1 .. 1.5 h; smooth images prefer a little more.
NLM_H_PER_SIGMA = 1.2
CHROMA_H_SHARE = 1.0
MIN_H = 0.5  # below this the filter would change nothing visible: skip it


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
