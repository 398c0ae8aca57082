"""`product-studio train gan`, `generate` and `eval gan` end to end on real files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from run_cli import cli

pytestmark = pytest.mark.slow  # GAN sampling and FID evaluation through the CLI: `make test` runs it, `make test-fast` does not


def test_generate_with_the_shipped_model_by_name_index_grid_and_seed(tmp_path):
    done = cli("generate", "--category", "sneaker", "-n", "3", "--seed", "4", "-o", str(tmp_path / "a"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["category"] == "Sneaker" and report["index"] == 7 and len(report["files"]) == 3
    first = np.asarray(Image.open(report["files"][0]))
    assert first.shape == (28, 28, 3) and first.std() > 10  # an image, not a flat square
    # the same seed by index gives the same pixels; 'T-shirt/top' and 't-shirt' name the same category
    again = cli("generate", "-c", "7", "-n", "3", "--seed", "4", "-o", str(tmp_path / "b"), "--json")
    assert np.array_equal(first, np.asarray(Image.open(json.loads(again.stdout)["files"][0])))
    grid = cli("generate", "-c", "t-shirt", "-n", "4", "--grid", "--keep-best", "2", "-o", str(tmp_path / "c"), "--json")
    assert grid.returncode == 0, grid.stderr
    sheet = json.loads(grid.stdout)
    assert sheet["category"] == "T-shirt/top" and sheet["images"] == 2
    assert np.asarray(Image.open(sheet["files"][0])).shape == (2 + 30, 2 + 2 * 30, 3)  # 1 row of 2, 2-px gaps


def test_generate_refuses_unknown_categories_and_existing_files(tmp_path):
    bad = cli("generate", "--category", "hat", "-o", str(tmp_path))
    assert bad.returncode == 2 and "unknown category 'hat'; choose one of: T-shirt/top" in bad.stderr
    assert cli("generate", "-c", "bag", "-n", "1", "-o", str(tmp_path)).returncode == 0
    again = cli("generate", "-c", "bag", "-n", "1", "-o", str(tmp_path))
    assert again.returncode == 1 and "--overwrite" in again.stderr


def test_train_gan_on_a_folder_then_generate_interpolate_and_resume(tmp_path):
    data = tmp_path / "catalogue"
    for k, name in enumerate(("cups", "shoes")):
        (data / name).mkdir(parents=True)
        for i in range(10):
            image = np.full((50, 50, 3), 255, np.uint8)
            image[10 + k * 10 : 40, 10 + i : 30 + i] = (40 * k, 90, 200 - 40 * k)
            Image.fromarray(image).save(data / name / f"{i}.jpg")
    run = tmp_path / "run"
    args = ("train", "gan", "--data", str(data), "-o", str(run), "--model", "cgan_fmnist_28", "--steps", "2",
            "--batch-size", "8", "--checkpoint-every", "1", "--ema-bn-samples", "256", "--json")
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["class_names"] == ["cups", "shoes"] and summary["steps"] == 2 and len(summary["samples"]) == 2
    assert (run / "loss.png").is_file() and (run / "checkpoints" / "last.json").is_file()
    config = json.loads((run / "config.json").read_text())
    assert config["gan_recipe"]["diffaugment"] == "translation,cutout"  # the folder default
    assert config["gan_recipe"]["ema_bn_samples"] == 256
    # rerunning the same command resumes: nothing left to train, the same weights
    before = load_file(str(run / "final.safetensors"))
    assert cli(*args).returncode == 0
    after = load_file(str(run / "final.safetensors"))
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    strip = cli("generate", "--weights", str(run / "final.safetensors"), "-c", "Shoes", "--seed", "1", "--interpolate", "2",
                "--steps", "5", "--grid", "-o", str(tmp_path / "out"), "--json")
    assert strip.returncode == 0, strip.stderr
    report = json.loads(strip.stdout)
    assert report["category"] == "shoes" and Path(report["files"][0]).name == "shoes_interp_1_2_grid.png"
    assert np.asarray(Image.open(report["files"][0])).shape == (32, 2 + 5 * 30, 3)
    names = cli("generate", "--weights", str(run / "final.safetensors"), "--list-categories", "-o", str(tmp_path))
    assert names.stdout.split() == ["0", "cups", "1", "shoes"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="the message is for machines without a CUDA GPU")
def test_train_gan_on_a_device_this_machine_lacks_is_a_usage_error(tmp_path):
    done = cli("train", "gan", "--data", "fashion-mnist", "-o", str(tmp_path / "run"), "--device", "cuda")
    assert done.returncode == 2
    assert "torch sees no CUDA GPU" in done.stderr and "--device cpu" in done.stderr
    assert not (tmp_path / "run").exists()
    negative = cli("train", "gan", "--data", "fashion-mnist", "-o", str(tmp_path / "run"), "--ema-bn-samples", "-1")
    assert negative.returncode == 2 and "--ema-bn-samples" in negative.stderr


def test_eval_gan_reports_fid_against_the_floor(tmp_path):
    done = cli("eval", "gan", "--samples", "300", "--test-images", "300", "--no-cas", "--json")
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)
    assert "not Inception FID" in metrics["fid_note"]
    assert metrics["samples"] == 300 and metrics["test_images"] == 300
    assert 0 < metrics["fid_floor_real_train_vs_test"] < metrics["fid_own_features"]
    assert metrics["class_consistency"] > 0.5 and metrics["class_consistency_keep_best"] > metrics["class_consistency"]
    assert metrics["keep_best_samples"] == 300 and "cas" not in metrics
    bad = cli("eval", "gan", "--samples", "10")
    assert bad.returncode == 2
