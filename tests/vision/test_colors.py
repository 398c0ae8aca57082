from __future__ import annotations

import numpy as np
import pytest

from product_studio.errors import UsageError
from product_studio.vision.colors import (
    MATERIAL_FAR,
    chromatic_weight,
    color_table,
    color_weight,
    delta_e2000,
    dominant_colors,
    find_color,
    hue_saturation,
    main_material,
    material_distance,
    name_color,
    rgb_to_lab,
)


@pytest.mark.parametrize(
    "rgb, en, zh",
    [
        ((255, 0, 0), "red", "红色"),
        ((0, 0, 255), "blue", "蓝色"),
        ((0, 128, 0), "green", "绿色"),
        ((255, 255, 0), "yellow", "黄色"),
        ((255, 165, 0), "orange", "橙色"),
        ((255, 255, 255), "white", "白色"),
        ((0, 0, 0), "black", "黑色"),
        ((128, 128, 128), "grey", "灰色"),
        ((128, 0, 128), "purple", "紫色"),
        ((255, 192, 203), "pink", "粉色"),
        ((0, 0, 128), "navy", "藏青色"),
        ((139, 69, 19), "brown", "棕色"),
        ((128, 0, 32), "burgundy", "酒红色"),
    ],
)
def test_known_colours_get_their_names(rgb, en, zh):
    named = name_color(rgb)
    assert (named.en, named.zh) == (en, zh)


def test_every_swatch_names_itself_and_names_are_unique():
    table = color_table()
    assert len({c.en for c in table}) == len(table) and len({c.zh for c in table}) == len(table)
    for c in table:
        assert name_color(c.rgb) == c


def test_ciede2000_matches_the_published_test_pairs():
    # Sharma, Wu, Dalal (2005), table 1: pairs 1, 7 and 17
    pairs = [
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ]
    for a, b, expected in pairs:
        assert float(delta_e2000(np.array(a), np.array(b))) == pytest.approx(expected, abs=1e-4)


def test_lab_of_white_and_black():
    lab = rgb_to_lab(np.array([[255, 255, 255], [0, 0, 0]], np.uint8))
    assert lab[0] == pytest.approx([100, 0, 0], abs=0.05) and lab[1] == pytest.approx([0, 0, 0], abs=0.05)


def test_dominant_colour_is_measured_inside_the_mask_only():
    img = np.zeros((120, 160, 3), np.uint8)
    img[:] = (20, 60, 210)  # a blue background covering most of the frame
    img[40:80, 50:110] = (225, 20, 30)  # a red product
    mask = np.zeros((120, 160), np.uint8)
    mask[40:80, 50:110] = 255
    with_mask = dominant_colors(img, mask)
    assert [c.en for c in with_mask] == ["red"] and with_mask[0].zh == "红色" and with_mask[0].share == 1.0
    without = dominant_colors(img)
    assert without[0].en == "blue"  # the whole frame is mostly background


def test_two_colour_product_gets_both_with_shares():
    img = np.zeros((100, 100, 3), np.uint8)
    img[:, :70] = (250, 250, 250)
    img[:, 70:] = (10, 10, 10)
    colours = dominant_colors(img)
    assert [c.en for c in colours] == ["white", "black"]
    assert colours[0].share == pytest.approx(0.7, abs=0.02) and colours[1].share == pytest.approx(0.3, abs=0.02)


def test_tiny_mask_gives_no_colours_and_bad_input_is_refused():
    img = np.zeros((20, 20, 3), np.uint8)
    mask = np.zeros((20, 20), np.uint8)
    mask[0, 0] = 255
    assert dominant_colors(img, mask) == []
    with pytest.raises(UsageError, match="shape"):
        dominant_colors(img, np.zeros((10, 10), np.uint8))
    with pytest.raises(UsageError, match="0..255"):
        name_color((300, 0, 0))
    assert find_color("红") is not None and find_color("red").zh == "红色" and find_color("no such") is None


# --- the main coloured material


def linear_shades(rgb, factors) -> np.ndarray:
    """sRGB colours of one material under less and less light (the factor multiplies linear light)."""
    c = np.asarray(rgb, np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    out = [np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055) for v in (lin * f for f in factors)]
    return np.round(np.array(out) * 255.0).astype(np.uint8)


def test_shading_keeps_hue_and_saturation_and_a_second_colour_is_far():
    shades = rgb_to_lab(linear_shades((184, 76, 0), [1.0, 0.6, 0.3, 0.12]))
    hue, sat = hue_saturation(shades)
    d = material_distance(hue, sat, float(hue[0]), float(sat[0]), shades[:, 0])
    assert d.max() < 0.5  # the shadows of an orange-brown are the same material
    bow = rgb_to_lab(np.array([[255, 0, 0], [235, 230, 222], [150, 150, 152]], np.uint8))  # red, a warm white, steel
    h2, s2 = hue_saturation(bow)
    assert material_distance(h2[:1], s2[:1], float(hue[0]), float(sat[0]))[0] > MATERIAL_FAR
    assert chromatic_weight(bow[1:]).max() == 0.0 and chromatic_weight(shades).min() == 1.0


def test_main_material_is_the_largest_colour_not_white_or_skin():
    img = np.full((60, 60, 3), 245, np.uint8)  # a white product ...
    img[:, :20] = linear_shades((30, 60, 160), [1.0])[0]  # ... with a blue third
    img[:, 20:30] = linear_shades((30, 60, 160), [0.3])[0]  # and its shadow
    img[50:, 30:] = (200, 30, 30)  # a small red part
    mask = np.full((60, 60), 255, np.uint8)
    m = main_material(img, mask)
    assert 225 <= m.hue <= 300 and abs(m.share - 0.5) < 0.02 and m.to_dict()["name"]
    skin = np.full((60, 60, 3), (224, 172, 140), np.uint8)  # an arm over most of it, a green dress on a third
    skin[:, :20] = (40, 140, 70)
    assert 120 <= main_material(skin, mask).hue <= 170
    grey = np.full((60, 60, 3), 128, np.uint8)
    assert main_material(grey, mask) is None


def test_color_weight_counts_shades_of_a_chromatic_colour_and_near_neutrals():
    red = rgb_to_lab(np.array((200, 30, 30), np.uint8))
    shades = rgb_to_lab(linear_shades((200, 30, 30), [1.0, 0.4, 0.15]))
    assert color_weight(shades, red).min() == 1.0
    assert color_weight(rgb_to_lab(np.array([[30, 60, 160], [250, 250, 250]], np.uint8)), red).max() == 0.0
    white = rgb_to_lab(np.array((255, 255, 255), np.uint8))
    near = color_weight(rgb_to_lab(np.array([[240, 240, 236], [128, 128, 128]], np.uint8)), white)
    assert near[0] == 1.0 and near[1] == 0.0
