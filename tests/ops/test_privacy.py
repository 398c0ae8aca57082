"""Privacy ops: personal-text patterns, the ID checksum, span geometry, face detection and
irreversible blurring on real face photos, and metadata stripping proven on files that carry all of it."""

from __future__ import annotations

import io
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image

from product_studio.errors import ModelError, RecipeError, UsageError
from product_studio.imageio import encode_image, load_image
from product_studio.item import ImageItem
from product_studio.ops import apply_op, list_ops, privacy
from product_studio.ops.privacy import (
    blur_polygons,
    blur_regions,
    detect_faces,
    find_personal_spans,
    find_personal_text,
    inspect_metadata,
    merge_boxes,
    span_polygon,
    valid_resident_id,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from privacy_set import assert_no_metadata, encode_with_metadata, face_photo, resident_id


@dataclass(frozen=True)
class Line:
    """TextLine-shaped: what OCR returns."""

    text: str
    box: tuple
    confidence: float = 0.99


def line(text: str, x0: float, y0: float, x1: float, y1: float) -> Line:
    return Line(text, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)))


# --- patterns ------------------------------------------------------------------------------------------

POSITIVES = [
    ("Tel: 138-0013-8000", "phone", "138-0013-8000"),
    ("13800138000", "phone", "13800138000"),
    ("+86 138 0013 8000", "phone", "+86 138 0013 8000"),
    ("手机：１３９１２３４５６７８", "phone", "１３９１２３４５６７８"),  # full-width digits
    ("电话：010-6552 9988", "phone", "010-6552 9988"),
    ("(0571) 8888 6666", "phone", "(0571) 8888 6666"),
    ("+86 10 6552 9988", "phone", "+86 10 6552 9988"),
    ("Call (415) 555-0132 today", "phone", "(415) 555-0132"),
    ("415-555-0132", "phone", "415-555-0132"),
    ("+44 20 7946 0958", "phone", "+44 20 7946 0958"),
    ("Phone 4155550132", "phone", "4155550132"),
    ("li.wei@example.com", "email", "li.wei@example.com"),
    ("E-mail: john.doe+shop@mail.example.co.uk", "email", "john.doe+shop@mail.example.co.uk"),
    ("联系邮箱：zhang_san@163.com", "email", "zhang_san@163.com"),
    ("123 Main Street, Springfield", "address", "123 Main Street, Springfield"),
    ("221B Baker St.", "address", "221B Baker St."),
    ("1600 Amphitheatre Parkway, Mountain View, CA 94043", "address", "1600 Amphitheatre Parkway, Mountain View, CA 94043"),
    ("P.O. Box 1234", "address", "P.O. Box 1234"),
    ("地址：北京市朝阳区建国路88号", "address", "北京市朝阳区建国路88号"),
    ("上海市浦东新区世纪大道100号", "address", "上海市浦东新区世纪大道100号"),
    ("杭州市西湖区文三路478号3栋2单元501室", "address", "杭州市西湖区文三路478号3栋2单元501室"),
    ("阳光花园3栋1201室", "address", "阳光花园3栋1201室"),
    ("身份证 11010519491231002X", "id", "11010519491231002X"),
    ("110105 19491231 002X", "id", "110105 19491231 002X"),
    ("SSN 123-45-6789", "id", "123-45-6789"),
    ("Passport No: E12345678", "id", "E12345678"),
    ("护照号码：EA1234567", "id", "EA1234567"),
]

NEGATIVES = [
    "ACME Coffee Roasters", "Price $19.99", "¥128.00", "SKU 12345678", "6901234567892", "2024-05-01",
    "Net wt 500g", "Model X-2000", "Made in China", "产地：浙江省杭州市", "110105194912310021",  # bad checksum
    "123-45-678", "000-12-3456", "666-12-3456", "Batch 20240501", "Lot 1234-5678", "100% cotton", "Size 42",
    "www.acme.com", "v1.2.3", "保质期：12个月", "规格：500ml×12瓶", "生产日期：2024年05月01日", "ISBN 978-7-111-12345-6",
    "12345678901",  # 11 digits but not a Chinese mobile (no 1[3-9] start)
    "user at example dot com",
]


