"""Tiled inference: the same pixels as one pass, within the memory cap."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from product_studio.errors import UsageError
from product_studio.vision.tiling import core_spans, run_tiled


def test_core_spans_partition_the_length_at_aligned_offsets():
    spans = core_spans(100, 33, align=2)
    assert spans[0][0] == 0 and spans[-1][1] == 100
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    assert all(start % 2 == 0 for start, _ in spans)
    assert core_spans(10, 64) == [(0, 10)]


class Net(nn.Module):
    """A small real network: 4 convs (receptive radius 4 at half resolution = 9 px) and x2 output."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.scale = scale
        self.body = nn.Sequential(*[m for _ in range(3) for m in (nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())],
                                  nn.Conv2d(8, 3 * 4 * scale * scale, 3, padding=1))
        self.head = nn.Conv2d(12, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(self.head(F.pixel_unshuffle(x, 2)))
        return F.pixel_shuffle(y, 2 * self.scale)


@pytest.mark.parametrize("scale", [1, 2])
def test_tiled_output_equals_the_untiled_output(scale):
    torch_net = Net(scale).eval()

    def net(x: np.ndarray) -> np.ndarray:  # run_tiled takes numpy in and out (an onnxruntime session's way)
        with torch.no_grad():
            return torch_net(torch.from_numpy(x)).numpy()

    image = np.random.default_rng(0).random((150, 98, 3), dtype=np.float32)
    whole = run_tiled(image, net, scale=scale, max_tile_pixels=1_000_000)
    calls = []
    tiled = run_tiled(image, net, scale=scale, max_tile_pixels=56 * 56, overlap=12, progress=lambda d, t: calls.append((d, t)))
    assert whole.shape == tiled.shape == (150 * scale, 98 * scale, 3)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    assert len(calls) > 4 and calls[-1][0] == calls[-1][1]
    # Too little context shows: the check above is not vacuous.
    seams = run_tiled(image, net, scale=scale, max_tile_pixels=56 * 56, overlap=0)
    assert np.abs(seams - whole).max() > 1e-3


def test_tile_cap_must_leave_room_for_the_context():
    with pytest.raises(UsageError, match="leaves no room"):
        run_tiled(np.zeros((300, 300, 3), np.float32), lambda x: x, max_tile_pixels=40 * 40, overlap=16)
