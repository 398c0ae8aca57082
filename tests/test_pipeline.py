"""pipeline.process: the one path for image work, under one Limits object."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image

from product_studio.errors import ImageTooLargeError, LimitError, UnsupportedFormatError, FileTimeout
from product_studio.limits import Limits
from product_studio.pipeline import check_output, check_recipe, plan_recipe, process, source_side_limit
from product_studio.recipe import Recipe


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def product(width: int = 400, height: int = 300) -> np.ndarray:
    image = np.full((height, width, 3), 235, np.uint8)
    image[height // 4 : 3 * height // 4, width // 3 : 2 * width // 3] = (180, 40, 30)
    return image


LAYOUT = Recipe.from_dict({
    "name": "layout", "preset": "amazon-main",
    "steps": [{"op": "remove_background", "method": "grabcut"}, {"op": "fit_to_canvas", "size": 600, "fill": 0.85, "upscale": "always"},
              {"op": "white_background"}],
    "output": {"format": "jpeg"},
})


def test_process_decodes_runs_encodes_and_checks():
    data = png(product())
    outcome = process(data, LAYOUT, Limits(), name="box.png")
    assert outcome.output_size == (600, 600) and outcome.input_size == (400, 300)
    assert outcome.format == "jpeg" and outcome.data[:3] == b"\xff\xd8\xff"
    with Image.open(io.BytesIO(outcome.data)) as im:
        assert im.size == (600, 600)
    assert [s["op"] for s in outcome.steps] == ["remove_background", "fit_to_canvas", "white_background"]
    assert outcome.compliance["preset"] == "amazon-main" and outcome.passed is bool(outcome.compliance["passed"])
    assert len(outcome.content_hash) == 64 and outcome.source.width == 400


def test_the_output_check_on_the_pixels_in_memory_gives_the_decoded_files_verdicts():
    """process judges the image it encoded (no second decode) with the file facts from the bytes:
    every rule, file rules included, reaches the verdict a check of the decoded file reaches."""
    outcome = process(png(product()), LAYOUT, Limits(), name="box.png")
    again = check_output(outcome.data, "amazon-main")  # the file decoded again
    verdicts = lambda report: [(r["name"], r["passed"], r["severity"]) for r in report["rules"]]  # noqa: E731
    assert verdicts(outcome.compliance) == verdicts(again)
    assert None not in [r["passed"] for r in again["rules"] if r["name"] in ("format", "file_bytes", "color_mode")]


def test_process_reads_a_path(tmp_path):
    path = tmp_path / "box.png"
    path.write_bytes(png(product()))
    assert process(path, LAYOUT).item.source == str(path)


def test_a_recipe_longer_than_the_limit_is_refused_before_the_source_is_read():
    recipe = Recipe.from_dict({"steps": [{"op": "trim"}] * 9})
    with pytest.raises(LimitError, match="9 steps, over the limit of 8 steps per recipe"):
        process(b"not an image at all", recipe, Limits(max_steps=8))


def test_an_output_over_the_limit_is_refused_before_decoding_whatever_the_input():
    huge = Recipe.from_dict({"steps": [{"op": "fit_to_canvas", "size": 10000, "upscale": "always"}]})
    with pytest.raises(LimitError, match=r"step 1 \(fit_to_canvas\) would make a 10000x10000 image .*output limit of 40 MP"):
        process(b"not an image at all", huge, Limits(max_output_pixels=40_000_000))  # LimitError, not a decode error


def test_the_planned_size_depends_on_the_input():
    thrice = Recipe.from_dict({"steps": [{"op": "upscale", "scale": 4, "method": "bicubic"}] * 3})
    limits = Limits(max_output_pixels=100_000_000)
    check_recipe(thrice, limits)  # a 1x1 input would be fine...
    assert plan_recipe(thrice, (100, 50), limits) == (6400, 3200)
    with pytest.raises(LimitError, match=r"step 2 \(upscale\) would make a 12800x9600 image"):
        process(png(np.zeros((600, 800, 3), np.uint8)), thrice, limits)  # ... an 800x600 one is not


def test_upscale_to_a_minimum_plans_only_the_passes_it_needs():
    recipe = Recipe.from_dict({"steps": [{"op": "upscale", "min_side": 1000, "method": "bicubic"}]})
    assert plan_recipe(recipe, (600, 400), Limits()) == (2400, 1600)
    assert plan_recipe(recipe, (1200, 1000), Limits()) == (1200, 1000)
    with pytest.raises(LimitError, match="more than x16"):
        plan_recipe(recipe, (50, 40), Limits())


def test_the_source_budget_follows_the_planned_output():
    assert source_side_limit(LAYOUT, (3000, 2000), Limits()) == 1200
    assert source_side_limit(LAYOUT, (800, 600), Limits()) is None  # nothing to gain
    outcome = process(png(product(3000, 2000)), LAYOUT)
    assert outcome.input_size == (3000, 2000) and max(outcome.source.width, outcome.source.height) == 1200
    assert outcome.source.metadata["decoded_size"] == [1200, 800]


def test_input_limits_are_the_limits_object():
    with pytest.raises(ImageTooLargeError, match="over the limit"):
        process(png(product()), LAYOUT, Limits(max_input_pixels=100_000))
    with pytest.raises(ImageTooLargeError):
        process(png(product()), LAYOUT, Limits(max_input_bytes=100))
    with pytest.raises(UnsupportedFormatError):
        process(b"not an image at all", LAYOUT)


def test_work_stops_between_steps_when_cancelled_or_late():
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(FileTimeout, match="cancelled"):
        process(png(product()), LAYOUT, cancel=cancel)
    with pytest.raises(FileTimeout, match="per-file limit of 1e-09 s"):
        process(png(product()), LAYOUT, Limits(seconds_per_file=1e-9))


@pytest.mark.parametrize("bad", [{"max_steps": 0}, {"max_output_pixels": -1}, {"seconds_per_file": 0}, {"max_input_pixels": 1.5}])
def test_limits_refuse_nonsense(bad):
    with pytest.raises(Exception, match="limit"):
        Limits(**bad)
