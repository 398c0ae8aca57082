"""Faces in every orientation (find_faces: MTCNN in ONNX): a face turned 90 degrees without EXIF,
a face tilted 20 degrees and a 24 px face are found where they were put; a product shot has none;
the shipped ONNX nets are the ones in the manifest."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from product_studio.errors import UsageError
from product_studio.imageio import load_image
from product_studio.models.registry import read_manifest, sha256_file, shipped_weight_path
from product_studio.vision.faces import MTCNN_FILES, find_faces, load_mtcnn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from privacy_set import face_photo

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def place(face: np.ndarray, at: tuple[int, int], canvas: tuple[int, int] = (600, 800)) -> np.ndarray:
    out = np.full((*canvas, 3), 235, np.uint8)
    y, x = at
    out[y : y + face.shape[0], x : x + face.shape[1]] = face
    return out


def holds(boxes, x: float, y: float) -> bool:
    return any(x0 <= x <= x1 and y0 <= y <= y1 for x0, y0, x1, y1 in boxes)


def test_a_face_turned_90_degrees_without_exif_is_found():
    face = np.ascontiguousarray(np.rot90(face_photo("astronaut")))  # 330 x 360, lying on its side
    pixels = place(face, (100, 300))
    boxes = find_faces(pixels)
    assert len(boxes) == 1
    # the astronaut's face is at about (130, 115) in the upright crop (x, y); rot90 sends it to (y, w - x)
    assert holds(boxes, 300 + 115, 100 + 330 - 130)


def test_a_face_tilted_20_degrees_is_found():
    face = face_photo("astronaut")
    h, w = face.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 20, 1.0)
    tilted = cv2.warpAffine(face, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    pixels = place(tilted, (100, 300))
    cx, cy = matrix @ np.array([130.0, 115.0, 1.0])
    assert holds(find_faces(pixels), 300 + cx, 100 + cy)


def test_a_24_px_face_is_found():
    face = face_photo("astronaut")[60:180, 70:190]  # the face itself, about 110 px
    small = cv2.resize(face, (26, 26), interpolation=cv2.INTER_AREA)
    pixels = place(small, (300, 500))
    boxes = find_faces(pixels)
    assert holds(boxes, 513, 313)
    assert all(x1 - x0 < 80 for x0, y0, x1, y1 in boxes)


def test_no_face_on_product_shots():
    for name in ("coffee_cup.jpg", "autumn_leaf.jpg"):
        assert find_faces(load_image(SAMPLES / name).pixels) == [], name


def test_find_faces_checks_options():
    with pytest.raises(UsageError, match="min_size"):
        find_faces(np.zeros((64, 64, 3), np.uint8), min_size=4)
    assert find_faces(np.zeros((64, 64, 3), np.uint8)) == []


def test_shipped_nets_match_the_manifest_and_name_their_licence():
    manifest = read_manifest()["weights"]
    for name in MTCNN_FILES:
        entry = manifest[name]
        assert entry["sha256"] == sha256_file(shipped_weight_path(name))
        assert "MIT" in entry["licence"] and "facenet-pytorch" in entry["source"]
    assert "mtcnn" in load_mtcnn().label
