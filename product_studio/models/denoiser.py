"""Colour-photo denoisers: residual CNNs told the noise level (DnCNN / FFDNet style).

Layout (Zhang et al. 2017, DnCNN, with FFDNet's noise-level map as an extra input)::

    in     noisy RGB N×3×H×W in [0, 1] and the noise std sigma (0..1 units) per image or per pixel
    down   ``downscale`` 1: none (DnCNN); 2: pixel-unshuffle ×2 (FFDNet) → N×12×H/2×W/2
           the sigma map is concatenated as one more channel
    body   ``depth`` conv3×3 layers of ``width`` channels; batch norm on the inner layers; ReLU
    tail   the last conv gives the noise estimate (pixel-shuffled back when ``downscale`` is 2)
    out    noisy − noise estimate (not clipped; the caller clips)

The sigma input lets one network handle every noise level and lets the user turn the strength
up or down. The shipped preset works at full resolution: in short CPU trainings the
half-resolution FFDNet layout learned far more slowly (it sat at the noisy input's PSNR for
hundreds of steps where the full-resolution one climbed 3-4 dB; see docs/restoration.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .registry import register_model


@dataclass(frozen=True)
class DenoiserConfig:
    width: int = 32
    depth: int = 10
    channels: int = 3
    downscale: int = 1  # 1 = full resolution (DnCNN), 2 = pixel-unshuffle (FFDNet)
    batch_norm: bool = True

    def __post_init__(self) -> None:
        if self.width < 1 or self.depth < 2 or self.channels < 1:
            raise ValueError(f"width >= 1, depth >= 2 and channels >= 1 are required; got {self}")
        if self.downscale not in (1, 2):
            raise ValueError(f"downscale must be 1 or 2; got {self.downscale}")

    def replace(self, **changes: object) -> DenoiserConfig:
        return dataclasses.replace(self, **changes)

    def build(self) -> SigmaDenoiser:
        return SigmaDenoiser(self)

    @property
    def receptive_radius(self) -> int:
        """How many pixels each way an output pixel depends on (for tiled inference)."""
        return self.depth * self.downscale + self.downscale - 1


class SigmaDenoiser(nn.Module):
    """``forward(noisy, sigma)``: noisy N×C×H×W (H, W multiples of ``downscale``), sigma a float,
    an N-vector or an N×1×H×W map, in the same 0..1 units as the pixels."""

    def __init__(self, config: DenoiserConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels * config.downscale**2
        layers: list[nn.Module] = [nn.Conv2d(c + 1, config.width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(config.depth - 2):
            if config.batch_norm:
                layers += [nn.Conv2d(config.width, config.width, 3, padding=1, bias=False), nn.BatchNorm2d(config.width)]
            else:
                layers.append(nn.Conv2d(config.width, config.width, 3, padding=1))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(config.width, c, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, noisy: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
        n, _, h, w = noisy.shape
        d = self.config.downscale
        if h % d or w % d:
            raise ValueError(f"height and width must be multiples of {d}; got {h}x{w} (pad first)")
        x = F.pixel_unshuffle(noisy, d) if d > 1 else noisy
        sigma = torch.as_tensor(sigma, dtype=noisy.dtype, device=noisy.device)
        if sigma.ndim <= 1:
            sigma_map = sigma.reshape(-1, 1, 1, 1).expand(n, 1, h // d, w // d)
        else:
            sigma_map = F.avg_pool2d(sigma, d) if d > 1 and sigma.shape[-2:] == (h, w) else sigma
        noise = self.body(torch.cat([x, sigma_map], 1))
        return noisy - (F.pixel_shuffle(noise, d) if d > 1 else noise)


@register_model("denoiser_cnn")
def denoiser_cnn(**overrides: object) -> DenoiserConfig:
    """Colour denoiser, DnCNN-style at full resolution told sigma: 7 conv layers of 40 channels (shipped)."""
    return DenoiserConfig(width=40, depth=7).replace(**overrides)


@register_model("denoiser_ffd")
def denoiser_ffd(**overrides: object) -> DenoiserConfig:
    """FFDNet-style at half resolution: 12 layers of 48 channels (learns slowly in short trainings)."""
    return DenoiserConfig(width=48, depth=12, downscale=2).replace(**overrides)


@register_model("denoiser_tiny")
def denoiser_tiny(**overrides: object) -> DenoiserConfig:
    """A tiny denoiser (4 layers of 8 channels) for tests and quick runs."""
    return DenoiserConfig(width=8, depth=4).replace(**overrides)
