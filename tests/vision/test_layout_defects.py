"""vision/layout_defects.py: borders along the edges and collages of panels, on real cut-outs and drawn
products (tests/layout_images.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from layout_images import box_product, grid_collage, paste, phone, teddy, teddy_on_white, white  # tests/layout_images.py

from product_studio.errors import UsageError
from product_studio.vision.layout_defects import LayoutInspection, find_border, find_collage, line_profile


def near(value: int, expected: int, tolerance: int = 4) -> bool:
    return abs(value - expected) <= tolerance


def test_line_profile_known_values() -> None:
    p = np.full((4, 6, 3), 255, np.uint8)
    p[1, :2] = 0  # a third of row 1 is black
    p[3] = (10, 20, 30)
    prof = line_profile(p, axis="rows", stride=1)
    assert prof.colour[0].tolist() == [255, 255, 255] and prof.colour[3].tolist() == [10, 20, 30]
    assert prof.uniform.tolist() == pytest.approx([1.0, 4 / 6, 1.0, 1.0])
    assert line_profile(p, axis="columns", stride=1).uniform[5] == pytest.approx(0.75)  # 3 of 4 white


def test_a_20px_solid_frame_is_found_on_every_edge_with_its_strips() -> None:
    img = teddy_on_white(1200)
    img[:20], img[-20:], img[:, :20], img[:, -20:] = 0, 0, 0, 0
    found = find_border(img)
    assert found.found and set(found.edges) == {"top", "bottom", "left", "right"}
    assert all(near(d, 20) for d in found.edges.values()), found.edges
    assert set(found.kinds.values()) == {"frame"}
    top = found.boxes[list(found.edges).index("top")]
    assert top[:3] == [0, 0, 1200] and near(top[3], 20)
    x0, y0, x1, y1 = found.inner
    assert near(x0, 20) and near(y0, 20) and near(x1, 1180) and near(y1, 1180)
    assert found.confidence >= 0.9


@pytest.mark.parametrize("colour,thickness", [((150, 150, 150), 2), ((200, 200, 200), 1), ((30, 30, 200), 3)])
def test_a_thin_inset_line_is_found(colour, thickness) -> None:
    img = teddy_on_white(1200)
    cv2.rectangle(img, (36, 36), (1163, 1163), colour, thickness)
    found = find_border(img)
    assert set(found.edges) == {"top", "bottom", "left", "right"}
    assert set(found.kinds.values()) == {"line"}
    assert all(36 + thickness <= d <= 36 + thickness + 8 for d in found.edges.values()), found.edges
    assert len(found.boxes) == 4


def test_a_double_line_and_a_band_with_text() -> None:
    img = teddy_on_white(1200)
    cv2.rectangle(img, (20, 20), (1179, 1179), (0, 0, 160), 3)
    cv2.rectangle(img, (34, 34), (1165, 1165), (0, 0, 160), 3)
    assert set(find_border(img).edges) == {"top", "bottom", "left", "right"}
    band = teddy_on_white(1200, fill=0.7)
    band[-110:] = (220, 30, 30)
    cv2.putText(band, "FREE SHIPPING", (200, 1150), cv2.FONT_HERSHEY_SIMPLEX, 2.2, (255, 255, 255), 6)
    found = find_border(band)
    assert list(found.edges) == ["bottom"] and near(found.edges["bottom"], 110) and found.kinds["bottom"] == "band"


def test_a_frame_around_a_photograph() -> None:
    rng = np.random.default_rng(0)
    photo = cv2.GaussianBlur(rng.integers(0, 255, (1000, 1400, 3), dtype=np.uint8), (0, 0), 6)
    photo[:40], photo[-40:], photo[:, :40], photo[:, -40:] = (30, 60, 200), (30, 60, 200), (30, 60, 200), (30, 60, 200)
    found = find_border(photo)
    assert set(found.edges) == {"top", "bottom", "left", "right"} and all(near(d, 40) for d in found.edges.values())


@pytest.mark.parametrize("name,make", [
    ("plain white shot", lambda: teddy_on_white(1200)),
    ("a box filling 90%", box_product),
    ("a phone", phone),
    ("all white", white),
])
def test_compliant_shots_have_no_border_and_no_collage(name, make) -> None:
    img = make()
    assert not find_border(img).found, name
    assert not find_collage(img).found, name


def test_a_product_touching_the_edges_is_not_a_border() -> None:
    img = white(1200)
    bear = teddy(1300)[:1200]  # cut by the top and bottom edges
    paste(img, bear, 0, 0)
    assert not find_border(img).found


@pytest.mark.parametrize("rows,cols,gutter,colour", [
    (2, 2, 16, (210, 210, 210)),  # a grey gutter between product shots
    (1, 3, 2, (60, 60, 60)),  # thin divider lines
    (3, 1, 20, (30, 120, 200)),  # coloured gutters
    (1, 2, 10, (255, 255, 255)),  # a white gutter between panels with a light-grey studio background
])
def test_collages_are_found_with_their_panels(rows, cols, gutter, colour) -> None:
    img = grid_collage(rows, cols, gutter=gutter, colour=colour)
    if colour == (255, 255, 255):  # panels with their own background: the white gutter shows
        img[np.all(img == 255, axis=2)] = 255
        pw = (1200 - (cols - 1) * gutter) // cols
        for c in range(cols):
            x = c * (pw + gutter)
            panel = img[:, x : x + pw]
            panel[np.all(panel == 255, axis=2)] = (228, 226, 222)
    found = find_collage(img)
    assert found.grid == (rows, cols)
    assert len(found.panels) == rows * cols and len(found.gutters) == rows - 1 + cols - 1
    x0, y0, x1, y1 = found.largest_panel
    assert (x1 - x0) * (y1 - y0) == max((p[2] - p[0]) * (p[3] - p[1]) for p in found.panels)
    assert (x1 - x0) >= 1200 // cols - gutter - 8 and (y1 - y0) >= 1200 // rows - gutter - 8
    assert found.confidence > 0.7


def test_a_collage_inside_a_frame_is_found_in_the_image_s_coordinates() -> None:
    img = np.zeros((1240, 1240, 3), np.uint8)
    img[20:1220, 20:1220] = grid_collage(2, 2, gutter=12, colour=(90, 90, 90))
    layout = LayoutInspection(img)
    assert set(layout.border.edges) == {"top", "bottom", "left", "right"}
    assert layout.collage.grid == (2, 2)
    assert min(p[0] for p in layout.collage.panels) >= 18 and max(p[2] for p in layout.collage.panels) <= 1222
    assert layout.items.count == 1  # in the largest panel
    x0, y0, x1, y1 = layout.items.boxes[0]
    px0, py0, px1, py1 = layout.collage.largest_panel
    assert px0 <= x0 < x1 <= px1 and py0 <= y0 < y1 <= py1


def test_bad_input_is_refused_with_the_contract() -> None:
    with pytest.raises(UsageError, match="RGB"):
        find_border(np.zeros((10, 10), np.uint8))
    with pytest.raises(UsageError, match="uint8"):
        find_collage(np.zeros((10, 10, 3), np.float32))


def test_a_cut_out_is_judged_on_white_not_on_what_lies_under_alpha_0() -> None:
    pixels = np.zeros((400, 400, 3), np.uint8)  # black under the transparent part
    alpha = np.zeros((400, 400), np.uint8)
    alpha[100:300, 120:280] = 255
    pixels[100:300, 120:280] = (200, 30, 30)
    layout = LayoutInspection(pixels, alpha)
    assert not layout.border.found and not layout.collage.found and layout.items.count == 1
