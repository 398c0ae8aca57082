"""Faces: found where a face photo was pasted, none on a product photo, merged boxes, the option
checks, and the cascades' folder and the error when they are missing."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from product_studio.errors import ModelError, UsageError
from product_studio.imageio import load_image
from product_studio.vision import faces
from product_studio.vision.faces import detect_faces, merge_boxes

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from privacy_set import face_photo


def test_merge_boxes():
    assert merge_boxes([(0, 0, 10, 10), (1, 1, 11, 11), (50, 50, 60, 60)]) == [(0, 0, 11, 11), (50, 50, 60, 60)]
    assert merge_boxes([]) == []


def test_a_face_is_found_where_it_was_pasted():
    canvas = np.full((600, 800, 3), 235, np.uint8)
    face = face_photo("astronaut")
    canvas[100 : 100 + face.shape[0], 400 : 400 + face.shape[1]] = face
    boxes = detect_faces(canvas)
    assert len(boxes) == 1
    x0, y0, x1, y1 = boxes[0]
    assert 400 <= (x0 + x1) / 2 <= 400 + face.shape[1] and 100 <= (y0 + y1) / 2 <= 100 + face.shape[0]
    assert faces.load_face_cascades().label.startswith("opencv-")


def test_no_face_on_a_product_photo():
    pixels = load_image(Path(__file__).resolve().parents[2] / "samples" / "coffee_cup.jpg").pixels
    assert detect_faces(pixels) == []


def test_detect_faces_bad_options(photo):
    with pytest.raises(UsageError, match="min_size"):
        detect_faces(photo, min_size=2)


def test_cascades_missing_is_a_clear_model_error(monkeypatch, tmp_path):
    monkeypatch.setattr(faces, "cascade_folders", lambda: [tmp_path])
    faces.load_face_cascades.cache_clear()
    try:
        with pytest.raises(ModelError, match="opencv-data"):
            faces.load_face_cascades()
    finally:
        faces.load_face_cascades.cache_clear()


def test_cascade_folder_prefers_debian():
    folder = faces.cascade_folder()
    debian = [Path(p) for p in faces.DEBIAN_CASCADE_DIRS if (Path(p) / faces.CASCADE_FILES["frontal"]).is_file()]
    assert folder == (debian[0] if debian else folder)

