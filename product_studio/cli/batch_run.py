"""Image work on the command line: `process` and every image command (`remove-bg`, `denoise`,
`upscale`, `repair`, `recolor`, `anonymize`) run their recipe through the batch engine here.

An image command is a one-step recipe (its registered op, its options) run like `process`: files,
folders, globs, list files and s3:// in; worker processes; a progress bar; a job manifest that makes
a rerun skip what is done; report.json, report.csv and report.html beside the outputs; ``--json``
in the shape of `process --json`; exit 0 when all is good, 1 when some input failed.

One input with an output *file* name (``remove-bg photo.jpg -o cutout.png``) writes exactly that
file, in the format its extension names, with no report and no manifest beside it (unless
``--manifest`` asks for one).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

import typer

from .common import (
    EXIT_OK, EXIT_SOME_FAILED, ImageOutputOption, InputsArgument, JsonOption, ManifestOption, MaxMegapixelsOption,
    NoResumeOption, OutputDirOption, OverwriteOption, QuietOption, RetryFailedOption, WorkersOption, gather_inputs,
    handle_errors, info, print_json, progress_bar,
)
from .options import OptionValues, compose, op_options

FILE_FORMATS = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".webp": "webp"}  # a -o with these names a file


@dataclass(frozen=True)
class BatchOptions:
    """What every batch command is told on its command line besides its inputs and its work."""

    workers: int | None
    overwrite: bool
    max_megapixels: float
    manifest: Path | None
    retry_failed: bool
    no_resume: bool
    json_out: bool
    quiet: bool

    @property
    def limits(self):  # noqa: ANN201 - a limits.Limits
        from ..limits import MEGAPIXEL, Limits

        return Limits.from_env(max_input_pixels=int(self.max_megapixels * MEGAPIXEL))


def batch_options(
    workers: int | None = WorkersOption,
    overwrite: bool = OverwriteOption,
    max_megapixels: float = MaxMegapixelsOption,
    manifest: Path | None = ManifestOption,
    retry_failed: bool = RetryFailedOption,
    no_resume: bool = NoResumeOption,
    json_out: bool = JsonOption,
    quiet: bool = QuietOption,
) -> BatchOptions:
    """The batch options as a group for ``options.compose`` (declared once for every batch command)."""
    return BatchOptions(workers, overwrite, max_megapixels, manifest, retry_failed, no_resume, json_out, quiet)


@dataclass
class Batch:
    """One run of the engine: a recipe over some inputs into one folder."""

    files: list[Any]  # inputs.InputFile
    recipe: Any  # recipe.Recipe
    out_dir: Path | str
    names: list[Path] | None = None  # each input's output below out_dir (default: the engine's naming)
    manifest: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # fields added to each of its results in --json


@dataclass
class Runs:
    """All batches of a command together: one report, and each result's extra --json fields."""

    report: Any  # batch.local.BatchReport
    extras: list[dict[str, Any]]
    run_ids: list[tuple[Path | None, int | None]]  # (manifest, run id) of each batch
    recipes: list[dict[str, Any]]  # the resolved recipes, each once, in the order they ran


def run_batches(batches: list[Batch], options: BatchOptions, *, thumbnails: bool = True, engine: str = "local",
                address: str | None = None) -> Runs:
    """Run ``batches`` one after the other under one progress bar; their results merged in input order."""
    from ..batch.ray_engine import select_engine

    run_batch = select_engine(engine, address)
    bar = progress_bar(sum(len(b.files) for b in batches), quiet=options.quiet)

    def on_result(result) -> None:  # noqa: ANN001
        bar.update(1)
        if result.status != "done" and result.resumed is None:
            bar.write(f"failed: {result.error}", file=sys.stderr)

    reports, run_ids = [], []
    try:
        for b in batches:
            report = run_batch(
                b.files, b.recipe, b.out_dir, workers=options.workers, overwrite=options.overwrite, thumbnails=thumbnails,
                limits=options.limits, on_result=on_result, manifest=b.manifest, resume=not options.no_resume,
                retry_failed=options.retry_failed, command=shlex.join(["product-studio", *sys.argv[1:]]), output_names=b.names,
            )
            reports.append(report)
            run_ids.append((b.manifest, report.run_id))
    finally:
        bar.close()
    recipes = list({b.recipe.hash: b.recipe.resolved() for b in batches}.values())
    if len(reports) == 1:
        return Runs(reports[0], [dict(batches[0].extra) for _ in reports[0].results], run_ids, recipes)
    pairs = sorted(
        ((r, b.extra, i) for i, (b, report) in enumerate(zip(batches, reports)) for r in report.results),
        key=lambda pair: (pair[0].input, pair[2]),
    )
    first = reports[0]
    merged = replace(
        first, results=[r for r, _, _ in pairs], seconds=sum(r.seconds for r in reports),
        manifest_seconds=sum(r.manifest_seconds or 0.0 for r in reports) if first.manifest else None,
        partial_files_removed=sum(r.partial_files_removed for r in reports), run_id=run_ids[-1][1],
    )
    return Runs(merged, [dict(extra) for _, extra, _ in pairs], run_ids, recipes)


