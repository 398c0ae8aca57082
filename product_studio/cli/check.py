"""`product-studio check`: measure images against a marketplace preset, optionally fix them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .common import (
    EXIT_USAGE, InputsArgument, JsonOption, OverwriteOption, PresetOption, QuietOption, fail, gather_inputs, handle_errors,
    help_text, info,
)
from .each_file import for_each_file

HELP = help_text(
    """Check images against a marketplace preset, rule by rule, with the measured values.

    Background whiteness, product fill, sides, aspect, megapixels, file size, format and colour mode are measured on
    the pixels and the file; promotional text, badges and watermarks are found on the pixels (text printed on the
    product is allowed), as are borders, collages and several products; prohibited content no rule measures (logos,
    props ...) is listed for manual review. --fix crops borders, keeps a collage's largest panel (with a warning) and
    removes overlays; several products cannot be fixed and stay reported with the reason.

    Examples:

      product-studio check ready/ --preset taobao-main

      product-studio check 'shots/*.jpg' --preset amazon-main --json > report.json

      product-studio check shots/ --preset jd-main --fix -o fixed/

      product-studio check ready/ --failed-only

    Exit codes: 0 every image passes (with --fix: every image passes or its fixed copy does), 1 some fail or could not
    be read, 2 bad usage.
    """
)


def register(app: typer.Typer) -> None:
    app.command("check", help=HELP, no_args_is_help=True)(check)


@handle_errors
def check(
    inputs: list[str] = InputsArgument,
    preset: str = PresetOption,
    json_output: bool = JsonOption,
    fix: bool = typer.Option(False, "--fix", help="Run the preset's recipe on the images that fail and write them under -o, then check them again."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Folder for the fixed images (with --fix).", show_default=False),
    overwrite: bool = OverwriteOption,
    quiet: bool = QuietOption,
    failed_only: bool = typer.Option(False, "--failed-only", help="List only the images that fail or cannot be read (then the summary line); --json keeps every result."),
) -> None:
    from .. import storage
    from ..errors import StudioError
    from ..imageio import load_image, safe_output_path
    from ..limits import Limits
    from ..marketplaces import check_image, load_preset
    from ..pipeline import process
    from .batch_run import output_name

    chosen = load_preset(preset)
    if fix and output is None:
        fail("--fix needs -o/--output FOLDER for the fixed images", EXIT_USAGE)
    if output is not None and not fix:
        fail("-o/--output is only used with --fix", EXIT_USAGE)
    # an unusable recipe is a usage error before any work; the fixed copy is checked against `chosen` here
    # (a preset given as a file is not known by its name elsewhere)
    recipe = chosen.recipe().model_copy(update={"preset": None}) if fix else None
    files = gather_inputs(inputs, output)
    protect = tuple(f.path for f in files)
    used_outputs: set[Path] = set()
    limits = Limits.from_env()

    def fixed_copy(data: bytes, f: Any) -> dict[str, Any]:
        """The preset's recipe on a failing image (pipeline.process: within the limits, checked again)."""
        try:
            made = process(data, recipe, limits, name=str(f.path), preset=chosen)  # fixes what the rules can, checks again
            target = safe_output_path(output, output_name(f.relative, recipe.output.format, "", used_outputs))
            storage.put_output(target, made.data, overwrite=overwrite, protect=protect)
        except StudioError as exc:
            if json_output:
                info(f"error: fixing {f.path}: {exc}")
            return {"output": None, "passed": False, "error": str(exc), "report": None}
        report = made.compliance
        return {"output": str(target), "bytes": len(made.data), "quality": made.quality, "passed": report["passed"],
                "error": None, "report": report, "fixes": report.get("fixes", [])}

    def work(f: Any) -> dict[str, Any]:
        data = storage.read_input(f.path)
        item = load_image(data, name=str(f.path))
        report = check_image(
            item, chosen, file_bytes=len(data), file_format=item.metadata["source_format"],
            file_mode=item.metadata.get("source_mode"),
        )
        entry = {"passed": report.passed, "report": report.to_dict(), "error": None, "fixed": None}
        if fix and not report.passed:
            entry["fixed"] = fixed_copy(data, f)
            entry["passed"] = entry["fixed"]["passed"]
        return entry

    def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "passed": sum(1 for r in results if r["report"] and r["report"]["passed"]),
            "did_not_pass": sum(1 for r in results if r["report"] and not r["report"]["passed"]),
            "fixed": sum(1 for r in results if r["fixed"] and r["fixed"]["passed"]),
            "fix_failed": sum(1 for r in results if r["fixed"] and not r["fixed"]["passed"]),
        }

    def footer(s: dict[str, Any]) -> str:
        line = f"{s['inputs']} file(s) against {chosen.name}: {s['passed']} passed, {s['did_not_pass']} failed"
        if s["failed"]:
            line += f", {s['failed']} could not be read"
        if fix:
            line += f"; fixed {s['fixed']}" + (f", {s['fix_failed']} still failing" if s["fix_failed"] else "")
        return line

    def passed(results: list[dict[str, Any]]) -> bool:
        return all(r["passed"] for r in results)

    def show(entry: dict[str, Any]) -> None:
        if not (failed_only and entry["status"] == "done" and entry["report"]["passed"]):
            _print_entry(entry)

    for_each_file(
        files, work, json_out=json_output, quiet=quiet, show=show,
        failed_fields={"passed": False, "report": None, "fixed": None}, summary=summary, footer=footer, all_good=passed,
        document=lambda results: {"preset": chosen.name, "passed": passed(results)},
    )


def _verdict(rule: dict[str, Any]) -> str:
    if rule["severity"] == "manual":
        return "manual"
    if rule["passed"] is None:
        return "n/a"
    if rule["passed"]:
        return "pass"
    return "FAIL" if rule["severity"] == "required" else "advice"


def _print_entry(entry: dict[str, Any]) -> None:
    if entry["status"] != "done":
        typer.echo(f"ERROR {entry['error']}")
        return
    _print_report(entry["input"], entry["report"])
    fixed = entry["fixed"]
    if fixed is None:
        return
    if fixed["error"]:
        typer.echo(f"  fix failed: {fixed['error']}")
        return
    typer.echo(f"  fixed -> {fixed['output']} ({fixed['bytes']:,} bytes)")
    for done in fixed.get("fixes", []):
        typer.echo(f"  {done['rule']}: {done['note']}")
    _print_report(fixed["output"], fixed["report"], indent="  ")


def _print_report(name: str, report: dict[str, Any], indent: str = "") -> None:
    from ..marketplaces.rules import format_measured

    status = "PASS" if report["passed"] else "FAIL"
    typer.echo(f"{indent}{status}  {name}  ({report['preset']}, {report['width']}x{report['height']})")
    rows = [
        (r["name"], _verdict(r), format_measured(r), r["expected"], "" if r["message"] == "ok" else r["message"])
        for r in report["rules"]
        if r["severity"] != "manual"
    ]
    widths = [max(len(row[i]) for row in rows + [("rule", "result", "measured", "expected", "")]) for i in range(4)]
    header = ("rule", "result", "measured", "expected")
    typer.echo(indent + "    " + "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    for row in rows:
        line = "  ".join(c.ljust(w) for c, w in zip(row[:4], widths))
        typer.echo(indent + "    " + (f"{line}  {row[4]}" if row[4] else line.rstrip()))
    manual = [r["expected"] for r in report["rules"] if r["severity"] == "manual"]
    if manual:
        typer.echo(f"{indent}    manual review (not measured here): {'; '.join(manual)}")
