"""The OpenAPI document is the contract: every operation lists the error statuses it can answer, each
with the one error body the server sends ({"detail": "<one line>"}), 422 included (FastAPI promised a
list of ValidationError objects, and the server answered a string: a client generated from the
document broke on every error). Real answers are checked against the document."""

from __future__ import annotations

import pytest
from conftest import KEY  # tests/server/conftest.py
from fastapi.testclient import TestClient

from product_studio.server import Settings, create_app

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


@pytest.fixture
def keyed(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path / "data", api_keys=KEY)), headers={"X-API-Key": KEY}) as c:
        yield c


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_every_error_status_is_documented_with_the_error_body(keyed):
    schema = keyed.get("/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert schema["components"]["schemas"]["ErrorOut"]["properties"]["detail"]["type"] == "string"
    # an empty upload is refused (400), so the document does not allow one
    assert schema["components"]["schemas"]["Body_process_v1_process_post"]["properties"]["file"]["minLength"] == 1
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        errors = {int(code) for code in responses if int(code) >= 400}
        for code in errors:
            assert responses[str(code)]["content"]["application/json"]["schema"] == ERROR_REF, (method, path, code)
        assert 500 in errors
        if path.startswith("/v1/") and path != "/v1/health":
            assert 401 in errors, (method, path)
        if "{" in path:
            assert 404 in errors, (method, path)
        if method == "post" and path not in ("/v1/feedback", "/v1/generate"):
            assert {413, 415, 429} <= errors, (method, path, errors)


def _documented(schema, path: str, method: str) -> set[int]:
    return {int(code) for code in schema["paths"][path][method]["responses"]}


@pytest.mark.parametrize(
    ("method", "url", "template", "kwargs", "status"),
    [
        ("get", "/v1/jobs?limit=abc", "/v1/jobs", {}, 422),
        ("get", "/v1/jobs/" + "0" * 32, "/v1/jobs/{job_id}", {}, 404),
        ("get", "/v1/presets/no-such", "/v1/presets/{name}", {}, 404),
        ("get", "/v1/results/" + "0" * 32 + "/input", "/v1/results/{result_id}/input", {}, 404),
        ("delete", "/v1/results/" + "0" * 32, "/v1/results/{result_id}", {}, 404),
        ("post", "/v1/check", "/v1/check", {"files": {"file": ("a.jpg", b"plain text, not an image")}}, 415),
        ("post", "/v1/process", "/v1/process", {"data": {"preset": "amazon-main"}}, 422),
        ("post", "/v1/process", "/v1/process", {"files": {"file": ("a.jpg", b"\xff\xd8\xff")}, "data": {"preset": "nope"}}, 400),
        ("post", "/v1/process/json", "/v1/process/json", {"json": {"image_url": "http://example.invalid/a.jpg"}}, 403),
        ("post", "/v1/feedback", "/v1/feedback", {"json": {"result_id": "f" * 32, "verdict": "accept"}}, 404),
        ("post", "/v1/feedback", "/v1/feedback", {"json": {"result_id": "f" * 32, "verdict": "meh"}}, 422),
    ],
)
def test_real_errors_are_documented_and_have_the_error_body(keyed, method, url, template, kwargs, status):
    schema = keyed.get("/openapi.json").json()
    r = getattr(keyed, method)(url, **kwargs)
    assert r.status_code == status, r.text
    assert status in _documented(schema, template, method)
    body = r.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str) and "\n" not in body["detail"]


def test_unauthenticated_answers_are_documented(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path, api_keys=KEY))) as c:
        schema = c.get("/openapi.json").json()
        r = c.post("/v1/process", files={"file": ("a.jpg", b"x")})
        assert r.status_code == 401 and 401 in _documented(schema, "/v1/process", "post")
        assert isinstance(r.json()["detail"], str)
