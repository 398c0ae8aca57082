"""Colour-photo denoisers: residual CNNs told the noise level (DnCNN / FFDNet style).

Layout (Zhang et al. 2017, DnCNN, with FFDNet's noise-level map as an extra input)::

    in     noisy RGB N×3×H×W in [0, 1] and the noise std sigma (0..1 units) per image or per pixel
    down   ``downscale`` 1: none (DnCNN); 2: pixel-unshuffle ×2 (FFDNet) → N×12×H/2×W/2
           the sigma map is concatenated as one more channel
    body   ``depth`` conv3×3 layers of ``width`` channels; batch norm on the inner layers; ReLU
    tail   the last conv gives the noise estimate (pixel-shuffled back when ``downscale`` is 2)
    out    noisy − noise estimate (not clipped; the caller clips)

The sigma input lets one network handle every noise level and lets the user turn the strength
up or down. In short CPU trainings the half-resolution FFDNet layout learned far more slowly
than the full-resolution one (it sat at the noisy input's PSNR for hundreds of steps where the
full-resolution one climbed 3-4 dB; see docs/restoration.md).

``arch="unet"`` is a small U-Net in the manner of DRUNet (Zhang et al. 2021, "Plug-and-play
image restoration"): the same inputs (noisy RGB and the sigma map), no batch norm, and
``levels`` resolutions with ``blocks`` residual blocks (conv3×3-ReLU-conv3×3 plus the input)
at each, ``width`` channels doubling at each level::

    head   conv3×3 (4 → width)
    down   per level: residual blocks, then conv2×2 stride 2 (channels × 2)
    middle residual blocks at 1 / 2^(levels-1) of the resolution
    up     per level: transposed conv2×2 stride 2, plus the encoder's features, residual blocks
    tail   conv3×3 → the noise estimate

The coarse levels see a wide neighbourhood for little compute (a plain 7-layer network sees
15×15 pixels), which is what flat regions at high noise need. Any H and W work: the input is
padded by reflection to a multiple of 2^(levels-1) and the result cropped back.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .padding import pad_to_multiple
from .registry import ModelConfig, register_model


@dataclass(frozen=True)
class DenoiserConfig(ModelConfig):
    width: int = 32
    depth: int = 10
    channels: int = 3
    downscale: int = 1  # 1 = full resolution (DnCNN), 2 = pixel-unshuffle (FFDNet)
    batch_norm: bool = True
    arch: str = "plain"  # plain: a stack of convolutions (DnCNN/FFDNet); unet: DRUNet-style U-Net
    levels: int = 3  # unet only: resolutions (widths width, 2 width, 4 width, ...)
    blocks: int = 2  # unet only: residual blocks per level and side

    def __post_init__(self) -> None:
        if self.width < 1 or self.depth < 2 or self.channels < 1:
            raise ValueError(f"width >= 1, depth >= 2 and channels >= 1 are required; got {self}")
        if self.downscale not in (1, 2):
            raise ValueError(f"downscale must be 1 or 2; got {self.downscale}")
        if self.arch not in ("plain", "unet"):
            raise ValueError(f"arch must be 'plain' or 'unet'; got {self.arch!r}")
        if self.arch == "unet" and (self.levels < 1 or self.blocks < 1 or self.downscale != 1):
            raise ValueError(f"a unet needs levels >= 1, blocks >= 1 and downscale 1; got {self}")

    def build(self) -> nn.Module:
        return UNetDenoiser(self) if self.arch == "unet" else SigmaDenoiser(self)

    @property
    def multiple(self) -> int:
        """Tiles start at multiples of this, so a tiled result equals the untiled one."""
        return 2 ** (self.levels - 1) if self.arch == "unet" else self.downscale

    @property
    def receptive_radius(self) -> int:
        """How many pixels each way an output pixel depends on at most (tiles need this much context)."""
        if self.arch == "unet":
            # An upper bound: head and tail 1 each; at level l each conv3x3 adds 2^l, each down /
            # up conv 2^l (the true reach, which depends on the pixel's place on the stride-2 grid,
            # is a little less: 43 of 48 for the shipped preset).
            radius = 2
            for level in range(self.levels):
                convs = 2 * self.blocks * (1 if level == self.levels - 1 else 2)
                radius += convs * 2**level + (2 * 2**level if level < self.levels - 1 else 0)
            return radius
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
        h, w = noisy.shape[-2:]
        d = self.config.downscale
        if h % d or w % d:
            raise ValueError(f"height and width must be multiples of {d}; got {h}x{w} (pad first)")
        x = F.pixel_unshuffle(noisy, d) if d > 1 else noisy
        sigma_map = _sigma_map(sigma, x)
        if d > 1 and sigma_map.shape[-2:] == (h, w):
            sigma_map = F.avg_pool2d(sigma_map, d)
        noise = self.body(torch.cat([x, sigma_map], 1))
        return noisy - (F.pixel_shuffle(noise, d) if d > 1 else noise)


def _sigma_map(sigma: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor:
    """sigma as an N×1×H×W map the size of ``like`` (N×C×H×W)."""
    n, _, h, w = like.shape
    sigma = torch.as_tensor(sigma, dtype=like.dtype, device=like.device)
    if sigma.ndim <= 1:
        return sigma.reshape(-1, 1, 1, 1).expand(n, 1, h, w)
    return sigma


class _ResBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(width, width, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UNetDenoiser(nn.Module):
    """DRUNet-style U-Net told sigma: ``forward(noisy, sigma)`` as ``SigmaDenoiser``, any H and W."""

    def __init__(self, config: DenoiserConfig) -> None:
        super().__init__()
        self.config = config
        c, w, blocks = config.channels, config.width, config.blocks
        widths = [w * 2**level for level in range(config.levels)]
        self.head = nn.Conv2d(c + 1, w, 3, padding=1)
        self.encoders = nn.ModuleList(nn.Sequential(*[_ResBlock(widths[i]) for _ in range(blocks)]) for i in range(config.levels - 1))
        self.downs = nn.ModuleList(nn.Conv2d(widths[i], widths[i + 1], 2, stride=2) for i in range(config.levels - 1))
        self.middle = nn.Sequential(*[_ResBlock(widths[-1]) for _ in range(blocks)])
        self.ups = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in range(config.levels - 1))
        self.decoders = nn.ModuleList(nn.Sequential(*[_ResBlock(widths[i]) for _ in range(blocks)]) for i in range(config.levels - 1))
        self.tail = nn.Conv2d(w, c, 3, padding=1)

    def forward(self, noisy: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
        h, w = noisy.shape[-2:]
        x = self.head(pad_to_multiple(torch.cat([noisy, _sigma_map(sigma, noisy)], 1), self.config.multiple))
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            x = encoder(x)
            skips.append(x)
            x = down(x)
        x = self.middle(x)
        for i in reversed(range(len(self.ups))):
            x = self.decoders[i](self.ups[i](x) + skips[i])
        return noisy - self.tail(x)[..., :h, :w]


@register_model("denoiser_cnn")
def denoiser_cnn(**overrides: object) -> DenoiserConfig:
    """Colour denoiser, DnCNN-style at full resolution told sigma: 7 conv layers of 40 channels (shipped)."""
    return DenoiserConfig(width=40, depth=7).replace(**overrides)


@register_model("denoiser_ffd")
def denoiser_ffd(**overrides: object) -> DenoiserConfig:
    """FFDNet-style at half resolution: 12 layers of 48 channels (learns slowly in short trainings)."""
    return DenoiserConfig(width=48, depth=12, downscale=2).replace(**overrides)


@register_model("denoiser_unet")
def denoiser_unet(**overrides: object) -> DenoiserConfig:
    """DRUNet-style U-Net told sigma: 3 levels of 32-64-128 channels, 2 residual blocks each."""
    return DenoiserConfig(arch="unet", width=32, levels=3, blocks=2, batch_norm=False).replace(**overrides)


@register_model("denoiser_tiny")
def denoiser_tiny(**overrides: object) -> DenoiserConfig:
    """A tiny denoiser (4 layers of 8 channels) for tests and quick runs."""
    return DenoiserConfig(width=8, depth=4).replace(**overrides)
