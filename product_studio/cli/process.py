"""`product-studio process`: a folder of raw photos -> marketplace-ready images and a report."""

from __future__ import annotations

from pathlib import Path

import typer

from .batch_run import Batch, BatchOptions, batch_options, default_manifest, finish, run_batches
from .common import InputsArgument, OutputDirOption, PresetOption, gather_inputs, handle_errors, help_text, info
from .options import compose


def register(app: typer.Typer) -> None:
    app.command(
        "process",
        help=help_text(
            """Make marketplace-ready images from photos, folders or globs.

            Runs the preset's recipe (or --recipe my.yaml) on every input, in parallel worker processes, keeps the
            inputs' relative paths under -o, checks every output against the preset and writes report.json, report.csv
            and report.html (before/after thumbnails) beside the outputs. A bad file is reported and the batch goes
            on.

            Resumable: a job manifest (SQLite, beside the outputs) records every input; running the same command again
            skips inputs already done with the same content and recipe, redoes changed ones, finishes what a crash
            (even kill -9) interrupted, and retries failures with --retry-failed. `product-studio jobs` lists the
            runs.

            Example: product-studio process photos/ -o ready/ --preset amazon-main

            Exit codes: 0 every output passes its preset; 1 some inputs failed or some outputs do not pass; 2 bad
            usage.
            """
        ),
    )(handle_errors(compose(process, batch=batch_options)))


def process(
    inputs: list[str] = InputsArgument,
    output: Path = OutputDirOption,
    preset: str = PresetOption,
    recipe_path: Path | None = typer.Option(None, "--recipe", "-r", help="YAML recipe replacing the preset's default recipe."),
    engine: str = typer.Option("local", "--engine", help="local: worker processes on this machine; ray: a Ray Data job, one actor per CPU."),
    address: str | None = typer.Option(None, "--address", help="Ray cluster for --engine ray: 'auto' (started here with `ray start`) or ray://head:10001; default: a local Ray."),
    batch: BatchOptions = None,  # the shared batch options (batch_run.batch_options)
) -> None:
    from ..marketplaces import load_preset
    from ..recipe import Recipe

    files = gather_inputs(inputs, output)
    if recipe_path is not None:
        recipe = Recipe.from_yaml(recipe_path)
        if recipe.preset is None:
            recipe = recipe.model_copy(update={"preset": load_preset(preset).name})
    else:
        recipe = load_preset(preset).recipe()
    info(f"{len(files)} input(s) -> {output}  (recipe '{recipe.name}', preset {recipe.preset}, hash {recipe.hash})")
    runs = run_batches([Batch(files, recipe, output, manifest=default_manifest(output, batch))], batch, engine=engine, address=address)
    finish(runs, batch, reports_dir=output)
