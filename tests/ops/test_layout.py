import numpy as np
import pytest

from product_studio import ImageItem
from product_studio.errors import OperationError, UsageError
from product_studio.ops import apply_op
from product_studio.ops.layout import fit_to_canvas, limit_size, resize_rgba, trim
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
