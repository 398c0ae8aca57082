"""`process` with amazon-main on small cut-outs: the outputs reach the 2000 px target where x4 allows,
the summary line counts the advice (a recommended or zoom size not met) and the warnings (a target
not reached), and report.json / report.csv / report.html say the same."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from product_studio.cli.app import app

runner = CliRunner()


def cutout(path: Path, side: int, product: int) -> None:
    """A square RGBA PNG with a textured opaque product of ``product`` px in the middle."""
    rgba = np.zeros((side, side, 4), np.uint8)
    o = (side - product) // 2
    yy, xx = np.mgrid[0:product, 0:product]
    rgba[o : o + product, o : o + product, 0] = 150 + 60 * np.sin(xx / 6.0)
    rgba[o : o + product, o : o + product, 1] = 80 + 40 * np.cos(yy / 4.0)
    rgba[o : o + product, o : o + product, 2] = 40
    rgba[o : o + product, o : o + product, 3] = 255
    Image.fromarray(rgba, "RGBA").save(path)


def test_the_summary_counts_advice_and_warnings(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    cutout(photos / "big.png", 560, 500)  # 500 px product: x3.52 -> the 2000 px target
    cutout(photos / "mid.png", 300, 270)  # x4 -> 1227 px: below 1600 recommended, zoom works
    cutout(photos / "small.png", 220, 200)  # x4 -> 909 px: below 1000 zoom too
    out = tmp_path / "ready"
    result = runner.invoke(app, ["process", str(photos), "-o", str(out), "--preset", "amazon-main", "--workers", "1", "-q"])
    assert result.exit_code == 0, result.output  # advice and warnings are not failures
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("3/3 processed, 0 failed, 3/3 pass amazon-main, 2 with advice: "
                           "below 1600 px recommended (2), below 1000 px zoom (1); 2 with warnings; in "), line
    assert "warning: " in result.output and "below the 2000 px target" in result.output

    doc = json.loads((out / "report.json").read_text())  # the document --json prints
    summary = doc["summary"]
    assert (summary["compliant"], summary["with_advice"], summary["warnings"]) == (3, 2, 2)
    assert summary["advice"] == [
        {"rule": "recommended_side", "label": "below 1600 px recommended", "files": 2},
        {"rule": "zoom_side", "label": "below 1000 px zoom", "files": 1},
    ]
    sizes = {Path(r["input"]).name: r["output_size"] for r in doc["results"]}
    assert sizes == {"big.png": [2000, 2000], "mid.png": [1227, 1227], "small.png": [909, 909]}
    with Image.open(out / "big.jpg") as im:
        assert im.size == (2000, 2000)

    rows = {Path(r["input"]).name: r for r in csv.DictReader((out / "report.csv").open())}
    assert rows["big.png"]["advice"] == "" and rows["small.png"]["advice"] == "recommended_side;zoom_side"
    assert "below the 2000 px target" in rows["mid.png"]["warnings"] and rows["big.png"]["warnings"] == ""

    html = (out / "report.html").read_text()
    assert "2 with advice: below 1600 px recommended (2), below 1000 px zoom (1)" in html
    assert "2 with warnings" in html and html.count("warning: the product is") == 2

    # a rerun skips the finished inputs and still counts their advice and warnings (kept in the manifest)
    again = runner.invoke(app, ["process", str(photos), "-o", str(out), "--preset", "amazon-main", "-q"])
    assert again.exit_code == 0 and "skipped 3 input(s)" in again.output
    assert "2 with advice: below 1600 px recommended (2), below 1000 px zoom (1); 2 with warnings;" in again.stdout
