"""A batch never reads its own outputs back (issue 30.1): an output folder inside the photo folder is
skipped on every run, an output folder that is the photo folder is refused before any work, and
`check ready/` checks the images, not the report's thumbnails."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from run_cli import cli

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture()
def small(tmp_path) -> str:
    """A quick recipe (the outputs' content does not matter here, only which files are read and written)."""
    recipe = tmp_path / "small.yaml"
    recipe.write_text("name: small\nsteps:\n  - op: resize\n    max_side: 64\noutput:\n  format: jpeg\n")
    return str(recipe)


@pytest.fixture()
def photos(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SAMPLES / "teddy_bear.png", folder / "teddy_bear.png")
    shutil.copy(SAMPLES / "coffee_cup.jpg", folder / "coffee_cup.jpg")
    return folder


def images_below(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.jpg"))


@pytest.mark.slow  # the CLI several times in subprocesses
def test_an_output_folder_inside_the_inputs_is_never_processed_again(photos, small):
    ready = photos / "ready"
    first = cli("process", str(photos), "-o", str(ready), "-r", small, "-q", "-j", "1")
    assert "2/2 processed, 0 failed" in first.stdout, first.stderr  # (64 px outputs: exit 1, they do not pass the preset)
    second = cli("process", str(photos), "-o", str(ready), "-r", small, "-q", "-j", "1", "--json")
    doc = json.loads(second.stdout)
    assert doc["summary"]["inputs"] == 2 and doc["summary"]["skipped"] == 2, second.stderr  # the two photos, nothing else
    assert f"skipped {ready}/ (the output folder" in second.stderr
    assert images_below(ready) == [
        "coffee_cup.jpg", "report_files/coffee_cup.after.jpg", "report_files/coffee_cup.before.jpg",
        "report_files/teddy_bear.after.jpg", "report_files/teddy_bear.before.jpg", "teddy_bear.jpg",
    ]
    # and another output folder beside it does not take the first one's outputs as photos either
    third = cli("process", str(photos), "-o", str(photos / "ready2"), "-r", small, "-q", "-j", "1", "--json")
    assert json.loads(third.stdout)["summary"]["inputs"] == 2, third.stderr
    assert "an output folder of product-studio" in third.stderr


@pytest.mark.slow  # the CLI several times in subprocesses
def test_check_on_an_output_folder_checks_its_images_not_the_thumbnails(photos, small, tmp_path):
    ready = tmp_path / "ready"
    assert "2/2 processed, 0 failed" in cli("process", str(photos), "-o", str(ready), "-r", small, "-q", "-j", "1").stdout
    result = cli("check", str(ready), "--json", "-q")
    doc = json.loads(result.stdout)
    assert sorted(Path(r["input"]).name for r in doc["results"]) == ["coffee_cup.jpg", "teddy_bear.jpg"]
    assert "report's thumbnails; 4 image(s) there" in result.stderr


@pytest.mark.parametrize("command", [
    ["process"], ["remove-bg"], ["denoise"], ["upscale"], ["repair", "--auto"], ["recolor", "--colors", "navy"], ["anonymize"],
])
def test_an_output_folder_that_is_the_input_folder_is_refused_before_any_work(command, photos):
    before = sorted(p.name for p in photos.iterdir())
    result = cli(command[0], str(photos), *command[1:], "-o", str(photos), "-q")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "choose another output folder" in lines[0], result.stderr
    assert sorted(p.name for p in photos.iterdir()) == before  # nothing written, not even a manifest
