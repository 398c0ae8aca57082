"""Every denoiser preset: shape, no NaN, gradients everywhere, conditioning, save/load round trip."""

from __future__ import annotations

import pytest
import torch

from product_studio.models.registry import create_model, list_models, load_model, save_model

DENOISERS = list_models("denoiser")


def test_the_family_has_the_shipped_and_a_tiny_preset():
    assert {"denoiser_cnn", "denoiser_ffd", "denoiser_unet", "denoiser_tiny"} <= set(DENOISERS)
    assert create_model("denoiser_unet").config.receptive_radius == 48
    assert create_model("denoiser_unet").config.multiple == 4
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




@pytest.mark.parametrize(("levels", "blocks"), [(3, 2), (2, 1)])
def test_unet_receptive_radius_bounds_what_a_pixel_sees_and_any_size_works(levels, blocks):
    """Wherever a pixel sits on the stride-2 grid, a change past the stated radius leaves it alone
    (tiles with that much context give the untiled result); a change next to it does not."""
    torch.manual_seed(0)
    model = create_model("denoiser_unet", width=4, levels=levels, blocks=blocks).eval()
    radius, multiple = model.config.receptive_radius, model.config.multiple
    side = 2 * radius + 4 * multiple
    x = torch.rand(1, 3, side, side)
    with torch.no_grad():
        for centre in range(side // 2, side // 2 + multiple):
            base = model(x, 0.1)[0, :, centre, centre]
            for offset in (1, -1, radius + 1, -radius - 1):
                y = x.clone()
                y[0, :, centre, centre + offset] += 1.0
                moved = (model(y, 0.1)[0, :, centre, centre] - base).abs().max().item()
                assert (moved > 0) == (abs(offset) == 1), (centre, offset, moved)
        odd = model(torch.rand(2, 3, 37, 29), torch.tensor([0.1, 0.3]))
    assert odd.shape == (2, 3, 37, 29)