def finish(runs: Runs, options: BatchOptions, *, reports_dir: Path | str | None, output: Path | str | None = None) -> NoReturn:
    """End a batch command: what was resumed, report.json/csv/html in ``reports_dir`` (none when
    None), the summary line or the --json document, and the exit code (0 only when every input
    is done and every output passes its preset)."""
    from ..batch.report import advice_phrase, failed_rules, warnings_phrase, write_reports

    report = runs.report
    _say_what_was_resumed(report, runs.run_ids)
    paths = write_reports(report, reports_dir) if reports_dir is not None else {}
    summary = report.summary()
    if options.json_out:
        doc = report.to_dict()
        for entry, extra in zip(doc["results"], runs.extras):
            entry.update(extra)
        if len(runs.recipes) > 1:  # one per output format or colour; "recipe" is the first
            doc["recipes"] = runs.recipes
        print_json({**doc, "reports": {k: str(v) for k, v in paths.items()}})
    else:
        for r in report.non_compliant:
            info(f"does not pass {report.preset}: {r.output}: {', '.join(failed_rules(r.compliance))}")
        for r in report.results:
            for warning in r.warnings:
                info(f"warning: {r.output}: {warning}")
        notes = "; ".join(n for n in (advice_phrase(summary), warnings_phrase(summary)) if n)
        typer.echo(
            f"{summary['done']}/{summary['inputs']} processed, {summary['failed']} failed"
            + (f" ({summary['skipped']} skipped as already done)" if summary.get("skipped") else "")
            + (f", {summary['compliant']}/{summary['done']} pass {report.preset}" if report.preset else "")
            + (f", {notes};" if notes else "")
            + f" in {summary['seconds']:.1f} s"
            + (f". Report: {paths['html']}" if paths else f": {output}" if output is not None else ".")
        )
    raise typer.Exit(EXIT_OK if report.all_good else EXIT_SOME_FAILED)


def _say_what_was_resumed(report, run_ids: list[tuple[Path | None, int | None]]) -> None:  # noqa: ANN001
    summary = report.summary()
    skipped = report.skipped
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
    by_manifest: dict[Path, list[str]] = {}
    for manifest, run_id in run_ids:
        if manifest is not None:
            by_manifest.setdefault(manifest, []).append(str(run_id))
    for manifest, ids in by_manifest.items():
        info(f"manifest: {manifest} (run{'s' if len(ids) > 1 else ''} {', '.join(ids)})")


def default_manifest(output: Path | str, options: BatchOptions, tag: str = "") -> Path | None:
    """The manifest of a batch into ``output``: --manifest, else <output>/.product-studio/manifest.sqlite;
    None for an s3:// output (then a rerun processes everything again). ``tag`` names a second
    manifest for other outputs of the same inputs in the same folder (one per recolour)."""
    from ..batch.manifest import default_manifest_path
    from ..storage import is_remote

    if options.manifest is None and is_remote(output):
        info("no manifest for an s3:// output: a rerun processes everything again")
        return None
    path = Path(options.manifest or default_manifest_path(output))
    return path.with_name(f"{path.stem}{tag}{path.suffix}") if tag else path


# ---- image commands: a one-step recipe ---------------------------------------------------------------


def image_command(app: typer.Typer, name: str, op: str | list[str], *, help: str,  # noqa: A002
                  body: Callable[..., None] | None = None, flags: dict[str, tuple[str, ...]] | None = None,
                  exclude: tuple[str, ...] = (), labels: dict[str, str] | None = None, **run: Any) -> None:
    """Register the command ``name``: ``body`` (default: ``op_command(op, **run)``, ``op`` once on each
    input), whose ``options`` parameter takes the options generated from ``op``'s options model
    (``flags``, ``exclude``, ``labels``: see ``options.op_options``) and whose ``batch`` parameter takes
    the shared batch options."""
    function = body or op_command(op, **run)
    options = op_options(op, flags=flags, exclude=exclude, labels=labels)
    app.command(name, help=help)(handle_errors(compose(function, options=options, batch=batch_options)))


