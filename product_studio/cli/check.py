"""`product-studio check`: measure images against a marketplace preset, optionally fix them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .common import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    JsonOption,
    OverwriteOption,
    PresetOption,
    fail,
    handle_errors,
    info,
    print_json,
)

HELP = (
    "Check images against a marketplace preset, rule by rule, with the measured values.\n\n"
    "Background whiteness, product fill, sides, aspect, megapixels, file size, format and colour "
    "mode are measured on the pixels and the file; prohibited content (text, logos, watermarks ...) "
    "is listed for manual review.\n\n"
    "Examples:\n\n"
    "  product-studio check ready/ --preset taobao-main\n\n"
    "  product-studio check 'shots/*.jpg' --preset amazon-main --json > report.json\n\n"
    "  product-studio check shots/ --preset jd-main --fix -o fixed/\n\n"
    "Exit codes: 0 every image passes (with --fix: every image passes or its fixed copy does), "
    "1 some fail or could not be read, 2 bad usage."
)


def register(app: typer.Typer) -> None:
    app.command("check", help=HELP, no_args_is_help=True)(check)


@handle_errors
def check(
    inputs: list[str] = typer.Argument(..., help="Image files, folders (searched recursively) or glob patterns.", show_default=False),
    preset: str = PresetOption,
    json_output: bool = JsonOption,
    fix: bool = typer.Option(False, "--fix", help="Run the preset's recipe on the images that fail and write them under -o, then check them again."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Folder for the fixed images (with --fix).", show_default=False),
    overwrite: bool = OverwriteOption,
) -> None:
    from ..errors import StudioError
    from ..imageio import EXTENSIONS, load_image, read_bytes, safe_output_path, save_image
    from ..inputs import expand_inputs
    from ..marketplaces import check_file, check_image, fix_image, load_preset

    chosen = load_preset(preset)
    if fix and output is None:
        fail("--fix needs -o/--output FOLDER for the fixed images", EXIT_USAGE)
    if output is not None and not fix:
        fail("-o/--output is only used with --fix", EXIT_USAGE)
    recipe = chosen.recipe() if fix else None  # an unusable recipe is a usage error before any work
    files = expand_inputs(inputs)
    protect = tuple(f.path for f in files)
    used_outputs: set[Path] = set()

    results: list[dict[str, Any]] = []
    for f in files:
        entry: dict[str, Any] = {"input": str(f.path), "passed": False, "report": None, "error": None, "fixed": None}
        results.append(entry)
        try:
            data = read_bytes(f.path)
            item = load_image(data, name=str(f.path))
            report = check_image(
                item, chosen, file_bytes=len(data), file_format=item.metadata["source_format"],
                file_mode=item.metadata.get("source_mode"),
            )
        except StudioError as exc:
            entry["error"] = str(exc)
            if json_output:
                info(f"error: {exc}")
            continue
        entry["report"] = report.to_dict()
        entry["passed"] = report.passed
        if not (fix and not report.passed):
            continue
        try:
            fixed = fix_image(item, chosen)
            fmt = recipe.output.format
            target = _output_name(f.relative, EXTENSIONS[fmt], used_outputs)
            out_path = safe_output_path(output, target)
            saved = save_image(
                fixed, out_path, format=fmt, quality=recipe.output.quality, max_bytes=recipe.output.max_bytes,
                overwrite=overwrite, protect=protect,
            )
            recheck = check_file(saved.path, chosen)
        except StudioError as exc:
            entry["fixed"] = {"output": None, "passed": False, "error": str(exc), "report": None}
            if json_output:
                info(f"error: fixing {f.path}: {exc}")
            continue
        entry["fixed"] = {
            "output": str(saved.path), "bytes": saved.bytes, "quality": saved.quality,
            "passed": recheck.passed, "error": None, "report": recheck.to_dict(),
        }
        entry["passed"] = recheck.passed

    summary = {
        "files": len(results),
        "passed": sum(1 for r in results if r["report"] and r["report"]["passed"]),
        "failed": sum(1 for r in results if r["report"] and not r["report"]["passed"]),
        "errors": sum(1 for r in results if r["error"]),
        "fixed": sum(1 for r in results if r["fixed"] and r["fixed"]["passed"]),
        "fix_failed": sum(1 for r in results if r["fixed"] and not r["fixed"]["passed"]),
    }
    all_ok = all(r["passed"] for r in results)
    if json_output:
        print_json({"preset": chosen.name, "passed": all_ok, "summary": summary, "results": results})
    else:
        for r in results:
            _print_entry(r)
        line = f"{summary['files']} file(s) against {chosen.name}: {summary['passed']} passed, {summary['failed']} failed"
        if summary["errors"]:
            line += f", {summary['errors']} could not be read"
        if fix:
            line += f"; fixed {summary['fixed']}" + (f", {summary['fix_failed']} still failing" if summary["fix_failed"] else "")
        typer.echo(line)
    raise typer.Exit(EXIT_OK if all_ok else EXIT_SOME_FAILED)


def _output_name(relative: Path, extension: str, used: set[Path]) -> Path:
    """``relative`` with the output extension; ``name_png.jpg`` when two inputs would collide."""
    target = relative.with_suffix(extension)
    if target in used:
        target = relative.with_name(f"{relative.stem}_{relative.suffix.lstrip('.').lower()}{extension}")
    used.add(target)
    return target


def _verdict(rule: dict[str, Any]) -> str:
    if rule["severity"] == "manual":
        return "manual"
    if rule["passed"] is None:
        return "n/a"
    if rule["passed"]:
        return "pass"
    return "FAIL" if rule["severity"] == "required" else "advice"


def _print_entry(entry: dict[str, Any]) -> None:
    if entry["error"]:
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
