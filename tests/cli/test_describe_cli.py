from __future__ import annotations

import json

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from product_studio.cli.app import app

runner = CliRunner()
FAST = "colors,size,quality,background"


def red_product(path, size=240):
    img = np.full((size, size, 3), 255, np.uint8)
    img[60:180, 50:190] = (220, 25, 35)
    Image.fromarray(img).save(path, quality=95)
    return path


def test_describe_json_gives_titles_within_limits(tmp_path):
    photo = red_product(tmp_path / "shoe.jpg")
    args = ["describe", str(photo), "--lang", "zh,en", "--preset", "taobao-main", "--brand", "Nike", "--material", "mesh",
            "--category", "sneakers", "--keywords", "breathable,lightweight,running,non-slip,casual,outdoor,durable",
            "--fields", FAST, "--segment", "grabcut", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["summary"]["failed"] == 0 and doc["preset"] == "taobao-main"
    res = doc["results"][0]
    assert res["attributes"]["colors"][0]["zh"] == "红色" and res["attributes"]["background"]["kind"] == "white"
    zh, en = res["listings"]["zh"], res["listings"]["en"]
    assert zh["title"].startswith("Nike") and "红色" in zh["title"] and "运动鞋" in zh["title"]
    assert sum(1 if ord(c) < 128 else 2 for c in zh["title"]) == zh["title_length"] <= 60
    assert en["title"].startswith("Nike") and en["title_length"] <= 60 and en["title_unit"] == "bytes"
    assert zh["bullets"] and en["description"]


def test_describe_human_output_and_amazon(tmp_path):
    photo = red_product(tmp_path / "shoe.jpg")
    result = runner.invoke(app, ["describe", str(photo), "--preset", "amazon-main", "--lang", "en", "--category", "sneakers",
                                 "--fields", FAST, "--segment", "grabcut"])
    assert result.exit_code == 0, result.output
    assert "[en] Sneakers, Red" in result.stdout and "/80 chars" in result.stdout


def test_describe_bad_usage_exits_2(tmp_path):
    photo = red_product(tmp_path / "shoe.jpg")
    assert runner.invoke(app, ["describe", str(photo), "--lang", "fr"]).exit_code == 2
    assert runner.invoke(app, ["describe", str(photo), "--preset", "nowhere"]).exit_code == 2


def test_describe_bad_file_exits_1_and_reports_it(tmp_path):
    good = red_product(tmp_path / "good.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    result = runner.invoke(app, ["describe", str(good), str(tmp_path / "bad.jpg"), "--fields", FAST, "--segment", "grabcut", "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["summary"]["failed"] == 1 and {r["status"] for r in doc["results"]} == {"done", "failed"}
