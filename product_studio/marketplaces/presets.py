"""Marketplace presets: the rules of one marketplace's main image, kept as data.

Each preset is a YAML file in ``product_studio/marketplaces/presets/`` (one per preset, named
after it) holding the measurable rules, the rules a person has to review, where each rule comes
from, and the default recipe that makes an image meet them::

    >>> preset = load_preset("amazon-main")
    >>> preset.fill_min
    0.85
    >>> recipe = preset.recipe()          # a Recipe with recipe.preset == "amazon-main"

Each shipped preset states its ``target_side``, the longest side its default recipe aims at (with
its source), and its recipe's ``fit_to_canvas`` has that size and ``upscale: learned``: a product too
small for it is enlarged by the learned upscaler, at most x4 in all; a smaller one is placed at the
largest honest size, and the output carries a warning that says so (``ops/layout.py``). A user's
preset with a minimum size (``min_side`` / ``min_long_side``) whose recipe does not upscale gets an
``upscale`` step first, so a source below the minimum is enlarged (x2 or x4, as needed) before
anything else; larger sources pass through it untouched.

A user's own preset is a YAML file with the same schema: ``load_preset("my-shop.yaml")``.

Sizes are in pixels. ``max_bytes`` reads "MB" in a marketplace's rule as 10**6 bytes, the
stricter reading, so a file that passes here passes whichever the marketplace means.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import PresetError, RecipeError
from ..recipe import Recipe
from ..understand.listing_rules import TitleRule
from .rules import RULES, measured_by, rules_for

FileFormat = Literal["jpeg", "png", "webp", "tiff", "bmp", "gif", "heif"]
ColorMode = Literal["RGB", "CMYK", "grayscale"]

_FORMAT_ALIASES = {"jpg": "jpeg", "jpe": "jpeg", "tif": "tiff", "heic": "heif"}
SOURCED_FIELDS = ("target_side",)  # fields that are not rules but still say where they come from


class ListingTitle(BaseModel):
    """The marketplace's rule for a listing title (what ``describe`` drafts)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_length: int = Field(ge=1, description="the hard limit")
    unit: Literal["bytes", "chars"] = Field(
        description="chars, or bytes: a non-ASCII character counts 2, an ASCII one 1 (as Taobao counts)"
    )
    target: int | None = Field(None, ge=1, description="the length a draft aims at (a recommendation below the limit)")
    brand_first: bool = Field(True, description="the brand leads the title")
    source: str = Field(min_length=1, description="where the rule comes from")

    @model_validator(mode="after")
    def _target_within_the_limit(self) -> ListingTitle:
        if self.target is not None and self.target > self.max_length:
            raise ValueError(f"target ({self.target}) is above max_length ({self.max_length})")
        return self


