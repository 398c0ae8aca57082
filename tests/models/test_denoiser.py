"""Every denoiser preset: shape, no NaN, gradients everywhere, conditioning, save/load round trip."""

from __future__ import annotations

import pytest
import torch

from product_studio.models.registry import create_model, list_models, load_model, save_model

DENOISERS = list_models("denoiser")


def test_the_family_has_the_shipped_and_a_tiny_preset():
    assert {"denoiser_cnn", "denoiser_ffd", "denoiser_tiny"} <= set(DENOISERS)
    assert create_model("denoiser_ffd").config.receptive_radius == 12 * 2 + 1
    assert create_model("denoiser_cnn").config.receptive_radius == 7


@pytest.mark.parametrize("name", DENOISERS)
def test_forward_shape_gradients_and_round_trip(name, tmp_path):
    torch.manual_seed(0)
    model = create_model(name)
    x = torch.rand(2, 3, 32, 24)
    out = model(x, torch.tensor([0.1, 0.2]))
    assert out.shape == x.shape and torch.isfinite(out).all()
    out.square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    model.eval()
    path = save_model(model, tmp_path / f"{name}.safetensors", metrics={"val_psnr": 30.0})
    again = load_model(path, expect_model=name)
    assert again.metrics == {"val_psnr": 30.0}
    with torch.no_grad():
        torch.testing.assert_close(again(x, 0.1), model(x, 0.1), rtol=0, atol=0)


def test_the_noise_level_input_changes_the_output_and_odd_sizes_are_refused():
    torch.manual_seed(0)
    model = create_model("denoiser_tiny")
    with torch.no_grad():
        model.body[-1].weight.normal_(std=0.1)  # a clearly non-zero noise estimate
        x = torch.rand(1, 3, 16, 16)
        low, high = model(x, 0.0), model(x, 0.2)
        per_pixel = model(x, torch.full((1, 1, 16, 16), 0.2))
    assert (low - high).abs().max() > 1e-4
    torch.testing.assert_close(per_pixel, high)
    half = create_model("denoiser_ffd", width=8, depth=3)
    assert half(torch.rand(1, 3, 16, 16), 0.1).shape == (1, 3, 16, 16)
    with pytest.raises(ValueError, match="multiples of 2"):
        half(torch.rand(1, 3, 15, 16), 0.1)


