import numpy as np
import pytest

from product_studio import ImageItem
from product_studio.errors import OperationError, UsageError
from product_studio.ops import apply_op
from product_studio.ops.layout import fit_product, fit_to_canvas, limit_size, resize_rgba, trim
from product_studio.vision.geometry import product_bbox


def _product(h=300, w=500, box=(50, 150, 100, 300), colour=(200, 30, 30)):
    pixels = np.full((h, w, 3), 90, np.uint8)  # old background colour under alpha 0
    alpha = np.zeros((h, w), np.uint8)
    y0, y1, x0, x1 = box
    pixels[y0:y1, x0:x1] = colour
    alpha[y0:y1, x0:x1] = 255
    return pixels, alpha


def test_trim_with_margin_clips_to_image():
    pixels, alpha = _product()
    p, a = trim(pixels, alpha, margin=60)
    assert a.shape == (100 + 50 + 60, 200 + 120)  # top clipped at 0
    with pytest.raises(UsageError, match="margin"):
        trim(pixels, alpha, margin=-1)


def test_fit_scales_long_side_to_fill_and_centres():
    pixels, alpha = _product()  # product 200 x 100
    out, out_alpha = fit_to_canvas(pixels, alpha, size=1000, fill=0.85, upscale="always")
    assert out.shape == (1000, 1000, 3)
    x0, y0, x1, y1 = product_bbox(out_alpha)
    assert x1 - x0 == 850 and y1 - y0 == 425
    assert abs((x0 + x1) / 2 - 500) <= 1 and abs((y0 + y1) / 2 - 500) <= 1
    # outside the product: alpha 0 and exact white colour
    assert out_alpha[0].max() == 0 and (out[0] == 255).all()
    # premultiplied resampling: no grey from the old background (90) leaks into the red edge
    edge = out[y0 + 200, x0 : x0 + 3]
    assert edge[:, 0].min() >= 195 and edge[:, 1].max() <= 35


def test_fit_never_upsamples_by_default_but_keeps_fill():
    pixels, alpha = _product()
    out, out_alpha = fit_to_canvas(pixels, alpha, size=1000, fill=0.8)
    assert out.shape == (250, 250, 3)  # 200 / 0.8
    x0, _, x1, _ = product_bbox(out_alpha)
    assert x1 - x0 == 200  # the product kept its own resolution


def test_fit_to_minimum_upsamples_only_to_the_minimum():
    pixels, alpha = _product()
    out, out_alpha = fit_to_canvas(pixels, alpha, size=2000, fill=0.8, min_size=500, upscale="to_minimum")
    assert out.shape == (500, 500, 3)
    x0, _, x1, _ = product_bbox(out_alpha)
    assert x1 - x0 == 400


def test_fit_without_alpha_pads_the_whole_image():
    pixels = np.zeros((100, 50, 3), np.uint8)
    out, out_alpha = fit_to_canvas(pixels, None, size=200, fill=1.0, upscale="always")
    assert out.shape == (200, 200, 3)
    assert product_bbox(out_alpha) == (50, 0, 150, 200)


@pytest.mark.parametrize("kwargs, message", [({"fill": 0}, "fill"), ({"size": 3}, "canvas size")])
def test_fit_rejects_bad_options(kwargs, message):
    pixels, alpha = _product()
    with pytest.raises(UsageError, match=message):
        fit_to_canvas(pixels, alpha, **kwargs)


def test_fit_rejects_mismatched_alpha():
    pixels, _ = _product()
    with pytest.raises(UsageError, match="resize the mask"):
        fit_to_canvas(pixels, np.zeros((3, 3), np.uint8))


def test_resize_rgba_keeps_a_constant_image_constant():
    pixels = np.full((40, 60, 3), 123, np.uint8)
    alpha = np.full((40, 60), 255, np.uint8)
    p, a = resize_rgba(pixels, alpha, (30, 20))
    assert p.shape == (20, 30, 3) and (p == 123).all() and (a == 255).all()


def test_limit_size_never_enlarges():
    pixels = np.zeros((100, 40, 3), np.uint8)
    assert limit_size(pixels, None, max_side=500)[0] is pixels
    assert limit_size(pixels, None, max_side=50)[0].shape == (50, 20, 3)


def test_trim_step_needs_a_cutout():
    with pytest.raises(OperationError, match="remove_background before it"):
        apply_op(ImageItem(pixels=np.zeros((5, 5, 3), np.uint8)), "trim")
    pixels, alpha = _product()
    out = apply_op(ImageItem(pixels=pixels, alpha=alpha), "trim")
    assert out.alpha.shape == (100, 200)


# ---- upscale="learned": the presets' way to their target size -------------------------------------


def _small_product(h=40, w=60, colour=(200, 30, 30)):
    """An RGBA cut-out whose product is all of it but a 2 px transparent frame (old background 90 under it)."""
    pixels = np.full((h, w, 3), 90, np.uint8)
    alpha = np.zeros((h, w), np.uint8)
    pixels[2:-2, 2:-2] = colour
    alpha[2:-2, 2:-2] = 255
    return pixels, alpha


