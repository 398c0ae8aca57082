"""Every image command is a one-step recipe run by the batch engine, like `process`: a folder of 3
photos run twice gives 3 outputs, the --json document of `process` and a rerun that skips all 3; one
input with an output file name writes exactly that file; the options come from the op's model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from product_studio.cli.app import app
from product_studio.imageio import load_image

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[2] / "samples"

# command line (after the inputs and -o), the outputs' names, and what each output must hold
COMMANDS = {
    "remove-bg": (["--method", "grabcut"], ["a.png", "b.png", "sub/c.png"]),
    "denoise": (["--method", "nlm", "--strength", "0.3"], ["a.jpg", "b.png", "sub/c.jpg"]),
    "upscale": (["--method", "bicubic", "-x", "2"], ["a.jpg", "b.png", "sub/c.jpg"]),
    "repair": (["--auto", "--detector", "classical", "--method", "telea"], ["a.jpg", "b.png", "sub/c.jpg"]),
    "recolor": (["-c", "navy", "--no-text", "-m", "grabcut"], ["a-navy.jpg", "b-navy.png", "sub/c-navy.jpg"]),
    "anonymize": (["--no-text"], ["a.jpg", "b.png", "sub/c.jpg"]),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Three small photos: two JPEGs (one in a subfolder) and a PNG."""
    root = tmp_path_factory.mktemp("photos")
    (root / "sub").mkdir()
    for name, sample in (("a.jpg", "coffee_cup.jpg"), ("b.png", "teddy_bear.png"), ("sub/c.jpg", "boot_on_deck.jpg")):
        with Image.open(SAMPLES / sample) as im:
            small = im.convert("RGB").resize((160, 120))
        small.save(root / name, **({"quality": 90} if name.endswith(".jpg") else {}))
    return root


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_folder_of_three_twice_three_outputs_then_all_skipped(command, folder, tmp_path):
    args, names = COMMANDS[command]
    out = tmp_path / "out"
    first = runner.invoke(app, [command, str(folder), "-o", str(out), *args, "-j", "1", "--json"])
    assert first.exit_code == 0, first.output
    doc = json.loads(first.stdout)
    assert doc["summary"] == {**doc["summary"], "inputs": 3, "done": 3, "failed": 0, "processed": 3, "skipped": 0}
    assert {"input", "status", "output", "seconds", "steps"} <= set(doc["results"][0])
    assert sorted(Path(r["output"]).relative_to(out.resolve()).as_posix() for r in doc["results"]) == names
    assert {r["status"] for r in doc["results"]} == {"done"} and doc["recipe"]["steps"][0]["op"] == doc["results"][0]["steps"][0]["op"]
    for name in names:
        assert load_image(out / name).width >= 160
    for report in ("report.json", "report.csv", "report.html", ".product-studio"):
        assert (out / report).exists(), report
    assert json.loads((out / "report.json").read_text())["summary"]["done"] == 3
    again = runner.invoke(app, [command, str(folder), "-o", str(out), *args, "-j", "1", "--json"])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)["summary"]
    assert summary == {**summary, "inputs": 3, "done": 3, "processed": 0, "skipped": 3}
    human = runner.invoke(app, [command, str(folder), "-o", str(out), *args, "-q"])
    assert human.exit_code == 0 and "3/3 processed, 0 failed (3 skipped as already done)" in human.stdout


