from __future__ import annotations

import numpy as np
import pytest

from product_studio import load_image
from product_studio.errors import UsageError
from product_studio.item import ImageItem
from product_studio.understand.attributes import Attributes, classify_background, extract_attributes, measure_size

FAST = ["colors", "size", "quality", "background"]


def red_disc_on(background: tuple[int, int, int], size: int = 320) -> np.ndarray:
    img = np.zeros((size, size, 3), np.uint8)
    img[:] = background
    yy, xx = np.mgrid[:size, :size]
    img[(yy - size // 2) ** 2 + (xx - size // 2) ** 2 < (size // 4) ** 2] = (220, 25, 35)
    return img


def test_red_product_on_blue_background_is_red_and_background_is_plain_blue():
    item = ImageItem(red_disc_on((25, 60, 205)))
    attrs = extract_attributes(item, fields=FAST, segment="grabcut")
    assert attrs.mask_source == "grabcut"
    assert attrs.colors[0].en == "red" and attrs.colors[0].zh == "红色" and attrs.colors[0].share > 0.9
    assert attrs.background.kind == "plain" and attrs.background.color_en == "blue"
    assert 0.45 < attrs.size.fill < 0.56 and 0.95 < attrs.size.aspect < 1.05
    assert item.metadata["attributes"]["colors"][0]["zh"] == "红色"  # also in the item's metadata


def test_u2netp_mask_is_used_when_installed():
    from product_studio.errors import ModelError
    from product_studio.runtime import u2netp_path

    try:
        u2netp_path()
    except ModelError:
        pytest.skip("u2netp model not installed")
    attrs = extract_attributes(ImageItem(red_disc_on((25, 60, 205))), fields=["colors"], segment="u2netp")
    assert attrs.mask_source == "u2netp" and attrs.colors[0].en == "red"


def test_background_kinds():
    h = w = 200
    mask = np.zeros((h, w), np.uint8)
    mask[60:140, 60:140] = 255
    white = np.full((h, w, 3), 255, np.uint8)
    assert classify_background(white, mask).kind == "white"
    assert classify_background(white, mask).white_share == 1.0
    x = np.linspace(0, 1, w)[None, :, None]
    gradient = np.broadcast_to(np.clip(60 + 150 * x, 0, 255), (h, w, 3)).astype(np.uint8).copy()
    assert classify_background(gradient, mask).kind == "gradient"
    rng = np.random.default_rng(0)
    clutter = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    assert classify_background(clutter, mask).kind == "cluttered"
    full = np.full((h, w), 255, np.uint8)
    assert classify_background(white, full).kind == "none"
    assert classify_background(white, mask, transparent=True).kind == "transparent"


def test_rgba_cutout_reads_as_transparent(tmp_path):
    from PIL import Image

    rgba = np.zeros((120, 120, 4), np.uint8)
    rgba[30:90, 30:90] = (20, 150, 50, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cut.png")
    attrs = extract_attributes(load_image(tmp_path / "cut.png"), fields=FAST)
    assert attrs.mask_source == "alpha" and attrs.background.kind == "transparent"
    assert attrs.colors[0].en == "green" and attrs.size.box == (30, 30, 90, 90)


def test_size_without_mask_is_the_frame_and_dict_round_trip():
    size = measure_size(None, (50, 100))
    assert (size.width_px, size.height_px, size.aspect, size.fill) == (100, 50, 2.0, 1.0)
    item = ImageItem(red_disc_on((255, 255, 255), 160))
    attrs = extract_attributes(item, fields=FAST, segment="grabcut")
    again = Attributes.from_dict(attrs.to_dict())
    assert again.colors == attrs.colors and again.size == attrs.size and again.background == attrs.background


def test_unknown_field_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown attribute field"):
        extract_attributes(ImageItem(np.zeros((10, 10, 3), np.uint8)), fields=["smell"])
    with pytest.raises(UsageError, match="segment"):
        extract_attributes(ImageItem(np.zeros((10, 10, 3), np.uint8)), fields=["colors"], segment="magic")


def test_text_read_on_the_photo_feeds_brand_and_model_into_the_title():
    """End to end with the real OCR: a label reading a brand and a model number."""
    from pathlib import Path

    from PIL import Image as PILImage
    from PIL import ImageDraw, ImageFont

    from product_studio.marketplaces import load_preset
    from product_studio.understand.describe import describe

    font_path = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
    if not font_path.is_file():
        pytest.skip("CJK font not installed (the Makefile's apt step installs fonts-wqy-zenhei)")
    card = PILImage.new("RGB", (520, 220), (245, 242, 235))
    draw = ImageDraw.Draw(card)
    font = ImageFont.truetype(str(font_path), 44)
    draw.text((30, 30), "NIKE", font=font, fill=(20, 20, 30))
    draw.text((30, 120), "型号：QD-3310", font=font, fill=(20, 20, 30))
    item = ImageItem(np.asarray(card).copy())
    try:
        attrs = extract_attributes(item, fields=["text"])
    except Exception as exc:
        from product_studio.errors import ModelError

        if isinstance(exc, (ModelError, ImportError)):
            pytest.skip(f"OCR not available: {exc}")
        raise
    assert "Nike" in attrs.text.brands and "QD-3310" in attrs.text.models
    listing = describe(attrs, {"category": "sneakers"}, title_rule=load_preset("taobao-main").title_rule(), langs="zh")["zh"]
    assert listing.title.startswith("Nike") and "QD-3310" in listing.title


def test_category_comes_from_the_shipped_classifier():
    from product_studio.errors import ModelError
    from product_studio.train.datasets import FASHION_MNIST_DIR, load_fashion_mnist

    if not FASHION_MNIST_DIR.exists():
        pytest.skip("Debian package dataset-fashion-mnist not installed")
    boot = load_fashion_mnist("test")[0][0]  # an ankle boot, turned back into a photo: dark product on white
    big = np.kron(boot, np.ones((8, 8), np.uint8))
    photo = np.ascontiguousarray(np.repeat(255 - big[:, :, None], 3, axis=2))
    try:
        attrs = extract_attributes(ImageItem(photo, alpha=np.where(big > 10, 255, 0).astype(np.uint8)), fields=["category"])
    except (ModelError, ImportError) as exc:
        pytest.skip(f"classifier not available: {exc}")
    assert attrs.category == "Ankle boot" and attrs.category_in_taxonomy is True and 0.5 < attrs.category_prob <= 1.0
    assert len(attrs.category_top) == 3 and attrs.category_top[0][1] >= attrs.category_top[1][1]
    # Something of none of the categories: no category, the nearest ones kept, a note that says why.
    white = np.full((200, 200, 3), 255, np.uint8)
    white[60:140, 60:140] = (200, 120, 40)  # an orange square
    square = extract_attributes(ImageItem(white), fields=["category"], segment="grabcut")
    if square.category_in_taxonomy is False:
        assert square.category is None and len(square.category_top) == 3
        assert any(n.startswith("category: unknown") for n in square.notes) and "category unknown" in " ".join(square.summary_facts())
    assert square.to_dict()["category_in_taxonomy"] == square.category_in_taxonomy


def test_summary_facts_names_each_measured_attribute_in_order():
    from product_studio.understand.attributes import Attributes, Background, ProductSize

    attrs = Attributes(category="Sneaker", category_prob=0.97, background=Background(kind="white"),
                       size=ProductSize(width_px=10, height_px=5, box=(0, 0, 10, 5), aspect=2.0, area_share=0.4,
                                        box_share=0.5, fill=0.85))
    assert attrs.summary_facts() == ["category Sneaker (97%)", "background white", "product fill 85%"]
    assert Attributes().summary_facts() == []
