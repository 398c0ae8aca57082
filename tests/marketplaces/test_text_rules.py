"""The text_overlay and watermark rules in check, and their fix in process (inpainting, then a re-check)."""

from __future__ import annotations

import io

from overlay_images import printed_shot, sale_shot
from PIL import Image

from product_studio.item import ImageItem
from product_studio.marketplaces import check_image
from product_studio.pipeline import Recipe, process


def test_text_overlay_fails_with_boxes_and_the_text_read():
    pixels, box = sale_shot()
    rule = check_image(ImageItem(pixels=pixels), "amazon-main").rule("text_overlay")
    assert rule.passed is False and rule.severity == "required" and 0 < rule.confidence <= 1
    assert [t.replace(" ", "") for t in rule.details["text"]] == ["SALE-30%"]
    (x0, y0, x1, y1), = rule.details["boxes"]
    assert abs(x0 - box[0]) < 20 and abs(y1 - box[3]) < 25


def test_printed_text_passes_both_rules():
    report = check_image(ImageItem(pixels=printed_shot()), "taobao-main")
    assert report.rule("text_overlay").passed is True and report.rule("watermark").passed is True
    assert report.rule("text_overlay").details["product_text"] == ["ACME"]


def test_process_removes_the_overlay_and_the_recheck_passes():
    pixels, _ = sale_shot()
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    outcome = process(buf.getvalue(), Recipe(steps=[], output={"format": "png"}), preset="amazon-main")
    fixes = outcome.compliance["fixes"]
    assert [f["rule"] for f in fixes] == ["text_overlay"] and fixes[0]["fixed"] and "SALE" in fixes[0]["note"]
    rule = next(r for r in outcome.compliance["rules"] if r["name"] == "text_overlay")
    assert rule["passed"] is True
    assert "fix_compliance" in [s["op"] for s in outcome.steps]
    assert (outcome.item.pixels[30:100, 20:450] > 240).mean() > 0.97  # the corner is white again
