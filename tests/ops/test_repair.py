"""Repair: inpainting known holes, mask files, error messages, the registered step."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from product_studio.errors import RecipeError, UnsupportedFormatError, UsageError
from product_studio.item import ImageItem
from product_studio.ops import apply_op, list_ops
from product_studio.ops.repair import inpaint, load_mask


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
        (np.zeros((64, 80), np.uint8), {"method": "lama"}, UsageError, "method must be one of telea, ns; got 'lama'"),
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
    plain = apply_op(item, "inpaint", {"mask_path": str(path)})
    grown = apply_op(item, "inpaint", {"mask_path": str(path), "dilate": 2})
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
