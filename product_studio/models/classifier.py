"""Image classifiers: a compact ResNet for small images (Fashion-MNIST, user catalogues).

Layout (He et al. 2016, sized for 28×28 and 64×64 inputs on a CPU)::

    stem   conv3×3(in→w0) BN ReLU                          (stride 2 first when ``stem_stride=2``)
    stage  i = 0..n-1: ``depths[i]`` basic blocks of width ``widths[i]``, the first with stride 2 for i>0
    head   global average pool, dropout, linear → ``num_classes`` logits

Input: float tensor N×C×H×W, values in [0, 1] (the module normalises with ``mean``/``std``).
Output: N×num_classes logits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from .registry import ModelConfig, register_model

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@dataclass(frozen=True)
class ClassifierConfig(ModelConfig):
    tuple_fields: ClassVar[tuple[str, ...]] = ("widths", "depths", "class_names")

    in_channels: int = 1
    num_classes: int = 10
    image_size: int = 28
    widths: tuple[int, ...] = (32, 64, 128)
    depths: tuple[int, ...] = (1, 1, 1)
    stem_stride: int = 1
    dropout: float = 0.1
    mean: float = 0.286
    std: float = 0.353
    class_names: tuple[str, ...] = field(default=FASHION_MNIST_CLASSES)

    def __post_init__(self) -> None:
        if len(self.widths) != len(self.depths) or not self.widths:
            raise ValueError(f"widths {self.widths} and depths {self.depths} must be non-empty and of equal length")
        if self.class_names and len(self.class_names) != self.num_classes:
            raise ValueError(f"{len(self.class_names)} class names for {self.num_classes} classes")

    def build(self) -> ImageClassifier:
        return ImageClassifier(self)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x), inplace=True)


class ImageClassifier(nn.Module):
    """A compact ResNet; ``features`` (the last stage's maps) is exposed for Grad-CAM."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        w0 = config.widths[0]
        self.stem = nn.Sequential(
            nn.Conv2d(config.in_channels, w0, 3, config.stem_stride, 1, bias=False),
            nn.BatchNorm2d(w0),
            nn.ReLU(inplace=True),
        )
        stages, cin = [], w0
        for i, (width, depth) in enumerate(zip(config.widths, config.depths)):
            blocks = [BasicBlock(cin, width, 1 if i == 0 else 2)]
            blocks += [BasicBlock(width, width, 1) for _ in range(depth - 1)]
            stages.append(nn.Sequential(*blocks))
            cin = width
        self.stages = nn.Sequential(*stages)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(cin, config.num_classes)
        self.register_buffer("_mean", torch.tensor(float(config.mean)), persistent=False)
        self.register_buffer("_std", torch.tensor(float(config.std)), persistent=False)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        # No zero-init of the blocks' last BN: in a net this shallow it made the first epochs
        # several times slower (the network starts as little more than a pooled linear model).

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's feature maps (N×C×h×w) for an input in [0, 1]."""
        return self.stages(self.stem((x - self._mean) / self._std))

    def classify_features(self, maps: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(torch.flatten(F.adaptive_avg_pool2d(maps, 1), 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify_features(self.features(x))


@register_model("fmnist_cnn")
def fmnist_cnn(**overrides: object) -> ClassifierConfig:
    """Fashion-MNIST: 28×28 grayscale, 10 classes; a 3-stage ResNet sized for 2 CPU cores (shipped)."""
    return ClassifierConfig(widths=(24, 48, 96), depths=(1, 1, 1)).replace(**overrides)


@register_model("fmnist_cnn_tiny")
def fmnist_cnn_tiny(**overrides: object) -> ClassifierConfig:
    """Fashion-MNIST, a third of the compute: for quick runs and tests."""
    return ClassifierConfig(widths=(12, 24, 48), depths=(1, 1, 1)).replace(**overrides)


@register_model("fmnist_resnet")
def fmnist_resnet(**overrides: object) -> ClassifierConfig:
    """Fashion-MNIST, two blocks per stage and wider (about 4× the compute of fmnist_cnn)."""
    return ClassifierConfig(widths=(32, 64, 128), depths=(2, 2, 2)).replace(**overrides)


@register_model("catalog_cnn_64")
def catalog_cnn_64(**overrides: object) -> ClassifierConfig:
    """User catalogues: 64×64 RGB, any number of categories (set ``class_names`` or ``num_classes``)."""
    return ClassifierConfig(
        in_channels=3,
        num_classes=2,
        image_size=64,
        widths=(32, 64, 128, 192),
        depths=(1, 1, 1, 1),
        stem_stride=2,
        dropout=0.2,
        mean=0.5,
        std=0.25,
        class_names=(),
    ).replace(**overrides)
