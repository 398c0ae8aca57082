"""Repair: inpainting known holes (Telea, NS, learned), mask files, finding defects and text, the registered steps."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from product_studio.errors import ModelError, RecipeError, UnsupportedFormatError, UsageError
from product_studio.item import ImageItem
from product_studio.models import create_model
from product_studio.ops import apply_op, list_ops
from product_studio.ops.repair import (
    detect_defects,
    glyph_mask,
    inpaint,
    learned_inpaint,
    load_defect_detector,
    load_inpainter,
    load_mask,
    text_mask,
)
from product_studio.train.defects import add_defects
from product_studio.train.metrics import detection_scores, psnr
from product_studio.vision.ocr import TextLine


def gradient(h: int = 64, w: int = 80) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.dstack([40 + 2 * x, 60 + 2 * y, 200 - x - y]).astype(np.uint8)


def hole(shape: tuple[int, int], box: tuple[int, int, int, int] = (28, 36, 30, 40)) -> np.ndarray:
    y0, y1, x0, x1 = box
    mask = np.zeros(shape, np.uint8)
    mask[y0:y1, x0:x1] = 255
    return mask


@pytest.mark.parametrize("method", ["telea", "ns"])
def test_inpaint_fills_a_hole_in_a_smooth_gradient(method):
    clean = gradient()
    mask = hole(clean.shape[:2])
    damaged = clean.copy()
    damaged[mask > 0] = (255, 0, 255)  # a magenta sticker
    out = inpaint(damaged, mask, method=method)
    error = np.abs(out.astype(int) - clean)[mask > 0]
    assert error.mean() < 3 and error.max() < 12
    np.testing.assert_array_equal(out[mask == 0], damaged[mask == 0])  # outside the hole: untouched


def test_inpaint_takes_any_nonzero_value_and_bool_masks():
    clean = gradient()
    damaged = clean.copy()
    damaged[30:34, 30:34] = 0
    ones = np.zeros(clean.shape[:2], np.uint8)
    ones[30:34, 30:34] = 1
    np.testing.assert_array_equal(inpaint(damaged, ones), inpaint(damaged, ones * 255))
    np.testing.assert_array_equal(inpaint(damaged, ones.astype(bool)), inpaint(damaged, ones * 255))


def test_inpaint_with_an_empty_mask_is_the_identity():
    img = gradient()
    out = inpaint(img, np.zeros(img.shape[:2], np.uint8))
    np.testing.assert_array_equal(out, img)
    assert out is not img


@pytest.mark.parametrize(
    "mask, kwargs, error, words",
    [
        (
            np.zeros((64, 81), np.uint8),
            {},
            UsageError,
            "mask is 81x64 \\(WxH\\) but the image is 80x64; resize the mask",
        ),
        (np.zeros((64, 80, 3), np.uint8), {}, UsageError, "mask must be HxW uint8"),
        (np.zeros((64, 80), np.float32), {}, UsageError, "mask must be HxW uint8"),
        (np.zeros((64, 80), np.uint8), {"method": "lama"}, UsageError, "method must be one of auto, learned, telea, ns; got 'lama'"),
        (np.zeros((64, 80), np.uint8), {"radius": 0}, UsageError, "radius must be between 1 and 50"),
        (np.full((64, 80), 255, np.uint8), {}, UsageError, "covers the whole image"),
    ],
)
def test_inpaint_rejects_bad_input_with_a_useful_message(mask, kwargs, error, words):
    with pytest.raises(error, match=words):
        inpaint(gradient(), mask, **kwargs)


def test_inpaint_rejects_bad_pixels():
    with pytest.raises(UsageError, match="uint8"):
        inpaint(gradient().astype(np.float32), hole((64, 80)))


def test_load_mask_reads_luminance_when_there_is_no_alpha(tmp_path):
    plane = np.zeros((20, 30), np.uint8)
    plane[5:10, 5:15] = 255
    plane[12, 12] = 100  # grey below the threshold: keep
    path = tmp_path / "mask.png"
    Image.fromarray(plane, "L").save(path)
    mask = load_mask(path, (20, 30, 3))
    assert mask.dtype == np.uint8 and mask.shape == (20, 30)
    np.testing.assert_array_equal(mask, np.where(plane > 127, 255, 0))


def test_load_mask_prefers_alpha(tmp_path):
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., :3] = 255  # white everywhere: luminance would mark every pixel
    rgba[2:6, 3:9, 3] = 255  # but only this patch is opaque
    path = tmp_path / "strokes.png"
    Image.fromarray(rgba, "RGBA").save(path)
    mask = load_mask(path, (20, 30))
    assert np.count_nonzero(mask) == 4 * 6 and mask[3, 4] == 255


def test_load_mask_size_mismatch_names_both_sizes(tmp_path):
    path = tmp_path / "small.png"
    Image.fromarray(np.zeros((10, 10), np.uint8), "L").save(path)
    with pytest.raises(UsageError, match="mask is 10x10 \\(WxH\\) but the image is 30x20; export the mask") as info:
        load_mask(path, (20, 30))
    assert info.value.path == str(path)


def test_load_mask_passes_on_file_errors(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(UnsupportedFormatError):
        load_mask(path, (20, 30))


def test_inpaint_step_is_registered_and_runs(tmp_path):
    spec = {op.name: op for op in list_ops()}["inpaint"]
    assert set(spec.options.model_fields) == {"mask_path", "method", "radius", "dilate"}
    clean = gradient()
    mask = hole(clean.shape[:2])
    damaged = clean.copy()
    damaged[mask > 0] = 0
    path = tmp_path / "mask.png"
    Image.fromarray(mask, "L").save(path)
    alpha = np.full(clean.shape[:2], 255, np.uint8)
    alpha[:5] = 0
    item = ImageItem(pixels=damaged, alpha=alpha)
    out = apply_op(item, "inpaint", {"mask_path": str(path), "method": "telea", "radius": 3})
    assert np.abs(out.pixels.astype(int) - clean)[mask > 0].mean() < 3
    np.testing.assert_array_equal(out.alpha, alpha)
    assert out.metadata["inpainted_pixels"] == np.count_nonzero(mask)
    assert out.log[-1].op == "inpaint" and out.log[-1].params["mask_path"] == str(path)


def test_inpaint_step_dilate_grows_the_mask_over_a_defect_halo(tmp_path):
    clean = gradient()
    mask = hole(clean.shape[:2])
    damaged = clean.copy()
    damaged[27:37, 29:41] = 0  # the defect is one pixel bigger than the mask on every side
    path = tmp_path / "mask.png"
    Image.fromarray(mask, "L").save(path)
    item = ImageItem(pixels=damaged)
    plain = apply_op(item, "inpaint", {"mask_path": str(path), "method": "telea"})
    grown = apply_op(item, "inpaint", {"mask_path": str(path), "method": "telea", "dilate": 2})
    assert grown.metadata["inpainted_pixels"] > plain.metadata["inpainted_pixels"]
    region = np.s_[27:37, 29:41]
    assert np.abs(grown.pixels[region].astype(int) - clean[region]).mean() < 5
    assert np.abs(plain.pixels[region].astype(int) - clean[region]).mean() > 10


@pytest.mark.parametrize(
    "options, words",
    [
        ({}, "mask_path"),
        ({"mask_path": "m.png", "method": "lama"}, "method"),
        ({"mask_path": "m.png", "dilate": -1}, "dilate"),
    ],
)
def test_inpaint_step_rejects_bad_options(options, words):
    with pytest.raises(RecipeError, match=f"step 'inpaint' has bad options: .*{words}"):
        apply_op(ImageItem(pixels=gradient()), "inpaint", options)


# ---- the learned inpainter (a fresh tiny network: its output is the pre-fill, no training needed) ------------


def as_onnx(model):
    """``model`` exported the way the runtime runs it, opened with onnxruntime (ops/ run no torch)."""
    import tempfile

    from product_studio.runtime import open_onnx
    from product_studio.train.export import export_for_runtime

    pytest.importorskip("onnx")
    return open_onnx(export_for_runtime(model, Path(tempfile.mkdtemp()) / f"{model.model_name}.onnx"))


def tiny_inpainter():
    torch.manual_seed(0)
    return as_onnx(create_model("inpaint_gated_tiny", base="navier-stokes").eval())


def test_learned_inpaint_in_tiles_fills_across_tile_borders_and_keeps_the_rest():
    clean = gradient(64, 80)
    mask = np.zeros(clean.shape[:2], np.uint8)
    mask[28:36, 20:70] = 255  # crosses the 32-px tile borders at x = 32 and 64, and y = 32
    damaged = clean.copy()
    damaged[mask > 0] = (255, 0, 255)
    out = learned_inpaint(damaged, mask, model=tiny_inpainter(), tile=32, margin=16)
    np.testing.assert_array_equal(out[mask == 0], damaged[mask == 0])
    error = np.abs(out.astype(int) - clean)[mask > 0]
    assert error.mean() < 4 and error.max() < 20
    whole = learned_inpaint(damaged, mask, model=tiny_inpainter(), tile=256)
    assert np.abs(whole.astype(int) - out).mean() < 1.5  # tiling changes next to nothing


def test_inpaint_learned_uses_the_given_model_and_an_empty_mask_is_the_identity():
    clean = gradient()
    mask = hole(clean.shape[:2])
    damaged = clean.copy()
    damaged[mask > 0] = 0
    out = inpaint(damaged, mask, method="learned", model=tiny_inpainter())
    assert np.abs(out.astype(int) - clean)[mask > 0].mean() < 4
    empty = np.zeros(clean.shape[:2], np.uint8)
    np.testing.assert_array_equal(inpaint(damaged, empty, method="learned", model=tiny_inpainter()), damaged)


def test_loading_weights_that_are_missing_or_of_the_wrong_family_is_a_model_error(tmp_path):
    from product_studio.train.export import export_for_runtime

    pytest.importorskip("onnx")
    with pytest.raises(ModelError, match="model file not found"):
        load_inpainter(tmp_path / "missing.onnx")
    path = export_for_runtime(create_model("defect_unet_tiny").eval(), tmp_path / "detector.onnx")
    with pytest.raises(ModelError, match="not an inpainter; give a file written by `product-studio train inpainter`"):
        load_inpainter(path)
    assert load_defect_detector(path).model_name == "defect_unet_tiny"


# ---- finding defects -----------------------------------------------------------------------------------------


def grey_with_defects() -> tuple[np.ndarray, np.ndarray]:
    clean = np.full((120, 160, 3), 150, np.uint8)
    damaged = clean.copy()
    truth = np.zeros((120, 160), np.uint8)
    cv2.line(damaged, (10, 100), (150, 20), (30, 30, 30), 2)
    cv2.line(truth, (10, 100), (150, 20), 255, 2)
    for y, x in ((20, 30), (90, 120), (60, 40)):
        cv2.circle(damaged, (x, y), 2, (250, 250, 250), -1)
        cv2.circle(truth, (x, y), 2, 255, -1)
    return damaged, truth


def test_classical_detection_finds_a_dark_scratch_and_light_specks_on_flat_grey():
    damaged, truth = grey_with_defects()
    found = detect_defects(damaged, method="classical", threshold=60)
    assert found.dtype == np.uint8 and found.shape == truth.shape
    assert detection_scores(found, truth, tolerance=2).f1 > 0.8
    assert not detect_defects(np.full((50, 50, 3), 150, np.uint8), method="classical").any()
    grown = detect_defects(damaged, method="classical", threshold=60, grow=2)
    assert np.count_nonzero(grown) > np.count_nonzero(found) and (grown[found > 0] > 0).all()
    specks_gone = detect_defects(damaged, method="classical", threshold=60, min_area=40)
    line = np.zeros_like(truth)
    cv2.line(line, (10, 100), (150, 20), 255, 2)
    assert not specks_gone[18:23, 28:33].any() and (specks_gone[line > 0] > 0).mean() > 0.9  # the line stays


def test_auto_detection_uses_the_shipped_network_and_finds_the_scratch_and_specks_on_flat_grey():
    damaged, truth = grey_with_defects()
    found = detect_defects(damaged)
    assert detection_scores(found, truth, tolerance=2).f1 > 0.9
    assert not detect_defects(np.full((50, 50, 3), 150, np.uint8)).any()


def test_learned_detection_with_a_given_model_gives_a_mask_and_checks_its_options():
    torch.manual_seed(0)
    model = as_onnx(create_model("defect_unet_tiny").eval())
    damaged, _ = grey_with_defects()
    found = detect_defects(damaged, method="learned", model=model, threshold=0.5)
    assert found.shape == damaged.shape[:2] and found.dtype == np.uint8 and set(np.unique(found)) <= {0, 255}
    with pytest.raises(UsageError, match="threshold is a probability between 0 and 1; got 3.0"):
        detect_defects(damaged, method="learned", model=model, threshold=3)
    with pytest.raises(UsageError, match="method must be one of auto, learned, classical; got 'magic'"):
        detect_defects(damaged, method="magic")


# ---- overlaid text ---------------------------------------------------------------------------------------------


def with_caption(colour: int, background: int) -> tuple[np.ndarray, np.ndarray, tuple]:
    y, x = np.mgrid[0:120, 0:320]
    clean = np.dstack([background + 0.1 * x, background + 0.05 * y, np.full_like(x, background)]).astype(np.uint8)
    glyphs = np.zeros((120, 320), np.uint8)
    cv2.putText(glyphs, "SALE -50%", (20, 80), cv2.FONT_HERSHEY_DUPLEX, 1.6, 255, 3, cv2.LINE_AA)
    a = (glyphs.astype(np.float32) / 255)[..., None]
    image = np.clip(clean * (1 - a) + colour * a, 0, 255).astype(np.uint8)
    ys, xs = np.nonzero(glyphs)
    box = ((xs.min() - 3, ys.min() - 3), (xs.max() + 3, ys.min() - 3), (xs.max() + 3, ys.max() + 3), (xs.min() - 3, ys.max() + 3))
    return image, glyphs, box


@pytest.mark.parametrize("colour, background", [(20, 200), (250, 60)], ids=["dark-on-light", "light-on-dark"])
def test_glyph_mask_covers_the_letters_and_not_the_whole_box(colour, background):
    image, glyphs, box = with_caption(colour, background)
    mask = glyph_mask(image, box, grow=2)
    strong = glyphs > 127
    assert (mask[strong] > 0).mean() > 0.97  # the letters
    (x0, y0), (x1, y1) = box[0], box[2]
    assert np.count_nonzero(mask) < 0.7 * (x1 - x0) * (y1 - y0)  # not the box
    assert not mask[:, :10].any() and not mask[100:].any()  # nothing outside the box


def test_text_mask_keeps_only_the_lines_that_match():
    image, _, box = with_caption(20, 200)
    lines = [TextLine("SALE -50%", box, 0.9), TextLine("elsewhere", ((0, 0), (5, 0), (5, 5), (0, 5)), 0.9)]
    mask, used = text_mask(image, lines=lines, match="sale")
    assert [line.text for line in used] == ["SALE -50%"] and mask.any()
    mask, used = text_mask(image, lines=lines, match="nothing like it")
    assert used == [] and not mask.any()
    with pytest.raises(UsageError, match="match must be some text"):
        text_mask(image, lines=lines, match="  ")


def test_remove_text_step_reads_the_caption_and_removes_it():
    image, glyphs, _ = with_caption(20, 200)
    clean, _, _ = with_caption(200, 200)  # the caption drawn in the background's own level: nearly the clean image
    out = apply_op(ImageItem(pixels=image), "remove_text", {"method": "telea"})
    assert any("SALE" in text for text in out.metadata["removed_text"])
    letters = glyphs > 127
    before = np.abs(image.astype(int) - clean)[letters].mean()
    after = np.abs(out.pixels.astype(int) - clean)[letters].mean()
    assert before > 100 and after < 15
    assert out.log[-1].op == "remove_text"


def test_auto_fill_is_navier_stokes_for_a_painted_mask_and_the_network_for_found_defects():
    from product_studio.ops.repair import resolve_inpaint_method

    assert resolve_inpaint_method("auto") == "ns"
    assert resolve_inpaint_method("auto", see_through=True) == "learned"
    assert resolve_inpaint_method("telea", see_through=True) == "telea"


def test_repair_defects_step_finds_and_fills():
    y, x = np.mgrid[0:160, 0:200]
    clean = np.dstack([100 + 0.2 * x, 120 + 0.1 * y, 140 - 0.1 * x]).astype(np.uint8)
    damaged, truth = add_defects(clean, 4, density=4.0, kinds=("scratch", "dust"))
    out = apply_op(ImageItem(pixels=damaged), "repair_defects", {"detector": "classical", "threshold": 40, "method": "telea"})
    assert out.metadata["defect_pixels"] > 0 and out.metadata["inpaint_method"] == "telea"
    assert psnr(out.pixels, clean, mask=truth) > psnr(damaged, clean, mask=truth) + 8
    assert out.metadata["defect_detector"] == "classical" and out.log[-1].model is None
    learned = apply_op(ImageItem(pixels=damaged), "repair_defects", {})
    assert learned.metadata["defect_detector"] == "learned"  # auto = learned when the shipped weights load
    assert learned.metadata["inpaint_method"] == "learned"  # auto, for found defects: the network looks through them
    assert learned.log[-1].model.startswith("defect_unet_s (defect_detector.onnx") and " + inpaint_gated" in learned.log[-1].model
    assert {"repair_defects", "remove_text", "inpaint"} <= {op.name for op in list_ops()}