@pytest.mark.parametrize("text,kind,expected", POSITIVES)
def test_personal_patterns_find_known_positives(text, kind, expected):
    found = find_personal_spans(text)
    assert [(k, text[a:b]) for k, (a, b) in found] == [(kind, expected)]


@pytest.mark.parametrize("text", NEGATIVES)
def test_personal_patterns_leave_known_negatives(text):
    assert find_personal_spans(text) == []


def test_resident_id_checksum():
    assert valid_resident_id("11010519491231002X") and valid_resident_id("11010519491231002x")
    assert not valid_resident_id("110105194912310021")  # last digit wrong
    assert not valid_resident_id("1101051949123100")  # too short
    rng = random.Random(1)
    for _ in range(200):
        good = resident_id(rng)
        assert valid_resident_id(good)
        bad = good[:17] + ("0" if good[17] != "0" else "1")
        assert not valid_resident_id(bad)
        assert find_personal_spans(f"ID {good}") == [("id", (3, 21))]
        assert find_personal_spans(bad) == []


def test_kinds_filter_and_unknown_kind():
    text = "Tel 138-0013-8000 li@example.com"
    assert [k for k, _ in find_personal_spans(text, kinds=["email"])] == ["email"]
    with pytest.raises(UsageError, match="unknown personal-text kinds"):
        find_personal_spans(text, kinds=["dna"])


def test_find_personal_text_joins_lines_of_one_row():
    # OCR cut "138 0013 8000" into three boxes on one row; the price on the next row is public.
    lines = [line("Tel:", 10, 10, 60, 40), line("138", 70, 10, 110, 40), line("0013 8000", 120, 10, 230, 40),
             line("Price $19.99", 10, 60, 170, 90)]
    matches = find_personal_text(lines)
    assert {m.line.text for m in matches} == {"138", "0013 8000"}
    assert all(kind == "phone" for _, kind, _ in matches)
    for m in matches:
        assert m.span == (0, len(m.line.text))


def test_span_polygon_covers_the_part_of_the_line():
    ln = line("Tel: 138-0013-8000", 0, 0, 180, 20)  # 18 characters over 180 px
    quad = span_polygon(ln, (5, 18), pad=0.0)
    assert quad.shape == (4, 2)
    assert 35 < quad[0, 0] < 60 and quad[1, 0] == pytest.approx(180)
    assert quad[0, 1] < 0 and quad[3, 1] > 20  # grown across the line
    cjk = line("电话23456789000", 0, 0, 150, 20)  # CJK characters count double
    assert span_polygon(cjk, (2, 13), pad=0.0)[0, 0] == pytest.approx(150 * 4 / 15, abs=1)
    with pytest.raises(UsageError, match="outside"):
        span_polygon(ln, (5, 40))


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


def test_merge_boxes():
    assert merge_boxes([(0, 0, 10, 10), (1, 1, 11, 11), (50, 50, 60, 60)]) == [(0, 0, 11, 11), (50, 50, 60, 60)]
    assert merge_boxes([]) == []


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


def test_no_face_on_a_product_photo():
    pixels = load_image(Path(__file__).resolve().parents[2] / "samples" / "coffee_cup.jpg").pixels
    assert detect_faces(pixels) == []


def test_detect_faces_bad_options(photo):
    with pytest.raises(UsageError, match="min_size"):
        detect_faces(photo, min_size=2)


def test_cascades_missing_is_a_clear_model_error(monkeypatch, tmp_path):
    monkeypatch.setattr(privacy, "cascade_folders", lambda: [tmp_path])
    privacy.load_face_cascades.cache_clear()
    try:
        with pytest.raises(ModelError, match="opencv-data"):
            privacy.load_face_cascades()
    finally:
        privacy.load_face_cascades.cache_clear()


