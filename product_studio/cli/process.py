"""`product-studio process`: a folder of raw photos -> marketplace-ready images and a report."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from .common import EXIT_OK, EXIT_SOME_FAILED, JsonOption, OutputDirOption, OverwriteOption, PresetOption, handle_errors, info, print_json


def register(app: typer.Typer) -> None:
    app.command(
        "process",
        help=(
            "Make marketplace-ready images from photos, folders or globs.\n\n"
            "Runs the preset's recipe (or --recipe my.yaml) on every input, in parallel worker processes, "
            "keeps the inputs' relative paths under -o, checks every output against the preset and writes "
            "report.json, report.csv and report.html (before/after thumbnails) beside the outputs. "
            "A bad file is reported and the batch goes on.\n\n"
            "Resumable: a job manifest (SQLite, beside the outputs) records every input; running the same "
            "command again skips inputs already done with the same content and recipe, redoes changed ones, "
            "finishes what a crash (even kill -9) interrupted, and retries failures with --retry-failed. "
            "`product-studio jobs` lists the runs.\n\n"
            "Example: product-studio process photos/ -o ready/ --preset amazon-main\n\n"
            "Exit codes: 0 every output passes its preset; 1 some inputs failed or some outputs do not pass; 2 bad usage."
        ),
    )(process)


@handle_errors
def process(
    inputs: list[str] = typer.Argument(..., help="Image files, folders (searched recursively) or globs ('shots/**/*.jpg')."),
    output: Path = OutputDirOption,
    preset: str = PresetOption,
    recipe_path: Path | None = typer.Option(None, "--recipe", "-r", help="YAML recipe replacing the preset's default recipe."),
    workers: int | None = typer.Option(None, "--workers", "-j", min=1, help="Worker processes (default: the number of cores)."),
    overwrite: bool = OverwriteOption,
    max_megapixels: float = typer.Option(100.0, "--max-megapixels", min=0.01, help="Refuse inputs above this many megapixels (checked before decoding)."),
    manifest_path: Path | None = typer.Option(
        None, "--manifest", help="Job manifest (SQLite) that makes reruns resume; default: <output>/.product-studio/manifest.sqlite."
    ),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Process again the inputs that failed in an earlier run (default: report the old failure)."),
    no_resume: bool = typer.Option(False, "--no-resume", help="Ignore earlier runs and process every input again (still recorded in the manifest)."),
    engine: str = typer.Option("local", "--engine", help="local: worker processes on this machine; ray: a Ray Data job, one actor per CPU."),
    address: str | None = typer.Option(None, "--address", help="Ray cluster for --engine ray: 'auto' (started here with `ray start`) or ray://head:10001; default: a local Ray."),
    json_out: bool = JsonOption,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    from tqdm import tqdm

    from ..batch.ray_engine import select_engine
    from ..batch.report import failed_rules, write_reports
    from ..inputs import expand_inputs
    from ..limits import Limits
    from ..marketplaces import load_preset
    from ..recipe import Recipe

    files = expand_inputs(inputs)
    if recipe_path is not None:
        recipe = Recipe.from_yaml(recipe_path)
        if recipe.preset is None:
            recipe = recipe.model_copy(update={"preset": load_preset(preset).name})
    else:
        recipe = load_preset(preset).recipe()
    info(f"{len(files)} input(s) -> {output}  (recipe '{recipe.name}', preset {recipe.preset}, hash {recipe.hash})")
    bar = tqdm(total=len(files), unit="img", disable=quiet, file=sys.stderr, dynamic_ncols=True)

    def on_result(result) -> None:  # noqa: ANN001
        bar.update(1)
        if result.status != "done" and result.resumed is None:
            bar.write(f"failed: {result.error}", file=sys.stderr)

    from ..batch.manifest import default_manifest_path

    from ..storage import is_remote

    run_batch = select_engine(engine, address)
    manifest = manifest_path or (None if is_remote(output) else default_manifest_path(output))
    try:
        report = run_batch(
            files, recipe, output, workers=workers, overwrite=overwrite,
            limits=Limits.from_env(max_input_pixels=int(max_megapixels * 1_000_000)), on_result=on_result,
            manifest=manifest, resume=not no_resume, retry_failed=retry_failed,
            command=shlex.join(["product-studio", *sys.argv[1:]]),
        )
    finally:
        bar.close()
    _say_what_was_resumed(report, manifest)
    paths = write_reports(report, output)
    summary = report.summary()
    if json_out:
        print_json({**report.to_dict(), "reports": {k: str(v) for k, v in paths.items()}})
    else:
        for r in report.non_compliant:
            info(f"does not pass {recipe.preset}: {r.output}: {', '.join(failed_rules(r.compliance))}")
        typer.echo(
            f"{summary['done']}/{summary['inputs']} processed, {summary['failed']} failed"
            + (f" ({summary['skipped']} skipped as already done)" if summary.get("skipped") else "")
            + (f", {summary['compliant']}/{summary['done']} pass {recipe.preset}" if recipe.preset else "")
            + f" in {summary['seconds']:.1f} s. Report: {paths['html']}"
        )
    raise typer.Exit(EXIT_OK if report.all_good else EXIT_SOME_FAILED)


def _say_what_was_resumed(report, manifest: Path) -> None:  # noqa: ANN001
    summary = report.summary()
    skipped = [r for r in report.results if r.resumed == "skipped"]
    if report.partial_files_removed:
        info(f"removed {report.partial_files_removed} unfinished temporary file(s) left by an interrupted run")
    if skipped:
        failed_before = sum(1 for r in skipped if r.status != "done")
        info(
            f"skipped {len(skipped)} input(s) finished by an earlier run (same content and recipe)"
            + (f", {failed_before} of them failed then: --retry-failed processes them again" if failed_before else "")
        )
    if summary.get("adopted"):
        info(f"kept {summary['adopted']} output(s) an interrupted run had completed (verified)")
    info(f"manifest: {manifest} (run {report.run_id})" if manifest is not None else "no manifest for an s3:// output: a rerun processes everything again")