def op_command(op: str, *, output_format: Callable[[Path], str] | None = None, file_output: bool = True,
               after: Callable[[Runs], None] | None = None) -> Callable[..., None]:
    """The body of a command that runs ``op`` once on each input (``run_op``'s keywords)."""

    def command(
        inputs: list[str] = InputsArgument,
        output: Path = ImageOutputOption if file_output else OutputDirOption,
        options: OptionValues = None,  # generated from the op's options model
        batch: BatchOptions = None,
    ) -> None:
        chosen = options.validate(op)
        run_op(op, gather_inputs(inputs, output), output, [(chosen, "", {})], batch, output_format=output_format or keep_format,
               file_output=file_output, after=after)

    return command


def keep_format(relative: Path) -> str:
    """The output format of an input that keeps its own: JPEG, PNG and WebP stay; others become PNG."""
    return FILE_FORMATS.get(relative.suffix.lower(), "png")


def one_step_recipe(op: str, options: dict[str, Any], fmt: str):  # noqa: ANN201 - a recipe.Recipe
    from ..recipe import OutputSpec, Recipe, Step

    return Recipe(name=op, steps=[Step(op=op, **options)], output=OutputSpec(format=fmt))


def output_is_file(output: Path | str, files: list[Any], *, allowed: bool = True) -> bool:
    """Whether ``-o`` names one output file (an image extension, not an existing folder) rather than a
    folder; UsageError when it names a file for several inputs, or for a command that writes folders."""
    from ..errors import UsageError
    from ..imageio import INPUT_EXTENSIONS

    if not isinstance(output, Path) or output.is_dir() or output.suffix.lower() not in INPUT_EXTENSIONS:
        return False
    if not allowed:
        raise UsageError(f"-o takes a folder, not the file name '{output}'")
    if output.suffix.lower() not in FILE_FORMATS:
        raise UsageError(f"cannot write '{output.suffix}' files: name the output .png, .jpg or .webp, or give a folder")
    if len(files) > 1:
        raise UsageError(f"{len(files)} inputs need an output folder, not the file name '{output}'")
    return True


def run_op(
    op: str,
    files: list[Any],
    output: Path | str,
    variants: Iterable[tuple[dict[str, Any], str, dict[str, Any]]],
    options: BatchOptions,
    *,
    output_format: Callable[[Path], str] = keep_format,
    file_output: bool = True,
    after: Callable[[Runs], None] | None = None,
) -> NoReturn:
    """Run ``op`` on ``files`` into ``output`` (a folder, or one file name) and end the command.

    variants: (op options, name tag, extra --json fields) for each output an input gets: one for
        most commands (tag ""), one per colour for recolor (tag "-navy": photo-navy.jpg).
    output_format: the format of an input's output in a folder (default: its own when JPEG, PNG or
        WebP, else PNG); an output file name gives its own.
    file_output: whether -o may name a file (one input).
    after: called with the runs before it is reported (to add fields, check outputs).
    """
    variants = list(variants)
    if output_is_file(output, files, allowed=file_output):
        fmt = FILE_FORMATS[output.suffix.lower()]
        batches = [Batch(files, one_step_recipe(op, opts, fmt), output.parent, [Path(output.name)], options.manifest, extra)
                   for opts, _, extra in variants]
        reports_dir = None
    else:
        batches = []
        for opts, tag, extra in variants:
            manifest = default_manifest(output, options, tag)
            groups: dict[str, list[Any]] = {}
            for f in files:
                groups.setdefault(output_format(f.relative), []).append(f)
            used: set[Path] = set()
            for fmt, group in groups.items():
                names = [output_name(f.relative, fmt, tag, used) for f in group]
                batches.append(Batch(group, one_step_recipe(op, opts, fmt), output, names, manifest, extra))
        reports_dir = output
    runs = run_batches(batches, options, thumbnails=reports_dir is not None)
    if after is not None:
        after(runs)
    finish(runs, options, reports_dir=reports_dir, output=output)


def output_name(relative: Path, fmt: str, tag: str, used: set[Path]) -> Path:
    """``relative`` with ``tag`` after its stem and the extension of ``fmt`` (its own when it is one);
    ``name_png.jpg`` when two inputs would take the same name."""
    from ..imageio import EXTENSIONS

    ext = relative.suffix if FILE_FORMATS.get(relative.suffix.lower()) == fmt else EXTENSIONS[fmt]
    name = relative.with_name(f"{relative.stem}{tag}{ext}")
    if name in used:
        name = relative.with_name(f"{relative.stem}_{relative.suffix.lstrip('.').lower()}{tag}{ext}")
    used.add(name)
    return name
