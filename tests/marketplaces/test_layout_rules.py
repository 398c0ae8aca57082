"""The layout rules in `check`: border, collage, multiple_items (marketplaces/rules.py over
vision/layout_defects.py and vision/item_count.py), their fixes, and `check --fix` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from layout_images import box_product, grid_collage, paste, phone, teddy, teddy_on_white, two_products, white  # tests/layout_images.py
from PIL import Image
from typer.testing import CliRunner

from product_studio.cli.app import app
from product_studio.item import ImageItem
from product_studio.marketplaces import check_image, load_preset
from product_studio.marketplaces.checks import fix_failures
from product_studio.marketplaces.rules import Subject, rules_for

LAYOUT = ("border", "collage", "multiple_items")


def results(pixels: np.ndarray, preset: str = "amazon-main") -> dict[str, dict]:
    """The layout rules' results as ``check --json`` gives them (measured as check_image does, without
    the OCR of the text rules, which these tests do not need)."""
    p = load_preset(preset)
    subject = Subject(ImageItem(pixels=pixels, source="test"), p)
    return {r.name: r.to_dict() for rule in rules_for(p) if rule.name in LAYOUT for r in rule.check(subject)}


def report(pixels: np.ndarray, preset: str) -> dict:
    return check_image(ImageItem(pixels=pixels, source="test"), preset).to_dict()


def framed(width: int = 20) -> np.ndarray:
    img = teddy_on_white(1200)
    img[:width], img[-width:], img[:, :width], img[:, -width:] = 0, 0, 0, 0
    return img


def test_the_presets_that_prohibit_them_measure_them() -> None:
    amazon, taobao, ebay, jd = (load_preset(n) for n in ("amazon-main", "taobao-main", "ebay", "jd-main"))
    names = {p.name: {r.name for r in rules_for(p)} for p in (amazon, taobao, ebay, jd)}
    assert set(LAYOUT) <= names["amazon-main"]
    assert {"collage", "multiple_items"} <= names["taobao-main"] and "border" not in names["taobao-main"]
    assert "border" in names["ebay"] and "collage" not in names["ebay"]
    assert not set(LAYOUT) & names["jd-main"]
    # what a rule measures is no longer "manual review"
    manual = report(white(64), "amazon-main")["manual_review"]
    assert not [m for m in manual if "border" in m or "collage" in m or "product" in m], manual
    # a set sold together is allowed on Amazon: several items is advice there, a failure on Taobao
    assert "multiple_items" in amazon.advice and "multiple_items" not in taobao.advice
    assert amazon.sources["multiple_items"] and taobao.sources["collage"]


def test_a_20px_frame_fails_border_with_its_four_strips() -> None:
    border = results(framed(20))["border"]
    assert border["passed"] is False and border["severity"] == "required"
    assert sorted(border["measured"]) == ["bottom", "left", "right", "top"]
    boxes = border["details"]["boxes"]
    assert len(boxes) == 4 and all(all(isinstance(v, int) for v in b) for b in boxes)
    assert [0, 0, 1200] == boxes[border["measured"].index("top")][:3]
    assert 0.5 < border["confidence"] <= 1


def test_a_thin_inset_line_fails_border() -> None:
    img = teddy_on_white(1200)
    cv2.rectangle(img, (30, 30), (1169, 1169), (120, 120, 120), 2)
    border = results(img)["border"]
    assert border["passed"] is False and len(border["details"]["boxes"]) == 4
    assert set(border["details"]["kinds"].values()) == {"line"}


def test_a_2x2_collage_fails_collage_and_is_not_several_items() -> None:
    found = results(grid_collage(2, 2, gutter=16, colour=(200, 200, 200)))
    assert found["collage"]["passed"] is False and found["collage"]["measured"] == 4
    assert found["collage"]["details"]["grid"] == [2, 2] and len(found["collage"]["details"]["boxes"]) == 4
    assert found["multiple_items"]["passed"] is True  # counted in the largest panel: one product
    assert found["border"]["passed"] is True


def test_two_separate_products_fail_multiple_items() -> None:
    amazon = results(two_products())["multiple_items"]
    assert amazon["passed"] is False and amazon["measured"] == 2 and amazon["severity"] == "advice"
    assert len(amazon["details"]["boxes"]) == 2
    taobao = report(two_products(), "taobao-main")
    assert "multiple_items" in taobao["failed"]


def touching() -> np.ndarray:
    img = white(1200)
    return paste(img, teddy(1300)[:1200], 0, 0)


@pytest.mark.parametrize("name,make", [("plain", lambda: teddy_on_white(1200)), ("box", box_product), ("phone", phone),
                                       ("touching the edges", touching), ("all white", white)])
def test_compliant_layouts_pass(name, make) -> None:
    found = results(make())
    assert all(found[r]["passed"] is True for r in LAYOUT), (name, {r: found[r]["message"] for r in LAYOUT})


def test_fixes_crop_the_border_and_keep_the_largest_panel_with_a_warning() -> None:
    item = ImageItem(pixels=framed(20), source="framed")
    fixed, done = fix_failures(item, "amazon-main", stage="source")
    assert [d["rule"] for d in done] == ["border"] and done[0]["fixed"]
    assert abs(fixed.width - 1160) <= 8 and abs(fixed.height - 1160) <= 8
    assert results(fixed.pixels)["border"]["passed"] is True

    collage = ImageItem(pixels=grid_collage(2, 2, gutter=16, colour=(200, 200, 200)), source="collage")
    fixed, done = fix_failures(collage, "taobao-main", stage="source")
    assert [d["rule"] for d in done] == ["collage"] and done[0]["warning"] is True
    assert "warning" in done[0]["note"] and "largest panel" in done[0]["note"]
    assert 580 <= fixed.width <= 592 and 580 <= fixed.height <= 592  # one panel of (1200 - 16) / 2, its edge lines kept out
    assert results(fixed.pixels, "taobao-main")["collage"]["passed"] is True

    # several items are not fixable: the reason is given, the image is left as it is
    two = ImageItem(pixels=two_products(), source="two")
    same, done = fix_failures(two, "taobao-main")
    assert same is two and done[0]["rule"] == "multiple_items" and not done[0]["fixed"] and "not fixable" in done[0]["note"]


def fit_only_preset(tmp_path: Path) -> Path:
    """Taobao's rules with a recipe that only re-fits the image on an 800 px square (fast: no model)."""
    data = load_preset("taobao-main").model_dump(mode="json", by_alias=True)
    data.update(name="taobao-fit", target_side=None,
                recipe={"steps": [{"op": "fit_to_canvas", "size": 800, "fill": 0.95, "upscale": "always"}],
                        "output": {"format": "jpeg"}})
    path = tmp_path / "taobao-fit.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.slow  # about 40 s here: the text rules' OCR runs on the input and on the fixed output
def test_check_fix_keeps_the_largest_panel_of_a_collage_and_says_so(tmp_path) -> None:
    (tmp_path / "in").mkdir()
    Image.fromarray(grid_collage(2, 2, gutter=16, colour=(200, 200, 200))).save(tmp_path / "in" / "collage.png")
    out = tmp_path / "fixed"
    result = CliRunner().invoke(app, ["check", str(tmp_path / "in"), "-p", str(fit_only_preset(tmp_path)), "--fix",
                                      "-o", str(out), "--json"])
    doc = json.loads(result.stdout)
    entry = doc["results"][0]
    before = {r["name"]: r for r in entry["report"]["rules"]}
    assert before["collage"]["passed"] is False
    fixes = entry["fixed"]["fixes"]
    assert any(f["rule"] == "collage" and f["warning"] and "largest panel" in f["note"] for f in fixes), fixes
    after = {r["name"]: r for r in entry["fixed"]["report"]["rules"]}
    assert after["collage"]["passed"] is True and after["multiple_items"]["passed"] is True
    assert Image.open(out / "collage.jpg").size == (800, 800)
    assert result.exit_code == (0 if entry["fixed"]["passed"] else 1), result.output
