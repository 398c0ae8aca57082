"""Routes through FastAPI's TestClient: contract, errors, safety settings, OpenAPI."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from conftest import KEY, encode  # tests/server/conftest.py
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from PIL import Image

from product_studio.errors import UsageError
from product_studio.marketplaces import list_presets
from product_studio.ops import list_ops
from product_studio.server import Settings, create_app


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as c:
        yield c


def upload(data: bytes, name: str = "photo.jpg", field: str = "file") -> dict:
    return {field: (name, data, "application/octet-stream")}


def test_health_presets_ops(client):
    assert client.get("/v1/health").json() == {"status": "ok", "version": __import__("product_studio").__version__}
    presets = client.get("/v1/presets").json()
    assert [p["name"] for p in presets] == list_presets()
    amazon = client.get("/v1/presets/amazon-main").json()
    assert amazon["marketplace"] == "Amazon" and amazon["limits"]["fill_min"] == 0.85 and "fill" in amazon["rules"]
    assert amazon["recipe"]["preset"] == "amazon-main"
    missing = client.get("/v1/presets/nowhere")
    assert missing.status_code == 404 and "Known presets: amazon-main" in missing.json()["detail"]
    ops = {o["name"]: o for o in client.get("/v1/ops").json()}
    assert set(ops) == {spec.name for spec in list_ops()}
    assert ops["white_background"]["options"]["properties"]["shadow"]["enum"] == ["none", "contact", "drop"]


def test_check_measures_the_upload(client, white_jpeg, photo_jpeg):
    good = client.post("/v1/check", files=upload(white_jpeg), data={"preset": "amazon-main"}).json()
    assert good["passed"] is True and good["width"] == 1000 and good["source"] == "photo.jpg"
    bad = client.post("/v1/check", files=upload(photo_jpeg), data={"preset": "jd-main"}).json()
    assert bad["passed"] is False and "background" in bad["failed"]
    assert next(r for r in bad["rules"] if r["name"] == "background")["measured"] == 0.0


@pytest.mark.parametrize(
    ("data", "status", "fragment"),
    [
        (b"", 400, "empty"),
        (b"this is not an image at all", 415, "not a supported image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, 422, "damaged or truncated PNG"),
    ],
)
def test_bad_files_get_a_clear_4xx(client, data, status, fragment):
    r = client.post("/v1/check", files=upload(data, "broken.png"))
    assert r.status_code == status, r.text
    assert fragment in r.json()["detail"] and "broken.png" in r.json()["detail"]


def test_too_many_pixels_is_413_before_decoding(tmp_path, white_jpeg):
    with TestClient(create_app(Settings(data_dir=tmp_path, max_pixels=500_000))) as c:
        r = c.post("/v1/check", files=upload(white_jpeg))
    assert r.status_code == 413 and "checked before decoding" in r.json()["detail"]


def test_bad_presets_and_recipes_are_400(client, white_jpeg):
    r = client.post("/v1/check", files=upload(white_jpeg), data={"preset": "../../etc/passwd.yaml"})
    assert r.status_code == 400 and "unknown preset" in r.json()["detail"]
    r = client.post("/v1/process", files=upload(white_jpeg), data={"recipe": "{not json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["detail"]
    r = client.post("/v1/process", files=upload(white_jpeg), data={"recipe": json.dumps({"steps": [{"op": "sharpen_all"}]})})
    assert r.status_code == 400 and "unknown step 'sharpen_all'" in r.json()["detail"]
    recipe = {"steps": [{"op": "inpaint", "mask_path": "/etc/hostname"}]}
    r = client.post("/v1/process", files=upload(white_jpeg), data={"recipe": json.dumps(recipe)})
    assert r.status_code == 400 and "sets mask_path, which only the command line may set" in r.json()["detail"]
    recipe = {"steps": [{"op": "denoise", "max_tile_pixels": 64_000_000}]}  # a memory cap is the operator's
    r = client.post("/v1/process", files=upload(white_jpeg), data={"recipe": json.dumps(recipe)})
    assert r.status_code == 400 and "sets max_tile_pixels" in r.json()["detail"]
    r = client.post("/v1/process", data={"preset": "amazon-main"})
    assert r.status_code == 422 and "file" in r.json()["detail"]


def test_process_with_a_recipe_and_fetch_the_images(client, photo_jpeg):
    recipe = {"name": "mine", "steps": [{"op": "remove_background", "method": "grabcut"},
                                         {"op": "fit_to_canvas", "size": 600, "fill": 0.9},
                                         {"op": "white_background", "shadow": "none"}],
              "output": {"format": "png"}}
    r = client.post("/v1/process", files=upload(photo_jpeg), data={"preset": "jd-main", "recipe": json.dumps(recipe)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["preset"] == "jd-main" and body["recipe"]["name"] == "mine"
    assert body["recipe"]["variant"] == {"white_background.shadow": "none"}
    assert [s["op"] for s in body["steps"]] == ["remove_background", "fit_to_canvas", "white_background"]
    assert body["input"] == {"url": None, "width": 1000, "height": 1000, "format": "jpeg"}  # the upload is not kept
    out = client.get(body["output"]["url"])
    assert out.headers["content-type"] == "image/png" and len(out.content) == body["output"]["bytes"]
    pixels = np.asarray(Image.open(io.BytesIO(out.content)).convert("RGB"))
    assert pixels.shape == (600, 600, 3) and (pixels[0] == 255).all()  # exact white border
    assert body["compliance"]["rules"][0]["name"] and body["compliance"]["preset"] == "jd-main"
    r = client.get(f"/v1/results/{body['id']}/input")
    assert r.status_code == 404 and "keep_inputs" in r.json()["detail"]
    assert client.get(f"/v1/results/{body['id']}").json()["id"] == body["id"]
    assert client.get("/v1/results/0123456789abcdef0123456789abcdef/output").status_code == 404


def test_process_json_variant_and_url_fetch_off(client, white_jpeg):
    recipe = {"steps": [{"op": "resize", "max_side": 500}] if "resize" in {s.name for s in list_ops()} else []}
    body = {"image_base64": base64.b64encode(white_jpeg).decode(), "name": "w.jpg", "preset": "ebay", "recipe": recipe}
    r = client.post("/v1/process/json", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["preset"] == "ebay"
    r = client.post("/v1/process/json", json={"image_url": "http://example.com/a.jpg"})
    assert r.status_code == 403 and "off on this server" in r.json()["detail"]
    r = client.post("/v1/process/json", json={"image_base64": "@@@"})
    assert r.status_code == 400 and "base64" in r.json()["detail"]


def test_remove_bg_gives_an_rgba_png(client, photo_jpeg):
    r = client.post("/v1/remove-bg", files=upload(photo_jpeg), data={"method": "grabcut"})
    assert r.status_code == 200, r.text
    out = Image.open(io.BytesIO(client.get(r.json()["output"]["url"]).content))
    assert out.format == "PNG" and out.mode == "RGBA"
    alpha = np.asarray(out.getchannel("A"))
    assert alpha[0, 0] == 0 and alpha[500, 500] == 255  # background gone, product kept


def test_repair_fills_the_masked_region(client):
    image = np.full((200, 300, 3), 120, np.uint8)
    image[90:110, 140:160] = 255  # a white speck
    mask = np.zeros((200, 300), np.uint8)
    mask[88:112, 138:162] = 255
    r = client.post("/v1/repair", files={"file": ("s.png", encode(image, "PNG"), "image/png"),
                                         "mask": ("m.png", encode(mask, "PNG"), "image/png")}, data={"method": "ns"})
    assert r.status_code == 200, r.text
    assert r.json()["steps"][0]["op"] == "inpaint" and r.json()["steps"][0]["params"]["method"] == "ns"
    fixed = np.asarray(Image.open(io.BytesIO(client.get(r.json()["output"]["url"]).content)).convert("RGB"))
    assert abs(int(fixed[100, 150, 0]) - 120) <= 3
    small = encode(np.zeros((20, 20), np.uint8), "PNG")
    r = client.post("/v1/repair", files={"file": ("s.png", encode(image, "PNG")), "mask": ("m.png", small)})
    assert r.status_code == 400 and "the mask is 20x20 but the image is 300x200" in r.json()["detail"]


def walk_routes(routes, prefix=""):
    """(path, methods) of every API route, following included routers; and the paths of the rest."""
    api, other = [], set()
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's included router
            sub_api, sub_other = walk_routes(route.original_router.routes, prefix + route.include_context.prefix)
            api += sub_api
            other |= sub_other
        elif isinstance(route, APIRoute) and route.include_in_schema:  # /docs and /redoc are routes outside the schema
            api.append((prefix + route.path, set(route.methods)))
        else:
            other.add(prefix + route.path)
    return api, other


def test_openapi_covers_every_route(settings):
    app = create_app(settings)
    client = TestClient(app)
    schema = client.get("/openapi.json").json()
    app_routes, other = walk_routes(app.routes)
    assert len(app_routes) >= 17
    for path, methods in app_routes:
        assert path in schema["paths"], f"{path} missing from OpenAPI"
        for method in methods - {"HEAD"}:
            assert method.lower() in schema["paths"][path], f"{method} {path} missing from OpenAPI"
    documented = {(p, m.upper()) for p, ops in schema["paths"].items() for m in ops}
    assert documented == {(p, m) for p, methods in app_routes for m in methods - {"HEAD"}}
    # what is not in the schema: the docs themselves and the static files of the web page
    assert other == {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/static", "/docs-assets"}
    # the request body of the JSON variant is the CLI's Recipe schema
    assert "Recipe" in schema["components"]["schemas"] and "Step" in schema["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_cors_is_closed_by_default(client, tmp_path):
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    r = client.options("/v1/check", headers=preflight)
    assert "access-control-allow-origin" not in r.headers
    r = client.get("/v1/presets", headers={"Origin": "https://evil.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    with TestClient(create_app(Settings(data_dir=tmp_path, cors_origins="https://shop.example"))) as c:
        r = c.options("/v1/check", headers={**preflight, "Origin": "https://shop.example"})
        assert r.headers["access-control-allow-origin"] == "https://shop.example"
        r = c.options("/v1/check", headers=preflight)
        assert "access-control-allow-origin" not in r.headers


def test_api_keys(tmp_path, white_jpeg):
    with TestClient(create_app(Settings(data_dir=tmp_path, api_keys=KEY))) as c:
        assert c.get("/v1/health").status_code == 200  # liveness needs no key
        r = c.post("/v1/check", files=upload(white_jpeg))
        assert r.status_code == 401 and "API key" in r.json()["detail"]
        assert c.get("/v1/presets", headers={"X-API-Key": "wrong-key-0123456789"}).status_code == 401
        assert c.get("/v1/presets", headers={"X-API-Key": KEY}).status_code == 200
        assert c.get("/v1/presets", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
        r = c.get(f"/v1/presets?api_key={KEY}")  # headers only: a key in the URL ends up in logs
        assert r.status_code == 401 and "in the URL is refused" in r.json()["detail"]
        assert c.post("/v1/check", files=upload(white_jpeg), headers={"X-API-Key": KEY}).status_code == 200


def test_refuses_to_start_exposed_without_keys(tmp_path):
    with pytest.raises(UsageError, match="without API keys"):
        create_app(Settings(data_dir=tmp_path, host="0.0.0.0"))
    create_app(Settings(data_dir=tmp_path, host="0.0.0.0", api_keys=[KEY]))
    create_app(Settings(data_dir=tmp_path, host="::1"))
    with pytest.raises(ValueError, match="at least 16 characters"):
        Settings(api_keys="short")


def test_settings_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PRODUCT_STUDIO_API_KEYS", f"{KEY}, {KEY}x")
    monkeypatch.setenv("PRODUCT_STUDIO_MAX_UPLOAD_BYTES", "1234")
    monkeypatch.setenv("PRODUCT_STUDIO_DATA_DIR", str(tmp_path))
    s = Settings()
    assert s.api_keys == [KEY, KEY + "x"] and s.max_upload_bytes == 1234 and s.cors_origins == []
    assert s.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'studio.sqlite'}"
    assert s.allow_url_fetch is False and s.host == "127.0.0.1"


def test_web_page_is_served(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("recipe", "fragment"),
    [
        ({"steps": [{"op": "fit_to_canvas", "size": 10000, "upscale": "always"}]}, "would make a 10000x10000 image (100.0 MP), over the output limit of 40 MP"),
        ({"steps": [{"op": "upscale", "scale": 4}] * 3}, "step 2 (upscale) would make a 12800x9600 image"),
        ({"steps": [{"op": "trim"}] * 5000}, "5000 steps, over the limit of 32 steps per recipe"),
    ],
    ids=["canvas-10000", "upscale-x4-thrice", "5000-steps"],
)
def test_process_refuses_a_recipe_over_the_limits_before_any_work(client, settings, recipe, fragment):
    """Every route runs pipeline.process under the server's Limits: a recipe posted to /v1/process cannot
    outgrow them (it used to make a 100 MP PNG), and nothing is decoded, run or stored for it."""
    photo = encode(np.full((600, 800, 3), 200, np.uint8), "PNG")
    r = client.post("/v1/process", files=upload(photo, "p.png"), data={"preset": "amazon-main", "recipe": json.dumps(recipe)})
    assert r.status_code == 413 and fragment in r.json()["detail"]
    as_json = client.post("/v1/process/json", json={"image_base64": base64.b64encode(photo).decode(), "recipe": recipe})
    assert as_json.status_code == 413 and fragment in as_json.json()["detail"]
    assert not [p for p in (settings.data_dir / "blobs").rglob("*") if p.is_file()]