def test_cascade_folder_prefers_debian():
    folder = privacy.cascade_folder()
    debian = [Path(p) for p in privacy.DEBIAN_CASCADE_DIRS if (Path(p) / privacy.CASCADE_FILES["frontal"]).is_file()]
    assert folder == (debian[0] if debian else folder)


# --- registered steps ----------------------------------------------------------------------------------


def test_steps_are_registered_and_report_counts_only():
    names = {spec.name for spec in list_ops()}
    assert {"blur_faces", "blur_personal_text", "anonymize"} <= names
    item = ImageItem(pixels=_on_canvas(face_photo("astronaut")))
    out = apply_op(item, "blur_faces", {"method": "gaussian", "strength": 8})
    assert out.metadata["privacy"]["faces"] == 1
    assert out.log[-1].op == "blur_faces" and "haarcascades" in out.log[-1].model
    assert not np.array_equal(out.pixels, item.pixels)
    with pytest.raises(RecipeError, match="kinds"):
        apply_op(item, "blur_personal_text", {"kinds": ["dna"]})
    with pytest.raises(RecipeError, match="strength"):
        apply_op(item, "anonymize", {"strength": 0})
    nothing = apply_op(item, "anonymize", {"faces": False, "text": False})
    assert np.array_equal(nothing.pixels, item.pixels) and nothing.metadata["privacy"]["faces"] == 0


# --- metadata ------------------------------------------------------------------------------------------


@pytest.fixture
def label_image() -> Image.Image:
    return Image.fromarray(_on_canvas(face_photo("astronaut")))


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_test_files_really_carry_every_kind_of_metadata(label_image, fmt):
    data = encode_with_metadata(label_image, fmt, random.Random(0))
    found = inspect_metadata(data)
    assert found["exif"] >= 8 and found["gps"] == 6 and found["maker_note"] == 1 and found["thumbnail"] == 1
    assert found["xmp"] == 1
    with Image.open(io.BytesIO(data)) as im:  # Pillow sees them too, independently of our counter
        exif = im.getexif()
        assert exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
        assert exif.get_ifd(ExifTags.IFD.IFD1)[ExifTags.Base.JpegIFByteCount] > 100  # the thumbnail
        assert ExifTags.Base.MakerNote in exif.get_ifd(ExifTags.IFD.Exif)
    if fmt == "jpeg":
        assert found["iptc"] >= 5 and found["comment"] == 1 and found["other_app"] == 1
        assert all(sig in data for sig in (b"Exif", b"GPS", b"http://ns.adobe.com/xap", b"Photoshop 3.0", b"8BIM"))
    if fmt == "png":
        assert found["iptc"] == 1 and found["text_chunks"] == 2


@pytest.mark.parametrize("source_fmt", ["jpeg", "png", "webp"])
@pytest.mark.parametrize("out_fmt", ["jpeg", "png", "webp"])
def test_every_save_strips_all_metadata(label_image, source_fmt, out_fmt, tmp_path):
    data = encode_with_metadata(label_image, source_fmt, random.Random(0))
    assert any(sig in data for sig in (b"Exif", b"exif"))  # the source does carry it
    item = load_image(data)
    encoded, _ = encode_image(item, format=out_fmt)
    assert_no_metadata(encoded)


def test_blur_faces_checks_its_own_work():
    pixels = _on_canvas(face_photo("camera"), mirror=True)
    out, boxes = privacy.blur_faces(pixels)
    assert boxes and out.shape == pixels.shape
    assert detect_faces(out) == [] or all(
        not privacy._intersects(b, old) for b in detect_faces(out) for old in boxes
    )
    same, none = privacy.blur_faces(np.full((200, 200, 3), 200, np.uint8))
    assert none == [] and (same == 200).all()
