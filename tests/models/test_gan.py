"""The GAN family: every preset generates the right shape, every parameter learns, files round-trip."""

from __future__ import annotations

import pytest
import torch

from product_studio.errors import ModelError
from product_studio.models import create_model, list_models, load_model, save_model
from product_studio.models.gan import GANConfig, from_unit, to_unit

GANS = list_models("gan")


def _batch(gan, n: int = 4):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(n, gan.config.z_dim, generator=g)
    y = torch.arange(n) % gan.config.num_classes
    return z, y


def test_the_presets_are_registered_in_the_gan_family():
    assert set(GANS) == {"cgan_fmnist_28", "cgan_fmnist_28_wide", "cgan_64", "dcgan_fmnist_28", "seed_cgan_fmnist_28"}
    assert create_model("cgan_fmnist_28").config.class_names[7] == "Sneaker"
    wide = create_model("cgan_fmnist_28_wide").config
    assert (wide.g_channels, wide.d_channels, wide.image_size) == ((256, 128, 64), (64, 128, 256), 28)


def test_the_shipped_generator_is_the_wide_preset_stored_in_float16():
    from safetensors.torch import load_file

    from product_studio.models.registry import shipped_weight_path

    path = shipped_weight_path("fmnist_cgan.safetensors")
    assert {t.dtype for t in load_file(str(path)).values()} <= {torch.float16, torch.int64}
    gan = load_model(path)  # the float16 tensors load into the float32 network
    assert gan.config.g_channels == create_model("cgan_fmnist_28_wide").config.g_channels
    assert next(gan.parameters()).dtype == torch.float32


@pytest.mark.parametrize("name", GANS)
def test_generate_and_discriminate_shapes_no_nan(name):
    torch.manual_seed(0)
    gan = create_model(name)
    z, y = _batch(gan)
    images = gan.generate(z, y, ema=False)
    c = gan.config
    assert images.shape == (4, c.channels, c.image_size, c.image_size)
    assert torch.isfinite(images).all() and images.min() >= -1 and images.max() <= 1
    scores = gan.discriminator(images, y)
    assert scores.shape == (4,) and torch.isfinite(scores).all()


@pytest.mark.parametrize("name", GANS)
def test_every_generator_and_discriminator_parameter_learns(name):
    torch.manual_seed(0)
    gan = create_model(name).train()
    z, y = _batch(gan, n=6)
    gan(z, y).sum().backward()  # forward = D(G(z, y), y): every trained parameter takes part
    trained = [(n, p) for n, p in gan.named_parameters() if not n.startswith("generator_ema.")]
    missing = [n for n, p in trained if p.grad is None or not torch.isfinite(p.grad).all() or p.grad.abs().sum() == 0]
    assert not missing, f"parameters without a gradient: {missing}"
    assert all(p.grad is None for n, p in gan.named_parameters() if n.startswith("generator_ema."))


@pytest.mark.parametrize("name", GANS)
def test_save_load_round_trip_gives_identical_outputs(name, tmp_path):
    torch.manual_seed(1)
    gan = create_model(name).train()
    z, y = _batch(gan)
    gan.discriminator(gan.generator(z, y), y)  # move BN statistics and spectral-norm vectors off their start
    gan.update_ema(0.5)
    gan.eval()
    path = save_model(gan, tmp_path / f"{name}.safetensors", metrics={"fid": 1.5})
    back = load_model(path)
    assert back.metrics == {"fid": 1.5} and back.config == gan.config
    assert list(back.class_names) == list(gan.config.class_names)
    with torch.no_grad():
        for ema in (True, False):
            images = gan.generate(z, y, ema=ema)
            assert torch.equal(images, back.generate(z, y, ema=ema))
        assert torch.equal(gan.discriminator(images, y), back.discriminator(images, y))


def test_the_ema_moves_towards_the_generator():
    gan = create_model("cgan_fmnist_28")
    with torch.no_grad():
        for p in gan.generator.parameters():
            p.add_(1.0)
    before = gan.generator_ema.linear.weight.clone()
    gan.update_ema(0.75)
    expected = 0.75 * before + 0.25 * gan.generator.linear.weight
    assert torch.allclose(gan.generator_ema.linear.weight, expected)


def test_conditioning_changes_the_image_and_the_score():
    torch.manual_seed(0)
    gan = create_model("cgan_fmnist_28").eval()
    with torch.no_grad():  # give the classes distinct embeddings, as training would
        for m in gan.generator_ema.modules():
            if hasattr(m, "gain") and isinstance(m.gain, torch.nn.Embedding):
                m.gain.weight.normal_(1.0, 0.5)
        z = torch.randn(1, gan.config.z_dim).repeat(2, 1)
        a, b = gan.generate(z, torch.tensor([0, 7]))
    assert (a - b).abs().mean() > 1e-3
    uncond = create_model("dcgan_fmnist_28").eval()
    with torch.no_grad():
        z = torch.randn(1, 100).repeat(2, 1)
        a, b = uncond.generate(z, torch.tensor([0, 7]), ema=False)
    assert torch.equal(a, b)  # the unconditional baseline ignores labels


def test_presets_are_the_sizes_the_issue_asks_for_and_fit_the_5_mb_budget():
    small, big = create_model("cgan_fmnist_28"), create_model("cgan_64", class_names=("mug", "shoe", "bag"))
    assert (small.config.image_size, small.config.channels) == (28, 1)
    assert (big.config.image_size, big.config.channels, big.config.num_classes) == (64, 3, 3)
    for gan in (small, big):
        size = sum(t.numel() * t.element_size() for t in gan.state_dict().values())
        assert size < 5_000_000, size
    assert to_unit(from_unit(torch.tensor([0.0, 0.25, 1.0]))).tolist() == [0.0, 0.25, 1.0]


def test_bad_configs_say_what_to_do():
    with pytest.raises(ValueError, match="unknown GAN arch 'vae'"):
        GANConfig(arch="vae")
    with pytest.raises(ValueError, match="upsampling levels"):
        GANConfig(image_size=64, channels=3)
    with pytest.raises(ValueError, match="28×28 images only"):
        GANConfig(arch="seed", image_size=64, g_channels=(256,), d_channels=(64,))
    with pytest.raises(ValueError, match="3 class names for 10 classes"):
        GANConfig(class_names=("a", "b", "c"))


def test_a_classifier_file_is_not_loaded_as_a_generator(tmp_path):
    from product_studio.generate.sample import load_generator

    path = save_model(create_model("fmnist_cnn_tiny"), tmp_path / "cnn.safetensors")
    with pytest.raises(ModelError, match="'fmnist_cnn_tiny', which is not a gan; give a GAN file written by `product-studio train gan`"):
        load_generator(path)
