"""Super-resolution ×2 / ×4: an ESPCN/FSRCNN-style CNN on top of a bicubic upsample.

Layout (Shi et al. 2016, ESPCN; with the global bicubic skip of VDSR)::

    in     low-resolution RGB N×3×h×w in [0, 1]
    head   conv5×5(3→width) ReLU
    body   ``depth`` conv3×3(width→width) ReLU, all at the low resolution
    tail   conv3×3(width→3·scale²), pixel-shuffle ×scale → the residual N×3×(h·s)×(w·s)
    out    bicubic(in, ×scale) + residual (not clipped; the caller clips)

Everything but the final shuffle runs at the low resolution, so a ×4 net costs 1/16 of the same
net run on the output grid. Starting from bicubic means an untrained net is already bicubic.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .registry import ModelConfig, register_model


@dataclass(frozen=True)
class UpscalerConfig(ModelConfig):
    scale: int = 2
    width: int = 48
    depth: int = 6
    channels: int = 3

    def __post_init__(self) -> None:
        if self.scale not in (2, 3, 4):
            raise ValueError(f"scale must be 2, 3 or 4; got {self.scale}")
        if self.width < 1 or self.depth < 0:
            raise ValueError(f"width >= 1 and depth >= 0 are required; got {self}")

    def build(self) -> Upscaler:
        return Upscaler(self)


class Upscaler(nn.Module):
    """``forward(low)`` → N×C×(h·scale)×(w·scale)."""

    def __init__(self, config: UpscalerConfig) -> None:
        super().__init__()
        self.config = config
        s2 = config.scale * config.scale
        layers: list[nn.Module] = [nn.Conv2d(config.channels, config.width, 5, padding=2), nn.ReLU(inplace=True)]
        for _ in range(config.depth):
            layers += [nn.Conv2d(config.width, config.width, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(config.width, config.channels * s2, 3, padding=1))
        self.body = nn.Sequential(*layers)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.body[-1].weight, std=1e-3)

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        s = self.config.scale
        base = F.interpolate(low, scale_factor=s, mode="bicubic", align_corners=False)
        return base + F.pixel_shuffle(self.body(low), s)


@register_model("upscaler_x2")
def upscaler_x2(**overrides: object) -> UpscalerConfig:
    """×2 super-resolution: 8 conv layers of 48 channels at the input resolution (shipped)."""
    return UpscalerConfig(scale=2, width=48, depth=6).replace(**overrides)


@register_model("upscaler_x4")
def upscaler_x4(**overrides: object) -> UpscalerConfig:
    """×4 super-resolution: 8 conv layers of 48 channels at the input resolution (shipped)."""
    return UpscalerConfig(scale=4, width=48, depth=6).replace(**overrides)


@register_model("upscaler_tiny")
def upscaler_tiny(**overrides: object) -> UpscalerConfig:
    """A tiny ×2 upscaler (8 channels, 1 body layer) for tests and quick runs."""
    return UpscalerConfig(scale=2, width=8, depth=1).replace(**overrides)
