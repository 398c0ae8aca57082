"""Inpainters: a gated-convolution U-Net that fills the holes a mask marks (Yu et al. 2019, "free-form").

Every convolution is gated: ``features = ELU(conv_f(x)) * sigmoid(conv_g(x))``; the gate learns
which positions hold valid pixels, so the network treats a hole differently from the pixels around
it without the hand-made mask update of partial convolutions.

The network does not start from nothing: inside ``forward`` the hole is first filled without
learned weights, and the U-Net predicts a correction to that fill. ``base`` picks the fill:
``"normalised"`` (normalised convolution: the valid pixels blurred at a few scales, divided by the
blurred validity, a smooth "push-pull" fill) or ``"navier-stokes"`` (OpenCV's Navier-Stokes
inpainting, which continues edges into thin holes: about 0.3 dB better inside scratch and dust
holes, computed on the CPU without gradients, as an input).
Its input is the pre-filled image, the hole-zeroed image and the mask (7 channels). The output is
composited: pixels outside the mask are the input's, unchanged.

With ``content_input`` the network also gets what lies under the hole where the caller trusts it
(``trusted``: 1 = this hole pixel is a semi-transparent defect over the real image, such as a stain
or a faint scratch, not a sticker or text that must disappear) and a channel marking those pixels
(11 channels). Untrusted hole pixels are zeroed exactly as before, so with ``trusted=None`` it is a
plain inpainter.

Layout::

    encoder  level 0: gated conv5×5 at widths[0]; level i>0: gated conv3×3 stride 2, gated conv3×3
    middle   gated conv3×3 with dilation 2 and 4 (context for wide holes) at the lowest resolution
    decoder  bilinear ×2 up, concatenate the encoder's level, gated conv3×3
    head     conv3×3 → 3 channels added to the pre-fill

Input: ``image`` N×3×H×W RGB in [0, 1] and ``mask`` N×1×H×W (1 = fill), any H and W (padded by
reflection to a multiple of 2^(levels-1) and cropped back). Output: N×3×H×W in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .padding import pad_to_multiple
from .registry import ModelConfig, register_model


BASES = ("normalised", "navier-stokes")
NS_RADIUS = 3


@dataclass(frozen=True)
class InpainterConfig(ModelConfig):
    tuple_fields: ClassVar[tuple[str, ...]] = ("widths", "dilations", "prefill_scales")

    in_channels: int = 3
    widths: tuple[int, ...] = (24, 48, 64)
    dilations: tuple[int, ...] = (2, 4)
    prefill_scales: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
    image_size: int = 96  # the training patch size; any size works at inference
    content_input: bool = False  # also see the pixels under a defect where the caller trusts them
    base: str = "normalised"  # the fill the network corrects: "normalised" or "navier-stokes"

    def __post_init__(self) -> None:
        if self.base not in BASES:
            raise ValueError(f"base must be one of {', '.join(BASES)}; got {self.base!r}")
        if not self.widths or min(self.widths) < 1:
            raise ValueError(f"widths must be a non-empty tuple of positive ints; got {self.widths}")
        if not self.prefill_scales or min(self.prefill_scales) <= 0:
            raise ValueError(f"prefill_scales must be positive blur sigmas; got {self.prefill_scales}")

    def build(self) -> GatedInpainter:
        return GatedInpainter(self)


class GatedConv(nn.Module):
    """conv → (features, gate); ELU(features) * sigmoid(gate)."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, 2 * cout, kernel, stride, padding=dilation * (kernel - 1) // 2, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features, gate = self.conv(x).chunk(2, 1)
        return F.elu(features) * torch.sigmoid(gate)


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, round(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def _blur(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur of every channel, replicate padding."""
    c = x.shape[1]
    r = (kernel.numel() - 1) // 2
    kx = kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1)
    ky = kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1)
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), kx, groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), ky, groups=c)


def prefill(image: torch.Tensor, mask: torch.Tensor, scales: tuple[float, ...]) -> torch.Tensor:
    """Fill ``mask`` (1 = hole) by normalised convolution, finest scale first where it has support.

    Each scale blurs the valid pixels and the validity; a hole pixel takes the finest scale whose
    blurred validity is large enough, so thin holes get a sharp local fill and wide ones a smooth one.
    """
    valid = 1.0 - mask
    filled = torch.zeros_like(image)
    assigned = torch.zeros_like(mask)
    for sigma in scales:
        kernel = _gaussian_kernel(sigma).to(image)
        # Downsample first for wide blurs: same result up to interpolation, far cheaper.
        factor = max(1, int(sigma // 2))
        if factor > 1 and min(image.shape[-2:]) >= 4 * factor:
            small_img = F.avg_pool2d(image * valid, factor, ceil_mode=True)
            small_val = F.avg_pool2d(valid, factor, ceil_mode=True)
            k = _gaussian_kernel(sigma / factor).to(image)
            num = F.interpolate(_blur(small_img, k), size=image.shape[-2:], mode="bilinear", align_corners=False)
            den = F.interpolate(_blur(small_val, k), size=image.shape[-2:], mode="bilinear", align_corners=False)
        else:
            num, den = _blur(image * valid, kernel), _blur(valid, kernel)
        estimate = num / den.clamp_min(1e-6)
        take = ((den > 0.05).float() * (1 - assigned)).clamp(0, 1)
        filled = filled + take * estimate
        assigned = assigned + take
    # Wherever no scale reached (a hole wider than the largest blur), the image's mean valid colour.
    mean = (image * valid).sum((2, 3), keepdim=True) / valid.sum((2, 3), keepdim=True).clamp_min(1.0)
    filled = filled + (1 - assigned).clamp(0, 1) * mean
    return image * valid + filled * mask


@torch.no_grad()
def navier_stokes_fill(image: torch.Tensor, mask: torch.Tensor, radius: int = NS_RADIUS) -> torch.Tensor:
    """Fill ``mask`` (N×1×H×W, 1 = hole) of ``image`` (N×3×H×W in [0, 1]) with OpenCV's Navier-Stokes
    inpainting, image by image on 8-bit copies; pixels outside the hole are returned unchanged."""
    pixels = (image.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    holes = (mask[:, 0] > 0.5).to(torch.uint8).cpu().numpy()
    filled = np.stack([cv2.inpaint(np.ascontiguousarray(p), h, radius, cv2.INPAINT_NS) if h.any() else p
                       for p, h in zip(pixels, holes)])
    fill = torch.from_numpy(filled).to(image).permute(0, 3, 1, 2) / 255
    return image * (1 - mask) + fill * mask


class InpainterRefine(nn.Module):
    """``GatedInpainter.refine`` as a module of its own: (image, mask, trusted, base) -> filled, what
    scripts/export_onnx.py exports."""

    def __init__(self, inpainter: "GatedInpainter") -> None:
        super().__init__()
        self.inpainter = inpainter
        self.model_name, self.config = getattr(inpainter, "model_name", None), inpainter.config
        self.metrics = getattr(inpainter, "metrics", None)

    def forward(self, image: torch.Tensor, mask: torch.Tensor, trusted: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        return self.inpainter.refine(image, mask, trusted, base)


class GatedInpainter(nn.Module):
    """Gated-convolution U-Net over a normalised-convolution pre-fill: (image, mask) → filled image."""

    def __init__(self, config: InpainterConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.widths
        cin = 2 * config.in_channels + 1 + (config.in_channels + 1 if config.content_input else 0)
        self.down = nn.ModuleList([nn.Sequential(GatedConv(cin, widths[0], 5))])
        for i in range(1, len(widths)):
            self.down.append(nn.Sequential(GatedConv(widths[i - 1], widths[i], 3, stride=2), GatedConv(widths[i], widths[i])))
        self.middle = nn.Sequential(*[GatedConv(widths[-1], widths[-1], 3, dilation=d) for d in config.dilations])
        self.up = nn.ModuleList(GatedConv(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(len(widths) - 1)))
        self.head = nn.Conv2d(widths[0], config.in_channels, 3, padding=1)
        # Start close to the pre-fill (a fraction of a grey level on average) but not exactly at it: a
        # zero head passes no gradient to the layers below, and a run stalled there (weights unmoved).
        nn.init.normal_(self.head.weight, std=1e-3)
        nn.init.zeros_(self.head.bias)

    @property
    def multiple(self) -> int:
        return 2 ** (len(self.config.widths) - 1)

    def forward(self, image: torch.Tensor, mask: torch.Tensor, trusted: torch.Tensor | None = None) -> torch.Tensor:
        h, w = image.shape[-2:]
        m = self.multiple
        if trusted is None:
            trusted = torch.zeros_like(mask)
        image, mask, trusted = (pad_to_multiple(t, m) for t in (image, mask, trusted))
        mask = (mask > 0.5).to(image.dtype)
        if self.config.base == "navier-stokes":
            base = navier_stokes_fill(image, mask)
        else:
            base = prefill(image, mask, self.config.prefill_scales)
        return self.refine(image, mask, trusted, base)[..., :h, :w]

    def refine(self, image: torch.Tensor, mask: torch.Tensor, trusted: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """The network's part of ``forward``: ``image``, 0/1 ``mask``, ``trusted`` and the pre-fill
        ``base``, all padded to ``multiple``, in; the filled image (padded) out. What ONNX exports
        (the pre-fill runs outside: OpenCV's Navier-Stokes is no tensor operation)."""
        parts = [base * 2 - 1, (image * (1 - mask)) * 2 - 1, mask]
        if self.config.content_input:
            trusted = (trusted > 0.5).to(image.dtype) * mask
            parts += [(image * trusted) * 2 - 1, trusted]
        x = torch.cat(parts, 1)
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        x = self.middle(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], 1))
        out = (base + self.head(x)).clamp(0, 1)
        return image * (1 - mask) + out * mask


@register_model("inpaint_gated_s")
def inpaint_gated_s(**overrides: object) -> InpainterConfig:
    """Inpainter for scratches, dust, stains and text: a 3-level gated U-Net (24-48-64) over a normalised-convolution pre-fill."""
    return InpainterConfig(widths=(24, 48, 64)).replace(**overrides)


@register_model("inpaint_gated_content_s")
def inpaint_gated_content_s(**overrides: object) -> InpainterConfig:
    """Like inpaint_gated_s, and also sees the pixels under a trusted defect (stains, faint scratches): the first shipped inpainter."""
    return InpainterConfig(widths=(24, 48, 64), content_input=True).replace(**overrides)


@register_model("inpaint_gated_ns_s")
def inpaint_gated_ns_s(**overrides: object) -> InpainterConfig:
    """Like inpaint_gated_content_s, correcting a Navier-Stokes fill instead of a normalised-convolution one (shipped)."""
    return InpainterConfig(widths=(24, 48, 64), content_input=True, base="navier-stokes").replace(**overrides)


@register_model("inpaint_gated_tiny")
def inpaint_gated_tiny(**overrides: object) -> InpainterConfig:
    """Inpainter, 8-16 channels: for tests and quick runs."""
    return InpainterConfig(widths=(8, 16), dilations=(2,), image_size=32).replace(**overrides)
