"""/v1/repair with found masks (mode=auto, mode=text) and /v1/repair/mask, through FastAPI's TestClient."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from conftest import encode  # tests/server/conftest.py
from fastapi.testclient import TestClient
from PIL import Image

from product_studio.ops.repair import learned_available
from product_studio.train.defects import add_defects
from product_studio.train.metrics import psnr
from product_studio.server import create_app


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as c:
        yield c


def damaged_photo() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:160, 0:240]
    clean = np.dstack([90 + 0.4 * x, 110 + 0.3 * y, 160 - 0.2 * x]).astype(np.uint8)
    bad, truth = add_defects(clean, 5, density=5.0, kinds=("scratch", "dust"))
    return clean, bad, truth


def _pixels(client: TestClient, url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(client.get(url).content)).convert("RGB"))


def test_repair_auto_finds_and_fills_the_defects(client):
    clean, bad, truth = damaged_photo()
    r = client.post("/v1/repair", files={"file": ("d.png", encode(bad, "PNG"), "image/png")},
                    data={"mode": "auto", "detector": "classical", "threshold": "40", "method": "telea"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "repair" and body["steps"][0]["op"] == "repair_defects"
    assert body["steps"][0]["params"]["detector"] == "classical"
    fixed = _pixels(client, body["output"]["url"])
    assert psnr(fixed, clean, mask=truth) > psnr(bad, clean, mask=truth) + 5


def test_repair_mask_returns_the_found_mask_as_a_png(client):
    _, bad, truth = damaged_photo()
    r = client.post("/v1/repair/mask", files={"file": ("d.png", encode(bad, "PNG"), "image/png")},
                    data={"mode": "auto", "detector": "classical", "threshold": "40", "grow": "0"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    mask = np.asarray(Image.open(io.BytesIO(r.content)).convert("L"))
    assert mask.shape == truth.shape and set(np.unique(mask)) <= {0, 255}
    assert (mask > 0)[truth > 0].mean() > 0.6


def test_repair_text_removes_a_caption(client):
    y, x = np.mgrid[0:140, 0:360]
    clean = np.dstack([200 - 0.1 * x, 190 + 0.05 * y, np.full_like(x, 185)]).astype(np.uint8)
    image = clean.copy()
    cv2.putText(image, "WATERMARK", (20, 90), cv2.FONT_HERSHEY_DUPLEX, 1.7, (30, 30, 30), 3, cv2.LINE_AA)
    r = client.post("/v1/repair", files={"file": ("w.png", encode(image, "PNG"), "image/png")},
                    data={"mode": "text", "method": "telea"})
    assert r.status_code == 200, r.text
    assert r.json()["steps"][0]["op"] == "remove_text"
    fixed = _pixels(client, r.json()["output"]["url"])
    changed = np.abs(image.astype(int) - clean).max(-1) > 60
    assert np.abs(fixed.astype(int) - clean)[changed].mean() < 20


def test_repair_with_a_mask_fills_with_navier_stokes_by_default_and_learned_on_request(client):
    image = np.full((120, 160, 3), 120, np.uint8)
    image[50:60, 70:80] = 255
    mask = np.zeros((120, 160), np.uint8)
    mask[48:62, 68:82] = 255
    files = {"file": ("s.png", encode(image, "PNG")), "mask": ("m.png", encode(mask, "PNG"))}
    r = client.post("/v1/repair", files=files)
    assert r.status_code == 200, r.text
    assert r.json()["steps"][0]["params"]["method"] == "auto" and not r.json()["models"]
    fixed = _pixels(client, r.json()["output"]["url"])
    assert abs(int(fixed[55, 75, 0]) - 120) <= 4
    assert (fixed[mask == 0] == image[mask == 0]).all()
    if learned_available("inpainter"):
        r = client.post("/v1/repair", files=files, data={"method": "learned"})
        assert r.status_code == 200, r.text
        assert "inpaint_gated_ns_s" in str(r.json()["models"])
        fixed = _pixels(client, r.json()["output"]["url"])
        assert abs(int(fixed[55, 75, 0]) - 120) <= 4


@pytest.mark.parametrize(
    "files, data, words",
    [
        ({}, {}, "send a mask file, or set mode=auto"),
        ({}, {"mode": "mask"}, "mode=mask needs a mask file"),
        ({"mask": ("m.png", encode(np.zeros((10, 10), np.uint8), "PNG"))}, {"mode": "auto"}, "mode=auto finds its own mask"),
    ],
)
def test_repair_mode_errors_say_what_to_send(client, files, data, words):
    image = encode(np.full((10, 10, 3), 100, np.uint8), "PNG")
    r = client.post("/v1/repair", files={"file": ("s.png", image), **files}, data=data)
    assert r.status_code == 400 and words in r.json()["detail"]
