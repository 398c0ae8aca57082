"""Denoising: the learned CNN and non-local means, the classical baseline, both told the noise level.

    clean = denoise_cnn(pixels)                      # noise level estimated from the image
    clean = denoise_cnn(pixels, strength=0.8)        # smooth harder
    clean = denoise_cnn(pixels, sigma=25)            # the noise std is known (0..255 levels)

``estimate_noise_sigma`` (``vision.noise``) measures the standard deviation of additive noise from the image
itself, so one ``strength`` setting suits clean and noisy photos alike:

- ``denoise_cnn``: the shipped network (``models/denoiser.py``, preset ``denoiser_unet``: a DRUNet-style
  U-Net) is told the noise level; ``strength`` scales the level it is told: ``sigma_fed = 2 * strength *
  sigma``, so 0.5 (the default) feeds the measured level (best PSNR), 1 twice that, and 0 returns the
  image unchanged -- the same scale as non-local means. Any resolution runs in tiles of at most
  ``max_tile_pixels`` (peak memory about 1 KB per tile pixel; the default 512x512 tile needs about 270 MB).
- ``denoise_nlm``: OpenCV's non-local means, its filter strength set from the noise level.

The ``denoise`` step's default method is the CNN when its shipped weights load, else non-local means.

Speed: non-local means is slow -- about 1.4 s per megapixel on one core (the noise estimate
itself takes about 10 ms per megapixel); the CNN's speed is in docs/restoration.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from ..errors import ModelError, UsageError
from ..item import ImageItem, check_rgb
from ..vision.noise import estimate_noise_sigma
from .enhance import check_number
from .registry import LOCAL_ONLY, OpOptions, register_op

# NLM filter strength h = NLM_H_PER_SIGMA * strength * sigma on the lightness; the chroma
# channels get CHROMA_H_SHARE of that (OpenCV's hColor). With these, strength 0.5 (h = 0.6 sigma)
# gave the best PSNR on skimage's astronaut (256 px) with Gaussian noise of sigma 5..25, from a
# sweep of h = 0.4 .. 1.2 sigma and hColor = 1 .. 1.5 h; smooth images prefer a little more.
NLM_H_PER_SIGMA = 1.2
CHROMA_H_SHARE = 1.0
MIN_H = 0.5  # below this the filter would change nothing visible: skip it

DENOISER_WEIGHTS = "denoiser_unet.onnx"
DEFAULT_MAX_TILE_PIXELS = 512 * 512
MIN_SIGMA = 0.5  # levels: below this the network would change nothing visible


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


# ---- the learned denoiser ---------------------------------------------------------------------------


def denoiser_available() -> bool:
    """Whether the shipped denoiser weights are installed and load."""
    try:
        load_denoiser()
    except ModelError:
        return False
    return True


@functools.lru_cache(maxsize=4)
def load_denoiser(path: str | None = None):
    """The denoiser as an onnxruntime session (``runtime.LoadedModel``), opened once per process;
    ``path`` None = the shipped ``denoiser_unet.onnx`` (sha256 checked), else an ``.onnx`` exported
    from a `product-studio train denoiser` run (scripts/export_onnx.py)."""
    from ..models.registry import WEIGHTS_DIR
    from ..runtime import load_shipped, open_onnx

    if path is None:
        model = load_shipped(WEIGHTS_DIR / DENOISER_WEIGHTS,
                             hint="; train it with scripts/train_denoiser.py --ship, or use method 'nlm'")
    else:
        model = open_onnx(path, family="denoiser", hint="; give a file written by `product-studio train denoiser`")
    if model.config.get("channels") != 3:
        raise ModelError(f"{model.path} holds {model.model_name!r}, a denoiser for {model.config.get('channels')} channels, not colour",
                         path=str(model.path))
    if "multiple" not in model.metadata or "receptive_radius" not in model.metadata:
        raise ModelError(f"{model.path} lacks the 'multiple' and 'receptive_radius' metadata; export it with scripts/export_onnx.py",
                         path=str(model.path))
    return model


def pad_to_multiple(x: np.ndarray, multiple: int) -> np.ndarray:
    """An N×C×H×W array padded at the bottom and right so H and W are multiples of ``multiple``: by
    reflection where the image is larger than the padding (as ``models/padding.py`` does), else by
    repeating the edge. Crop back with ``[..., :h, :w]``."""
    h, w = x.shape[-2:]
    pad_h, pad_w = -h % multiple, -w % multiple
    if not (pad_h or pad_w):
        return x
    mode = "reflect" if min(h, w) > max(pad_h, pad_w) else "edge"
    return np.pad(x, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)), mode=mode)


def denoise_cnn(
    pixels: np.ndarray,
    *,
    strength: float = 0.5,
    sigma: float | None = None,
    model=None,
    max_tile_pixels: int = DEFAULT_MAX_TILE_PIXELS,
    flip_ensemble: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Denoise RGB HxWx3 uint8 ``pixels`` with the CNN (onnxruntime, float32); returns a new RGB
    uint8 array of the same size.

    sigma: the noise std in levels (0..100), estimated with ``estimate_noise_sigma`` when None.
    strength: 0..1, scales the level the network is told (0.5 = as measured; 0 = unchanged).
    flip_ensemble: also denoise the mirror image and average the two (about +0.1 dB at sigma 25 on
    the held-out photos, twice the time).
    """
    from ..vision.tiling import run_tiled

    check_rgb(pixels)
    strength = check_number("strength", strength, 0.0, 1.0)
    if sigma is None:
        sigma = estimate_noise_sigma(pixels) if strength > 0.0 and min(pixels.shape[:2]) >= 3 else 0.0
    else:
        sigma = check_number("sigma", sigma, 0.0, 100.0)
    fed = 2.0 * strength * sigma
    if fed < MIN_SIGMA:
        return pixels.copy()
    if model is None:
        model = load_denoiser()
    level = fed / 255.0

    d = int(model.metadata["multiple"])

    def network(tile: np.ndarray) -> np.ndarray:
        h, w = tile.shape[-2:]
        tile = pad_to_multiple(tile, d)
        # Padded to the network's grid first, so the mirrored pass keeps every pixel's place on the
        # stride grid whatever the tile: tiled and one-piece results stay equal.
        sigma_map = np.full((1, 1, *tile.shape[-2:]), level, np.float32)
        out = model.run(tile, sigma_map)[0]
        if flip_ensemble:
            out = (out + model.run(np.ascontiguousarray(tile[..., ::-1]), sigma_map)[0][..., ::-1]) / 2
        return out[..., :h, :w]

    out = run_tiled(pixels.astype(np.float32) / 255.0, network, max_tile_pixels=max_tile_pixels,
                    overlap=int(model.metadata["receptive_radius"]) + 4, align=d, progress=progress)
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


