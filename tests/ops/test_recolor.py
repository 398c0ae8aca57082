"""Colour variants: colours parsed, the product's median colour reaching the target, shading kept,
the background, text and logos bit-identical, and the error messages."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from product_studio.errors import OperationError, RecipeError, UsageError
from product_studio.item import ImageItem
from product_studio.ops import apply_op
from product_studio.ops.recolor import (
    dominant_region,
    find_logos,
    parse_color,
    parse_colors,
    prepare_recolor,
    recolor,
    split_colors,
    text_glyph_mask,
)
from product_studio.vision.colors import delta_e2000, rgb_to_lab

LATIN_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def shaded_product(color=(190, 40, 40), size=160) -> tuple[np.ndarray, np.ndarray]:
    """A lit ball: a disc whose lightness falls from a highlight to a shadowed side, on grey."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    c = size / 2
    r = np.hypot(x - c, y - c)
    mask = np.where(r <= size * 0.4, 255, 0).astype(np.uint8)
    light = np.clip(1.15 - 0.9 * np.hypot(x - c * 0.7, y - c * 0.7) / size, 0.2, 1.1)
    image = np.full((size, size, 3), 205, np.uint8)
    ball = np.clip(np.array(color, np.float32) * light[..., None], 0, 255).astype(np.uint8)
    image[mask > 0] = ball[mask > 0]
    return image, mask


def median_lab(pixels: np.ndarray, where: np.ndarray) -> np.ndarray:
    return np.median(rgb_to_lab(pixels[where]), axis=0)


def lightness_detail_correlation(before: np.ndarray, after: np.ndarray, where: np.ndarray) -> float:
    lb, la = rgb_to_lab(before[where])[:, 0], rgb_to_lab(after[where])[:, 0]
    return float(np.corrcoef(lb - lb.mean(), la - la.mean())[0, 1])


# --- colours


@pytest.mark.parametrize(
    ("text", "rgb", "slug"),
    [
        ("red", (255, 0, 0), "red"),
        ("Navy", (0, 0, 128), "navy"),
        ("sea green", (46, 139, 87), "seagreen"),
        ("#2e8b57", (46, 139, 87), "2e8b57"),
        ("2E8B57", (46, 139, 87), "2e8b57"),
        ("#fff", (255, 255, 255), "ffffff"),
        ("rgb(46, 139, 87)", (46, 139, 87), "2e8b57"),
        ("红色", (235, 15, 25), "红色"),
        ("藏青", (20, 30, 75), "藏青"),
        ("墨绿", (20, 70, 40), "墨绿"),
        ("denim blue", (70, 95, 135), "denim-blue"),
        ("charcoal", (64, 64, 66), "charcoal"),
    ],
)
def test_parse_color_known_values(text, rgb, slug):
    color = parse_color(text)
    assert color.rgb == rgb and color.slug == slug and color.text == text
    assert color.hex == "#{:02x}{:02x}{:02x}".format(*rgb)


def test_unknown_colours_suggest_close_names():
    with pytest.raises(UsageError, match="unknown colour 'nvay'. Did you mean: navy"):
        parse_color("nvay")
    with pytest.raises(UsageError, match="Did you mean: .*蓝色"):
        parse_color("蓝绿色")
    with pytest.raises(UsageError, match="not a hex colour"):
        parse_color("#12345")
    with pytest.raises(UsageError, match="rgb\\(46, 139, 87\\)"):
        parse_color("rgb(300, 1)")
    with pytest.raises(UsageError, match="no colour given"):
        parse_colors(" , ")


def test_split_and_parse_lists():
    assert split_colors("red, navy,rgb(46,139,87)，藏青、#fff") == ["red", "navy", "rgb(46,139,87)", "藏青", "#fff"]
    colors = parse_colors(["red,navy", "#ff0000", "Navy"])  # duplicates (same file name) dropped
    assert [c.slug for c in colors] == ["red", "navy", "ff0000"]


# --- the colour transfer


def test_flat_product_takes_the_exact_colour_and_background_is_bit_identical():
    pixels = np.full((40, 40, 3), 240, np.uint8)
    pixels[10:30, 10:30] = (200, 30, 30)
    mask = np.zeros((40, 40), np.uint8)
    mask[10:30, 10:30] = 255
    out = recolor(pixels, mask, (46, 139, 87))
    assert np.abs(out[10:30, 10:30].astype(int) - (46, 139, 87)).max() <= 1
    assert np.array_equal(out[mask == 0], pixels[mask == 0])
    assert out is not pixels and np.array_equal(pixels[20, 20], (200, 30, 30))  # input untouched


