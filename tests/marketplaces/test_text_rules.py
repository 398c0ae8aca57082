"""The text_overlay and watermark rules in check (advice for now: flagged with boxes for review, never
a failure and never repainted automatically), and their fix when it is called (inpainting)."""

from __future__ import annotations

import io

from overlay_images import printed_shot, sale_shot
import numpy as np
from PIL import Image

from product_studio.item import ImageItem
from product_studio.marketplaces import check_image
from product_studio.marketplaces.rules import RULES
from product_studio.pipeline import Recipe, process


def test_text_overlay_is_flagged_as_advice_with_boxes_and_the_text_read():
    pixels, box = sale_shot()
    rule = check_image(ImageItem(pixels=pixels), "amazon-main").rule("text_overlay")
    assert rule.passed is False and rule.severity == "advice" and 0 < rule.confidence <= 1
    assert [t.replace(" ", "") for t in rule.details["text"]] == ["SALE-30%"]
    (x0, y0, x1, y1), = rule.details["boxes"]
    assert abs(x0 - box[0]) < 20 and abs(y1 - box[3]) < 25


def test_printed_text_passes_both_rules():
    report = check_image(ImageItem(pixels=printed_shot()), "taobao-main")
    assert report.rule("text_overlay").passed is True and report.rule("watermark").passed is True
    assert report.rule("text_overlay").details["product_text"] == ["ACME"]


def test_process_reports_the_overlay_and_leaves_the_pixels_alone():
    pixels, _ = sale_shot()
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    outcome = process(buf.getvalue(), Recipe(steps=[], output={"format": "png"}), preset="amazon-main")
    assert not [f for f in outcome.compliance.get("fixes") or [] if f["rule"] == "text_overlay"]
    rule = next(r for r in outcome.compliance["rules"] if r["name"] == "text_overlay")
    assert rule["passed"] is False and rule["severity"] == "advice" and rule["details"]["boxes"]
    failed = [r["name"] for r in outcome.compliance["rules"] if r["passed"] is False and r["severity"] == "required"]
    assert "text_overlay" not in failed  # advice is not a failure
    assert np.array_equal(outcome.item.pixels, pixels)


def test_the_fix_removes_the_overlay_when_called():
    pixels, _ = sale_shot()
    item = ImageItem(pixels=pixels)
    result = check_image(item, "amazon-main").rule("text_overlay")
    fixed = RULES["text_overlay"].fix(item, result)
    assert fixed.item is not None and "SALE" in fixed.note
    assert (fixed.item.pixels[30:100, 20:450] > 240).mean() > 0.97  # the corner is white again
    assert check_image(fixed.item, "amazon-main").rule("text_overlay").passed is True
