"""Learned denoising of colour photos with the shipped U-Net told the noise level.

    clean = denoise_cnn(pixels)                      # noise level estimated from the image
    clean = denoise_cnn(pixels, strength=0.8)        # smooth harder
    clean = denoise_cnn(pixels, sigma=25)            # the noise std is known (0..255 levels)

The network (``models/denoiser.py``, preset ``denoiser_unet``: a DRUNet-style U-Net) is told the noise level; ``strength`` scales the level it is
told: ``sigma_fed = 2 * strength * sigma``, so 0.5 (the default) feeds the measured level (best
PSNR), 1 twice that, and 0 returns the image unchanged -- the same scale as the non-local means
method. Any resolution runs in tiles of at most ``max_tile_pixels`` (peak memory about
1 KB per tile pixel; the default 512x512 tile needs about 270 MB).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import ModelError, UsageError
from ..item import check_rgb

DENOISER_WEIGHTS = "denoiser_unet.safetensors"
DEFAULT_MAX_TILE_PIXELS = 512 * 512
MIN_SIGMA = 0.5  # levels: below this the network would change nothing visible


def denoiser_available() -> bool:
    """Whether the shipped denoiser weights are installed and load."""
    try:
        load_denoiser()
    except ModelError:
        return False
    return True


@functools.lru_cache(maxsize=4)
def load_denoiser(path: str | None = None):
    """The denoiser network (eval mode), loaded once per process; ``path`` None = the shipped file."""
    from ..models.registry import WEIGHTS_DIR, load_model, read_manifest

    if path is None:
        target = WEIGHTS_DIR / DENOISER_WEIGHTS
        if DENOISER_WEIGHTS not in read_manifest().get("weights", {}) or not target.exists():
            raise ModelError(
                f"the denoiser weights {DENOISER_WEIGHTS} are not installed in {WEIGHTS_DIR}; reinstall "
                "product-studio, train them with scripts/train_denoiser.py --ship, or use method 'nlm'"
            )
        path = str(target)
    model = load_model(Path(path), expect_family="denoiser")
    if model.config.channels != 3:
        raise ModelError(f"{path} holds {model.model_name!r}, a denoiser for {model.config.channels} channels, not colour", path=str(path))
    return model


def denoise_cnn(
    pixels: np.ndarray,
    *,
    strength: float = 0.5,
    sigma: float | None = None,
    model=None,
    max_tile_pixels: int = DEFAULT_MAX_TILE_PIXELS,
    flip_ensemble: bool | None = None,
    bf16: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Denoise RGB HxWx3 uint8 ``pixels`` with the CNN; returns a new RGB uint8 array of the same size.

    sigma: the noise std in levels (0..100), estimated with ``estimate_noise_sigma`` when None.
    strength: 0..1, scales the level the network is told (0.5 = as measured; 0 = unchanged).
    flip_ensemble: also denoise the mirror image and average the two (about +0.1 dB at sigma 25 on
    the held-out photos, twice the time). bf16: run the convolutions in bfloat16 (half the time on
    CPUs with bf16 instructions; -0.01 dB). None (the default) turns both on where
    ``runtime.use_bf16`` says so (the CPU has bf16 instructions, or ``PRODUCT_STUDIO_BF16=1``),
    where together they cost what one fp32 pass does and add 0.09 dB (docs/restoration.md), and
    both off elsewhere, where emulated bf16 would be slower.
    """
    import torch

    from ..models.padding import pad_to_multiple
    from ..ops.enhance import check_number
    from ..runtime import use_bf16
    from ..vision.noise import estimate_noise_sigma
    from ..vision.tiling import run_tiled
    from .data import to_float, to_uint8

    check_rgb(pixels)
    strength = check_number("strength", strength, 0.0, 1.0)
    if bf16 is None:
        bf16 = use_bf16()
    if flip_ensemble is None:
        flip_ensemble = bf16
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

    d = model.config.multiple

    def network(tile: torch.Tensor) -> torch.Tensor:
        h, w = tile.shape[-2:]
        tile = pad_to_multiple(tile, d)
        # Padded to the network's grid first, so the mirrored pass keeps every pixel's place on the
        # stride grid whatever the tile: tiled and one-piece results stay equal.
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(tile, level).float()
            if flip_ensemble:
                out = (out + model(tile.flip(-1), level).float().flip(-1)) / 2
        return out[..., :h, :w]

    with torch.inference_mode():
        out = run_tiled(to_float(pixels), network, max_tile_pixels=max_tile_pixels, overlap=model.config.receptive_radius + 4, align=d,
                        progress=progress)
    return to_uint8(out)


def check_tile_cap(max_tile_pixels: int) -> int:
    if not 64 * 64 <= int(max_tile_pixels) <= 64_000_000:
        raise UsageError(f"max_tile_pixels must be between 4096 and 64000000; got {max_tile_pixels}")
    return int(max_tile_pixels)
