"""GAN training end to end on a real image folder: outputs, resume after a kill, DiffAugment, errors."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from product_studio.errors import UsageError
from product_studio.models import load_model
from product_studio.train import gan as training
from product_studio.train.gan import GANRecipe, discriminator_gap, load_gan_data, train_gan

pytestmark = pytest.mark.slow  # trains models (`make test-fast` leaves it out)

TINY = {"g_channels": (16, 8, 8), "d_channels": (8, 8, 16), "z_dim": 16}


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """Three categories of 12 PNGs each: bright squares, dark rings, vertical bars (RGB, 40×48)."""
    root = tmp_path_factory.mktemp("catalogue")
    rng = np.random.default_rng(0)
    for name in ("bars", "rings", "squares"):
        (root / name).mkdir()
        for i in range(12):
            image = np.full((40, 48, 3), 255, np.uint8)
            if name == "squares":
                image[10:30, 14:34] = rng.integers(0, 80, 3)
            elif name == "rings":
                y, x = np.mgrid[:40, :48]
                r = np.hypot(y - 20, x - 24)
                image[(r > 8) & (r < 14)] = rng.integers(100, 200, 3)
            else:
                image[:, 20 + i % 4 : 26 + i % 4] = (20, 20, 20)
            Image.fromarray(image).save(root / name / f"{i}.png")
    return root


def recipe(**changes) -> GANRecipe:
    base = GANRecipe(model="cgan_fmnist_28", steps=4, batch_size=8, checkpoint_every=2, diffaugment="translation,cutout")
    return dataclasses.replace(base, **changes)


def test_training_on_a_folder_writes_every_output(catalogue, tmp_path):
    out = tmp_path / "run"
    summary = train_gan(catalogue, out, recipe=recipe(), progress=False, model_overrides=TINY)
    assert summary["steps"] == 4 and summary["class_names"] == ["bars", "rings", "squares"]
    for name in ("final.safetensors", "loss.png", "history.csv", "config.json", "checkpoints/last.safetensors"):
        assert (out / name).is_file(), name
    assert sorted(p.name for p in (out / "samples").glob("*.png")) == ["step_000002.png", "step_000004.png"]
    grid = np.asarray(Image.open(out / "samples" / "step_000004.png"))
    assert grid.shape == (3 * 30 + 2, 10 * 30 + 2, 3)  # one row per category, 10 samples of 28 px + 2 px gaps
    config = json.loads((out / "config.json").read_text())
    assert config["gan_recipe"]["diffaugment"] == "translation,cutout" and config["optimizers"] == {"d": "Adam", "g": "Adam"}
    assert config["model_config"]["class_names"] == ["bars", "rings", "squares"]
    gan = load_model(out / "final.safetensors")
    assert gan.model_name == "cgan_fmnist_28" and gan.class_names == ["bars", "rings", "squares"]
    history = json.loads((out / "history.json").read_text())["train"]
    assert {"loss", "g_loss", "d_real", "d_fake"} <= set(history[-1])


def test_a_killed_run_resumes_to_the_same_weights(catalogue, tmp_path, monkeypatch):
    train_gan(catalogue, tmp_path / "straight", recipe=recipe(), progress=False, model_overrides=TINY)

    make_step = training.make_gan_step

    def killed_at_step_3(rec, **kwargs):
        step = make_step(rec, **kwargs)

        def wrapped(trainer, batch):
            if trainer.step == 3:
                raise KeyboardInterrupt  # what a kill at step 3 leaves: the checkpoint of step 2
            return step(trainer, batch)

        return wrapped

    monkeypatch.setattr(training, "make_gan_step", killed_at_step_3)
    with pytest.raises(KeyboardInterrupt):
        train_gan(catalogue, tmp_path / "killed", recipe=recipe(), progress=False, model_overrides=TINY)
    assert not (tmp_path / "killed" / "final.safetensors").exists()
    monkeypatch.setattr(training, "make_gan_step", make_step)
    train_gan(catalogue, tmp_path / "killed", recipe=recipe(), progress=False, model_overrides=TINY)
    a = load_file(str(tmp_path / "straight" / "final.safetensors"))
    b = load_file(str(tmp_path / "killed" / "final.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_a_finished_run_extended_to_more_steps_equals_one_longer_run(catalogue, tmp_path):
    train_gan(catalogue, tmp_path / "long", recipe=recipe(steps=4), progress=False, model_overrides=TINY)
    train_gan(catalogue, tmp_path / "ext", recipe=recipe(steps=2), progress=False, model_overrides=TINY)
    summary = train_gan(catalogue, tmp_path / "ext", recipe=recipe(steps=4), progress=False, model_overrides=TINY)
    assert summary["steps"] == 4
    a = load_file(str(tmp_path / "long" / "final.safetensors"))
    b = load_file(str(tmp_path / "ext" / "final.safetensors"))
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_folder_data_is_resized_to_the_model_and_split_per_category(catalogue):
    parts = load_gan_data(catalogue, image_size=64, channels=3, val_fraction=0.25)
    assert parts["train"].images.shape == (27, 3, 64, 64) and parts["heldout"].images.shape == (9, 3, 64, 64)
    assert parts["train"].class_names == ("bars", "rings", "squares")
    with pytest.raises(UsageError, match="28×28 grayscale.*cgan_fmnist_28"):
        load_gan_data("fashion-mnist", image_size=64, channels=3)
    with pytest.raises(UsageError, match="neither"):
        load_gan_data(catalogue / "nope", image_size=28, channels=1)


def test_bad_recipes_and_too_little_data_are_usage_errors(catalogue, tmp_path):
    with pytest.raises(UsageError, match="unknown GAN loss 'wgan'"):
        GANRecipe(loss="wgan")
    with pytest.raises(UsageError, match="unknown DiffAugment policy"):
        GANRecipe(diffaugment="zoom")
    with pytest.raises(UsageError, match="fewer than one batch of 64"):
        train_gan(catalogue, tmp_path / "x", recipe=recipe(batch_size=64), progress=False, model_overrides=TINY)
    with pytest.raises(UsageError, match="unknown device 'gpu0'"):
        train_gan(catalogue, tmp_path / "y", recipe=recipe(device="gpu0"), progress=False, model_overrides=TINY)
    assert not (tmp_path / "y").exists()  # checked before any data is read or folder made


def test_bce_loss_r1_and_the_discriminator_gap(catalogue, tmp_path):
    out = tmp_path / "r1"
    train_gan(catalogue, out, recipe=recipe(loss="bce", r1_gamma=1.0, steps=2, autocast_bf16=False), progress=False,
              model_overrides=TINY)
    gan = load_model(out / "final.safetensors")
    parts = load_gan_data(catalogue, image_size=28, channels=1)
    gap = discriminator_gap(gan, parts["train"], parts["heldout"])
    assert set(gap) == {"d_train_real", "d_heldout_real", "gap", "gap_in_std"}
    assert gap["gap"] == pytest.approx(gap["d_train_real"] - gap["d_heldout_real"])


def batch_norms(net):
    return [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def test_the_ema_generator_gets_batch_norm_statistics_of_its_own(catalogue, tmp_path):
    own = load_model(train_gan(catalogue, tmp_path / "own", recipe=recipe(), progress=False, model_overrides=TINY)["weights"])
    borrowed = load_model(train_gan(catalogue, tmp_path / "borrowed", recipe=recipe(ema_bn_samples=0), progress=False,
                                    model_overrides=TINY)["weights"])
    # the same training either way; only the EMA generator's statistics differ
    for a, b in zip(own.generator.state_dict().values(), borrowed.generator.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(borrowed.generator_ema.buffers(), borrowed.generator.buffers()):
        assert torch.equal(a, b)  # update_ema copies the raw generator's statistics
    own_means = [m.running_mean for m in batch_norms(own.generator_ema)]
    raw_means = [m.running_mean for m in batch_norms(own.generator)]
    assert len(own_means) == 3 and not any(torch.allclose(a, b) for a, b in zip(own_means, raw_means))


def test_recalibration_averages_the_generators_own_activations_and_is_repeatable(catalogue, tmp_path):
    gan = load_model(train_gan(catalogue, tmp_path / "run", recipe=recipe(ema_bn_samples=0), progress=False,
                               model_overrides=TINY)["weights"])
    first = batch_norms(gan.generator_ema)[0]
    seen = []
    hook = first.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].detach().clone()))
    assert training.recalibrate_ema_batchnorm(gan, samples=300, batch_size=100, seed=3) == 3
    hook.remove()
    assert [len(x) for x in seen] == [100, 100, 100]
    channel_means = torch.stack([x.transpose(0, 1).flatten(1).mean(1) for x in seen]).mean(0)
    assert torch.allclose(first.running_mean, channel_means, atol=1e-5)  # a plain average over the batches
    assert first.momentum == 0.1 and not gan.generator_ema.training  # left as training expects it
    again = [b.clone() for b in gan.generator_ema.buffers()]
    training.recalibrate_ema_batchnorm(gan, samples=300, batch_size=100, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(again, gan.generator_ema.buffers()))
    with pytest.raises(UsageError, match="samples ≥ 1"):
        training.recalibrate_ema_batchnorm(gan, samples=0)
    with pytest.raises(UsageError, match="ema_bn_samples must be 0"):
        GANRecipe(ema_bn_samples=-1)
