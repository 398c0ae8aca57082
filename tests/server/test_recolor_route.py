"""POST /v1/recolor through the app: one stored result per colour, outputs with the background
unchanged and the product in the colour asked for; errors for bad colours, masks and files."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import encode, product_photo  # tests/server/conftest.py
from fastapi.testclient import TestClient
from PIL import Image

from product_studio.server import create_app
from product_studio.vision.colors import delta_e2000, rgb_to_lab


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as c:
        yield c


def box_mask(size: int = 1000) -> np.ndarray:
    """The red box of conftest.product_photo (its stripe included)."""
    mask = np.zeros((size, size), np.uint8)
    mask[size // 4 : 3 * size // 4, size // 3 : 2 * size // 3] = 255
    return mask


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_recolor_stores_one_result_per_colour(client):
    pixels = product_photo()
    mask = box_mask()
    files = {"file": ("box.png", encode(pixels, "PNG"), "image/png"), "mask": ("mask.png", encode(mask, "PNG"), "image/png")}
    r = client.post("/v1/recolor", files=files, data={"colors": "navy, #2e8b57,藏青", "text": "false"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["mask_source"] == "mask" and doc["text_lines"] is None and doc["product_pixels"] == int((mask > 0).sum())
    assert [v["hex"] for v in doc["variants"]] == ["#000080", "#2e8b57", "#141e4b"]
    inside = mask > 0
    for variant in doc["variants"]:
        result = variant["result"]
        assert result["kind"] == "recolor" and result["output"]["format"] == "png" and result["steps"][-1]["op"] == "recolor"
        assert client.get(f"/v1/results/{result['id']}").json()["id"] == result["id"]
        out = decode(client.get(result["output"]["url"]).content)
        assert np.array_equal(out[~inside], pixels[~inside])  # background bit-identical
        median = np.median(rgb_to_lab(out[inside]), axis=0)
        assert float(delta_e2000(median, rgb_to_lab(np.array(variant["rgb"], np.uint8)))) < 3.0
        stripe = out[495:505, 400:600].astype(int).mean(axis=(0, 1))
        body = out[300:400, 400:600].astype(int).mean(axis=(0, 1))
        assert stripe.sum() < body.sum() - 20  # the darker stripe is still darker: shading kept
        assert result["input"]["url"] is None  # the upload is not kept (keep_inputs off)


def test_recolor_finds_the_product_itself(client, photo_jpeg):
    r = client.post("/v1/recolor", files={"file": ("photo.jpg", photo_jpeg, "image/jpeg")},
                    data={"colors": "seagreen", "text": "false"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["mask_source"] == "u2netp" and doc["variants"][0]["result"]["output"]["format"] == "jpeg"
    out = decode(client.get(doc["variants"][0]["result"]["output"]["url"]).content).astype(int)
    assert np.abs(out[350, 500] - (46, 139, 87)).max() < 30 and np.abs(out[50, 50] - decode(photo_jpeg)[50, 50]).max() < 6


@pytest.mark.parametrize(
    ("data", "files", "status", "fragment"),
    [
        ({"colors": "red,nvay"}, None, 400, "Did you mean: navy"),
        ({"colors": ""}, None, 422, "colors"),
        ({"colors": "red"}, {"file": ("x.jpg", b"not an image", "image/jpeg")}, 415, "not a supported image"),
        ({"colors": "red"}, {"mask": ("m.png", encode(np.zeros((10, 30), np.uint8), "PNG"), "image/png")}, 400, "aspect ratio"),
        ({"colors": "red", "strength": "2"}, None, 422, "strength"),
    ],
)
def test_recolor_errors(client, photo_jpeg, data, files, status, fragment):
    upload = {"file": ("photo.jpg", photo_jpeg, "image/jpeg"), **(files or {})}
    r = client.post("/v1/recolor", files=upload, data={"text": "false", **data})
    assert r.status_code == status, r.text
    assert fragment in r.json()["detail"]


def test_recolor_is_in_the_openapi_contract(client):
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/v1/recolor"]["post"]
    assert operation["tags"] == ["recolor"]
    body = schema["components"]["schemas"][operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].split("/")[-1]]
    assert {"file", "colors", "mask", "region", "text", "logos", "strength"} <= set(body["properties"])
    assert "RecolorOut" in schema["components"]["schemas"]


def test_recolor_changes_the_main_material_and_keeps_colours(client):
    """The teddy (a transparent PNG): the fur turns navy and the red bow tie stays; region all with keep=red
    turns the whole bear but its bow tie; the answer names the region and the material."""
    from pathlib import Path

    data = (Path(__file__).resolve().parents[2] / "samples" / "teddy_bear.png").read_bytes()
    original = decode(data)
    bow, belly = (slice(345, 390), slice(215, 255)), (slice(480, 520), slice(280, 330))
    r = client.post("/v1/recolor", files={"file": ("teddy.png", data, "image/png")}, data={"colors": "navy", "text": "false"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["region"] == "material" and doc["material"]["name"] == "brown" and doc["keep_colors"] is None
    out = decode(client.get(doc["variants"][0]["result"]["output"]["url"]).content)
    assert np.array_equal(out[bow], original[bow]) and not np.array_equal(out[belly], original[belly])
    r = client.post("/v1/recolor", files={"file": ("teddy.png", data, "image/png")},
                    data={"colors": "navy", "text": "false", "region": "all", "keep": ["red", "white"]})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["region"] == "all" and doc["keep_colors"] == ["red", "white"]
    out = decode(client.get(doc["variants"][0]["result"]["output"]["url"]).content)
    assert np.array_equal(out[bow], original[bow]) and not np.array_equal(out[belly], original[belly])
    r = client.post("/v1/recolor", files={"file": ("teddy.png", data, "image/png")}, data={"colors": "navy", "keep": "nvay"})
    assert r.status_code == 400 and "Did you mean: navy" in r.text