class Preset(BaseModel):
    """One marketplace image slot and its rules. Unknown keys are an error (a typo is not a rule)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="preset id, e.g. amazon-main")
    title: str = Field(description="one line for people: which marketplace and which image")
    marketplace: str = Field(description="marketplace name, e.g. Amazon")
    description: str = ""
    default: bool = Field(False, description="the preset used where none is named (exactly one shipped preset)")
    background: Literal["white", "none"] = Field(
        "none", description="white: the border must be exactly RGB 255,255,255; none: not checked"
    )
    min_side: int | None = Field(None, ge=1, description="both sides at least this (e.g. 800 for 800x800)")
    min_long_side: int | None = Field(None, ge=1, description="the longest side at least this")
    max_side: int | None = Field(None, ge=1, description="the longest side at most this")
    recommended_side: int = Field(ge=16, description="advised longest side")
    zoom_side: int | None = Field(None, ge=1, description="advised longest side for the marketplace's zoom")
    target_side: int | None = Field(
        None, ge=16, description="the longest side the default recipe aims at (its fit_to_canvas size); null: recommended_side"
    )
    aspect: float | None = Field(None, gt=0, description="width / height required (1.0 = square); null: any")
    aspect_tolerance: float = Field(0.005, ge=0, le=0.5, description="allowed relative deviation from aspect")
    fill_min: float | None = Field(None, gt=0, le=1, description="product's longest side / canvas side, at least")
    center_tolerance: float | None = Field(
        None, gt=0, le=0.5, description="product box centre within this share of the canvas side of the centre"
    )
    formats: tuple[FileFormat, ...] | None = Field(None, description="file formats allowed; null: any")
    max_bytes: int | None = Field(None, gt=0, description="file size cap in bytes")
    max_megapixels: float | None = Field(None, gt=0, description="width x height / 10**6, at most")
    color_modes: tuple[ColorMode, ...] | None = Field(("RGB",), description="colour modes allowed; null: any")
    prohibited: tuple[str, ...] = Field((), description="content not allowed; reported for manual review")
    advice: tuple[str, ...] = Field(
        ("recommended_side", "zoom_side"), description="rules reported but not counted in pass/fail"
    )
    listing_title: ListingTitle | None = Field(
        None, description="the listing title's limit; null: that of the shipped preset of the same marketplace"
    )
    sources: dict[str, tuple[str, ...]] = Field(description="rule name (or target_side) -> where the rule comes from")
    default_recipe: dict[str, Any] = Field(alias="recipe", description="the Recipe that makes an image comply")

    @model_validator(mode="before")
    @classmethod
    def _prohibitions_share_their_source(cls, data: Any) -> Any:
        """A rule that measures a prohibited thing (``rules.PROHIBITED_BY``: text_overlay for "text" ...)
        has the prohibition's sources unless the preset names its own."""
        if not isinstance(data, dict) or not isinstance(data.get("sources"), dict) or "prohibited" not in data["sources"]:
            return data
        sources = dict(data["sources"])
        for rule in {r for thing in data.get("prohibited") or () for r in measured_by(str(thing))}:
            sources.setdefault(rule, sources["prohibited"])
        return {**data, "sources": sources}

    @field_validator("formats", mode="before")
    @classmethod
    def _normalise_formats(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return tuple(_FORMAT_ALIASES.get(str(v).lower(), str(v).lower()) for v in value)
        return value

    @field_validator("sources", "advice")
    @classmethod
    def _known_rules(cls, value: Any) -> Any:
        names = value.keys() if isinstance(value, dict) else value
        unknown = sorted(set(names) - set(RULES) - (set(SOURCED_FIELDS) if isinstance(value, dict) else set()))
        if unknown:
            raise ValueError(f"unknown rule name(s) {', '.join(unknown)}; rules are: {', '.join(RULES)}")
        return value

    @field_validator("default_recipe")
    @classmethod
    def _recipe_shape(cls, value: dict[str, Any]) -> dict[str, Any]:
        steps = value.get("steps")
        if not isinstance(steps, list) or not all(isinstance(s, dict) and isinstance(s.get("op"), str) for s in steps):
            raise ValueError("recipe needs 'steps:', a list of mappings each with an 'op:'")
        return value

    @model_validator(mode="after")
    def _every_rule_has_a_source(self) -> Preset:
        missing = [rule.name for rule in rules_for(self) if rule.name not in self.sources]
        if missing:
            raise ValueError(f"sources: no source given for rule(s) {', '.join(missing)}; say where each rule comes from")
        for field in ("min_side", "min_long_side"):
            low = getattr(self, field)
            if low is not None and self.max_side is not None and low > self.max_side:
                raise ValueError(f"{field} ({low}) is above max_side ({self.max_side})")
        self._check_target()
        return self

    def _check_target(self) -> None:
        """target_side says where it comes from (the shipped presets' recipes make it: tests/marketplaces)."""
        if self.target_side is not None and "target_side" not in self.sources:
            raise ValueError("sources: no source given for target_side; say where the target size comes from")

    @property
    def target(self) -> int:
        """The longest side the default recipe aims at: ``target_side``, else ``recommended_side``."""
        return self.target_side or self.recommended_side

    def recipe(self) -> Recipe:
        """The preset's default recipe as a validated Recipe with ``preset`` set to this preset.

        Raises PresetError when a step is unknown or has bad options (for example an op that is
        not installed in this version)."""
        data = {"name": self.name, **self.default_recipe, "preset": self.name}
        data["steps"] = [*self.minimum_size_steps(), *data["steps"]]
        try:
            return Recipe.from_dict(data, source=f"preset '{self.name}' recipe")
        except RecipeError as exc:
            raise PresetError(str(exc)) from None

    def minimum_size_steps(self) -> list[dict[str, Any]]:
        """The step that brings a too-small source up to this preset's minimum size: an ``upscale``
        (learned x2/x4) with the preset's ``min_side`` / ``min_long_side``, put first so the rest of
        the recipe works on the enlarged photo; a source that is large enough passes through
        unchanged. Nothing when the preset has no minimum or its recipe already upscales (an
        ``upscale`` step, or ``fit_to_canvas`` with ``upscale: learned``, as the shipped presets do)."""
        if self.min_side is None and self.min_long_side is None:
            return []
        if any(step.get("op") == "upscale" or (step.get("op") == "fit_to_canvas" and step.get("upscale") == "learned")
               for step in self.default_recipe["steps"]):
            return []  # its own upscale, or fit_to_canvas enlarges the product with the learned upscaler
        step: dict[str, Any] = {"op": "upscale"}
        if self.min_side is not None:
            step["min_side"] = self.min_side
        if self.min_long_side is not None:
            step["min_long_side"] = self.min_long_side
        return [step]

    def title_rule(self) -> TitleRule | None:
        """The rule ``describe`` fits titles to: this preset's ``listing_title``, else that of the
        shipped preset of the same marketplace; None when no preset knows the marketplace."""
        if self.listing_title is not None:
            return TitleRule(self.marketplace, **self.listing_title.model_dump())
        key = self.marketplace.strip().lower()
        for name in list_presets():
            shipped = _load_packaged(name)
            if shipped.listing_title is not None and shipped.marketplace.strip().lower() == key:
                return shipped.title_rule()
        return None

    def rules_summary(self) -> dict[str, str]:
        """rule name -> the expected value in words (what ``product-studio presets`` prints)."""
        return {rule.name: rule.summary(self) for rule in rules_for(self)}


def _preset_dir() -> resources.abc.Traversable:
    return resources.files(__package__).joinpath("presets")


@functools.cache
def list_presets() -> list[str]:
    """Names of the presets shipped with the package, sorted."""
    return sorted(p.name.removesuffix(".yaml") for p in _preset_dir().iterdir() if p.name.endswith(".yaml"))


@functools.cache
def _load_packaged(name: str) -> Preset:
    text = _preset_dir().joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    preset = parse_preset(text, source=f"preset '{name}'")
    if preset.name != name:
        raise PresetError(f"preset file {name}.yaml says name: {preset.name}; the name must match the file name")
    return preset


@functools.cache
def default_preset_name() -> str:
    """The shipped preset marked ``default: true``: the one commands and routes use when none is named."""
    marked = [name for name in list_presets() if _load_packaged(name).default]
    if len(marked) != 1:
        raise PresetError(f"exactly one shipped preset must say default: true; {len(marked)} do ({', '.join(marked) or 'none'})")
    return marked[0]


def parse_preset(text: str, *, source: str = "preset") -> Preset:
    """A Preset from YAML text; PresetError listing every problem otherwise."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PresetError(f"{source}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise PresetError(f"{source}: a preset is a mapping with name:, title:, marketplace:, sources:, recipe: ...")
    try:
        return Preset.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise PresetError(f"{source}: {problems}") from None


def load_preset(name_or_path: str | Path) -> Preset:
    """A shipped preset by name (case-insensitive), or a user's preset file by path.

    A value ending in .yaml/.yml, or naming an existing file, is read as a file. An unknown name
    raises PresetError listing the known presets.
    """
    if isinstance(name_or_path, Preset):
        return name_or_path
    text = str(name_or_path).strip()
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise PresetError(f"preset file not found: {path}. Known presets: {', '.join(list_presets())}")
        try:
            content = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PresetError(f"cannot read preset file {path}: {exc}") from None
        return parse_preset(content, source=str(path))
    key = text.lower()
    if key not in list_presets():
        raise PresetError(
            f"unknown preset '{text}'. Known presets: {', '.join(list_presets())}; or give the path of a preset YAML file"
        )
    return _load_packaged(key)


def preset_recipe(name_or_path: str | Path) -> Recipe:
    """The default recipe of a preset: ``run_recipe(item, preset_recipe("amazon-main"))``."""
    return load_preset(name_or_path).recipe()

