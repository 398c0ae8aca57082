import numpy as np
import pytest

from product_studio import ImageItem, Recipe, run_recipe
from product_studio.errors import RecipeError
from product_studio.ops import apply_op, get_op, list_ops


def test_recipe_from_dict_resolves_defaults_and_runs_in_order():
    recipe = Recipe.from_dict({"steps": [{"op": "resize", "max_side": 50}, {"op": "fit_to_canvas", "size": 64, "fill": 0.5}]})
    assert recipe.resolved()["steps"][1] == {"op": "fit_to_canvas", "size": 64, "fill": 0.5, "min_size": 0, "upscale": "never",
                                                 "max_enlargement": 4.0}
    item = ImageItem(pixels=np.zeros((100, 200, 3), np.uint8))
    out = run_recipe(item, recipe)
    assert [s.op for s in out.log] == ["resize", "fit_to_canvas"]
    # 200x100 -> 50x25; at fill 0.5 it would want a 100 px canvas, capped at size 64
    assert out.pixels.shape == (64, 64, 3)
    assert out.log[0].params == {"max_side": 50}
    assert item.log == []  # the input item is not changed


def test_recipe_hash_is_stable_and_covers_defaults():
    a = Recipe.from_dict({"steps": [{"op": "fit_to_canvas"}]})
    b = Recipe.from_dict({"steps": [{"op": "fit_to_canvas", "size": 2000, "fill": 0.85}]})
    c = Recipe.from_dict({"steps": [{"op": "fit_to_canvas", "size": 1999}]})
    assert a.hash == b.hash  # spelling out a default does not change the work
    assert a.hash != c.hash
    assert len(a.hash) == 16 and int(a.hash, 16) >= 0


def test_unknown_step_lists_known_steps():
    with pytest.raises(RecipeError, match=r"unknown step 'sharpen_more'.*fit_to_canvas"):
        Recipe.from_dict({"steps": [{"op": "sharpen_more"}]})


def test_bad_option_names_the_step_and_its_options():
    with pytest.raises(RecipeError, match=r"step 'fit_to_canvas' has bad options: fill.*Options it takes: size, fill"):
        Recipe.from_dict({"steps": [{"op": "fit_to_canvas", "fill": 3}]})
    with pytest.raises(RecipeError, match="colour"):
        Recipe.from_dict({"steps": [{"op": "fit_to_canvas", "colour": "red"}]})


def test_recipe_yaml_round_trip(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("name: mine\nsteps:\n  - op: resize\n    max_side: 800\noutput:\n  format: png\n")
    recipe = Recipe.from_yaml(path)
    assert recipe.name == "mine" and recipe.output.format == "png"
    path2 = tmp_path / "r2.yaml"
    path2.write_text(recipe.to_yaml())
    assert Recipe.from_yaml(path2).hash == recipe.hash


@pytest.mark.parametrize(
    "text, message",
    [("steps: [\n", "not valid YAML"), ("- a\n- b\n", "a recipe is a mapping"), ("steps: []\nextra: 1\n", "extra")],
)
def test_bad_recipe_files(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(RecipeError, match=message):
        Recipe.from_yaml(path)


def test_missing_recipe_file(tmp_path):
    with pytest.raises(RecipeError, match="recipe file not found"):
        Recipe.from_yaml(tmp_path / "nope.yaml")


def test_registry_lists_every_op_with_a_summary():
    names = [spec.name for spec in list_ops()]
    assert {"fit_to_canvas", "trim", "resize"} <= set(names)
    assert names == sorted(names)
    assert all(spec.summary for spec in list_ops())
    assert get_op("trim").options.model_fields["margin"].default == 0


def test_apply_op_logs_time_and_params():
    item = ImageItem(pixels=np.zeros((10, 10, 3), np.uint8))
    out = apply_op(item, "resize", {"max_side": 5})
    assert out.pixels.shape == (5, 5, 3)
    assert out.log[-1].op == "resize" and out.log[-1].seconds >= 0
