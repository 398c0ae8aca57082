from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from product_studio.cli.app import app
from product_studio.marketplaces import list_presets, load_preset

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def test_list_shows_every_preset_and_its_rules():
    result = runner.invoke(app, ["presets"])
    assert result.exit_code == 0
    for name in list_presets():
        assert name in result.stdout
    assert "pure white RGB 255,255,255" in result.stdout and ">= 85%" in result.stdout


def test_one_preset_in_full_with_sources_and_recipe():
    result = runner.invoke(app, ["presets", "Amazon-Main"])
    assert result.exit_code == 0
    out = result.stdout
    assert "amazon-main" in out and "sources:" in out and "Amazon Seller Central" in out
    assert "target            2000 px longest side: what the default recipe makes" in out
    recipe = yaml.safe_load(out.split("\nrecipe:\n", 1)[1])
    assert recipe["preset"] == "amazon-main"
    assert [s["op"] for s in recipe["steps"]][-2:] == ["fit_to_canvas", "white_background"]


def test_json_list_and_one():
    doc = json.loads(runner.invoke(app, ["presets", "--json"]).stdout)
    assert sorted(p["name"] for p in doc["presets"]) == list_presets()
    one = json.loads(runner.invoke(app, ["presets", "jd-main", "--json"]).stdout)
    assert one["name"] == "jd-main" and one["min_side"] == 800 and one["recipe"]["steps"]
    assert one["rules"]["aspect"].startswith("width/height = 1")
    assert set(one) >= {"sources", "recipe_valid", "prohibited", "formats", "max_bytes"}


def test_unknown_preset_exits_2_and_lists_the_known_ones():
    result = runner.invoke(app, ["presets", "etsy"])
    assert result.exit_code == 2
    assert all(name in result.output for name in list_presets())


def test_user_preset_file(tmp_path):
    data = load_preset("ebay").model_dump(mode="json", by_alias=True)
    data.update(name="my-shop", title="My own shop")
    path = tmp_path / "my-shop.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = runner.invoke(app, ["presets", str(path)])
    assert result.exit_code == 0 and "My own shop" in result.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**data, "colour": "red"}), encoding="utf-8")
    result = runner.invoke(app, ["presets", str(bad)])
    assert result.exit_code == 2 and "colour" in result.output


def test_real_subprocess():
    script = Path(sys.executable).parent / "product-studio"
    cmd = [str(script)] if script.exists() else [sys.executable, "-c", "from product_studio.cli.app import main; main()"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    ok = subprocess.run(cmd + ["presets", "--json"], capture_output=True, text=True, env=env, timeout=60)
    assert ok.returncode == 0 and len(json.loads(ok.stdout)["presets"]) == len(list_presets())
    bad = subprocess.run(cmd + ["presets", "nope"], capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "amazon-main" in bad.stderr


def test_help_has_examples():
    result = runner.invoke(app, ["presets", "--help"])
    assert result.exit_code == 0 and "product-studio presets amazon-main" in result.stdout
