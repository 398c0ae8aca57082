"""`product-studio recolor` end to end: one file per colour named after it, the background and the
text unchanged, a contact sheet, several inputs, --json, and clear errors for bad colours and files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from product_studio.cli.app import app
from product_studio.imageio import load_image
from product_studio.vision.colors import delta_e2000, rgb_to_lab

runner = CliRunner()
LATIN_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def box_photo() -> tuple[np.ndarray, np.ndarray]:
    """A shaded red box with 'SALE' in white on a light grey studio background, and its mask."""
    h, w = 240, 320
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    image = np.stack([222 + x * 8 / w, 222 + y * 8 / h, np.full((h, w), 226, np.float32)], axis=-1)
    light = 1.1 - 0.5 * (x - 40) / 240
    box = np.clip(np.array([185, 35, 40], np.float32) * light[..., None], 0, 255)
    image[40:200, 40:280] = box[40:200, 40:280]
    pil = Image.fromarray(image.astype(np.uint8))
    ImageDraw.Draw(pil).text((75, 90), "SALE", font=ImageFont.truetype(LATIN_BOLD, 48), fill=(250, 250, 250))
    mask = np.zeros((h, w), np.uint8)
    mask[40:200, 40:280] = 255
    return np.asarray(pil).copy(), mask


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("recolor")
    pixels, mask = box_photo()
    Image.fromarray(pixels).save(root / "box.png")
    Image.fromarray(mask).save(root / "box-mask.png")
    rgba = np.dstack([pixels, mask])
    (root / "shop").mkdir()
    Image.fromarray(rgba, "RGBA").save(root / "shop" / "cutout.png")  # transparency: the mask comes with it
    Image.fromarray(pixels).save(root / "shop" / "photo.jpg", quality=92)
    return root


def test_one_file_per_colour_background_and_text_unchanged(photo_dir, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["recolor", str(photo_dir / "box.png"), "--colors", "red,navy,#2e8b57,藏青", "-o", str(out),
                                 "--mask", str(photo_dir / "box-mask.png"), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)  # one result per colour, each a one-step recipe run by the batch engine
    assert doc["summary"] == {**doc["summary"], "inputs": 4, "done": 4, "failed": 0}
    assert [r["color"]["slug"] for r in doc["results"]] == ["red", "navy", "2e8b57", "藏青"]
    assert doc["recipe"]["steps"][0]["color"] == "red" and [r["steps"][0]["color"] for r in doc["recipes"]][1:] == ["navy", "#2e8b57", "藏青"]
    assert sorted(p.name for p in out.glob("*.png")) == ["box-2e8b57.png", "box-navy.png", "box-red.png", "box-藏青.png"]
    original = load_image(photo_dir / "box.png").pixels
    _, mask = box_photo()
    glyphs = (original.min(axis=2) > 240) & (mask > 0)
    for result in doc["results"]:
        variant = result["color"]
        pixels = load_image(result["output"]).pixels
        assert np.array_equal(pixels[mask == 0], original[mask == 0])  # background bit-identical
        assert np.array_equal(pixels[glyphs], original[glyphs])  # the text too
        solid = (mask > 0) & ~glyphs
        median = np.median(rgb_to_lab(pixels[solid]), axis=0)
        assert float(delta_e2000(median, rgb_to_lab(np.array(variant["rgb"], np.uint8)))) < 3.0, variant["color"]
        assert variant["hex"] == "#{:02x}{:02x}{:02x}".format(*variant["rgb"])
    assert (photo_dir / "box.png").exists() and np.array_equal(load_image(photo_dir / "box.png").pixels, original)


def test_folder_grid_transparency_and_existing_outputs(photo_dir, tmp_path):
    out = tmp_path / "out"
    args = ["recolor", str(photo_dir / "shop"), "-c", "seagreen", "-c", "rgb(255, 215, 0)", "-o", str(out), "--grid",
            "--no-text", "--method", "grabcut", "--json", "--region", "dominant"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    results = json.loads(result.stdout)["results"]
    assert {Path(r["output"]).name: Path(r["grid"]).name for r in results} == {
        "cutout-ffd700.png": "cutout-variants.jpg", "cutout-seagreen.png": "cutout-variants.jpg",
        "photo-ffd700.jpg": "photo-variants.jpg", "photo-seagreen.jpg": "photo-variants.jpg"}
    names = sorted(p.name for p in out.iterdir() if p.is_file())
    assert names == ["cutout-ffd700.png", "cutout-seagreen.png", "cutout-variants.jpg", "photo-ffd700.jpg",
                     "photo-seagreen.jpg", "photo-variants.jpg", "report.csv", "report.html", "report.json"]
    variant = load_image(out / "cutout-seagreen.png")
    assert variant.alpha is not None and np.array_equal(variant.alpha, load_image(photo_dir / "shop" / "cutout.png").alpha)
    sheet = load_image(out / "photo-variants.jpg")
    assert sheet.width == 3 * 320 + 2 * 12 and sheet.height == 240 + 36  # original + 2 variants, labelled
    again = runner.invoke(app, args)  # the manifests: a rerun skips every variant and keeps the sheets
    assert again.exit_code == 0 and json.loads(again.stdout)["summary"]["skipped"] == 4
    assert load_image(out / "photo-variants.jpg").pixels.shape == sheet.pixels.shape
    other = tmp_path / "other"  # a file the manifest does not know is not replaced without --overwrite
    other.mkdir()
    (other / "photo-seagreen.jpg").write_bytes(b"someone else's file")
    args[args.index(str(out))] = str(other)
    kept = runner.invoke(app, args)
    assert kept.exit_code == 1 and "--overwrite" in kept.output
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0


def test_unknown_colour_is_a_usage_error_before_any_work(photo_dir, tmp_path):
    result = runner.invoke(app, ["recolor", str(photo_dir / "box.png"), "--colors", "red,nvay", "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "unknown colour 'nvay'. Did you mean: navy?" in result.output
    assert not (tmp_path / "o").exists()


def test_bad_files_are_reported_and_the_batch_goes_on(photo_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.png").write_bytes(b"not an image at all")
    pixels, mask = box_photo()
    Image.fromarray(np.dstack([pixels, mask]), "RGBA").save(folder / "good.png")
    result = runner.invoke(app, ["recolor", str(folder), "-c", "navy", "-o", str(tmp_path / "out"), "--json", "--no-text"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    status = {Path(r["input"]).name: r for r in doc["results"]}
    assert status["good.png"]["status"] == "done"
    assert status["empty.jpg"]["status"] == "failed" and "empty" in status["empty.jpg"]["error"]
    assert status["notes.png"]["error_type"] == "UnsupportedFormatError"
    assert doc["summary"] == {**doc["summary"], "inputs": 3, "done": 1, "failed": 2}


def test_mask_with_several_inputs_and_help(photo_dir, tmp_path):
    result = runner.invoke(app, ["recolor", str(photo_dir / "shop"), "-c", "red", "-o", str(tmp_path), "--mask",
                                 str(photo_dir / "box-mask.png")])
    assert result.exit_code == 2 and "one photo at a time with --mask" in result.output
    help_text = runner.invoke(app, ["recolor", "--help"]).output
    assert "product-studio recolor photo.jpg --colors red,navy,#2e8b57 -o out/" in help_text


def test_real_photo_with_the_cutout_model(tmp_path):
    """The default path: U2-Net-p finds the boot, OCR finds no text; the deck around it is untouched."""
    result = runner.invoke(app, ["recolor", str(SAMPLES / "boot_on_deck.jpg"), "-c", "navy", "-o", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"][0]["steps"][0]["model"]  # the cut-out model (and OCR) ran
    before = load_image(SAMPLES / "boot_on_deck.jpg").pixels.astype(int)
    after = load_image(tmp_path / "boot_on_deck-navy.jpg").pixels.astype(int)
    changed = np.abs(after - before).max(axis=2) > 40
    assert 0.05 < changed.mean() < 0.3  # the boot, not the picture
    assert changed[:300].mean() < 0.001  # the lake and sky above it


def lab_change(before: np.ndarray, after: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Median CIEDE2000 of the change inside a box (x0, x1, y0, y1)."""
    x0, x1, y0, y1 = box
    return float(np.median(delta_e2000(rgb_to_lab(before[y0:y1, x0:x1]), rgb_to_lab(after[y0:y1, x0:x1]))))


