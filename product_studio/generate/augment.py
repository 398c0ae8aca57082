"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for training GANs on small catalogues.

The discriminator sees every image — real and generated — through the same random translation,
cutout and (for colour images) brightness/saturation/contrast jitter, and the generator's gradient
flows through the augmentation. The discriminator then cannot memorise the few hundred real images
of a small catalogue, and the generator is not taught to produce augmented-looking images (the
augmentations are applied to both sides).

Input and output: float N×C×H×W in [-1, 1]; every random draw comes from an explicit
``torch.Generator`` so a resumed run draws the same numbers.
"""

from __future__ import annotations

import torch

from ..errors import UsageError

POLICIES = ("translation", "cutout", "color")


def parse_policy(policy: str | None) -> tuple[str, ...]:
    """``"translation,cutout"`` → ``("translation", "cutout")``; ``""``, ``None`` or ``"none"`` → ``()``."""
    if not policy or policy.strip().lower() == "none":
        return ()
    parts = tuple(p.strip().lower() for p in policy.split(",") if p.strip())
    unknown = [p for p in parts if p not in POLICIES]
    if unknown:
        raise UsageError(f"unknown DiffAugment policy {', '.join(unknown)}; use a comma-separated subset of {', '.join(POLICIES)}")
    return parts


def diff_augment(x: torch.Tensor, policy: tuple[str, ...] | str, generator: torch.Generator) -> torch.Tensor:
    """Apply the ``policy``'s augmentations to ``x`` (differentiably), in the order colour, translation, cutout."""
    parts = parse_policy(policy) if isinstance(policy, str) else policy
    if "color" in parts and x.shape[1] == 3:
        x = color_jitter(x, generator)
    if "translation" in parts:
        x = translate(x, generator)
    if "cutout" in parts:
        x = cutout(x, generator)
    return x


def _rand(n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=generator).to(device)


def color_jitter(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Brightness ±0.5, saturation ×[0, 2], contrast ×[0.5, 1.5] per image (DiffAugment's 'color')."""
    n = x.shape[0]
    x = x + (_rand(n, generator, x.device) - 0.5).to(x.dtype)[:, None, None, None]
    mean = x.mean(1, keepdim=True)
    x = (x - mean) * (_rand(n, generator, x.device) * 2).to(x.dtype)[:, None, None, None] + mean
    mean = x.mean((1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(n, generator, x.device) + 0.5).to(x.dtype)[:, None, None, None] + mean


def translate(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size in x and y; the border pixels fill the gap."""
    n, _, h, w = x.shape
    sy, sx = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    dy = torch.randint(-sy, sy + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(-sx, sx + 1, (n,), generator=generator).to(x.device)
    rows = (torch.arange(h, device=x.device)[None, :] - dy[:, None]).clamp(0, h - 1)  # n×h, replicate the border
    cols = (torch.arange(w, device=x.device)[None, :] - dx[:, None]).clamp(0, w - 1)  # n×w
    batch = torch.arange(n, device=x.device)[:, None, None]
    return x.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Set a random square of ``ratio`` × the size to 0 (mid grey in [-1, 1]) in every image."""
    n, _, h, w = x.shape
    ch, cw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    y0 = torch.randint(0, h + (1 - ch % 2), (n,), generator=generator).to(x.device) - ch // 2
    x0 = torch.randint(0, w + (1 - cw % 2), (n,), generator=generator).to(x.device) - cw // 2
    ys, xs = torch.arange(h, device=x.device)[None, :], torch.arange(w, device=x.device)[None, :]
    in_rows = (ys >= y0[:, None]) & (ys < (y0 + ch)[:, None])
    in_cols = (xs >= x0[:, None]) & (xs < (x0 + cw)[:, None])
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])
    return x * keep[:, None].to(x.dtype)


__all__ = ["POLICIES", "color_jitter", "cutout", "diff_augment", "parse_policy", "translate"]