@pytest.mark.parametrize("target", [(255, 0, 0), (0, 0, 128), (46, 139, 87), (255, 215, 0), (135, 206, 235), (128, 0, 128)])
def test_shaded_product_median_reaches_chromatic_target_and_keeps_shading(target):
    pixels, mask = shaded_product()
    out = recolor(pixels, mask, target)
    inside = mask == 255
    de = float(delta_e2000(median_lab(out, inside), rgb_to_lab(np.array(target, np.uint8))))
    assert de < 3.0, de
    assert lightness_detail_correlation(pixels, out, inside) > 0.97
    assert np.array_equal(out[~inside], pixels[~inside])


@pytest.mark.parametrize("source", [(235, 235, 232), (35, 35, 38), (128, 128, 128)])
def test_achromatic_products_take_a_hue(source):
    pixels, mask = shaded_product(source)
    inside = mask == 255
    out = recolor(pixels, mask, (0, 0, 128))
    lab = median_lab(out, inside)
    assert float(delta_e2000(lab, rgb_to_lab(np.array((0, 0, 128), np.uint8)))) < 4.0
    assert lightness_detail_correlation(pixels, out, inside) > 0.95


def test_black_and_white_targets_keep_shading_within_the_lightness_range():
    pixels, mask = shaded_product()
    inside = mask == 255
    black = recolor(pixels, mask, (0, 0, 0))
    white = recolor(pixels, mask, (255, 255, 255))
    assert 8.0 <= median_lab(black, inside)[0] <= 12.0  # a photographed black, not L* = 0
    assert median_lab(white, inside)[0] >= 92.0
    for out in (black, white):
        assert np.abs(median_lab(out, inside)[1:]).max() < 1.0  # neutral
        assert lightness_detail_correlation(pixels, out, inside) > 0.9
        assert len(np.unique(out[inside].reshape(-1, 3), axis=0)) > 20  # not a flat fill


def test_soft_edges_blend_keep_is_identical_and_strength():
    pixels = np.full((20, 20, 3), (200, 30, 30), np.uint8)
    mask = np.full((20, 20), 255, np.uint8)
    mask[:, :4] = 0
    mask[:, 4] = 128
    keep = np.zeros((20, 20), np.uint8)
    keep[15:, 10:] = 255
    out = recolor(pixels, mask, (0, 0, 255), keep=keep)
    assert np.array_equal(out[15:, 10:], pixels[15:, 10:])
    full = out[5, 10].astype(int)
    assert np.abs(out[5, 4].astype(int) - (pixels[5, 4].astype(int) + full) / 2).max() <= 2  # half way
    assert np.array_equal(recolor(pixels, mask, (0, 0, 255), strength=0.0), pixels)
    half = recolor(pixels, mask, (0, 0, 255), strength=0.5)[5, 10].astype(int)
    assert np.abs(half - (pixels[5, 10].astype(int) + full) / 2).max() <= 2


def test_errors_say_what_to_do():
    pixels, mask = shaded_product()
    with pytest.raises(UsageError, match="3 numbers 0..255"):
        recolor(pixels, mask, (300, 0, 0))
    with pytest.raises(UsageError, match="resize the mask"):
        recolor(pixels, mask[:10], (0, 0, 0))
    with pytest.raises(UsageError, match="strength must be between 0 and 1"):
        recolor(pixels, mask, (0, 0, 0), strength=2)
    with pytest.raises(OperationError, match="only 0 product pixels"):
        recolor(pixels, np.zeros_like(mask), (0, 0, 0), keep=None)
    with pytest.raises(UsageError, match="uint8"):
        recolor(pixels.astype(np.float32), mask, (0, 0, 0))


# --- what is left alone


