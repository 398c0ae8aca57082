"""The op registry: op modules found without a list, options checked, the model a step ran logged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from product_studio.errors import RecipeError
from product_studio.item import ImageItem
from product_studio.ops import OpOptions, apply_op, get_op, registry

OPS = Path(registry.__file__).parent


def test_a_fresh_process_finds_the_steps_of_every_op_module():
    """``list_ops`` alone (nothing imported before it) sees what importing every module by hand registers."""
    modules = sorted(p.stem for p in OPS.glob("*.py") if p.stem != "registry" and not p.stem.startswith("_"))
    code = (
        "import importlib, json, sys\n"
        "from product_studio.ops import list_ops\n"
        "from product_studio.ops.registry import _REGISTRY\n"
        "found = sorted(spec.name for spec in list_ops())\n"
        "for name in sys.argv[1:]:\n"
        "    importlib.import_module('product_studio.ops.' + name)\n"
        "print(json.dumps([found, sorted(_REGISTRY)]))\n"
    )
    args = [sys.executable, "-c", code, *modules]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=True)
    found, everything = json.loads(done.stdout)
    assert found == everything
    assert {"fit_to_canvas", "white_background", "denoise", "upscale", "recolor", "anonymize", "inpaint"} <= set(found)


def test_unknown_step_lists_the_known_ones():
    with pytest.raises(RecipeError, match="unknown step 'no_such_op'. Known steps: .*fit_to_canvas"):
        get_op("no_such_op")


class _Nothing(OpOptions):
    pass


def _add_step(monkeypatch, name: str, function) -> None:
    spec = registry.OpSpec(name=name, function=function, options=_Nothing, summary="")
    monkeypatch.setitem(registry._REGISTRY, name, spec)


def test_the_model_a_step_names_goes_into_its_log_entry_and_no_further(monkeypatch):
    def with_model(item: ImageItem, options: _Nothing) -> ImageItem:
        out = item.replace()
        out.step_model = "tiny_net@0123"
        return out

    def without_model(item: ImageItem, options: _Nothing) -> ImageItem:
        return item.replace(pixels=255 - item.pixels)

    _add_step(monkeypatch, "test_with_model", with_model)
    _add_step(monkeypatch, "test_without_model", without_model)
    item = apply_op(ImageItem(np.zeros((4, 4, 3), np.uint8)), "test_with_model")
    assert item.log[-1].model == "tiny_net@0123" and item.step_model is None
    assert "_model" not in item.metadata
    item = apply_op(item, "test_without_model")
    assert [r.model for r in item.log] == ["tiny_net@0123", None]


def test_replace_does_not_carry_the_step_model():
    item = ImageItem(np.zeros((2, 2, 3), np.uint8), step_model="m")
    assert item.replace().step_model is None
    assert item.replace(step_model="n").step_model == "n"