def test_the_product_not_everything(tmp_path):
    """The issue's own command: the coffee cup's glaze turns navy, its white porcelain, the coffee and the
    spoon stay; the teddy's fur changes and its bow tie does not, or, with --region all --keep red, the
    whole bear but the bow tie changes."""
    result = runner.invoke(app, ["recolor", str(SAMPLES / "coffee_cup.jpg"), str(SAMPLES / "teddy_bear.png"), "-c", "navy",
                                 "-o", str(tmp_path / "a"), "--json", "--no-text"])
    assert result.exit_code == 0, result.output
    steps = {Path(r["input"]).name: r for r in json.loads(result.stdout)["results"]}
    facts = steps["coffee_cup.jpg"]["facts"]["recolor"]
    assert facts["region"] == "material" and facts["material"]["name"] == "red" and 0.4 < facts["material"]["share"] < 0.8
    cup, cup_navy = load_image(SAMPLES / "coffee_cup.jpg").pixels, load_image(tmp_path / "a" / "coffee_cup-navy.jpg").pixels
    for box in [(210, 290, 24, 34), (250, 320, 125, 165), (340, 375, 262, 300)]:  # porcelain, coffee, spoon
        assert lab_change(cup, cup_navy, box) < 2.5, box  # JPEG re-encoding only
    assert lab_change(cup, cup_navy, (95, 140, 225, 275)) > 20  # the saucer's glaze
    teddy = load_image(SAMPLES / "teddy_bear.png").pixels
    teddy_navy = load_image(tmp_path / "a" / "teddy_bear-navy.png").pixels
    assert lab_change(teddy, teddy_navy, (215, 255, 345, 390)) == 0.0 and lab_change(teddy, teddy_navy, (280, 330, 480, 520)) > 20
    kept = runner.invoke(app, ["recolor", str(SAMPLES / "teddy_bear.png"), "-c", "navy", "-o", str(tmp_path / "b"),
                               "--region", "all", "--keep", "red", "--keep", "white", "--no-text", "--no-logos"])
    assert kept.exit_code == 0, kept.output
    whole = load_image(tmp_path / "b" / "teddy_bear-navy.png").pixels
    assert lab_change(teddy, whole, (215, 255, 345, 390)) == 0.0 and lab_change(teddy, whole, (275, 285, 165, 175)) == 0.0
    assert lab_change(teddy, whole, (280, 330, 480, 520)) > 20