def test_learned_reaches_the_target_with_the_upscaler_and_keeps_the_fill():
    pixels, alpha = _small_product(90, 130)  # product 126 x 86: 0.8 * 400 / 126 = x2.54 -> the x4 network
    fitted = fit_product(pixels, alpha, size=400, fill=0.8, upscale="learned")
    assert fitted.pixels.shape == (400, 400, 3) and fitted.target_reached
    assert fitted.method == "cnn" and fitted.model == "upscaler_x4"
    x0, y0, x1, y1 = product_bbox(fitted.alpha)
    assert x1 - x0 == 320 and abs((y1 - y0) - round(86 * 320 / 126)) <= 1
    # premultiplied through the network: the old grey (90) does not bleed into the red edge
    edge = fitted.pixels[(y0 + y1) // 2, x0 + 1 : x0 + 4]
    assert edge[:, 0].min() >= 180 and edge[:, 1].max() <= 50


def test_learned_uses_the_x2_network_up_to_x2_and_nothing_for_a_large_product():
    pixels, alpha = _small_product(90, 130)
    assert fit_product(pixels, alpha, size=250, fill=0.8, upscale="learned").model == "upscaler_x2"  # x1.59
    big = fit_product(pixels, alpha, size=100, fill=0.8, upscale="learned")  # shrinks: no network
    assert big.pixels.shape == (100, 100, 3) and big.model is None and big.method == "area" and big.scale < 1
    # a few per cent more pixels are not worth the network: Lanczos
    assert fit_product(pixels, alpha, size=163, fill=0.8, upscale="learned").method == "lanczos"


def test_learned_never_enlarges_past_x4_and_says_so():
    pixels, alpha = _small_product()  # product 56 x 36
    out = apply_op(ImageItem(pixels=pixels, alpha=alpha), "fit_to_canvas",
                   {"size": 2000, "fill": 0.88, "upscale": "learned"})
    assert out.width == out.height == 254  # floor(4 * 56 / 0.88), not 2000
    x0, _, x1, _ = product_bbox(out.alpha)
    assert x1 - x0 <= 4 * 56 and out.metadata["enlargement"] <= 4
    assert out.log[-1].model == "upscaler_x4"
    (warning,) = out.metadata["warnings"]
    assert "56x36 px" in warning and "254 px image, below the 2000 px target" in warning and "larger photo" in warning


def test_earlier_enlargements_count_towards_x4():
    pixels, alpha = _small_product()
    item = apply_op(ImageItem(pixels=pixels, alpha=alpha), "upscale", {"scale": 4, "method": "bicubic"})
    out = apply_op(item, "fit_to_canvas", {"size": 2000, "fill": 0.88, "upscale": "learned"})
    assert out.metadata["enlargement"] <= 4 and out.log[-1].model is None  # no second network pass
    assert out.width < 270 and len(out.metadata["warnings"]) == 1  # (4 * 56 + the soft alpha edge) / 0.88


def test_an_enlargement_past_x4_is_a_warning():
    pixels, alpha = _small_product()
    out = apply_op(ImageItem(pixels=pixels, alpha=alpha), "fit_to_canvas", {"size": 600, "fill": 0.88, "upscale": "always"})
    assert out.width == 600 and out.metadata["enlargement"] > 9
    (warning,) = out.metadata["warnings"]
    assert warning.startswith("enlarged x9.4 in all, past the x4")
    twice = apply_op(apply_op(ImageItem(pixels=pixels), "upscale", {"scale": 4, "method": "bicubic"}), "upscale",
                     {"scale": 2, "method": "bicubic"})
    assert twice.metadata["enlargement"] == 8 and len(twice.metadata["warnings"]) == 1
    fine = apply_op(ImageItem(pixels=pixels, alpha=alpha), "fit_to_canvas", {"size": 200, "fill": 0.88, "upscale": "always"})
    assert "warnings" not in fine.metadata  # x3.1


@pytest.mark.parametrize("upscale", ["never", "to_minimum", "always", "learned"])
@pytest.mark.parametrize("shape", [(40, 60), (90, 130), (700, 300)])
def test_the_planned_canvas_bounds_the_real_one(upscale, shape):
    from product_studio.ops.registry import get_op

    options = get_op("fit_to_canvas").parse_options({"size": 400, "fill": 0.8, "min_size": 200, "upscale": upscale})
    pixels = np.random.default_rng(0).integers(0, 255, (*shape, 3), dtype=np.uint8)
    planned = get_op("fit_to_canvas").planned_size(options, (shape[1], shape[0]))
    made = apply_op(ImageItem(pixels=pixels), "fit_to_canvas", options)  # the product is the whole image
    assert (made.width, made.height) == planned


def test_learned_rejects_a_bound_past_x4():
    pixels, alpha = _small_product()
    with pytest.raises(UsageError, match="max_enlargement must be between 1 and 4"):
        fit_product(pixels, alpha, upscale="learned", max_enlargement=8)
