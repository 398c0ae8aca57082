"""DiffAugment: shapes, known values on tiny arrays, gradients flow, reproducible draws, bad policies."""

from __future__ import annotations

import pytest
import torch

from product_studio.errors import UsageError
from product_studio.generate.augment import cutout, diff_augment, parse_policy, translate


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_parse_policy():
    assert parse_policy("translation, Cutout") == ("translation", "cutout")
    assert parse_policy("none") == () and parse_policy(None) == () and parse_policy("") == ()
    with pytest.raises(UsageError, match="unknown DiffAugment policy blur.*translation, cutout, color"):
        parse_policy("translation,blur")


def test_translation_shifts_whole_images_and_replicates_the_border():
    x = torch.arange(16.0).view(1, 1, 4, 4).repeat(64, 1, 1, 1)
    out = translate(x, gen(), ratio=0.25)  # shifts of -1, 0 or +1 pixel in each direction
    assert out.shape == x.shape
    seen = set()
    for image in out[:, 0]:
        # every output row is a (clamped) row of the input: a pure translation, nothing invented
        dy = int(image[1, 1].item() // 4) - 1
        dx = int(image[1, 1].item() % 4) - 1
        rows = (torch.arange(4) + dy).clamp(0, 3)
        cols = (torch.arange(4) + dx).clamp(0, 3)
        assert torch.equal(image, x[0, 0][rows][:, cols])
        seen.add((dy, dx))
    assert len(seen) == 9  # all nine shifts drawn in 64 images


def test_cutout_zeroes_a_quarter_square_at_most():
    x = torch.ones(32, 3, 8, 8)
    out = cutout(x, gen())
    zeros = (out == 0).all(1).flatten(1).sum(1)  # a 4×4 square, clipped at the border
    assert zeros.max() == 16 and zeros.min() >= 4
    assert set(out.unique().tolist()) <= {0.0, 1.0}


def test_gradients_flow_and_the_same_generator_gives_the_same_augmentation():
    x = torch.rand(8, 3, 16, 16, requires_grad=True)
    out = diff_augment(x, "translation,cutout,color", gen(3))
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    again = diff_augment(x.detach(), ("translation", "cutout", "color"), gen(3))
    assert torch.allclose(out.detach(), again)
    gray = torch.rand(4, 1, 16, 16)
    assert diff_augment(gray, "color", gen()).equal(gray)  # colour jitter is for RGB only
