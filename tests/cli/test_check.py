from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from product_studio.cli.app import app
from product_studio.marketplaces import list_presets, load_preset

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def on_white(path: Path, size=(800, 800), fill=0.9, fmt="JPEG") -> Path:
    w, h = size
    p = np.full((h, w, 3), 255, np.uint8)
    side = round(fill * min(w, h))
    p[(h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side] = (20, 40, 60)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(p).save(path, fmt, **({"quality": 92} if fmt == "JPEG" else {}))
    return path


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "product-studio"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from product_studio.cli.app import main; main()"]


def run_real(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(cli_command() + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_passing_image_exits_0_and_prints_rules(tmp_path):
    good = on_white(tmp_path / "good.jpg")
    result = runner.invoke(app, ["check", str(good), "--preset", "taobao-main"])
    assert result.exit_code == 0, result.output
    for rule in ("format", "file_bytes", "min_side", "aspect", "background"):
        assert rule in result.stdout
    assert "100.00% white" in result.stdout and "manual review" in result.stdout


def test_failing_image_exits_1(tmp_path):
    small = on_white(tmp_path / "small.png", size=(640, 480), fmt="PNG")
    result = runner.invoke(app, ["check", str(small), "--preset", "jd-main"])
    assert result.exit_code == 1
    assert "FAIL" in result.stdout and "min_side" in result.stdout and "PNG is not accepted" in result.stdout


def test_bad_file_is_reported_and_the_others_continue(tmp_path):
    on_white(tmp_path / "in" / "a.jpg")
    (tmp_path / "in" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    result = runner.invoke(app, ["check", str(tmp_path / "in"), "--preset", "taobao-main", "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    by_name = {Path(r["input"]).name: r for r in doc["results"]}
    assert by_name["a.jpg"]["passed"] is True and by_name["a.jpg"]["report"]["passed"] is True
    assert by_name["broken.jpg"]["error"] and by_name["broken.jpg"]["report"] is None
    assert doc["summary"] == {**doc["summary"], "inputs": 2, "done": 1, "failed": 1, "passed": 1, "did_not_pass": 0, "fixed": 0, "fix_failed": 0}
    assert by_name["broken.jpg"]["status"] == "failed" and by_name["a.jpg"]["status"] == "done"


def test_json_document_shape(tmp_path):
    on_white(tmp_path / "x.jpg")
    result = runner.invoke(app, ["check", str(tmp_path / "*.jpg"), "-p", "Amazon-Main", "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert set(doc) == {"preset", "passed", "summary", "results"}
    assert doc["preset"] == "amazon-main" and doc["passed"] is True
    report = doc["results"][0]["report"]
    assert report["rule" + "s"][0].keys() >= {"name", "passed", "measured", "expected", "message"}
    fill = next(r for r in report["rules"] if r["name"] == "fill")
    assert fill["measured"] == pytest.approx(0.9, abs=0.01)


def test_unknown_preset_exits_2_listing_the_known_ones(tmp_path):
    on_white(tmp_path / "x.jpg")
    result = runner.invoke(app, ["check", str(tmp_path / "x.jpg"), "--preset", "etsy"])
    assert result.exit_code == 2
    assert all(name in result.output for name in list_presets())


@pytest.mark.parametrize("args", [["--fix"], ["-o", "out"], []])
def test_bad_usage_exits_2(tmp_path, args):
    on_white(tmp_path / "x.jpg")
    target = [str(tmp_path / "x.jpg")] if args else [str(tmp_path / "missing.jpg")]
    result = runner.invoke(app, ["check", *target, "--preset", "jd-main", *args])
    assert result.exit_code == 2, result.output


def fit_only_preset(tmp_path: Path) -> Path:
    data = load_preset("jd-main").model_dump(mode="json", by_alias=True)
    data.update(
        name="fit-only", min_side=400, recommended_side=400,
        recipe={"steps": [{"op": "fit_to_canvas", "size": 400, "fill": 0.9, "upscale": "always"}], "output": {"format": "jpeg"}},
    )
    path = tmp_path / "fit-only.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_fix_writes_outputs_and_rechecks_them(tmp_path):
    """Runs now: a user preset whose recipe uses fit_to_canvas only, on a cut-out PNG."""
    rgba = np.zeros((300, 500, 4), np.uint8)
    rgba[100:200, 150:260] = (200, 30, 30, 255)
    (tmp_path / "in").mkdir()
    Image.fromarray(rgba, "RGBA").save(tmp_path / "in" / "cut.png")
    on_white(tmp_path / "in" / "ok.jpg", size=(400, 400))
    preset = fit_only_preset(tmp_path)
    out = tmp_path / "fixed"
    result = runner.invoke(app, ["check", str(tmp_path / "in"), "--preset", str(preset), "--fix", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    cut = next(r for r in doc["results"] if r["input"].endswith("cut.png"))
    assert cut["report"]["passed"] is False and cut["fixed"]["passed"] is True
    assert Path(cut["fixed"]["output"]) == (out / "cut.jpg").resolve()
    assert Image.open(out / "cut.jpg").size == (400, 400)
    assert not (out / "ok.jpg").exists()  # already compliant: not rewritten
    # a second run refuses to replace the output unless --overwrite
    again = runner.invoke(app, ["check", str(tmp_path / "in"), "--preset", str(preset), "--fix", "-o", str(out)])
    assert again.exit_code == 1 and "exists" in again.stdout
    assert runner.invoke(app, ["check", str(tmp_path / "in"), "-p", str(preset), "--fix", "-o", str(out), "--overwrite"]).exit_code == 0


def test_fix_with_the_default_recipe(tmp_path):
    rng = np.random.default_rng(1)
    photo = np.clip(rng.normal(150, 4, (480, 640, 3)), 0, 255).astype(np.uint8)
    photo[120:360, 200:440] = (30, 60, 200)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    result = runner.invoke(app, ["check", str(tmp_path / "photo.png"), "-p", "taobao-main", "--fix", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "fixed ->" in result.stdout and (tmp_path / "out" / "photo.jpg").exists()


def test_real_subprocess_exit_codes(tmp_path):
    on_white(tmp_path / "good.jpg")
    on_white(tmp_path / "small.png", size=(300, 200), fmt="PNG")
    ok = run_real(["check", "good.jpg", "--preset", "taobao-main"], tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "PASS" in ok.stdout
    failing = run_real(["check", "good.jpg", "small.png", "--preset", "taobao-main", "--json"], tmp_path)
    assert failing.returncode == 1
    assert json.loads(failing.stdout)["summary"]["did_not_pass"] == 1
    usage = run_real(["check", "good.jpg", "--preset", "nope"], tmp_path)
    assert usage.returncode == 2 and "taobao-main" in usage.stderr


def test_help_has_examples():
    result = runner.invoke(app, ["check", "--help"])
    assert result.exit_code == 0
    assert "product-studio check" in result.stdout and "--fix" in result.stdout


def test_failed_only_lists_the_images_that_fail_and_the_summary(tmp_path):
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        on_white(tmp_path / "in" / name)
    on_white(tmp_path / "in" / "small.png", size=(640, 480), fmt="PNG")
    (tmp_path / "in" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    full = runner.invoke(app, ["check", str(tmp_path / "in"), "--preset", "jd-main", "-q"])
    short = runner.invoke(app, ["check", str(tmp_path / "in"), "--preset", "jd-main", "-q", "--failed-only"])
    assert short.exit_code == full.exit_code == 1
    assert "PASS" in full.stdout and "PASS" not in short.stdout
    assert "FAIL" in short.stdout and "small.png" in short.stdout and "ERROR" in short.stdout and "broken.jpg" in short.stdout
    assert len(short.stdout.splitlines()) < len(full.stdout.splitlines()) - 3 * 5  # three passing reports left out
    assert short.stdout.splitlines()[-1] == full.stdout.splitlines()[-1]  # the same summary
    assert "5 file(s) against jd-main: 3 passed, 1 failed, 1 could not be read" in short.stdout
