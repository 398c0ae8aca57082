"""/v1/check reports the text_overlay rule with its boxes (the same check code as the CLI)."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from overlay_images import sale_shot
from PIL import Image

from product_studio.server import create_app


def test_check_returns_text_overlay_with_boxes(settings):
    pixels, _ = sale_shot()
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    with TestClient(create_app(settings)) as client:
        answer = client.post("/v1/check", files={"file": ("sale.png", buf.getvalue(), "image/png")},
                             data={"preset": "amazon-main"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    rule = next(r for r in body["rules"] if r["name"] == "text_overlay")
    assert rule["passed"] is False and len(rule["details"]["boxes"]) == 1 and len(rule["details"]["boxes"][0]) == 4