@pytest.mark.parametrize("command, args, name, fmt", [
    ("denoise", ["--method", "nlm"], "clean.png", "PNG"),
    ("upscale", ["--method", "lanczos"], "big.webp", "WEBP"),
    ("remove-bg", ["--method", "grabcut"], "cutout.png", "PNG"),
    ("repair", ["--auto", "--detector", "classical"], "fixed.jpeg", "JPEG"),
])
def test_one_input_and_an_output_file_name_writes_exactly_that_file(command, args, name, fmt, folder, tmp_path):
    target = tmp_path / name
    result = runner.invoke(app, [command, str(folder / "a.jpg"), "-o", str(target), *args, "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no report, no manifest beside a file
    with Image.open(target) as im:
        assert im.format == fmt
    assert "1/1 processed, 0 failed in" in result.stdout and str(target) in result.stdout
    several = runner.invoke(app, [command, str(folder), "-o", str(tmp_path / f"x{target.suffix}"), *args])
    assert several.exit_code == 2 and "3 inputs need an output folder" in several.output
    tiff = runner.invoke(app, [command, str(folder / "a.jpg"), "-o", str(tmp_path / "x.tif"), *args])
    assert tiff.exit_code == 2 and "cannot write '.tif' files" in tiff.output


def test_repair_takes_a_folder_and_needs_an_output_folder_for_it(folder, tmp_path):
    result = runner.invoke(app, ["repair", str(folder), "--auto", "--detector", "classical", "-o", str(tmp_path / "rx"), "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(tmp_path / "rx").as_posix() for p in (tmp_path / "rx").rglob("*.*g") if "report" not in p.as_posix()) == [
        "a.jpg", "b.png", "sub/c.jpg"]
    no_output = runner.invoke(app, ["repair", str(folder), "--auto"])
    assert no_output.exit_code == 2 and "-o FOLDER" in no_output.output


def test_options_are_generated_from_the_op_model():
    from product_studio.ops.registry import get_op

    helped = runner.invoke(app, ["remove-bg", "--help"], env={"COLUMNS": "220"})
    assert helped.exit_code == 0
    fields = get_op("remove_background").options.model_fields
    assert fields["refine"].description in helped.output and "--no-refine" in helped.output
    assert "u2netp|grabcut|mask" in helped.output  # the Literal's choices
    upscale = runner.invoke(app, ["upscale", "--help"], env={"COLUMNS": "220"}).output
    for field in get_op("upscale").options.model_fields:
        assert f"--{field.replace('_', '-')}" in upscale, field
    assert "1<=x<=20000" in upscale and "-x" in upscale  # ge/le bounds, and the old short alias
    anonymize = runner.invoke(app, ["anonymize", "--help"], env={"COLUMNS": "220"}).output
    assert "--min-size" in anonymize and "--scope" in anonymize and "--kinds" in anonymize  # fields the CLI had not written


@pytest.mark.parametrize("args, flag", [
    (["remove-bg", "--method", "magic"], "--method"),
    (["denoise", "--strength", "2"], "--strength"),
    (["upscale", "-x", "3"], "--scale"),
    (["anonymize", "--kinds", "passport"], "--kinds"),
    (["recolor", "-c", "red", "--region", "top"], "--region"),
    (["repair", "--auto", "--grow", "99"], "--grow"),
])
def test_a_bad_value_exits_2_naming_the_option(args, flag, folder, tmp_path):
    result = runner.invoke(app, [args[0], str(folder), "-o", str(tmp_path / "o"), *args[1:]])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{flag}'" in result.output
    assert not (tmp_path / "o").exists()


def test_a_mask_option_implies_its_method_and_is_checked_as_a_whole(folder, tmp_path):
    mask = np.zeros((120, 160), np.uint8)
    mask[30:90, 40:120] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    made = runner.invoke(app, ["remove-bg", str(folder / "a.jpg"), "-o", str(tmp_path / "cut.png"), "--mask", str(tmp_path / "m.png")])
    assert made.exit_code == 0, made.output
    alpha = load_image(tmp_path / "cut.png").alpha
    assert alpha[60, 80] == 255 and alpha[5, 5] == 0 and alpha[110, 150] == 0
    wrong = runner.invoke(app, ["remove-bg", str(folder / "a.jpg"), "-o", str(tmp_path / "x.png"), "--method", "mask"])
    assert wrong.exit_code == 2 and "method 'mask' needs --mask" in wrong.output


def test_recolor_keeps_a_manifest_per_colour_and_jobs_names_them(folder, tmp_path):
    out = tmp_path / "out"
    made = runner.invoke(app, ["recolor", str(folder / "a.jpg"), "-c", "navy,red", "--no-text", "-m", "grabcut", "-o", str(out), "-q"])
    assert made.exit_code == 0, made.output
    assert sorted(p.name for p in (out / ".product-studio").glob("*.sqlite")) == ["manifest-navy.sqlite", "manifest-red.sqlite"]
    listed = runner.invoke(app, ["jobs", "list", "-o", str(out)])
    assert listed.exit_code == 2 and "manifest-navy.sqlite, manifest-red.sqlite" in listed.output
    one = runner.invoke(app, ["jobs", "list", "--manifest", str(out / ".product-studio" / "manifest-red.sqlite"), "--json"])
    assert one.exit_code == 0 and json.loads(one.stdout)["runs"][0]["recipe_name"] == "recolor"
