"""A preset with a minimum size upscales a too-small source first, and leaves large ones alone."""

from __future__ import annotations

import numpy as np
import pytest

from product_studio.item import ImageItem
from product_studio.marketplaces import load_preset, preset_recipe
from product_studio.marketplaces.presets import parse_preset
from product_studio.ops import apply_op


@pytest.mark.parametrize("name, rule", [("amazon-main", {"min_long_side": 500}), ("jd-main", {"min_side": 800}),
                                        ("taobao-main", {"min_side": 800}), ("google-merchant", {"min_side": 500})])
def test_the_recipe_starts_with_the_presets_minimum(name, rule):
    step = preset_recipe(name).steps[0]
    assert step.op == "upscale" and step.options.method == "cnn"
    assert {k: v for k, v in step.options.model_dump().items() if k.startswith("min_") and v} == rule


def test_a_preset_without_a_minimum_or_with_its_own_upscale_gets_none():
    assert load_preset("shopify").minimum_size_steps() == []
    text = """
name: mine
title: t
marketplace: m
min_side: 300
recommended_side: 600
sources: {min_side: [house rule], color_mode: [house rule], recommended_side: [house rule]}
recipe:
  steps:
    - {op: upscale, min_side: 300, method: lanczos}
    - {op: resize, max_side: 600}
"""
    own = parse_preset(text)
    assert [s.op for s in own.recipe().steps] == ["upscale", "resize"]


def test_only_a_too_small_source_is_enlarged():
    step = preset_recipe("jd-main").steps[0]
    small = ImageItem(pixels=np.random.default_rng(0).integers(0, 255, (300, 450, 3), dtype=np.uint8))
    out = apply_op(small, step.op, step.options)
    assert out.pixels.shape == (1200, 1800, 3)  # 300 -> x4 reaches 800 (x2 would not)
    large = ImageItem(pixels=np.zeros((800, 1000, 3), np.uint8))
    same = apply_op(large, step.op, step.options)
    assert same.pixels is large.pixels and same.metadata["upscale_factor"] == 1


def test_the_bundled_samples_are_large_enough_for_amazon():
    from pathlib import Path

    from product_studio.imageio import load_image

    step = preset_recipe("amazon-main").steps[0]
    samples = sorted(p for p in (Path(__file__).resolve().parents[2] / "samples").iterdir() if p.suffix in {".jpg", ".png"})
    assert len(samples) == 8
    for path in samples:
        item = load_image(path)
        assert apply_op(item, step.op, step.options).pixels is item.pixels, path.name  # `make run` output unchanged
