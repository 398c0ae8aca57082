"""`product-studio presets`: the marketplace presets, their rules, sources and default recipes."""

from __future__ import annotations

import typer

from .common import JsonOption, handle_errors, help_text, info, print_json

HELP = help_text(
    """List the marketplace presets and their rules, or show one in full (rules, sources, recipe).

    Examples:

      product-studio presets

      product-studio presets amazon-main

      product-studio presets taobao-main --json

      product-studio presets my-shop.yaml   (check a preset file of your own)
    """
)


def register(app: typer.Typer) -> None:
    app.command("presets", help=HELP)(presets)


@handle_errors
def presets(
    name: str | None = typer.Argument(None, help="A preset name (case-insensitive) or the path of a preset YAML file.", show_default=False),
    json_output: bool = JsonOption,
) -> None:
    import yaml

    from ..errors import PresetError
    from ..marketplaces import list_presets, load_preset

    if name is None:
        chosen = [load_preset(n) for n in list_presets()]
        if json_output:
            print_json({"presets": [_describe(p) for p in chosen]})
            return
        for p in chosen:
            typer.echo(f"{p.name:<16} {p.title}")
            for rule, expected in p.rules_summary().items():
                typer.echo(f"    {rule:<17} {expected}")
            typer.echo(f"    {'target':<17} {_target(p)}")
        typer.echo("\n`product-studio presets NAME` shows one preset in full, with its sources and recipe.")
        return

    p = load_preset(name)
    try:
        recipe_text = p.recipe().to_yaml()
        recipe_note = None
    except PresetError as exc:  # an op of the recipe is not available in this install
        recipe_text = yaml.safe_dump(p.default_recipe, sort_keys=False, allow_unicode=True)
        recipe_note = str(exc)
    if json_output:
        doc = _describe(p)
        doc["recipe_valid"] = recipe_note is None
        doc["recipe_error"] = recipe_note
        print_json(doc)
        return
    typer.echo(f"{p.name}: {p.title}")
    typer.echo(f"marketplace: {p.marketplace}")
    if p.description:
        typer.echo(p.description)
    typer.echo("\nrules:")
    for rule, expected in p.rules_summary().items():
        typer.echo(f"  {rule:<17} {expected}")
    typer.echo(f"  {'target':<17} {_target(p)}")
    typer.echo("\nsources:")
    for rule, refs in p.sources.items():
        typer.echo(f"  {rule}:")
        for ref in refs:
            typer.echo(f"    - {ref}")
    typer.echo("\nrecipe:")
    typer.echo("  " + recipe_text.rstrip().replace("\n", "\n  "))
    if recipe_note:
        info(f"note: the recipe is shown as written; it does not validate here: {recipe_note}")


def _target(p) -> str:  # noqa: ANN001 - a marketplaces.Preset
    return f"{p.target} px longest side: what the default recipe makes (the learned upscaler, at most x4)"


def _describe(p) -> dict:
    doc = p.model_dump(mode="json", by_alias=True)
    doc["rules"] = p.rules_summary()
    return doc
