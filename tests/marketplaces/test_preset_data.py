from __future__ import annotations

import pytest
import yaml

from product_studio.errors import PresetError
from product_studio.marketplaces import Preset, list_presets, load_preset, preset_recipe
from product_studio.marketplaces.presets import parse_preset
from product_studio.marketplaces.rules import RULES
from product_studio.recipe import Recipe

EXPECTED = {"amazon-main", "taobao-main", "tmall-main", "jd-main", "ebay", "shopify", "google-merchant"}


def test_all_presets_are_shipped():
    assert set(list_presets()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_loads_with_sources_for_every_rule(name):
    p = load_preset(name)
    assert p.name == name and p.title and p.marketplace
    assert set(p.sources) <= set(RULES) | {"target_side"}
    assert p.target_side is not None and p.sources["target_side"]  # each shipped preset states its target, with a source
    for rule in p.rules_summary():
        if rule in ("recommended_side",) or p.sources.get(rule):
            continue
        pytest.fail(f"{name}: rule {rule} has no source")
    assert all(isinstance(ref, str) and ref for refs in p.sources.values() for ref in refs)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_recipe_validates_and_fits_the_rules(name):
    p = load_preset(name)
    recipe = p.recipe()
    assert isinstance(recipe, Recipe) and recipe.preset == name
    # fit_to_canvas reaches the target with the learned upscaler (tests/marketplaces/test_min_size_upscale.py):
    # no upscale step of the whole photo first.
    steps = recipe.steps
    assert [s.op for s in steps] == ["enhance", "remove_background", "fit_to_canvas", "white_background"]
    fit = steps[2].options
    assert fit.size == p.target_side >= max(p.recommended_side, p.zoom_side or 0, p.min_side or 0, p.min_long_side or 0)
    assert fit.upscale == "learned" and fit.max_enlargement == 4
    if p.fill_min is not None:
        assert fit.fill > p.fill_min
    assert tuple(steps[3].options.color) == (255, 255, 255)
    assert recipe.output.format == "jpeg"
    if p.formats is not None:
        assert "jpeg" in p.formats
    if p.max_bytes is not None:
        assert recipe.output.max_bytes is not None and recipe.output.max_bytes < p.max_bytes
    assert preset_recipe(name).hash == recipe.hash


def test_rules_from_the_reference_table():
    amazon = load_preset("amazon-main")
    assert (amazon.background, amazon.fill_min, amazon.min_long_side, amazon.max_side) == ("white", 0.85, 500, 10000)
    assert "webp" not in amazon.formats and amazon.max_bytes == 10_000_000
    for name in ("taobao-main", "tmall-main"):
        p = load_preset(name)
        assert (p.background, p.min_side, p.aspect, p.max_bytes, p.formats) == ("white", 800, 1.0, 3_000_000, ("jpeg", "png"))
    jd = load_preset("jd-main")
    assert (jd.min_side, jd.aspect, jd.max_bytes, jd.formats, jd.center_tolerance) == (800, 1.0, 1_000_000, ("jpeg",), 0.05)
    shopify = load_preset("shopify")
    assert (shopify.background, shopify.max_side, shopify.max_megapixels, shopify.max_bytes) == ("none", 5000, 25, 20_000_000)
    ebay = load_preset("ebay")
    assert (ebay.background, ebay.min_long_side, ebay.max_bytes, ebay.recommended_side) == ("none", 500, 12_000_000, 1600)
    google = load_preset("google-merchant")
    assert (google.background, google.min_side, google.recommended_side) == ("none", 500, 1500)


def test_names_are_case_insensitive():
    assert load_preset("Amazon-MAIN") is load_preset("amazon-main")


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(PresetError) as err:
        load_preset("etsy")
    for name in EXPECTED:
        assert name in str(err.value)


def test_user_preset_file_by_path(tmp_path):
    data = load_preset("taobao-main").model_dump(mode="json", by_alias=True)
    data.update(name="my-shop", title="My shop", min_side=1000)
    path = tmp_path / "my-shop.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    p = load_preset(str(path))
    assert p.name == "my-shop" and p.min_side == 1000
    assert load_preset(path).name == "my-shop"


def test_missing_user_file_is_a_preset_error(tmp_path):
    with pytest.raises(PresetError, match="not found"):
        load_preset(tmp_path / "nope.yaml")


def test_unknown_key_is_refused():
    text = yaml.safe_dump({**load_preset("ebay").model_dump(mode="json", by_alias=True), "min_sidee": 3})
    with pytest.raises(PresetError, match="min_sidee"):
        parse_preset(text)


def test_a_rule_without_a_source_is_refused():
    data = load_preset("ebay").model_dump(mode="json", by_alias=True)
    data["max_megapixels"] = 30
    with pytest.raises(PresetError, match="max_megapixels"):
        parse_preset(yaml.safe_dump(data))


def test_recipe_needs_steps():
    data = load_preset("ebay").model_dump(mode="json", by_alias=True)
    data["recipe"] = {"name": "x"}
    with pytest.raises(PresetError, match="steps"):
        parse_preset(yaml.safe_dump(data))


def test_recipe_with_unknown_op_is_a_preset_error():
    data = load_preset("ebay").model_dump(mode="json", by_alias=True)
    data["recipe"] = {"steps": [{"op": "no_such_step"}]}
    p = Preset.model_validate(data)
    with pytest.raises(PresetError, match="no_such_step"):
        p.recipe()


def test_format_aliases_are_normalised():
    data = load_preset("ebay").model_dump(mode="json", by_alias=True)
    data["formats"] = ["JPG", "tif", "heic"]
    data["sources"]["format"] = ["test"]
    assert Preset.model_validate(data).formats == ("jpeg", "tiff", "heif")


def test_one_shipped_preset_is_the_default():
    from product_studio.marketplaces.presets import default_preset_name

    assert default_preset_name() == "amazon-main"
    assert [name for name in list_presets() if load_preset(name).default] == ["amazon-main"]