def labelled_product() -> tuple[np.ndarray, np.ndarray, list]:
    """A red box with 'SALE 50' in white, and a 6 px white dot (a mark) away from the text."""
    image = Image.new("RGB", (320, 220), (215, 215, 215))
    draw = ImageDraw.Draw(image)
    draw.rectangle([20, 20, 300, 200], fill=(180, 30, 35))
    font = ImageFont.truetype(LATIN_BOLD, 40)
    draw.text((60, 50), "SALE 50", font=font, fill=(250, 250, 250))
    draw.ellipse([240, 150, 262, 172], fill=(250, 240, 40))
    pixels = np.asarray(image).copy()
    mask = np.zeros((220, 320), np.uint8)
    mask[20:201, 20:301] = 255
    left, top, right, bottom = draw.textbbox((60, 50), "SALE 50", font=font)
    box = [(left, top), (right, top), (right, bottom), (left, bottom)]
    return pixels, mask, [box]


def test_text_glyph_mask_takes_the_glyphs_not_the_box():
    pixels, _mask, boxes = labelled_product()
    glyphs = text_glyph_mask(pixels, boxes)
    white = pixels.min(axis=2) > 235
    white[:, 230:] = False  # the dot
    assert glyphs[white].min() == 255  # every glyph pixel
    (x0, y0), (x1, y1) = boxes[0][0], boxes[0][2]
    box_area = (x1 - x0) * (y1 - y0)
    assert 0.1 * box_area < (glyphs > 0).sum() < 0.75 * box_area  # not the whole box


def test_logos_found_but_not_shading_or_outline_stripes():
    pixels, mask, _ = labelled_product()
    logo, boxes = find_logos(pixels, mask)
    assert any(abs(x - 240) <= 2 and abs(y - 150) <= 2 for x, y, _w, _h in boxes)
    assert logo[161, 251] == 255 and logo[100, 100] == 0
    shaded, ball = shaded_product()
    assert find_logos(shaded, ball)[1] == []
    striped = np.full((100, 100, 3), (30, 60, 160), np.uint8)
    striped[80:, :] = 250  # a white sole: touches the outline, part of the product
    assert find_logos(striped, np.full((100, 100), 255, np.uint8))[1] == []


def test_dominant_region_is_the_largest_colour():
    pixels = np.full((100, 100, 3), (30, 60, 160), np.uint8)
    pixels[70:, :] = 245
    mask = np.full((100, 100), 255, np.uint8)
    region = dominant_region(pixels, mask)
    assert region[:65].min() == 255 and region[75:].max() == 0
    out = recolor(pixels, region, (200, 20, 20))
    assert np.array_equal(out[75:], pixels[75:])  # the white part is left white


def test_dominant_region_keeps_the_shadows_of_its_colour():
    """A red body darkening into shadow on its right, with a black sole: the shadow is red too."""
    light = np.linspace(1.0, 0.3, 120, dtype=np.float32)[None, :, None]
    pixels = np.clip(np.array([190, 35, 30], np.float32) * light * np.ones((100, 1, 1), np.float32), 0, 255).astype(np.uint8)
    pixels[80:] = (12, 12, 12)
    region = dominant_region(pixels, np.full((100, 120), 255, np.uint8))
    assert region[5:75, :].min() == 255 and region[85:].max() == 0


def test_prepare_uses_mask_then_alpha_then_the_cutout():
    pixels, mask, _ = labelled_product()
    plan = prepare_recolor(pixels, mask=mask, text=False, logos=True)
    assert plan.info["mask_source"] == "mask" and plan.info["logos"] and plan.keep is not None
    assert plan.info["region"] == "all"  # a user's mask is what to recolour
    plan = prepare_recolor(pixels, alpha=mask, text=False, logos=False, region="all")
    assert plan.info["mask_source"] == "alpha" and plan.keep is None
    assert np.array_equal(plan.mask, mask)
    plan = prepare_recolor(pixels, text=False, logos=False, method="grabcut")
    assert plan.info["mask_source"] == "grabcut" and plan.mask[110, 160] == 255 and plan.mask[5, 5] == 0
    with pytest.raises(OperationError, match="give a mask"):
        prepare_recolor(pixels, mask=np.zeros_like(mask), text=False)


def test_ocr_text_is_kept_bit_identical(tmp_path: Path):
    pixels, mask, boxes = labelled_product()
    plan = prepare_recolor(pixels, mask=mask, text=True, logos=False)
    assert any("SALE" in line for line in plan.info["text_lines"])
    out = recolor(pixels, plan.mask, (0, 0, 128), keep=plan.keep)
    glyphs = text_glyph_mask(pixels, boxes) > 0
    assert np.array_equal(out[glyphs], pixels[glyphs])
    assert np.abs(out[190, 40].astype(int) - pixels[190, 40]).max() > 50  # the box itself changed


