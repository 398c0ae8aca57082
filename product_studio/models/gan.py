"""Class-conditional GANs for product images: ours, and the two baselines the benchmark compares with.

Three architectures share one config dataclass (``GANConfig.arch``) and one module (``GAN``) that holds
the generator, the discriminator and an exponential moving average (EMA) of the generator::

    gan = create_model("cgan_fmnist_28")
    images = gan.generate(torch.randn(8, gan.config.z_dim), torch.arange(8))   # N×C×H×W in [-1, 1]
    scores = gan.discriminator(images, torch.arange(8))                       # N (higher = more real)

``arch="sngan"`` (ours, shipped)
    Generator: z → linear → ``g_channels[0]``×b×b (b = 7 for 28×28, 4 for 64×64); per block conditional
    BatchNorm (a per-class gain and bias, de Vries et al. 2017 / Miyato & Koyama 2018) + ReLU,
    nearest-neighbour ×2 upsampling, 3×3 conv; a last CBN + ReLU + 3×3 conv to the image; tanh.
    Discriminator: spectral-norm convolutions (Miyato et al. 2018: a 3×3 conv, then per level a 4×4
    stride-2 conv and a 3×3 conv) with LeakyReLU(0.1), global sum pooling, ``linear(h) + embed(y)·h``
    (the projection discriminator). Trained with the hinge loss and TTUR (``product_studio.generate``).
``arch="dcgan"`` (the unconditional baseline)
    Radford et al. 2016 as people write it for 28×28: linear → 7×7×2c, BN ReLU, 4×4 stride-2
    transposed convs with BN ReLU, tanh; D: 4×4 stride-2 convs, BN, LeakyReLU(0.2), linear. Labels ignored.
``arch="seed"`` (the seed's architecture, reconstructed and corrected)
    The seed code is not in this repository; the issue describes it as the classic TensorFlow-tutorial
    DCGAN with the label concatenated as a one-hot. Reconstructed as: G: [z, one-hot(y)] → dense
    7×7×256 (no bias) → BN → LeakyReLU → reshape → 5×5 transposed conv 256→128 (stride 1) → BN →
    LeakyReLU → 5×5 transposed conv 128→64 (stride 2, 14×14) → BN → LeakyReLU → 5×5 transposed conv
    64→C (stride 2, 28×28) → tanh. D: [image, one-hot(y) broadcast as C planes] → 5×5 conv stride 2
    (64) → LeakyReLU → dropout 0.3 → 5×5 conv stride 2 (128) → LeakyReLU → dropout 0.3 → dense → 1.
    Corrected so it trains: the dense layer's output is reshaped to 256×7×7 (the seed's first layers
    did not fit), gradients flow through ``forward`` (not through a no-grad ``predict``) and the
    trainer gives G and D separate Adam optimizers. Nothing else is added: no spectral norm, no EMA
    (the EMA copy is kept in sync but the benchmark evaluates the raw generator), no augmentation, BCE loss.

Images are N×C×H×W floats in [-1, 1]; ``to_unit``/``from_unit`` convert from/to [0, 1].
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm

from .classifier import FASHION_MNIST_CLASSES
from .registry import ModelConfig, register_model

ARCHES = ("sngan", "dcgan", "seed")


@dataclass(frozen=True)
class GANConfig(ModelConfig):
    tuple_fields: ClassVar[tuple[str, ...]] = ("g_channels", "d_channels", "class_names")

    arch: str = "sngan"
    image_size: int = 28
    channels: int = 1
    num_classes: int = 10
    z_dim: int = 64
    g_channels: tuple[int, ...] = (96, 64, 32)
    d_channels: tuple[int, ...] = (32, 64, 128)
    class_names: tuple[str, ...] = FASHION_MNIST_CLASSES

    def __post_init__(self) -> None:
        if self.arch not in ARCHES:
            raise ValueError(f"unknown GAN arch {self.arch!r}; use one of {', '.join(ARCHES)}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB); got {self.channels}")
        if self.arch == "sngan":
            base = self.base_size
            levels = len(self.g_channels) - 1
            if base * 2**levels != self.image_size or len(self.d_channels) != len(self.g_channels):
                raise ValueError(
                    f"image_size {self.image_size} needs {int(math.log2(self.image_size / base))} upsampling levels "
                    f"from {base}×{base}: give g_channels and d_channels with that many entries plus one"
                )
        elif self.image_size != 28:
            raise ValueError(f"the {self.arch!r} baseline is defined for 28×28 images only")
        if self.class_names and len(self.class_names) != self.num_classes:
            raise ValueError(f"{len(self.class_names)} class names for {self.num_classes} classes")

    @property
    def base_size(self) -> int:
        """The generator's first feature-map size: 7 for 28×28 (and 14, 56...), else 4."""
        size = self.image_size
        while size % 2 == 0 and size > 7:
            size //= 2
        return size if size in (7, 4) else 4

    @property
    def conditional(self) -> bool:
        return self.arch != "dcgan"

    def build(self) -> GAN:
        return GAN(self)


