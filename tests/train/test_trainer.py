"""The Trainer on tiny synthetic tasks: it learns, checkpoints, resumes exactly, writes its outputs,
and takes a custom two-optimizer step the way a GAN does."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from product_studio.errors import UsageError
from product_studio.models import create_model, load_model
from product_studio.train import ArrayDataset, BatchAugment, Trainer

pytestmark = pytest.mark.slow  # trains models (`make test-fast` leaves it out)


def blobs(n: int = 192, size: int = 16, seed: int = 0) -> ArrayDataset:
    """Two classes: a bright 4×4 square (0) or a bright 2×8 bar (1) somewhere on noise."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 60, (n, 1, size, size), generator=g, dtype=torch.uint8)
    labels = torch.arange(n) % 2
    for i in range(n):
        h, w = (2, 8) if labels[i] else (4, 4)
        top = int(torch.randint(0, size - h + 1, (1,), generator=g))
        left = int(torch.randint(0, size - w + 1, (1,), generator=g))
        images[i, 0, top : top + h, left : left + w] = 255
    return ArrayDataset(images, labels, class_names=("square", "bar"))


def tiny_model() -> nn.Module:
    return create_model("fmnist_cnn_tiny", class_names=("square", "bar"), image_size=16)


def make_trainer(out_dir, *, steps=12, resume=False, **options) -> Trainer:
    torch.manual_seed(0)
    settings = {"lr": 0.02, "batch_size": 16, "optimizer": "sgd", "scheduler": "onecycle", "ema_decay": 0.9,
                "checkpoint_every": 4, "log_every": 2, "progress": False, "label_smoothing": 0.1, "num_threads": 1}
    settings.update(options)
    return Trainer(tiny_model(), blobs(), val_data=blobs(48, seed=1), out_dir=out_dir, steps=steps,
                   augment=BatchAugment(crop_padding=1, flip=True, erase_p=0.3), resume=resume, **settings)


def test_loss_decreases_and_outputs_are_written(tmp_path):
    trainer = make_trainer(tmp_path, steps=48, lr=0.01, optimizer="adamw", scheduler="cosine", label_smoothing=0.0)
    result = trainer.fit()
    losses = [row["loss"] for row in result.history]
    assert sum(losses[-3:]) / 3 < 0.75 * sum(losses[:3]) / 3, losses
    assert result.best_metric is not None and result.best_metric > 0.8
    for name in ("config.json", "history.csv", "history.json", "loss.png", "best.safetensors", "final.safetensors",
                 "checkpoints/last.safetensors", "checkpoints/last.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model"] == "fmnist_cnn_tiny" and config["trainer"]["steps"] == 48
    assert config["model_config"]["image_size"] == 16 and config["total_steps"] == 48
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    best = load_model(tmp_path / "best.safetensors")
    assert best.class_names == ["square", "bar"] and best.metrics["accuracy"] == result.best_metric


class StopAt(Exception):
    pass


def test_resume_after_a_kill_continues_with_identical_state(tmp_path):
    straight = make_trainer(tmp_path / "straight")
    straight.fit()

    killed = make_trainer(tmp_path / "killed")
    default_step = killed.step_fn

    def dies_after_step_six(trainer, batch):
        if trainer.step == 6:  # the checkpoint at step 4 exists; steps 5-6 are lost with the process
            raise StopAt()
        return default_step(trainer, batch)

    killed.step_fn = dies_after_step_six
    with pytest.raises(StopAt):
        killed.fit()

    resumed = make_trainer(tmp_path / "killed", resume=True)
    assert resumed.step == 4
    resumed.fit()
    assert resumed.step == straight.step == 12
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    for key, value in straight.ema.state_dict().items():
        assert torch.equal(value, resumed.ema.state_dict()[key]), key
    a, b = straight.optimizers["main"].state_dict(), resumed.optimizers["main"].state_dict()
    for index, state in a["state"].items():
        assert torch.equal(state["momentum_buffer"], b["state"][index]["momentum_buffer"])
    assert straight.schedulers["main"].get_last_lr() == resumed.schedulers["main"].get_last_lr()
    assert [r["loss"] for r in straight.history] == pytest.approx([r["loss"] for r in resumed.history])
    assert torch.equal(straight.generator.get_state(), resumed.generator.get_state())


def test_resume_refuses_a_checkpoint_of_another_run_length(tmp_path):
    make_trainer(tmp_path, steps=4).fit()
    with pytest.raises(UsageError, match="4 steps, this one has 8"):
        make_trainer(tmp_path, steps=8, resume=True)


