"""Defect detectors: a small U-Net that marks scratches, stains and dust on a photo, pixel by pixel.

Layout (Ronneberger et al. 2015, sized for 2 CPU cores)::

    encoder  level i = 0..n-1: [conv3×3 BN ReLU] × 2 at width ``widths[i]``, 2×2 max-pool between levels
    decoder  bilinear ×2 up, concatenate the encoder's level, [conv3×3 BN ReLU] × 2
    head     conv1×1 → 1 channel of logits (sigmoid = the probability that the pixel is a defect)

Input: float tensor N×3×H×W, RGB in [0, 1], any H and W (padded by reflection to a multiple of
2^(levels-1) inside ``forward`` and cropped back). Output: N×1×H×W logits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from .padding import pad_to_multiple
from .registry import ModelConfig, register_model


@dataclass(frozen=True)
class DefectDetectorConfig(ModelConfig):
    tuple_fields: ClassVar[tuple[str, ...]] = ("widths",)

    in_channels: int = 3
    widths: tuple[int, ...] = (16, 32, 48, 64)
    image_size: int = 96  # the training patch size; any size works at inference

    def __post_init__(self) -> None:
        if not self.widths or min(self.widths) < 1:
            raise ValueError(f"widths must be a non-empty tuple of positive ints; got {self.widths}")

    def build(self) -> DefectDetector:
        return DefectDetector(self)


def _double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class DefectDetector(nn.Module):
    """U-Net: RGB in [0, 1] → defect logits, same height and width."""

    def __init__(self, config: DefectDetectorConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.widths
        self.down = nn.ModuleList()
        cin = config.in_channels
        for width in widths:
            self.down.append(_double_conv(cin, width))
            cin = width
        self.up = nn.ModuleList(_double_conv(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(len(widths) - 1)))
        self.head = nn.Conv2d(widths[0], 1, 1)
        for module in self.modules():
            if isinstance(module, nn.Conv2d) and module is not self.head:
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        nn.init.constant_(self.head.bias, -2.0)  # most pixels are clean: start near p = 0.12

    @property
    def multiple(self) -> int:
        return 2 ** (len(self.config.widths) - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = self.multiple
        x = pad_to_multiple(x, m)
        x = x * 2 - 1
        skips = []
        for i, block in enumerate(self.down):
            if i:
                x = F.max_pool2d(x, 2)
            x = block(x)
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], 1))
        return self.head(x)[..., :h, :w]


@register_model("defect_unet_s")
def defect_unet_s(**overrides: object) -> DefectDetectorConfig:
    """Scratch, stain and dust detector: a 4-level U-Net (16-32-48-64 channels) for 2 CPU cores (shipped)."""
    return DefectDetectorConfig(widths=(16, 32, 48, 64)).replace(**overrides)


@register_model("defect_unet_tiny")
def defect_unet_tiny(**overrides: object) -> DefectDetectorConfig:
    """Scratch, stain and dust detector, 8-16 channels: for tests and quick runs."""
    return DefectDetectorConfig(widths=(8, 16), image_size=32).replace(**overrides)