# ---- ours: conditional-BN generator, spectral-norm projection discriminator ---------------------------


class ConditionalBatchNorm(nn.Module):
    """BatchNorm without its own affine, then a per-class gain (init 1) and bias (init 0)."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Embedding(max(num_classes, 1), channels)
        self.bias = nn.Embedding(max(num_classes, 1), channels)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.bn(x) * self.gain(y)[:, :, None, None] + self.bias(y)[:, :, None, None]


class SNGenerator(nn.Module):
    def __init__(self, c: GANConfig) -> None:
        super().__init__()
        self.base = c.base_size
        ch = c.g_channels
        self.linear = nn.Linear(c.z_dim, ch[0] * self.base * self.base)
        self.norms = nn.ModuleList(ConditionalBatchNorm(ch[i], c.num_classes) for i in range(len(ch)))
        self.convs = nn.ModuleList(nn.Conv2d(ch[i], ch[i + 1], 3, 1, 1) for i in range(len(ch) - 1))
        self.to_image = nn.Conv2d(ch[-1], c.channels, 3, 1, 1)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.linear(z).view(z.shape[0], -1, self.base, self.base)
        for norm, conv in zip(self.norms, self.convs):
            h = conv(F.interpolate(F.relu(norm(h, y)), scale_factor=2.0, mode="nearest"))
        return torch.tanh(self.to_image(F.relu(self.norms[-1](h, y))))


class SNDiscriminator(nn.Module):
    def __init__(self, c: GANConfig) -> None:
        super().__init__()
        ch = c.d_channels
        layers: list[nn.Module] = [spectral_norm(nn.Conv2d(c.channels, ch[0], 3, 1, 1))]
        for i in range(len(ch) - 1):
            layers += [spectral_norm(nn.Conv2d(ch[i], ch[i + 1], 4, 2, 1)), spectral_norm(nn.Conv2d(ch[i + 1], ch[i + 1], 3, 1, 1))]
        self.convs = nn.ModuleList(layers)
        self.linear = spectral_norm(nn.Linear(ch[-1], 1))
        self.embed = spectral_norm(nn.Embedding(max(c.num_classes, 1), ch[-1])) if c.conditional else None

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = x
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.1)
        h = h.sum((2, 3))
        out = self.linear(h).squeeze(1)
        if self.embed is not None:
            out = out + (self.embed(y) * h).sum(1)
        return out


# ---- the unconditional DCGAN baseline ------------------------------------------------------------------


class DCGANGenerator(nn.Module):
    def __init__(self, c: GANConfig) -> None:
        super().__init__()
        w = c.g_channels[0]
        self.linear = nn.Sequential(nn.Linear(c.z_dim, 2 * w * 49, bias=False), nn.BatchNorm1d(2 * w * 49), nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
            nn.ConvTranspose2d(w, c.channels, 4, 2, 1), nn.Tanh(),
        )
        self.width = 2 * w

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(self.linear(z).view(z.shape[0], self.width, 7, 7))


class DCGANDiscriminator(nn.Module):
    def __init__(self, c: GANConfig) -> None:
        super().__init__()
        w = c.d_channels[0]
        self.net = nn.Sequential(
            nn.Conv2d(c.channels, w, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * w * 49, 1),
        )

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


# ---- the seed's architecture (reconstructed, corrected) ------------------------------------------------


class SeedGenerator(nn.Module):
    def __init__(self, c: GANConfig) -> None:
        super().__init__()
        self.num_classes = c.num_classes
        self.dense = nn.Linear(c.z_dim + c.num_classes, 256 * 7 * 7, bias=False)
        self.bn0 = nn.BatchNorm1d(256 * 7 * 7)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(256, 128, 5, 1, 2, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.3),
            nn.ConvTranspose2d(128, 64, 5, 2, 2, output_padding=1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.3),
            nn.ConvTranspose2d(64, c.channels, 5, 2, 2, output_padding=1, bias=False), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.dense(torch.cat([z, F.one_hot(y, self.num_classes).float()], 1))
        h = F.leaky_relu(self.bn0(h), 0.3).view(z.shape[0], 256, 7, 7)  # the corrected reshape
        return self.net(h)


class SeedDiscriminator(nn.Module):
    def __init__(self, c: GANConfig) -> None:
        super().__init__()
        self.num_classes = c.num_classes
        self.net = nn.Sequential(
            nn.Conv2d(c.channels + c.num_classes, 64, 5, 2, 2), nn.LeakyReLU(0.3), nn.Dropout(0.3),
            nn.Conv2d(64, 128, 5, 2, 2), nn.LeakyReLU(0.3), nn.Dropout(0.3),
            nn.Flatten(), nn.Linear(128 * 49, 1),
        )

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        planes = F.one_hot(y, self.num_classes).to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return self.net(torch.cat([x, planes], 1)).squeeze(1)


_PARTS = {"sngan": (SNGenerator, SNDiscriminator), "dcgan": (DCGANGenerator, DCGANDiscriminator), "seed": (SeedGenerator, SeedDiscriminator)}


class GAN(nn.Module):
    """Generator, discriminator and the generator's EMA (``generator_ema``, never trained directly)."""

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        make_g, make_d = _PARTS[config.arch]
        self.generator = make_g(config)
        self.discriminator = make_d(config)
        self.generator_ema = copy.deepcopy(self.generator).eval()
        for p in self.generator_ema.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> GAN:
        super().train(mode)
        self.generator_ema.eval()  # the EMA copy always runs on its running statistics
        return self

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Discriminator scores of freshly generated images (so every parameter takes part)."""
        return self.discriminator(self.generator(z, y), y)

    def generate(self, z: torch.Tensor, y: torch.Tensor, *, ema: bool = True) -> torch.Tensor:
        """Images N×C×H×W in [-1, 1] for latents ``z`` (N×z_dim) and class indices ``y`` (N)."""
        net = self.generator_ema if ema else self.generator
        return net(z, y)

    @torch.no_grad()
    def update_ema(self, decay: float) -> None:
        for e, p in zip(self.generator_ema.parameters(), self.generator.parameters()):
            e.lerp_(p.detach(), 1.0 - decay)
        for e, b in zip(self.generator_ema.buffers(), self.generator.buffers()):
            e.copy_(b)


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] → [0, 1]."""
    return (x + 1.0) / 2.0


