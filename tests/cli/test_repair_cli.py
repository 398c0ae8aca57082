"""`product-studio repair` and `train inpainter` / `train defect-detector` end to end on real files."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from product_studio.cli.app import app
from product_studio.imageio import load_image
from product_studio.models.registry import load_model
from product_studio.train.defects import add_defects
from product_studio.train.metrics import psnr

runner = CliRunner()


def clean_photo() -> np.ndarray:
    y, x = np.mgrid[0:150, 0:220]
    return np.dstack([90 + 0.4 * x, 110 + 0.3 * y, 160 - 0.2 * x]).astype(np.uint8)


@pytest.fixture()
def damaged(tmp_path) -> tuple[Path, np.ndarray, np.ndarray]:
    clean = clean_photo()
    bad, truth = add_defects(clean, 2, density=5.0, kinds=("scratch", "dust"))
    path = tmp_path / "photo.png"
    Image.fromarray(bad).save(path)
    return path, clean, truth


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_repair_with_a_mask_fills_it_and_never_touches_the_input(damaged, tmp_path):
    path, clean, truth = damaged
    before = _digest(path)
    mask_path = tmp_path / "mask.png"
    Image.fromarray(cv2.dilate(truth, np.ones((3, 3), np.uint8))).save(mask_path)
    result = runner.invoke(app, ["repair", str(path), "--mask", str(mask_path), "--method", "ns", "--json"])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)["results"]
    out = Path(report["output"])
    assert out == tmp_path / "photo.repaired.png" and report["steps"][0] == {**report["steps"][0], "op": "inpaint", "model": None}
    assert report["steps"][0]["params"] == {**report["steps"][0]["params"], "method": "ns", "mask_path": str(mask_path)}
    fixed = load_image(out).pixels
    assert psnr(fixed, clean, mask=truth) > psnr(load_image(path).pixels, clean, mask=truth) + 10
    assert _digest(path) == before
    again = runner.invoke(app, ["repair", str(path), "--mask", str(mask_path)])  # an output file: no manifest beside it
    assert again.exit_code == 1 and "exists; pass --overwrite" in again.output
    assert runner.invoke(app, ["repair", str(path), "--mask", str(mask_path), "--overwrite"]).exit_code == 0


def test_repair_auto_writes_the_mask_it_used(damaged, tmp_path):
    path, clean, truth = damaged
    out, shown = tmp_path / "fixed.jpg", tmp_path / "found.png"
    result = runner.invoke(app, ["repair", str(path), "--auto", "--detector", "classical", "--threshold", "40",
                                 "--show-mask", str(shown), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)["results"]
    assert report["steps"][0]["op"] == "repair_defects" and "inpaint" in report["steps"][0]["model"]  # the network filled
    assert report["mask_output"] == str(shown)
    mask = np.asarray(Image.open(shown).convert("L"))
    assert mask.shape == truth.shape and set(np.unique(mask)) <= {0, 255}
    assert report["filled_pixels"] == np.count_nonzero(mask) > 0
    found = (mask > 0)[truth > 0].mean()
    assert found > 0.6  # most defect pixels were found
    fixed = load_image(out).pixels
    assert psnr(fixed, clean, mask=truth) > psnr(load_image(path).pixels, clean, mask=truth) + 5
    # The mask written by --show-mask goes back in unchanged through --mask.
    again = runner.invoke(app, ["repair", str(path), "--mask", str(shown), "--method", "telea", "-o", str(tmp_path / "b.png"),
                                "--show-mask", str(tmp_path / "same.png"), "--json"])
    assert json.loads(again.stdout)["results"][0]["filled_pixels"] == report["filled_pixels"]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "same.png").convert("L")), mask)


def test_repair_remove_text_reads_and_removes_a_caption(tmp_path):
    y, x = np.mgrid[0:140, 0:360]
    clean = np.dstack([200 - 0.1 * x, 190 + 0.05 * y, np.full_like(x, 185)]).astype(np.uint8)
    image = clean.copy()
    cv2.putText(image, "WATERMARK", (20, 90), cv2.FONT_HERSHEY_DUPLEX, 1.7, (30, 30, 30), 3, cv2.LINE_AA)
    path = tmp_path / "marked.png"
    Image.fromarray(image).save(path)
    result = runner.invoke(app, ["repair", str(path), "--remove-text", "--text", "water", "--method", "telea", "--json"])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)["results"]
    assert report["steps"][0]["params"]["match"] == "water"
    fixed = load_image(Path(report["output"])).pixels
    changed = np.abs(image.astype(int) - clean).max(-1) > 60
    assert np.abs(fixed.astype(int) - clean)[changed].mean() < 20


@pytest.mark.parametrize(
    "args, words",
    [
        ([], "give exactly one of --mask FILE, --auto or --remove-text"),
        (["--auto", "--remove-text"], "give exactly one of --mask FILE, --auto or --remove-text \\(got --auto, --remove-text\\)"),
        (["--auto", "--method", "lama"], "Invalid value for '--method'"),
        (["--auto", "--detector", "eyes"], "Invalid value for '--detector'"),
        (["--auto", "--text", "x"], "--text does not apply with --auto"),
        (["--mask", "m.png", "--threshold", "0.5", "--detector", "classical"], "--detector, --threshold do not apply with --mask"),
        (["--auto", "--threshold", "300"], "Invalid value for '--threshold': Input should be less than 256"),
    ],
)
def test_bad_usage_exits_2_with_a_useful_message(damaged, args, words):
    path, _, _ = damaged
    result = runner.invoke(app, ["repair", str(path), *args])
    assert result.exit_code == 2
    assert re.search(words, result.output), result.output


def test_show_mask_may_not_overwrite_the_input(damaged):
    path, _, _ = damaged
    result = runner.invoke(app, ["repair", str(path), "--auto", "--detector", "classical", "--show-mask", str(path)])
    assert result.exit_code == 2 and "--show-mask must name a file other than the input" in result.output


def test_help_has_examples():
    for command in (["repair"], ["train", "inpainter"], ["train", "defect-detector"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "Examples" in result.output


@pytest.mark.parametrize("command, model, key", [("defect-detector", "defect_unet_tiny", "threshold"),
                                                 ("inpainter", "inpaint_gated_tiny", "psnr_mask")])
def test_train_commands_run_a_tiny_model_and_write_loadable_weights(tmp_path, command, model, key):
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", command, "-o", str(out), "--model", model, "--steps", "2", "--batch-size", "2", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    weights = load_model(summary["weights"], expect_model=model)
    assert key in weights.metrics and summary["metrics"]["steps"] == 2
    assert (out / "history.json").exists() and (out / "checkpoints" / "last.safetensors").exists()
    # A second cycle starts from those weights (--init), and its run records them.
    again = runner.invoke(app, ["train", command, "-o", str(tmp_path / "run2"), "--model", model, "--steps", "1", "--batch-size", "2",
                                "--init", summary["weights"], "--json"])
    assert again.exit_code == 0, again.output
    config = json.loads((tmp_path / "run2" / "config.json").read_text())
    assert config["init_weights"] == summary["weights"]
    wrong = runner.invoke(app, ["train", command, "-o", str(tmp_path / "run3"), "--model", model, "--steps", "1",
                                "--init", str(tmp_path / "missing.safetensors")])
    assert wrong.exit_code != 0 and "weight file not found" in wrong.output


def test_train_defect_detector_takes_the_third_photo_collection_edge_negatives_jitter_ema_band_bf16_patch_and_seed(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", "defect-detector", "-o", str(out), "--model", "defect_unet_tiny", "--steps", "1",
                                 "--batch-size", "2", "--collection", "3", "--edge-negatives", "0.5", "--ema", "0.998", "--seed", "3",
                                 "--ignore-band", "1", "--bf16", "--photo-jitter", "0.5", "--patch", "96", "--json"])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["trainer"]["ema_decay"] == 0.998 and config["trainer"]["seed"] == 3 and config["trainer"]["autocast_bf16"] is True
    data = config["data"]
    assert data["ignore_band"] == 1 and data["photo_jitter"] == 0.5 and data["patch_size"] == 96
    # collection 3: the 10 optimiser photos of collection 1, 10 of the 12 MATE photographs and 4 of the 5
    # Palapeli ones, each at 3 sizes, and 12 product scenes per size; the rest join the validation set
    assert data["photo_collection"] == 3 and data["edge_negatives"] == 0.5 and data["fit_photos"] == 24 * 3 + 12 * 3
    assert json.loads(result.stdout)["validation_photos"] == [
        "china", "evening_glow", "garden", "lady_bird", "citrus_fruits",
        "scene_validation_1000", "scene_validation_1001", "scene_validation_1002"]
    for flag, value in (("--collection", "4"), ("--edge-negatives", "1.5"), ("--ema", "1"), ("--seed", "-1"),
                        ("--ignore-band", "5"), ("--photo-jitter", "2"), ("--patch", "16")):
        wrong = runner.invoke(app, ["train", "defect-detector", "-o", str(tmp_path / "bad"), flag, value])
        assert wrong.exit_code == 2 and flag in wrong.output


@pytest.mark.parametrize("setting, noted", [("0", True), ("1", False)])
def test_train_says_when_bf16_is_asked_for_but_training_runs_in_float32(tmp_path, monkeypatch, setting, noted):
    monkeypatch.setenv("PRODUCT_STUDIO_BF16", setting)  # 0: as on a CPU without bf16 instructions
    result = runner.invoke(app, ["train", "defect-detector", "-o", str(tmp_path / "run"), "--model", "defect_unet_tiny",
                                 "--steps", "1", "--batch-size", "2", "--bf16", "--json"])
    assert result.exit_code == 0, result.output
    assert ("training runs in float32" in result.stderr) is noted
    assert json.loads((tmp_path / "run" / "config.json").read_text())["bf16_autocast_used"] is (not noted)
    assert json.loads(result.stdout)["metrics"]["steps"] == 1
