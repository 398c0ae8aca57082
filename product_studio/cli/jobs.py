"""`product-studio jobs`: the runs a job manifest remembers -- list them, show one, re-export its report."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from .common import EXIT_OK, JsonOption, fail, handle_errors, help_text, print_json

jobs_app = typer.Typer(
    name="jobs",
    help=help_text(
        """Runs recorded in a job manifest (what `process` writes to <output>/.product-studio/manifest.sqlite).

        Examples:

          product-studio jobs list -o ready/

          product-studio jobs show 3 -o ready/

          product-studio jobs report 3 --manifest ready/.product-studio/manifest.sqlite -o reports/run3/

        Exit codes: 0 ok; 2 bad usage (no manifest, no such run).
        """
    ),
    no_args_is_help=True,
)

ManifestOption = typer.Option(None, "--manifest", help="Manifest file (default: <output>/.product-studio/manifest.sqlite).")
OutputOption = typer.Option(None, "-o", "--output", help="The output folder of the runs (finds the manifest inside it).")


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")


def _open(manifest: Path | None, output: Path | None):  # noqa: ANN202
    from ..batch.manifest import Manifest, default_manifest_path

    if manifest is None and output is None:
        fail("say which manifest: --manifest PATH or -o OUTPUT (the folder given to `process -o`)")
    path = manifest or default_manifest_path(output)
    if manifest is None and not path.exists() and (others := sorted(path.parent.glob(f"{path.stem}-*{path.suffix}"))):
        fail(f"no manifest at {path}; this folder has one per recolour: {', '.join(p.name for p in others)}; "
             f"give one with --manifest PATH")
    return Manifest(path, readonly=True)


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).isoformat(sep=" ", timespec="seconds") if ts else "-"


def _run_doc(run: dict, outcomes: dict[str, int], statuses: dict[str, int] | None = None) -> dict:
    doc = {
        "id": run["id"],
        "started": _when(run["started"]),
        "finished": _when(run["finished"]),
        "state": run["state"],
        "preset": run["preset"],
        "recipe_name": run["recipe"].get("name"),
        "recipe_hash": run["recipe_hash"],
        "output_dir": run["output_dir"],
        "engine": run["engine"],
        "workers": run["workers"],
        "command": run["command"],
        "inputs": run["inputs"] if run["inputs"] is not None else sum(outcomes.values()),
        # where the inputs stood when the run ended (its summary: a failure skipped as known counts as failed) ...
        "done": run["done"] if run["done"] is not None else outcomes.get("processed", 0) + outcomes.get("adopted", 0),
        "failed": run["failed"] if run["failed"] is not None else outcomes.get("failed", 0),
        # ... and what the run did with each of them (failed: tried in this run and failed)
        "outcomes": {k: outcomes.get(k, 0) for k in ("processed", "adopted", "skipped", "failed")},
        "seconds": run["seconds"],
    }
    if statuses is not None:
        doc["items_now"] = statuses
    return doc


@jobs_app.command("list", help=(
    "List the runs: id, date, state, counts, recipe and preset. done/failed: where the inputs stood when the run ended "
    "(as its summary said; an earlier failure skipped as known counts as failed); processed/adopted/skipped: how the "
    "run handled them."))
@handle_errors
def list_runs(
    manifest: Path | None = ManifestOption,
    output: Path | None = OutputOption,
    json_out: bool = JsonOption,
) -> None:
    with _open(manifest, output) as m:
        docs = [_run_doc(run, m.run_outcomes(run["id"])) for run in m.runs()]
    if json_out:
        print_json({"manifest": str(m.path), "runs": docs})
        raise typer.Exit(EXIT_OK)
    if not docs:
        typer.echo("no runs recorded")
        raise typer.Exit(EXIT_OK)
    typer.echo(f"{'id':>4}  {'started':19}  {'state':11} {'inputs':>6} {'done':>6} {'failed':>6}  {'processed':>9} {'adopted':>7} "
               f"{'skipped':>7}  recipe (preset)")
    for d in docs:
        o = d["outcomes"]
        typer.echo(
            f"{d['id']:>4}  {d['started']:19}  {d['state']:11} {d['inputs']:>6} {d['done']:>6} {d['failed']:>6}  {o['processed']:>9} "
            f"{o['adopted']:>7} {o['skipped']:>7}  {d['recipe_name']} {d['recipe_hash']} ({d['preset'] or 'none'})"
        )
    raise typer.Exit(EXIT_OK)


@jobs_app.command("show", help="One run: what it did with each input, counts per status, and every failure with its error.")
@handle_errors
def show_run(
    run_id: int = typer.Argument(..., help="Run id (`jobs list` shows them)."),
    manifest: Path | None = ManifestOption,
    output: Path | None = OutputOption,
    json_out: bool = JsonOption,
) -> None:
    with _open(manifest, output) as m:
        run = m.run(run_id)
        items = m.run_items(run_id)
        statuses: dict[str, int] = {}
        for _, item in items:
            statuses[item.status] = statuses.get(item.status, 0) + 1
        doc = _run_doc(run, m.run_outcomes(run_id), statuses)
        doc["recipe"] = run["recipe"]
        doc["failures"] = [
            {"input": item.input, "error_type": item.error_type, "error": item.error, "attempts": item.attempts}
            for _, item in items
            if item.status == "failed"
        ]
    if json_out:
        print_json(doc)
        raise typer.Exit(EXIT_OK)
    o = doc["outcomes"]
    typer.echo(f"run {doc['id']}: {doc['state']}, started {doc['started']}, finished {doc['finished']}")
    typer.echo(f"  command: {doc['command'] or '-'}")
    typer.echo(f"  recipe:  {doc['recipe_name']} {doc['recipe_hash']}  preset: {doc['preset'] or 'none'}")
    typer.echo(f"  output:  {doc['output_dir']}  engine: {doc['engine']} x{doc['workers']}")
    typer.echo(
        f"  inputs:  {doc['inputs']}: {doc['done']} done, {doc['failed']} failed; this run processed {o['processed']}, "
        f"adopted {o['adopted']}, skipped {o['skipped']} (finished before), and {o['failed']} failed in it"
    )
    typer.echo("  items now: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    for f in doc["failures"]:
        typer.echo(f"  failed: {f['input']}: {f['error_type']}: {f['error']}")
    raise typer.Exit(EXIT_OK)


@jobs_app.command(
    "report",
    help=(
        "Write a run's report.json, report.csv and report.html again, from the manifest, into -o DIR "
        "(the manifest is read from --manifest, or else from DIR/.product-studio/manifest.sqlite)."
    ),
)
@handle_errors
def report_run(
    run_id: int = typer.Argument(..., help="Run id (`jobs list` shows them)."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder the reports are written to."),
    manifest: Path | None = ManifestOption,
    json_out: bool = JsonOption,
) -> None:
    from ..batch.report import report_from_manifest, write_reports

    with _open(manifest, output) as m:
        report = report_from_manifest(m, run_id)
    output.mkdir(parents=True, exist_ok=True)
    paths = write_reports(report, output)
    if json_out:
        print_json({"run_id": run_id, "summary": report.summary(), "reports": {k: str(v) for k, v in paths.items()}})
    else:
        s = report.summary()
        typer.echo(f"run {run_id}: {s['inputs']} input(s), {s['done']} done, {s['failed']} failed. Report: {paths['html']}")
    raise typer.Exit(EXIT_OK)
