"""/v1/denoise and /v1/upscale through FastAPI's TestClient, with the shipped networks."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import encode  # tests/server/conftest.py
from fastapi.testclient import TestClient
from PIL import Image

from product_studio.train.restoration_data import eval_crops
from product_studio.server import Settings, create_app


def upload(data: bytes, name: str = "photo.png") -> dict:
    return {"file": (name, data, "application/octet-stream")}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b) ** 2)))


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return eval_crops(128, max_side=512)["coffee"]  # held out from training


def fetch(client: TestClient, url: str) -> np.ndarray:
    r = client.get(url)
    assert r.status_code == 200
    return np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"))


def test_denoise_returns_a_stored_cleaner_png(client, clean):
    rng = np.random.default_rng(0)
    noisy = np.clip(clean + rng.normal(0, 20, clean.shape), 0, 255).round().astype(np.uint8)
    r = client.post("/v1/denoise", files=upload(encode(noisy, "PNG")), data={"strength": "0.5"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "denoise" and body["status"] == "done" and body["output"]["format"] == "png"
    assert [s["op"] for s in body["steps"]] == ["denoise"] and body["models"][0].startswith("denoiser_unet@")
    restored = fetch(client, body["output"]["url"])
    assert restored.shape == noisy.shape and psnr(restored, clean) > psnr(noisy, clean) + 5
    r = client.post("/v1/denoise", files=upload(encode(noisy, "PNG")), data={"method": "median"})
    assert r.status_code == 422


def test_upscale_by_scale_and_by_minimum(client, clean):
    small = clean[:60, :80]
    r = client.post("/v1/upscale", files=upload(encode(small, "PNG")), data={"scale": "4", "format": "jpeg"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["output"]["width"], body["output"]["height"], body["output"]["format"]) == (320, 240, "jpeg")
    assert body["models"] == ["upscaler_x4"]
    assert fetch(client, body["output"]["url"]).shape == (240, 320, 3)
    r = client.post("/v1/upscale", files=upload(encode(small, "PNG")), data={"min_long_side": "100"})
    assert r.status_code == 200 and (r.json()["output"]["width"], r.json()["output"]["height"]) == (160, 120)
    r = client.post("/v1/upscale", files=upload(encode(small, "PNG")), data={"min_side": "50", "method": "bicubic"})
    assert r.status_code == 200 and r.json()["output"]["width"] == 80  # large enough: unchanged
    r = client.post("/v1/upscale", files=upload(encode(small, "PNG")), data={"scale": "3"})
    assert r.status_code == 400 and "scale: Input should be 2 or 4" in r.json()["detail"]  # the op model's check


def test_upscale_refuses_an_output_above_the_pixel_cap(tmp_path, clean):
    with TestClient(create_app(Settings(data_dir=tmp_path / "d", max_output_pixels=100_000))) as c:
        r = c.post("/v1/upscale", files=upload(encode(clean, "PNG")), data={"scale": "4"})
    assert r.status_code == 413 and "512x512" in r.text and "output limit of 0.1 MP" in r.text
