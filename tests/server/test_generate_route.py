"""POST /v1/generate through FastAPI's TestClient with the shipped GAN: a PNG grid or base64 PNGs."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from product_studio.server import create_app


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as c:
        yield c


def test_generate_returns_a_png_contact_sheet(client):
    r = client.post("/v1/generate", json={"category": "Ankle-Boot", "n": 10, "seed": 3})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png" and r.headers["x-category"] == "Ankle boot"
    sheet = np.asarray(Image.open(io.BytesIO(r.content)))
    assert sheet.shape == (2 + 2 * 30, 2 + 8 * 30, 3)  # 10 images in rows of 8, 28 px + 2 px gaps
    assert sheet[2:30, 2:30].std() > 10


def test_generate_json_is_reproducible_and_keeps_the_best(client):
    body = {"category": "sneaker", "n": 3, "seed": 5, "output": "json"}
    first, second = client.post("/v1/generate", json=body).json(), client.post("/v1/generate", json=body).json()
    assert first["category"] == "Sneaker" and first["index"] == 7 and (first["width"], first["height"]) == (28, 28)
    assert [i["png_base64"] for i in first["images"]] == [i["png_base64"] for i in second["images"]]
    image = Image.open(io.BytesIO(base64.b64decode(first["images"][0]["png_base64"])))
    assert image.size == (28, 28)
    best = client.post("/v1/generate", json={**body, "n": 12, "keep_best": 4}).json()
    assert len(best["images"]) == 4


def test_generate_rejects_bad_requests_with_a_reason(client):
    r = client.post("/v1/generate", json={"category": "hat"})
    assert r.status_code == 400 and "choose one of: T-shirt/top" in r.json()["detail"]
    assert client.post("/v1/generate", json={"category": "bag", "n": 100}).status_code == 400  # > 64 returned
    assert client.post("/v1/generate", json={"category": "bag", "n": 4, "keep_best": 5}).status_code == 400
    assert client.post("/v1/generate", json={"category": "bag", "n": 0}).status_code == 422
    assert client.post("/v1/generate", json={"category": "bag", "output": "gif"}).status_code == 422


def test_generate_is_in_the_openapi_contract(client):
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/v1/generate"]["post"]
    assert "image/png" in operation["responses"]["200"]["content"]
    assert "GenerateIn" in schema["components"]["schemas"] and "GenerateOut" in schema["components"]["schemas"]
