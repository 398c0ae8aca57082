"""Metadata: the test files really carry every kind of it (counted by inspect_metadata and seen by
Pillow independently), and every save strips all of it."""

from __future__ import annotations

import io
import random
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image

from product_studio.imageio import encode_image, load_image
from product_studio.metadata import inspect_metadata

sys.path.insert(0, str(Path(__file__).resolve().parent))
from privacy_set import assert_no_metadata, encode_with_metadata, face_photo


@pytest.fixture
def label_image() -> Image.Image:
    canvas = np.full((600, 800, 3), 235, np.uint8)
    face = face_photo("astronaut")
    canvas[100 : 100 + face.shape[0], 400 : 400 + face.shape[1]] = face
    return Image.fromarray(canvas)


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

