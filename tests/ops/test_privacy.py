"""Privacy ops: blurring only the personal part of a text line, irreversible blurring of regions and
of real faces (no detector finds them again), and the registered steps reporting counts only."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from product_studio.errors import RecipeError, UsageError
from product_studio.imageio import load_image
from product_studio.item import ImageItem
from product_studio.ops import apply_op, list_ops, privacy
from product_studio.ops.privacy import blur_polygons, blur_regions
from product_studio.vision.faces import detect_faces

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from privacy_set import face_photo, line


def test_blur_personal_text_changes_only_the_match():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (60, 300, 3), dtype=np.uint8)
    lines = [line("ACME 19.99", 0, 0, 200, 20), line("Tel: 138-0013-8000", 0, 30, 180, 50)]
    out = privacy.blur_personal_text(pixels, lines)
    assert out.shape == pixels.shape and out.dtype == np.uint8
    assert np.array_equal(out[:25], pixels[:25])  # the public line is untouched
    assert not np.array_equal(out[30:50, 60:180], pixels[30:50, 60:180])
    assert np.array_equal(out[30:50, :20], pixels[30:50, :20])  # "Te" of "Tel:" stays


# --- blurring ------------------------------------------------------------------------------------------


def test_blur_regions_smoke_shapes_and_bounds(photo):
    out = blur_regions(photo, [(10, 10, 30, 30)], pad=0.0)
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert np.array_equal(out[:10], photo[:10]) and np.array_equal(out[:, 30:], photo[:, 30:])
    assert not np.array_equal(out[10:30, 10:30], photo[10:30, 10:30])
    assert np.array_equal(blur_regions(photo, []), photo)
    uniform = np.full((40, 40, 3), 77, np.uint8)  # known value: a flat region stays flat
    assert (blur_regions(uniform, [(0, 0, 40, 40)], method="gaussian") == 77).all()
    assert np.array_equal(blur_regions(photo, [(-50, -50, 5, 5)], pad=0)[5:], photo[5:])  # clipped


def test_blur_errors(photo):
    with pytest.raises(UsageError, match="x1 > x0"):
        blur_regions(photo, [(10, 10, 5, 30)])
    with pytest.raises(UsageError, match="strength"):
        blur_regions(photo, [(0, 0, 5, 5)], strength=11)
    with pytest.raises(UsageError, match="pixelate"):
        blur_polygons(photo, [], method="swirl")
    with pytest.raises(UsageError, match="uint8"):
        blur_regions(photo.astype(np.float32), [])


# --- faces ---------------------------------------------------------------------------------------------


def _on_canvas(face: np.ndarray, *, mirror: bool = False) -> np.ndarray:
    canvas = np.full((600, 800, 3), 235, np.uint8)
    face = face[:, ::-1] if mirror else face
    canvas[100 : 100 + face.shape[0], 400 : 400 + face.shape[1]] = face
    return np.ascontiguousarray(canvas)


@pytest.mark.parametrize("name,mirror", [("astronaut", False), ("astronaut", True), ("camera", False), ("camera", True)])
@pytest.mark.parametrize("method", ["pixelate", "gaussian"])
def test_faces_found_then_blurred_beyond_detection(name, mirror, method):
    pixels = _on_canvas(face_photo(name), mirror=mirror)
    boxes = detect_faces(pixels)
    assert boxes, f"no face found on {name}"
    assert all(400 <= (x0 + x1) / 2 <= 400 + 340 and 100 <= (y0 + y1) / 2 <= 100 + 400 for x0, y0, x1, y1 in boxes)
    blurred = blur_regions(pixels, boxes, method=method)
    for x0, y0, x1, y1 in detect_faces(blurred, min_neighbors=2):  # even a permissive detector
        for bx0, by0, bx1, by1 in boxes:
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            assert not (bx0 <= cx <= bx1 and by0 <= cy <= by1), "a face was found again where it was blurred"
    # the blur really destroyed the region: little correlation with the original left
    x0, y0, x1, y1 = boxes[0]
    a = pixels[y0:y1, x0:x1].astype(float).ravel()
    b = blurred[y0:y1, x0:x1].astype(float).ravel()
    assert np.corrcoef(a, b)[0, 1] < 0.5


# --- registered steps ----------------------------------------------------------------------------------


def test_steps_are_registered_and_report_counts_only():
    names = {spec.name for spec in list_ops()}
    assert {"blur_faces", "blur_personal_text", "anonymize"} <= names
    item = ImageItem(pixels=_on_canvas(face_photo("astronaut")))
    out = apply_op(item, "blur_faces", {"method": "gaussian", "strength": 8})
    assert out.metadata["privacy"]["faces"] == 1
    assert out.log[-1].op == "blur_faces" and "mtcnn" in out.log[-1].model
    assert not np.array_equal(out.pixels, item.pixels)
    with pytest.raises(RecipeError, match="kinds"):
        apply_op(item, "blur_personal_text", {"kinds": ["dna"]})
    with pytest.raises(RecipeError, match="strength"):
        apply_op(item, "anonymize", {"strength": 0})
    nothing = apply_op(item, "anonymize", {"faces": False, "text": False})
    assert np.array_equal(nothing.pixels, item.pixels) and nothing.metadata["privacy"]["faces"] == 0


def test_blur_faces_checks_its_own_work():
    pixels = _on_canvas(face_photo("camera"), mirror=True)
    out, boxes = privacy.blur_faces(pixels)
    assert boxes and out.shape == pixels.shape
    assert detect_faces(out) == [] or all(
        not privacy._intersects(b, old) for b in detect_faces(out) for old in boxes
    )
    same, none = privacy.blur_faces(np.full((200, 200, 3), 200, np.uint8))
    assert none == [] and (same == 200).all()


@pytest.mark.slow
def test_anonymize_blurs_turned_tilted_and_small_faces_and_leaves_a_product_shot_alone():
    import cv2

    face = face_photo("astronaut")
    turned = np.ascontiguousarray(np.rot90(face, 3))  # 90 degrees clockwise, no EXIF
    h, w = face.shape[:2]
    tilted = cv2.warpAffine(face, cv2.getRotationMatrix2D((w / 2, h / 2), -20, 1.0), (w, h), borderMode=cv2.BORDER_REPLICATE)
    small = cv2.resize(face[60:180, 70:190], (26, 26), interpolation=cv2.INTER_AREA)  # a 24 px face
    tx, ty = cv2.getRotationMatrix2D((w / 2, h / 2), -20, 1.0) @ np.array([130.0, 115.0, 1.0])
    for pixels, (cy, cx) in (  # where the face's centre (130, 115 in the upright crop) went
        (_on_canvas(turned), (100 + 130, 400 + h - 115)),
        (_on_canvas(tilted), (100 + round(ty), 400 + round(tx))),
        (_on_canvas(small), (100 + 13, 400 + 13)),
    ):
        out = apply_op(ImageItem(pixels=pixels), "anonymize", {"text": False})
        assert out.metadata["privacy"]["faces"] >= 1
        changed = np.abs(out.pixels.astype(int) - pixels.astype(int)).sum(axis=2) > 0
        centre = changed[cy - 4 : cy + 4, cx - 4 : cx + 4]
        assert centre.mean() > 0.5, "the face's centre was left as it was"
    shot = load_image(Path(__file__).resolve().parents[2] / "samples" / "coffee_cup.jpg").pixels
    untouched = apply_op(ImageItem(pixels=shot), "anonymize", {"text": False})
    assert np.array_equal(untouched.pixels, shot) and untouched.metadata["privacy"]["faces"] == 0