def test_registered_op_with_a_mask_file(tmp_path: Path):
    pixels, mask, _ = labelled_product()
    cv2.imwrite(str(tmp_path / "m.png"), mask)
    item = ImageItem(pixels=pixels, source="box.png")
    out = apply_op(item, "recolor", {"color": "藏青", "mask_path": str(tmp_path / "m.png"), "text": False})
    assert out.metadata["recolor"]["hex"] == "#141e4b" and out.metadata["recolor"]["mask_source"] == "mask"
    assert out.log[-1].op == "recolor" and out.log[-1].params["color"] == "藏青"
    assert np.array_equal(out.pixels[mask == 0], pixels[mask == 0])
    assert out.alpha is None
    with pytest.raises(RecipeError, match="unknown colour 'nvay'. Did you mean: navy"):
        apply_op(item, "recolor", {"color": "nvay"})


# --- the main coloured material: what is recoloured by default

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
NAVY_HUE = float(np.degrees(np.arctan2(*rgb_to_lab(np.array((0, 0, 128), np.uint8))[[2, 1]])) % 360)


def box_change(before: np.ndarray, after: np.ndarray, box: tuple[int, int, int, int]) -> tuple[float, float]:
    """Median CIEDE2000 of the change in a box (x0, x1, y0, y1), and the Lab hue after (degrees)."""
    x0, x1, y0, y1 = box
    lab_before, lab_after = rgb_to_lab(before[y0:y1, x0:x1]), rgb_to_lab(after[y0:y1, x0:x1])
    median = np.median(lab_after.reshape(-1, 3), axis=0)
    return float(np.median(delta_e2000(lab_before, lab_after))), float(np.degrees(np.arctan2(median[2], median[1])) % 360)


def two_part_product() -> tuple[np.ndarray, np.ndarray]:
    """A shaded red body (its right side in shadow) with a white band, a steel-grey buckle, a black strap
    and a small green tag, on light grey; the mask is the whole product."""
    pixels = np.full((120, 200, 3), 225, np.uint8)
    light = np.linspace(1.0, 0.35, 160, dtype=np.float32) ** 2.2  # linear light falling off to the right
    body = (np.array([0.55, 0.03, 0.03], np.float32) * light[:, None]) ** (1 / 2.2) * 255
    pixels[10:110, 20:180] = np.round(body).astype(np.uint8)[None]
    pixels[40:55, 20:180] = 246  # white band
    pixels[70:80, 30:60] = 150  # steel
    pixels[90:100, 20:180] = 18  # black strap
    pixels[20:32, 140:160] = (40, 150, 60)  # green tag
    mask = np.zeros((120, 200), np.uint8)
    mask[10:110, 20:180] = 255
    return pixels, mask


def test_default_recolours_the_main_material_only():
    pixels, mask = two_part_product()
    plan = prepare_recolor(pixels, alpha=mask, text=False, logos=False)
    assert plan.info["region"] == "material" and plan.info["material"]["name"]
    out = recolor(pixels, plan.mask, (0, 0, 128), keep=plan.keep)
    for part in [(25, 175, 43, 52), (33, 57, 72, 78), (25, 175, 92, 98), (142, 158, 22, 30)]:  # white, steel, black, green
        assert box_change(pixels, out, part)[0] < 1.0, part
    for lit in [(25, 60, 15, 35), (120, 170, 60, 65)]:  # the body, lit and in shadow
        de, hue = box_change(pixels, out, lit)
        assert de > 20 and abs(hue - NAVY_HUE) < 8, (lit, de, hue)
    assert np.array_equal(out[mask == 0], pixels[mask == 0])
    whole = recolor(pixels, prepare_recolor(pixels, alpha=mask, region="all", text=False, logos=False).mask, (0, 0, 128))
    assert box_change(pixels, whole, (25, 175, 43, 52))[0] > 20  # region all: the white band changes too


