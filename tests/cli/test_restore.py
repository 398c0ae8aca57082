"""`product-studio denoise`, `upscale`, `train denoiser` and `train upscaler` end to end on real files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from product_studio.models import load_model
from product_studio.train.restoration_data import center_crop, to_uint8
from run_cli import cli

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b) ** 2)))


def read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_denoise_a_noisy_photo_to_png_and_json(tmp_path):
    clean = center_crop(read(SAMPLES / "coffee_cup.jpg"), 160)  # a crop of a held-out photo
    rng = np.random.default_rng(0)
    noisy = to_uint8(clean / 255.0 + rng.normal(0, 20 / 255, clean.shape))
    source = tmp_path / "noisy.png"
    Image.fromarray(noisy).save(source)
    out = tmp_path / "clean.png"
    done = cli("denoise", str(source), "-o", str(out), "--json")
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)["results"]
    assert result["status"] == "done" and result["steps"][0]["model"].startswith("denoiser_unet@")
    restored = read(out)
    assert restored.shape == noisy.shape
    assert psnr(restored, clean) > psnr(noisy, clean) + 5
    # nlm on request; never over the input, and not over an existing output without --overwrite
    assert cli("denoise", str(source), "-o", str(tmp_path / "nlm.png"), "--method", "nlm", "--strength", "0.7").returncode == 0
    again = cli("denoise", str(source), "-o", str(out))
    assert again.returncode == 1 and "--overwrite" in again.stderr
    onto_input = cli("denoise", str(source), "-o", str(source), "--overwrite")
    assert onto_input.returncode == 1 and "overwrite its input" in onto_input.stderr
    assert (read(source) == noisy).all()
    bad = cli("denoise", str(source), "-o", str(tmp_path / "x.png"), "--method", "median")
    assert bad.returncode == 2 and "Invalid value for '--method'" in bad.stderr and "'nlm'" in bad.stderr


def test_a_bad_bf16_setting_stops_denoise_before_any_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PRODUCT_STUDIO_BF16", "maybe")
    done = cli("denoise", str(SAMPLES / "coffee_cup.jpg"), "-o", str(tmp_path / "x.png"), "-q")
    assert done.returncode == 2 and "PRODUCT_STUDIO_BF16 must be 1" in done.stderr
    assert not (tmp_path / "x.png").exists()


def test_upscale_a_folder_with_a_minimum_and_a_fixed_scale(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    small = center_crop(read(SAMPLES / "kite_blue_sky.jpg"), 120)
    Image.fromarray(small).save(folder / "small.png")
    Image.fromarray(center_crop(read(SAMPLES / "kite_blue_sky.jpg"), 300)).save(folder / "big.jpg", quality=92)
    done = cli("upscale", str(folder), "-o", str(tmp_path / "out"), "--min-side", "250", "--json")
    assert done.returncode == 0, done.stderr
    by_name = {Path(r["input"]).name: r for r in json.loads(done.stdout)["results"]}
    assert by_name["small.png"]["factor"] == 4 and by_name["big.jpg"]["factor"] == 1
    assert Image.open(tmp_path / "out" / "small.png").size == (480, 480)
    assert Image.open(tmp_path / "out" / "big.jpg").size == (300, 300)
    done = cli("upscale", str(folder / "small.png"), "-o", str(tmp_path / "x2.png"), "--method", "lanczos", "--max-tile-pixels", "5000")
    assert done.returncode == 0, done.stderr
    assert Image.open(tmp_path / "x2.png").size == (240, 240)
    bad = cli("upscale", str(folder / "small.png"), "-o", str(tmp_path / "x3.png"), "--scale", "3")
    assert bad.returncode == 2 and "Invalid value for '--scale'" in bad.stderr


def test_help_has_examples():
    for command in (["denoise"], ["upscale"], ["train", "denoiser"], ["train", "upscaler"]):
        done = cli(*command, "--help")
        assert done.returncode == 0 and "Examples" in done.stdout and "product-studio" in done.stdout


def test_train_tiny_models_for_a_few_steps_and_resume(tmp_path):
    run = tmp_path / "dn"
    done = cli("train", "denoiser", "-o", str(run), "--model", "denoiser_tiny", "--steps", "4", "--batch-size", "2",
               "--patch", "32", "--quiet", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["steps"] == 4 and summary["model"] == "denoiser_tiny"
    model = load_model(run / "best.safetensors", expect_model="denoiser_tiny")
    assert "val_psnr" in model.metrics
    assert (run / "checkpoints" / "last.safetensors").exists() and (run / "config.json").exists()
    config = json.loads((run / "config.json").read_text())
    assert "astronaut" not in config["train_photos"] and "chelsea" in config["train_photos"]
    up = cli("train", "upscaler", "-o", str(tmp_path / "up"), "--scale", "2", "--model", "upscaler_tiny", "--steps", "3",
             "--batch-size", "2", "--patch", "32", "--quiet", "--json")
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["steps"] == 3
    wrong = cli("train", "upscaler", "-o", str(tmp_path / "w"), "--scale", "4", "--model", "upscaler_tiny", "--steps", "1", "--quiet")
    assert wrong.returncode == 2 and "upscales x2" in wrong.stderr
