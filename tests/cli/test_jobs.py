"""`product-studio jobs list | show | report` on a real manifest written by real runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from product_studio.cli.app import app

runner = CliRunner()


@pytest.fixture()
def two_runs(tmp_path) -> Path:
    """Two runs of a tiny resize recipe into one output folder: one processes, one resumes."""
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        Image.new("RGB", (90, 60), (50 * i, 80, 160)).save(src / f"p{i}.jpg")
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: small\nsteps:\n  - op: resize\n    max_side: 32\noutput:\n  format: jpeg\n")
    out = tmp_path / "out"
    for _ in range(2):
        result = runner.invoke(app, ["process", str(src), "-o", str(out), "--recipe", str(recipe), "-j", "1", "-q"])
        assert result.exit_code == 1, result.output  # broken.jpg fails (and is not retried the second time)
    return out


def test_list_runs(two_runs):
    result = runner.invoke(app, ["jobs", "list", "-o", str(two_runs)])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 3 and "finished" in lines[1] and "small" in lines[1]
    doc = json.loads(runner.invoke(app, ["jobs", "list", "-o", str(two_runs), "--json"]).stdout)
    first, second = doc["runs"]
    assert first["outcomes"] == {"processed": 3, "adopted": 0, "skipped": 0, "failed": 1}
    assert second["outcomes"] == {"processed": 0, "adopted": 0, "skipped": 4, "failed": 0}
    assert first["inputs"] == second["inputs"] == 4 and first["recipe_hash"] == second["recipe_hash"]
    by_manifest = runner.invoke(app, ["jobs", "list", "--manifest", str(two_runs / ".product-studio" / "manifest.sqlite"), "--json"])
    assert json.loads(by_manifest.stdout)["runs"] == doc["runs"]


def test_show_run_with_its_failures(two_runs):
    result = runner.invoke(app, ["jobs", "show", "1", "-o", str(two_runs)])
    assert result.exit_code == 0, result.output
    assert "processed 3" in result.output and "failed: " in result.output and "broken.jpg" in result.output
    doc = json.loads(runner.invoke(app, ["jobs", "show", "2", "-o", str(two_runs), "--json"]).stdout)
    assert doc["items_now"] == {"done": 3, "failed": 1}
    assert [Path(f["input"]).name for f in doc["failures"]] == ["broken.jpg"]
    assert doc["failures"][0]["error_type"] == "CorruptImageError" and doc["failures"][0]["attempts"] == 1


def test_report_re_exported_from_the_manifest(two_runs, tmp_path):
    dest = tmp_path / "again"
    manifest = two_runs / ".product-studio" / "manifest.sqlite"
    result = runner.invoke(app, ["jobs", "report", "2", "--manifest", str(manifest), "-o", str(dest), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads((dest / "report.json").read_text())
    assert doc["run_id"] == 2 and doc["summary"]["inputs"] == 4 and doc["summary"]["skipped"] == 4
    assert {Path(r["input"]).name for r in doc["results"]} == {"p0.jpg", "p1.jpg", "p2.jpg", "broken.jpg"}
    html = (dest / "report.html").read_text()
    assert 'src="../out/report_files/p0.before.jpg"' in html  # links reach the outputs from the new folder
    assert (dest / "report.csv").read_text().count("skipped") == 4


@pytest.mark.parametrize(
    "args, message",
    [
        (["jobs", "list"], "--manifest PATH or -o OUTPUT"),
        (["jobs", "show", "9"], "--manifest PATH or -o OUTPUT"),
        (["jobs", "list", "-o", "nowhere"], "no manifest at"),
    ],
)
def test_bad_usage_exits_2(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and message in result.output


def test_unknown_run_exits_2(two_runs):
    result = runner.invoke(app, ["jobs", "show", "42", "-o", str(two_runs)])
    assert result.exit_code == 2 and "no run 42" in result.output


def test_process_flags_no_resume_and_retry_failed(two_runs):
    src, recipe = two_runs.parent / "in", two_runs.parent / "r.yaml"
    base = ["process", str(src), "-o", str(two_runs), "--recipe", str(recipe), "-j", "1", "-q", "--json"]
    retried = json.loads(runner.invoke(app, base + ["--retry-failed"]).stdout)
    assert retried["summary"]["skipped"] == 3 and retried["summary"]["processed"] == 1
    redone = json.loads(runner.invoke(app, base + ["--no-resume"]).stdout)
    assert redone["summary"]["processed"] == 4 and redone["summary"]["skipped"] == 0 and redone["run_id"] == 4
    doc = json.loads(runner.invoke(app, ["jobs", "show", "4", "-o", str(two_runs), "--json"]).stdout)
    assert doc["failures"][0]["attempts"] == 3 and doc["outcomes"]["processed"] == 3


def test_list_counts_failures_as_the_run_summary_does(two_runs):
    """The second run skips broken.jpg as a known failure: its summary says failed 1, and so does `jobs list`."""
    doc = json.loads(runner.invoke(app, ["jobs", "list", "-o", str(two_runs), "--json"]).stdout)
    assert [(r["done"], r["failed"]) for r in doc["runs"]] == [(3, 1), (3, 1)]
    lines = runner.invoke(app, ["jobs", "list", "-o", str(two_runs)]).output.strip().splitlines()
    header = lines[0].split()
    column = header.index("failed")
    assert [line.split()[column + 1] for line in lines[1:]] == ["1", "1"]  # +1: the date has a space
    shown = runner.invoke(app, ["jobs", "show", "2", "-o", str(two_runs)]).output
    assert "4: 3 done, 1 failed" in shown
