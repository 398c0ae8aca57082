"""/v1/classify, /v1/read, /v1/describe, /v1/search and /v1/anonymize through FastAPI's TestClient, with the real
models (small images: OCR takes about a second each)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from conftest import encode, product_photo  # tests/server/conftest.py
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw, ImageFont

from product_studio.metadata import inspect_metadata
from product_studio.server import Settings, create_app

LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def upload(data: bytes, name: str = "photo.jpg") -> dict:
    return {"file": (name, data, "application/octet-stream")}


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def label_jpeg() -> bytes:
    """A small card with a brand, a price and a phone number, carrying EXIF (with GPS) to be dropped."""
    if not LATIN_FONT.is_file():
        pytest.skip(f"font {LATIN_FONT} is not installed")
    font = ImageFont.truetype(str(LATIN_FONT), 30)
    card = Image.new("RGB", (520, 200), (245, 242, 235))
    draw = ImageDraw.Draw(card)
    for i, text in enumerate(["Nike Air Max", "Price $59.99", "Tel 415-555-0132"]):
        draw.text((20, 20 + i * 55), text, font=font, fill=(20, 20, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif.get_ifd(0x8825)[1] = "N"  # GPSLatitudeRef
    buf = io.BytesIO()
    card.save(buf, "JPEG", quality=95, exif=exif)
    return buf.getvalue()


def test_classify_with_grad_cam_stored_as_a_result(client):
    data = encode(product_photo(240, 240), quality=90)
    r = client.post("/v1/classify", files=upload(data), data={"top_k": "2", "explain": "true"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["top_k"]) == 2 and body["top_k"][0]["probability"] >= body["top_k"][1]["probability"]
    assert body["top_k"][0]["label"] in body["model"]["classes"]
    # the "unknown" decision: a category when the score reaches the model's threshold, else unknown
    assert body["in_taxonomy"] == (body["score"] >= body["threshold"]) and body["threshold"] == body["model"]["ood_threshold"]
    assert body["label"] == (body["top_k"][0]["label"] if body["in_taxonomy"] else "unknown")
    heat = body["explain"]
    assert heat["kind"] == "classify-explain" and heat["output"]["format"] == "png" and heat["steps"][0]["op"] == "grad_cam"
    png = client.get(heat["output"]["url"])
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (heat["output"]["width"], heat["output"]["height"])
    assert client.get(f"/v1/results/{heat['id']}").json()["id"] == heat["id"]
    r = client.post("/v1/classify", files=upload(data), data={"top_k": "0"})
    assert r.status_code == 422 and "top_k" in r.json()["detail"]


def test_read_finds_text_brand_and_price(client, label_jpeg):
    r = client.post("/v1/read", files=upload(label_jpeg, "label.jpg"), data={"brands": "Acme Shoes|艾克米"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["width"], body["height"]) == (520, 200) and body["input_name"] == "label.jpg"
    text = " ".join(line["text"] for line in body["lines"])
    assert "Nike" in text and len(body["lines"][0]["box"]) == 4
    assert body["entities"]["brand"] == "Nike"
    assert body["entities"]["price"] == {"amount": 59.99, "currency": "USD"}
    bad = client.post("/v1/read", files=upload(b"not an image", "x.png"))
    assert bad.status_code == 415 and "x.png" in bad.json()["detail"]


def test_describe_drafts_listings_within_the_title_limit(client):
    data = encode(product_photo(240, 240), quality=90)
    form = {"preset": "taobao-main", "lang": "zh,en", "brand": "Nike", "category": "sneakers", "sizes": "40,41,42",
            "fields": "colors,size", "segment": "grabcut"}
    r = client.post("/v1/describe", files=upload(data), data=form)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["preset"] == "taobao-main" and set(body["listings"]) == {"zh", "en"}
    zh = body["listings"]["zh"]
    assert "Nike" in zh["title"] and zh["title_length"] <= zh["title_max"] and zh["title_unit"] == "bytes"
    assert body["attributes"]["colors"], body["attributes"]
    assert client.post("/v1/describe", files=upload(data), data={"lang": "fr"}).status_code == 400
    assert client.post("/v1/describe", files=upload(data), data={"preset": "../etc"}).status_code == 400
    assert client.post("/v1/describe", files=upload(data), data={"fields": "smell"}).status_code == 400


def test_search_needs_a_configured_index(client, tmp_path):
    r = client.get("/v1/search", params={"q": "red sneaker"})
    assert r.status_code == 404 and "PRODUCT_STUDIO_SEARCH_INDEX" in r.json()["detail"]

    from product_studio.understand.search import CatalogIndex, embed_passages, passage_text, save_index

    items = [
        {"path": "red_sneaker.jpg", "titles": {"en": "Red Running Sneakers", "zh": "红色跑步运动鞋"},
         "attributes": {"category": "Sneaker", "colors": [{"en": "red", "zh": "红色"}]}},
        {"path": "blue_jeans.jpg", "titles": {"en": "Blue Denim Jeans", "zh": "蓝色牛仔裤"},
         "attributes": {"category": "Trouser", "colors": [{"en": "blue", "zh": "蓝色"}]}},
    ]
    folder = tmp_path / "catalog"
    save_index(CatalogIndex(folder, items, embed_passages([passage_text(i) for i in items])))
    with TestClient(create_app(Settings(data_dir=tmp_path / "data", search_index=folder, cpu_slots=1))) as c:
        body = c.get("/v1/search", params={"q": "红色 运动鞋", "k": 1}).json()
        assert body["items"] == 2 and [h["path"] for h in body["results"]] == ["red_sneaker.jpg"]
        assert body["results"][0]["rank"] == 1 and body["results"][0]["colors"] == ["red"]
        assert c.get("/v1/search", params={"q": "jeans", "k": 0}).status_code == 422
    with TestClient(create_app(Settings(data_dir=tmp_path / "data", search_index=tmp_path / "none"))) as c:
        r = c.get("/v1/search", params={"q": "jeans"})
        assert r.status_code == 503 and "index" in r.json()["detail"]


def test_anonymize_stores_the_clean_copy_and_reports_counts_only(client, label_jpeg):
    assert inspect_metadata(label_jpeg)["gps"] > 0
    r = client.post("/v1/anonymize", files=upload(label_jpeg, "label.jpg"), data={"faces": "true", "text": "true"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "anonymize" and body["input"] is None and body["output"]["format"] == "jpeg"
    counts = body["privacy"]
    assert counts["faces"] == 0 and counts["personal_text"] == {"phone": 1}
    assert counts["metadata_removed"]["gps"] > 0 and counts["metadata_removed"]["exif"] > 0
    assert "555-0132" not in r.text and "Tel" not in r.text  # the personal data itself never comes back
    out = client.get(body["output"]["url"])
    assert out.status_code == 200 and not any(inspect_metadata(out.content).values())
    assert client.get(f"/v1/results/{body['id']}/input").status_code == 404  # the upload is not kept
    before = np.asarray(Image.open(io.BytesIO(label_jpeg)).convert("RGB"), np.int16)
    after = np.asarray(Image.open(io.BytesIO(out.content)).convert("RGB"), np.int16)
    assert np.abs(before[130:180] - after[130:180]).mean() > np.abs(before[20:60] - after[20:60]).mean() + 5  # the phone line