def from_unit(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] → [-1, 1]."""
    return x * 2.0 - 1.0


@register_model("cgan_fmnist_28")
def cgan_fmnist_28(**overrides: object) -> GANConfig:
    """Fashion-MNIST 28×28 grayscale: conditional-BN generator, SN projection discriminator (shipped)."""
    return GANConfig().replace(**overrides)


@register_model("cgan_fmnist_28_wide")
def cgan_fmnist_28_wide(**overrides: object) -> GANConfig:
    """Fashion-MNIST 28×28, 2.7× the generator and 4× the discriminator of ``cgan_fmnist_28`` (the shipped
    weights): for a GPU (``--device cuda --batch-size 256``); on 2 CPU cores a step takes seconds."""
    return GANConfig(g_channels=(256, 128, 64), d_channels=(64, 128, 256)).replace(**overrides)


@register_model("cgan_64")
def cgan_64(**overrides: object) -> GANConfig:
    """User catalogues, 64×64 RGB (set ``class_names``): 4×4 → 64×64 generator, SN projection D."""
    return GANConfig(
        image_size=64, channels=3, num_classes=2, z_dim=64, g_channels=(128, 96, 64, 32, 16),
        d_channels=(16, 32, 64, 96, 96), class_names=(),
    ).replace(**overrides)


@register_model("dcgan_fmnist_28")
def dcgan_fmnist_28(**overrides: object) -> GANConfig:
    """Baseline: an unconditional DCGAN (Radford et al.) for 28×28, BCE loss, no stabilisers."""
    return GANConfig(arch="dcgan", z_dim=100, g_channels=(64,), d_channels=(64,)).replace(**overrides)


@register_model("seed_cgan_fmnist_28")
def seed_cgan_fmnist_28(**overrides: object) -> GANConfig:
    """Baseline: the seed's tutorial DCGAN with one-hot labels, corrected so it trains (see module doc)."""
    return GANConfig(arch="seed", z_dim=100, g_channels=(256,), d_channels=(64,)).replace(**overrides)