def test_keep_colours_and_a_mask_give_control():
    pixels, mask = two_part_product()
    keep_red = prepare_recolor(pixels, alpha=mask, region="all", keep_colors=["#c23434"], text=False, logos=False)
    out = recolor(pixels, keep_red.mask, (0, 0, 128), keep=keep_red.keep)
    assert box_change(pixels, out, (25, 60, 15, 35))[0] < 1.0 and box_change(pixels, out, (120, 170, 60, 65))[0] < 1.0
    assert box_change(pixels, out, (25, 175, 43, 52))[0] > 20  # the white band, not kept, changes
    assert keep_red.info["keep_colors"] == ["#c23434"]
    band = np.zeros_like(mask)
    band[40:55, 20:180] = 255  # the user's mask: exactly what to recolour, white or not
    plan = prepare_recolor(pixels, mask=band, text=False, logos=False)
    assert plan.info["region"] == "all" and np.array_equal(plan.mask, band)
    out = recolor(pixels, plan.mask, (0, 0, 128))
    assert box_change(pixels, out, (25, 175, 43, 52))[0] > 20 and box_change(pixels, out, (25, 60, 15, 35))[0] == 0.0
    with pytest.raises(OperationError, match="once the --keep colours are left out"):
        prepare_recolor(pixels, alpha=mask, keep_colors=["#c23434"], text=False, logos=False)  # the material itself
    with pytest.raises(UsageError, match="unknown colour"):
        prepare_recolor(pixels, alpha=mask, keep_colors=["nvay"], text=False, logos=False)


@pytest.mark.parametrize("grey", [(128, 128, 130), (240, 238, 235), (22, 22, 24)])
def test_a_product_without_a_coloured_material_is_reported_not_tinted(grey):
    pixels, mask = shaded_product(grey)
    pixels[70:76, 70:90] = (200, 30, 30)  # a small red logo does not make it a red product
    with pytest.raises(OperationError, match=r"no main coloured material.*--region all.*--mask"):
        prepare_recolor(pixels, alpha=mask, text=False, logos=False)
    item = ImageItem(pixels=pixels, alpha=mask, source="grey.png")
    with pytest.raises(OperationError, match="no main coloured material"):
        apply_op(item, "recolor", {"color": "navy", "text": False})
    assert np.array_equal(apply_op(item, "recolor", {"color": "navy", "text": False, "region": "all", "logos": False}).pixels[mask == 0],
                          pixels[mask == 0])


def test_the_coffee_cups_porcelain_coffee_and_spoon_stay():
    """samples/coffee_cup.jpg made navy: the red glaze changes; the white porcelain, the coffee and the
    spoon do not (boxes read off the photo); region all, as before, changed them all."""
    pixels = np.asarray(Image.open(SAMPLES / "coffee_cup.jpg").convert("RGB"))
    plan = prepare_recolor(pixels, text=False, logos=False)
    assert plan.info["region"] == "material" and plan.info["material"]["name"] == "red"
    out = recolor(pixels, plan.mask, (0, 0, 128), keep=plan.keep)
    for name, box in {"rim": (210, 290, 24, 34), "wall": (190, 215, 60, 90), "coffee": (250, 320, 125, 165),
                      "spoon": (340, 375, 262, 300)}.items():
        assert box_change(pixels, out, box)[0] < 1.0, name
    for name, box in {"saucer": (95, 140, 225, 275), "cup": (300, 360, 210, 240)}.items():
        de, hue = box_change(pixels, out, box)
        assert de > 20 and abs(hue - NAVY_HUE) < 10, (name, de, hue)


def test_the_teddys_bow_tie_keeps_its_colour():
    rgba = np.asarray(Image.open(SAMPLES / "teddy_bear.png").convert("RGBA"))
    pixels, alpha = np.ascontiguousarray(rgba[..., :3]), np.ascontiguousarray(rgba[..., 3])
    item = ImageItem(pixels=pixels, alpha=alpha, source="teddy_bear.png")
    out = apply_op(item, "recolor", {"color": "navy", "text": False}).pixels
    for name, box in {"bow": (215, 255, 345, 390), "knot": (295, 325, 355, 380), "eye": (275, 285, 165, 175)}.items():
        assert box_change(pixels, out, box)[0] < 1.0, name
    for name, box in {"belly": (280, 330, 480, 520), "leg": (190, 230, 720, 800)}.items():
        de, hue = box_change(pixels, out, box)
        assert de > 20 and abs(hue - NAVY_HUE) < 10, (name, de, hue)
    kept = apply_op(item, "recolor", {"color": "navy", "text": False, "region": "all", "keep": ("red",)}).pixels
    assert box_change(pixels, kept, (215, 255, 345, 390))[0] < 1.0  # --keep red with the whole product
