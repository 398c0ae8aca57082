"""`product-studio describe`: listing titles and descriptions (Chinese and English) for photos."""

from __future__ import annotations

import os
from typing import Any

import typer

from .common import InputsArgument, JsonOption, QuietOption, handle_errors, help_text, info
from .each_file import for_each_file

LLM_KEY_ENV = "PRODUCT_STUDIO_LLM_KEY"


def register(app: typer.Typer) -> None:
    app.command(
        "describe",
        help=help_text(
            f"""Measure each photo (category, colours, size, text, quality, background) and draft a listing: title,
            bullet points and a description, in Chinese and/or English, within the preset's marketplace title limit
            (Taobao: 60 bytes, a Chinese character counting 2; Amazon: 80 characters aimed at, 200 at most).

            Examples:

              product-studio describe photo.jpg --lang zh,en --preset taobao-main

              product-studio describe shoe.jpg --brand Nike --material mesh --keywords breathable,running --json

              product-studio describe shoe.jpg --llm-url http://localhost:8000 --llm-model qwen2.5  (key from ${LLM_KEY_ENV}; off by default)
            """
        ),
    )(describe)


def split_list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").replace("，", ",").split(",") if v.strip()]


@handle_errors
def describe(
    inputs: list[str] = InputsArgument,
    lang: str = typer.Option("zh,en", "--lang", "-l", help="Languages: zh, en or zh,en."),
    preset: str = typer.Option("taobao-main", "--preset", "-p", help="Marketplace preset: its title limit applies."),
    brand: str | None = typer.Option(None, "--brand", help="Brand (put first where the marketplace wants it)."),
    model: str | None = typer.Option(None, "--model", help="Model number (else the one read on the photo)."),
    category: str | None = typer.Option(None, "--category", help="Product type, e.g. sneakers or 运动鞋 (else the classifier's)."),
    material: str | None = typer.Option(None, "--material", help="Material, e.g. cotton or 纯棉."),
    gender: str | None = typer.Option(None, "--gender", help="women, men, unisex, kids, girls or boys."),
    season: str | None = typer.Option(None, "--season", help="spring, summer, autumn, winter ..."),
    sizes: str | None = typer.Option(None, "--sizes", help="Comma-separated sizes, e.g. S,M,L."),
    keywords: str | None = typer.Option(None, "--keywords", "-k", help="Comma-separated keywords, most important first."),
    colors: str | None = typer.Option(None, "--colors", help="Comma-separated colours (else the measured ones)."),
    llm_url: str | None = typer.Option(None, "--llm-url", help="OpenAI-compatible endpoint that polishes the draft (off by default)."),
    llm_model: str = typer.Option("gpt-4o-mini", "--llm-model", help="Model name sent to --llm-url."),
    llm_key: str | None = typer.Option(None, "--llm-key", envvar=LLM_KEY_ENV, help=f"Bearer key for --llm-url (or ${LLM_KEY_ENV})."),
    fields: str | None = typer.Option(
        None, "--fields", help="Attributes to measure (comma-separated: category,colors,size,text,quality,background); default all."
    ),
    segment: str = typer.Option("auto", "--segment", help="Product mask: auto (alpha, else u2netp, else grabcut), u2netp, grabcut, none."),
    json_out: bool = JsonOption,
    quiet: bool = QuietOption,
) -> None:
    from .. import storage
    from ..imageio import load_image
    from ..marketplaces.presets import load_preset
    from ..understand.attributes import extract_attributes
    from ..understand.describe import describe as describe_listing
    from ..understand.listing_rules import ListingFields
    from ..understand.llm_client import LLMConfig
    from .common import gather_inputs

    loaded = load_preset(preset)  # a bad preset is a usage error before any work
    langs = tuple(split_list(lang))
    seller = ListingFields(
        brand=brand,
        model=model,
        category=category,
        material=material,
        gender=gender,
        season=season,
        sizes=split_list(sizes),
        keywords=split_list(keywords),
        colors=split_list(colors),
    )
    llm = LLMConfig(url=llm_url, model=llm_model, api_key=llm_key or os.environ.get(LLM_KEY_ENV)) if llm_url else None
    describe_listing(None, seller, title_rule=loaded.title_rule(), preset=loaded.name, langs=langs)  # checks the languages up front
    made: dict[str, tuple[Any, Any]] = {}  # input -> (attributes, listings), for the human output

    def work(f: Any) -> dict[str, Any]:
        item = load_image(storage.read_input(f.path), name=str(f.path))
        attrs = extract_attributes(item, fields=split_list(fields) or None, segment=segment)
        listings = describe_listing(attrs, seller, title_rule=loaded.title_rule(), preset=loaded.name, langs=langs, llm=llm)
        for listing in listings.values():
            for warning in listing.warnings:
                info(f"warning: {f.path} [{listing.lang}]: {warning}")
        made[str(f.path)] = attrs, listings
        return {"attributes": attrs.to_dict(), "listings": {k: v.to_dict() for k, v in listings.items()}}

    def show(entry: dict[str, Any]) -> None:
        if entry["status"] == "done":
            _print_human(entry["input"], *made.pop(entry["input"]))

    for_each_file(gather_inputs(inputs), work, json_out=json_out, quiet=quiet, show=show, document=lambda _: {"preset": preset})


def _print_human(path: str, attrs, listings) -> None:
    typer.echo(f"== {path}")
    facts = attrs.summary_facts(max_text_lines=0)
    if facts:
        typer.echo("   " + "; ".join(facts))
    for listing in listings.values():
        typer.echo(f"[{listing.lang}] {listing.title}    ({listing.title_length}/{listing.title_limit} {listing.title_unit}, {listing.source})")
        for bullet in listing.bullets:
            typer.echo(f"  • {bullet}")
        typer.echo(f"  {listing.description}")
