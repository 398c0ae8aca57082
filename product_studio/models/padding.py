"""Padding an N×C×H×W tensor on the bottom and right to a multiple of a network's stride."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """``x`` padded so H and W are multiples of ``multiple``: by reflection where the image is larger
    than the padding (reflection needs that), else by repeating the edge. Crop back with ``[..., :h, :w]``."""
    h, w = x.shape[-2:]
    pad_h, pad_w = -h % multiple, -w % multiple
    if not (pad_h or pad_w):
        return x
    return F.pad(x, (0, pad_w, 0, pad_h), mode="reflect" if min(h, w) > max(pad_h, pad_w) else "replicate")