def check_tile_cap(max_tile_pixels: int) -> int:
    if not 64 * 64 <= int(max_tile_pixels) <= 64_000_000:
        raise UsageError(f"max_tile_pixels must be between 4096 and 64000000; got {max_tile_pixels}")
    return int(max_tile_pixels)


class DenoiseOptions(OpOptions):
    strength: float = Field(0.5, ge=0.0, le=1.0, description="0 = unchanged, 0.5 = best PSNR, 1 = smooth twice as hard")
    method: Literal["auto", "cnn", "nlm"] = Field(
        "cnn",
        description="cnn (learned, fast; a missing or damaged model is an error), nlm (non-local means, classical), "
        "auto = cnn, or nlm when the model cannot be loaded (the reason is reported as denoise_fallback)",
    )
    sigma: float | None = Field(None, ge=0.0, le=100.0, description="the noise std in 0..255 levels, when known (default: measured)")
    max_tile_pixels: int = Field(
        DEFAULT_MAX_TILE_PIXELS, ge=4096, le=64_000_000, description="memory cap: the largest tile the network sees",
        json_schema_extra=LOCAL_ONLY,
    )


def resolve_denoise_method(method: str) -> tuple[str, str | None]:
    """The method to run and, for ``auto`` without a loadable model, why it fell back to ``nlm``.
    ``cnn`` never falls back: a missing or damaged model raises ``ModelError`` naming the file."""
    if method != "auto":
        return method, None
    try:
        load_denoiser()
    except ModelError as exc:
        return "nlm", str(exc)
    return "cnn", None


@register_op("denoise", options=DenoiseOptions)
def denoise_step(item: ImageItem, options: DenoiseOptions) -> ImageItem:
    """Remove sensor/JPEG noise, with the filter set from an estimate of the noise level."""
    sigma = options.sigma if options.sigma is not None else estimate_noise_sigma(item.pixels)
    method, fallback = resolve_denoise_method(options.method)
    if method == "cnn":
        model = load_denoiser()
        pixels = denoise_cnn(item.pixels, strength=options.strength, sigma=sigma, model=model,
                             max_tile_pixels=options.max_tile_pixels)
        label = f"{model.model_name}@{_sha_prefix(model)}"
    else:
        pixels = denoise_nlm(item.pixels, strength=options.strength, sigma=sigma)
        label = None
    out = item.replace(pixels=pixels)
    out.metadata["noise_sigma"] = round(sigma, 2)
    out.metadata["denoise_method"] = method
    if fallback:
        out.metadata["denoise_fallback"] = fallback
    if label:
        out.step_model = label
    return out


def _sha_prefix(model: object) -> str:
    from ..models.registry import read_manifest

    path = getattr(model, "weight_path", "")
    entry = read_manifest().get("weights", {}).get(path.rsplit("/", 1)[-1], {})
    return str(entry.get("sha256", "unshipped"))[:12]