def test_a_custom_two_optimizer_step_like_a_gan(tmp_path):
    """A GAN-shaped step: two optimizers, two losses; both are checkpointed and restored."""

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.generator = nn.Linear(4, 16 * 16)
            self.critic = nn.Linear(16 * 16, 1)

    torch.manual_seed(0)
    model = Pair()
    optimizers = {
        "g": torch.optim.Adam(model.generator.parameters(), lr=1e-3, betas=(0.5, 0.9)),
        "d": torch.optim.Adam(model.critic.parameters(), lr=1e-3, betas=(0.5, 0.9)),
    }

    def gan_step(trainer, batch):
        real = batch[0].flatten(1)
        fake = trainer.model.generator(torch.randn(real.shape[0], 4, generator=trainer.generator))
        d_loss = nn.functional.softplus(trainer.model.critic(fake.detach())).mean() + nn.functional.softplus(-trainer.model.critic(real)).mean()
        trainer.optimizers["d"].zero_grad()
        d_loss.backward()
        trainer.optimizers["d"].step()
        g_loss = nn.functional.softplus(-trainer.model.critic(fake)).mean()
        trainer.optimizers["g"].zero_grad()
        g_loss.backward()
        trainer.optimizers["g"].step()
        for scheduler in trainer.schedulers.values():
            scheduler.step()
        return {"loss": (d_loss + g_loss).item(), "d_loss": d_loss.item(), "g_loss": g_loss.item()}

    samples = []
    trainer = Trainer(model, blobs(64), out_dir=tmp_path, steps=6, batch_size=16, step_fn=gan_step,
                      optimizers=optimizers, checkpoint_every=3, log_every=1, progress=False,
                      sample_fn=lambda t, step: samples.append(step))
    result = trainer.fit()
    assert result.steps == 6 and samples == [4, 6]  # 4 steps an epoch, and the last step
    assert {"d_loss", "g_loss"} <= set(result.history[-1])
    again = Trainer(Pair(), blobs(64), out_dir=tmp_path, steps=6, batch_size=16, step_fn=gan_step,
                    optimizers={"g": torch.optim.Adam(Pair().generator.parameters()),
                                "d": torch.optim.Adam(Pair().critic.parameters())},
                    progress=False, resume=True)
    assert again.step == 6
    assert torch.equal(again.model.critic.weight, model.critic.weight)
    assert again.optimizers["d"].state_dict()["param_groups"][0]["betas"] == (0.5, 0.9)


def test_bad_options_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="exactly one of steps= or epochs="):
        Trainer(tiny_model(), blobs(), out_dir=tmp_path)
    with pytest.raises(UsageError, match="unknown scheduler"):
        Trainer(tiny_model(), blobs(), out_dir=tmp_path, steps=2, scheduler="linear")


@pytest.mark.parametrize(("setting", "asked", "used"), [("1", True, True), ("0", True, False), ("1", False, False)])
def test_bf16_autocast_follows_the_override_and_is_recorded(tmp_path, monkeypatch, setting, asked, used):
    monkeypatch.setenv("PRODUCT_STUDIO_BF16", setting)
    trainer = make_trainer(tmp_path, steps=2, autocast_bf16=asked)
    with trainer.autocast():
        out = trainer.model(torch.rand(2, 1, 16, 16))
    assert (out.dtype == torch.bfloat16) is used
    trainer.fit()
    assert json.loads((tmp_path / "config.json").read_text())["bf16_autocast_used"] is used


def test_a_bad_bf16_override_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PRODUCT_STUDIO_BF16", "maybe")
    with pytest.raises(UsageError, match="PRODUCT_STUDIO_BF16 must be 1"):
        make_trainer(tmp_path, steps=2, autocast_bf16=True)


def test_devices_are_checked_before_anything_trains(tmp_path):
    from product_studio.train.trainer import to_device, training_device

    assert training_device("CPU") == torch.device("cpu")
    with pytest.raises(UsageError, match="unknown device 'tpu'; use cpu, cuda or cuda:N"):
        training_device("tpu")
    with pytest.raises(UsageError, match="unknown device 'cuda:x'"):
        training_device("cuda:x")
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="torch sees no CUDA GPU on this machine.*use --device cpu"):
            make_trainer(tmp_path, steps=2, device="cuda")
        assert not (tmp_path / "config.json").exists()
    nested = to_device({"x": (torch.ones(2), [torch.zeros(1)]), "n": 3}, torch.device("cpu"))
    assert torch.equal(nested["x"][0], torch.ones(2)) and isinstance(nested["x"][1], list) and nested["n"] == 3


def test_an_explicit_cpu_device_trains_like_the_default_and_is_recorded(tmp_path):
    default = make_trainer(tmp_path / "a", steps=4)
    default.fit()
    explicit = make_trainer(tmp_path / "b", steps=4, device="cpu")
    explicit.fit()
    assert all(torch.equal(p, q) for p, q in zip(default.model.parameters(), explicit.model.parameters()))
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert config["trainer"]["device"] == "cpu" and config["device_name"] == "cpu"
