"""`product-studio read` end to end on rendered label photos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from product_studio.cli.app import app

runner = CliRunner()
LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def render_label(lines: list[str], size: int = 40):
    if not CJK_FONT.is_file():
        pytest.skip(f"font {CJK_FONT} is not installed (the Makefile's apt step installs it)")
    font = ImageFont.truetype(str(CJK_FONT), size)  # WQY Zen Hei has Latin letters too
    width = max(font.getbbox(t)[2] for t in lines) + 60
    card = Image.new("RGB", (width, len(lines) * int(size * 1.8) + 60), (250, 250, 250))
    draw = ImageDraw.Draw(card)
    for i, text in enumerate(lines):
        draw.text((30, 30 + i * int(size * 1.8)), text, font=font, fill=(15, 15, 15))
    return card


def write_label(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    render_label(lines).save(path, "JPEG", quality=92)
    return path


def test_read_json_gives_lines_prices_brand_and_model(tmp_path):
    write_label(tmp_path / "shots" / "a.jpg", ["ACMECORP 榨汁机", "型号：QD-3310 ¥199"])
    (tmp_path / "brands.txt").write_text("AcmeCorp|艾克米\n", encoding="utf-8")
    result = runner.invoke(app, ["read", str(tmp_path / "shots"), "--brands", str(tmp_path / "brands.txt"), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["summary"] == {**doc["summary"], "inputs": 1, "done": 1, "failed": 0}
    assert doc["results"][0]["status"] == "done" and doc["results"][0]["seconds"] > 0
    entry = doc["results"][0]
    texts = ["".join(line["text"].split()) for line in entry["lines"]]
    assert any("QD-3310" in t for t in texts)
    assert all(len(line["box"]) == 4 and 0.5 <= line["confidence"] <= 1 for line in entry["lines"])
    ent = entry["entities"]
    assert ent["brand"] == "AcmeCorp"
    assert ent["model"] == "QD-3310"
    assert ent["price"] == {"amount": 199.0, "currency": "CNY"}


def test_read_text_output_and_failed_inputs(tmp_path):
    good = write_label(tmp_path / "good.jpg", ["Xiaomi 13"])
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image at all")
    result = runner.invoke(app, ["read", str(good), str(bad)])
    assert result.exit_code == 1
    assert "Xiaomi" in result.stdout and "brand:  Xiaomi" in result.stdout
    assert "2 file(s) read, 1 could not be read" in result.stdout


def test_read_bad_usage_exits_2(tmp_path):
    good = write_label(tmp_path / "good.jpg", ["Xiaomi"])
    result = runner.invoke(app, ["read", str(good), "--brands", str(tmp_path / "missing.txt")])
    assert result.exit_code == 2 and "no such brand file" in result.output
    result = runner.invoke(app, ["read", str(tmp_path / "nothing-here.jpg")])
    assert result.exit_code == 2