def test_a_grey_product_is_reported_not_tinted(tmp_path):
    y, x = np.mgrid[0:200, 0:200]
    grey = np.clip(170 - 0.4 * x, 0, 255).astype(np.uint8)  # a shaded steel-grey can
    rgba = np.dstack([grey, grey, grey + 3, np.where((abs(x - 100) < 60) & (abs(y - 100) < 80), 255, 0)]).astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "can.png")
    result = runner.invoke(app, ["recolor", str(tmp_path / "can.png"), "-c", "navy", "-o", str(tmp_path / "out"), "--json", "--no-text"])
    assert result.exit_code == 1
    failed = json.loads(result.stdout)["results"][0]
    assert failed["status"] == "failed" and "no main coloured material" in failed["error"] and "--region all" in failed["error"]
    assert not (tmp_path / "out" / "can-navy.png").exists()
    whole = runner.invoke(app, ["recolor", str(tmp_path / "can.png"), "-c", "navy", "-o", str(tmp_path / "all"), "--region", "all",
                                "--no-text"])
    assert whole.exit_code == 0, whole.output
    assert np.median(rgb_to_lab(load_image(tmp_path / "all" / "can-navy.png").pixels[60:140, 60:140]), axis=(0, 1))[2] < -20  # blue
    bad = runner.invoke(app, ["recolor", str(tmp_path / "can.png"), "-c", "navy", "--keep", "nvay", "-o", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "Did you mean: navy" in bad.output
