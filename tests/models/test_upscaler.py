"""Every upscaler preset: shape, no NaN, gradients everywhere, bicubic start, save/load round trip."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from product_studio.models.registry import create_model, list_models, load_model, model_config, save_model

UPSCALERS = list_models("upscaler")


def test_the_family_has_x2_x4_and_a_tiny_preset():
    assert {"upscaler_x2", "upscaler_x4", "upscaler_tiny"} <= set(UPSCALERS)
    assert model_config("upscaler_x4").scale == 4
    with pytest.raises(ValueError, match="scale must be 2, 3 or 4"):
        model_config("upscaler_x2", scale=5)


@pytest.mark.parametrize("name", UPSCALERS)
def test_forward_shape_gradients_and_round_trip(name, tmp_path):
    torch.manual_seed(0)
    model = create_model(name)
    s = model.config.scale
    x = torch.rand(2, 3, 12, 10)
    out = model(x)
    assert out.shape == (2, 3, 12 * s, 10 * s) and torch.isfinite(out).all()
    out.square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    model.eval()
    path = save_model(model, tmp_path / f"{name}.safetensors")
    again = load_model(path, expect_model=name)
    with torch.no_grad():
        torch.testing.assert_close(again(x), model(x), rtol=0, atol=0)


def test_an_untrained_upscaler_is_close_to_bicubic():
    model = create_model("upscaler_x2").eval()
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        bicubic = F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
        assert (model(x) - bicubic).abs().max() < 0.05
