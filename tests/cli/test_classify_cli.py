"""`product-studio classify` and `product-studio train classifier` end to end on real files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from product_studio.models import load_model
from run_cli import cli

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"


def test_classify_a_real_photo_with_json_and_explain(tmp_path):
    photo = tmp_path / "boot.jpg"
    shutil.copy(SAMPLES / "boot_on_deck.jpg", photo)
    heat = tmp_path / "heat.png"
    done = cli("classify", str(photo), "--top-k", "3", "--explain", str(heat), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["summary"]["failed"] == 0 and report["model"]["model"] == "fmnist_resnet"
    (result,) = report["results"]
    labels = [entry["label"] for entry in result["top_k"]]
    probabilities = [entry["probability"] for entry in result["top_k"]]
    assert len(labels) == 3 and probabilities == sorted(probabilities, reverse=True)
    assert set(labels) <= set(report["model"]["classes"])
    assert labels[0] in {"Ankle boot", "Sneaker", "Sandal"}  # a boot on a deck: footwear first
    assert result["explain"] == str(heat)
    sheet = np.asarray(Image.open(heat).convert("RGB"))
    original = Image.open(photo)
    assert sheet.shape[0] == original.height and sheet.shape[1] > original.width  # photo + input panel
    assert sheet.std() > 10


def test_classify_answers_unknown_for_a_coffee_cup_and_keeps_the_boot(tmp_path):
    done = cli("classify", str(SAMPLES / "coffee_cup.jpg"), str(SAMPLES / "boot_on_deck.jpg"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    cup, boot = sorted(report["results"], key=lambda r: r["input"], reverse=True)
    assert cup["label"] == "unknown" and cup["in_taxonomy"] is False and cup["score"] < cup["threshold"]
    assert cup["top_k"][0]["label"] != "unknown"  # the nearest categories stay listed, for information
    assert boot["in_taxonomy"] is True and boot["label"] == boot["top_k"][0]["label"] == "Ankle boot"
    assert report["model"]["ood_threshold"] == cup["threshold"]
    human = cli("classify", str(SAMPLES / "coffee_cup.jpg"))
    assert human.returncode == 0 and "coffee_cup.jpg: unknown: not one of the model's 10 categories" in human.stdout


def test_classify_reports_a_bad_file_and_exits_1(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    done = cli("classify", str(bad), "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["results"][0]["status"] == "failed"


def test_classify_refuses_weights_of_another_kind_of_model_with_a_clear_error():
    other = REPO / "product_studio" / "weights" / "defect_detector.safetensors"
    done = cli("classify", str(SAMPLES / "boot_on_deck.jpg"), "--weights", str(other))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "holds model 'defect_unet_s', which is not a classifier; give a file written by" in done.stderr
    assert "product-studio train classifier" in done.stderr


def test_train_classifier_on_a_tiny_three_category_folder(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "catalog"
    for name, colour in (("mugs", (200, 40, 40)), ("plants", (40, 160, 60)), ("vases", (40, 60, 200))):
        (data / name).mkdir(parents=True)
        for i in range(6):
            pixels = np.full((70, 90, 3), 245, np.int16)
            pixels[15:55, 20 + i : 60 + i] = colour
            pixels = np.clip(pixels + rng.integers(-15, 15, pixels.shape), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(data / name / f"{i}.{('jpg', 'png', 'webp')[i % 3]}")
    out = tmp_path / "run"
    # --outlier-weight 0: no outlier exposure here (tests/train/test_classifier_outliers.py covers it)
    done = cli("train", "classifier", "--data", str(data), "--epochs", "1", "--batch-size", "8", "--outlier-weight", "0",
               "-o", str(out), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["class_names"] == ["mugs", "plants", "vases"]
    assert summary["train_size"] == 15 and summary["val_size"] == 3 and summary["steps"] == 1
    assert 0.0 <= summary["best_val_accuracy"] <= 1.0 and summary["best_epoch"] == 1
    model = load_model(out / "best.safetensors")
    assert model.model_name == "catalog_cnn_64" and model.class_names == ["mugs", "plants", "vases"]
    for name in ("config.json", "history.csv", "loss.png", "checkpoints/last.safetensors", "summary.json"):
        assert (out / name).exists(), name
    # The trained weights classify through the same command.
    again = cli("classify", str(data / "mugs" / "0.jpg"), "--weights", str(out / "best.safetensors"), "--no-cut-out", "--json")
    assert again.returncode == 0, again.stderr
    assert {e["label"] for e in json.loads(again.stdout)["results"][0]["top_k"]} == {"mugs", "plants", "vases"}
    bad = cli("train", "classifier", "--data", str(tmp_path / "nowhere"), "-o", str(out))
    assert bad.returncode == 2 and "neither" in bad.stderr

    # A second cycle starts from the first run's weights, not from scratch ...
    start = load_model(out / "best.safetensors")
    second = cli("train", "classifier", "--data", str(data), "--epochs", "1", "--batch-size", "8", "--lr", "0.0",
                 "--outlier-weight", "0", "--init", str(out / "best.safetensors"), "-o", str(tmp_path / "run2"), "--json")
    assert second.returncode == 0, second.stderr
    cycled = load_model(tmp_path / "run2" / "best.safetensors")
    conv = "stem.0.weight"  # with lr 0 the weights stay the first run's (a fresh start would be random)
    assert torch.equal(cycled.state_dict()[conv], start.state_dict()[conv])
    # ... and weights of other categories are refused with what to do.
    two = tmp_path / "two"
    for name in ("mugs", "vases"):
        shutil.copytree(data / name, two / name)
    other = cli("train", "classifier", "--data", str(two), "--epochs", "1", "--init", str(out / "best.safetensors"),
                "-o", str(tmp_path / "run3"))
    assert other.returncode == 2 and "start from weights of the same model" in other.stderr
