"""`product-studio process` and `remove-bg` end to end: real sample photos, the real model, the
console script in a subprocess; assertions on output pixels, reports and exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from product_studio.cli.app import app
from product_studio.marketplaces import check_file, load_preset
from run_cli import cli

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
runner = CliRunner()


@pytest.fixture()
def photos(tmp_path) -> Path:
    """Two real sample photos (one cluttered, one a transparent PNG) and four bad files."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(SAMPLES / "boot_on_deck.jpg", folder / "sub" / "boot.jpg")
    shutil.copy(SAMPLES / "teddy_bear.png", folder / "teddy.png")
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("not an image at all")
    data = (SAMPLES / "coffee_cup.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    return folder


def test_process_folder_in_a_subprocess(photos, tmp_path):
    out = tmp_path / "ready"
    result = cli("process", str(photos), "-o", str(out), "--preset", "amazon-main", "--workers", "2", "--json", "-q")
    assert result.returncode == 1, result.stderr  # three bad files
    doc = json.loads(result.stdout)  # stdout is one JSON document; progress went to stderr
    summary = doc["summary"]
    assert summary == {**summary, "inputs": 5, "done": 2, "failed": 3, "compliant": 2, "non_compliant": 0}
    errors = {Path(r["input"]).name: r["error_type"] for r in doc["results"] if r["status"] == "failed"}
    assert errors == {"zero.jpg": "EmptyFileError", "text.jpg": "UnsupportedFormatError", "truncated.jpg": "CorruptImageError"}
    boot = out / "sub" / "boot.jpg"
    assert boot.is_file() and (out / "teddy.jpg").is_file()
    # The output really passes amazon-main when checked again from the file.
    assert check_file(boot, load_preset("amazon-main")).passed
    with Image.open(boot) as im:
        pixels = np.asarray(im.convert("RGB"))
        assert im.size[0] == im.size[1] and "exif" not in im.info
    assert (pixels[:3] == 255).all() and (pixels[:, :3] == 255).all()  # exact white border
    for name in ("report.json", "report.csv", "report.html"):
        assert (out / name).is_file()
    html = (out / "report.html").read_text()
    assert "PASS amazon-main" in html and "EmptyFileError" in html


def test_process_all_good_exits_zero_and_prints_the_report_path(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["process", str(SAMPLES / "teddy_bear.png"), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert "1/1 processed, 0 failed, 1/1 pass amazon-main" in result.output and "report.html" in result.output
    # a second run resumes from the manifest: the finished input is skipped, not redone
    again = runner.invoke(app, ["process", str(SAMPLES / "teddy_bear.png"), "-o", str(out), "-q"])
    assert again.exit_code == 0 and "skipped 1 input(s) finished by an earlier run" in again.output
    # a file the manifest does not know is never replaced without --overwrite: exit 1, file named
    other = tmp_path / "other"
    other.mkdir()
    (other / "teddy_bear.jpg").write_bytes(b"someone else's file")
    third = runner.invoke(app, ["process", str(SAMPLES / "teddy_bear.png"), "-o", str(other), "-q"])
    assert third.exit_code == 1 and "--overwrite" in third.output


def test_process_with_a_recipe_file(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "name: tiny\npreset: taobao-main\nsteps:\n  - op: remove_background\n"
        "  - op: fit_to_canvas\n    size: 800\n    fill: 0.9\n    min_size: 800\n    upscale: to_minimum\n"
        "  - op: white_background\noutput:\n  format: png\n"
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["process", str(SAMPLES / "teddy_bear.png"), "-o", str(out), "--recipe", str(recipe), "--json", "-q"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["preset"] == "taobao-main" and doc["recipe"]["name"] == "tiny"
    with Image.open(out / "teddy_bear.png") as im:
        assert im.format == "PNG" and im.size == (800, 800)


@pytest.mark.parametrize(
    "args, message",
    [
        (["process", "nowhere/", "-o", "x"], "no such file or folder"),
        (["process", "samples", "-o", "x", "--preset", "etsy"], "amazon-main"),
        (["process", "samples", "-o", "x", "--workers", "0"], "Invalid value for '--workers'"),
        (["process", "samples", "-o", "x", "--recipe", "missing.yaml"], "recipe file not found"),
        (["process", "samples", "--no-such-flag"], "No such option"),
    ],
)
def test_bad_usage_exits_2_with_a_message(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("PRODUCT_STUDIO_WORKER_MEMORY_MB", "2G", "whole number of megabytes"),
        ("PRODUCT_STUDIO_FILE_TIMEOUT_S", "-3", "number of seconds >= 0"),
        ("PRODUCT_STUDIO_ORT_THREADS", "all", "whole number of threads"),
        ("PRODUCT_STUDIO_BF16", "maybe", "must be 1 (bf16 everywhere) or 0"),
    ],
)
def test_a_bad_setting_stops_any_command_before_it_reads_a_file(name, value, message, tmp_path, monkeypatch):
    monkeypatch.setenv(name, value)
    out = tmp_path / "out"
    result = runner.invoke(app, ["process", str(SAMPLES / "teddy_bear.png"), "-o", str(out), "-q"])
    assert result.exit_code == 2 and name in result.output and message in result.output
    assert not out.exists()
    helped = runner.invoke(app, ["process", "--help"])  # help still works, whatever the environment holds
    assert helped.exit_code == 0 and "--preset" in helped.output


def test_remove_bg_writes_an_rgba_png(tmp_path):
    out = tmp_path / "cut.png"
    result = cli("remove-bg", str(SAMPLES / "boot_on_deck.jpg"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    with Image.open(out) as im:
        assert im.mode == "RGBA" and im.size == (1600, 1000)
        alpha = np.asarray(im.getchannel("A"))
    share = (alpha > 127).mean()
    assert 0.1 < share < 0.7  # the boot, not the deck
    assert alpha[0, 0] == 0 and alpha[-1, 0] == 0  # corners are background


def test_remove_bg_grabcut_and_user_mask(tmp_path):
    mask = np.zeros((400, 600), np.uint8)
    mask[100:300, 200:400] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "masked.png"
    result = runner.invoke(app, ["remove-bg", str(SAMPLES / "coffee_cup.jpg"), "-o", str(out), "--mask", str(tmp_path / "mask.png")])
    assert result.exit_code == 0, result.output
    with Image.open(out) as im:
        alpha = np.asarray(im.getchannel("A"))
    assert alpha[200, 300] == 255 and alpha[10, 10] == 0
    out2 = tmp_path / "gc.png"
    result = runner.invoke(app, ["remove-bg", str(SAMPLES / "coffee_cup.jpg"), "-o", str(out2), "--method", "grabcut", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"][0]["status"] == "done"


def test_remove_bg_many_inputs_need_a_folder(tmp_path):
    result = runner.invoke(app, ["remove-bg", str(SAMPLES / "coffee_cup.jpg"), str(SAMPLES / "teddy_bear.png"), "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "need an output folder" in result.output
