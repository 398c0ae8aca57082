"""Write a batch's report three ways: report.json (everything), report.csv (one row a file) and
report.html (before/after thumbnails and each image's compliance, rule by rule; the boxes the rules
found -- overlays, watermarks, borders ... -- drawn on the after thumbnail)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape

from .. import storage
from .local import BatchReport

CSV_FIELDS = (
    "input", "relative", "status", "resumed", "output", "error_type", "error", "seconds",
    "input_size", "output_size", "output_bytes", "quality", "compliant", "failed_rules", "advice", "warnings",
)


def write_reports(report: BatchReport, out_dir: str | Path) -> dict[str, Path]:
    """Write report.json, report.csv and report.html into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    paths = {name: storage.join(out_dir, f"report.{name}") for name in ("json", "csv", "html")}
    storage.write_output(paths["json"], json.dumps(report.to_dict(), indent=2, ensure_ascii=False).encode())
    storage.write_output(paths["csv"], render_csv(report).encode())
    storage.write_output(paths["html"], render_html(report, out).encode())
    return paths


def failed_rules(compliance: dict | None) -> list[str]:
    """The required rules that failed (advice such as a recommended size is not counted)."""
    if not compliance:
        return []
    return [
        rule["name"]
        for rule in compliance.get("rules", [])
        if rule.get("passed") is False and rule.get("severity", "required") == "required"
    ]


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: a string starting like a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def rule_boxes(compliance: dict | None) -> list[dict]:
    """Every rule's ``details["boxes"]`` ([x0, y0, x1, y1] in the checked image's pixels) with the rule's
    name and how it came out ("fail", "advice", "pass"), for drawing on the thumbnail."""
    if not compliance:
        return []
    found = []
    for rule in compliance.get("rules", []):
        state = "pass" if rule.get("passed") is not False else ("advice" if rule.get("severity") == "advice" else "fail")
        for box in (rule.get("details") or {}).get("boxes") or []:
            if isinstance(box, (list, tuple)) and len(box) == 4:
                x0, y0, x1, y1 = (int(v) for v in box)
                found.append({"rule": rule["name"], "state": state, "x": x0, "y": y0, "w": max(1, x1 - x0), "h": max(1, y1 - y0)})
    return found


def relative_href(path: str) -> str:
    """A link to a file beside the report as a relative URL: ``./`` and percent-encoded, so no file
    name (``javascript:alert(1).jpg``, ``#``, ``?``, quotes) can become a scheme, a query or markup."""
    encoded = quote(path.lstrip("/"), safe="/")
    return encoded if encoded.startswith("../") else "./" + encoded


def advice_phrase(summary: dict) -> str:
    """The advice a batch's outputs got, in words (``BatchReport.summary()``): "2 with advice: below
    1000 px zoom", "3 with advice: below 1600 px recommended (3), below 1000 px zoom (2)"; "" for none."""
    advice = summary.get("advice") or []
    if not summary.get("with_advice") or not advice:
        return ""
    if len(advice) == 1:
        return f"{summary['with_advice']} with advice: {advice[0]['label']}"
    return f"{summary['with_advice']} with advice: " + ", ".join(f"{a['label']} ({a['files']})" for a in advice)


def warnings_phrase(summary: dict) -> str:
    """"1 with a warning", "3 with warnings"; "" for none."""
    n = summary.get("warnings") or 0
    return "" if not n else f"{n} with a warning" if n == 1 else f"{n} with warnings"


def render_csv(report: BatchReport) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for r in report.results:
        row = {k: getattr(r, k, None) for k in CSV_FIELDS if hasattr(r, k)}
        row["input_size"] = "x".join(map(str, r.input_size)) if r.input_size else ""
        row["output_size"] = "x".join(map(str, r.output_size)) if r.output_size else ""
        row["compliant"] = "" if r.compliant is None else str(r.compliant).lower()
        row["failed_rules"] = ";".join(failed_rules(r.compliance))
        row["advice"] = ";".join(r.advice)
        row["warnings"] = " | ".join(r.warnings)
        row["resumed"] = r.resumed or ""
        writer.writerow({k: neutralise_cell(v) for k, v in row.items()})
    return buf.getvalue()


_ENV = Environment(loader=PackageLoader("product_studio.batch", "templates"), autoescape=select_autoescape(["html"]))


def render_html(report: BatchReport, report_dir: str | Path | None = None) -> str:
    """The HTML report; links are relative to ``report_dir`` (default: the output folder)."""
    out = Path(report.output_dir).resolve()
    prefix = ""
    if report_dir is not None and Path(report_dir).resolve() != out:
        prefix = Path(os.path.relpath(out, Path(report_dir).resolve())).as_posix() + "/"
    rows = []
    for r in report.results:
        output = Path(r.output).resolve() if r.output and not storage.is_remote(r.output) else None
        # Links only to files beside the report, as relative paths; an output elsewhere is named, not linked.
        rel_output = prefix + output.relative_to(out).as_posix() if output and output.is_relative_to(out) else None
        rows.append({
            "r": r, "failed": failed_rules(r.compliance),
            "output_link": relative_href(rel_output) if rel_output else None, "output_text": rel_output or r.output,
            "before_link": relative_href(prefix + r.thumb_before) if r.thumb_before else "",
            "after_link": relative_href(prefix + r.thumb_after) if r.thumb_after else "",
            "boxes": rule_boxes(r.compliance),
        })
    summary = report.summary()
    return _ENV.get_template("report.html").render(report=report, summary=summary, rows=rows,
                                                   advice=advice_phrase(summary), warnings=warnings_phrase(summary))


def report_from_manifest(manifest, run_id: int) -> BatchReport:  # noqa: ANN001 - a batch.manifest.Manifest
    """A run's BatchReport rebuilt from the manifest: every input the run covered, each with its
    latest recorded result (a later run of the same output folder may have changed it)."""
    from .local import FileResult

    run = manifest.run(run_id)
    results = []
    for outcome, item in manifest.run_items(run_id):
        results.append(
            FileResult(
                input=item.input, relative=item.relative, status=item.status if item.status in ("done", "failed") else "failed",
                output=item.output, error=item.error if item.status != "running" else "interrupted before this input finished",
                error_type=item.error_type if item.status != "running" else "Interrupted",
                seconds=item.seconds or 0.0, input_size=item.input_size, output_size=item.output_size,
                output_bytes=item.output_bytes, quality=item.quality, compliance=item.compliance, steps=item.timings or [],
                thumb_before=item.thumb_before, thumb_after=item.thumb_after, content_hash=item.content_hash,
                resumed={"skipped": "skipped", "adopted": "adopted"}.get(outcome),
            )
        )
    return BatchReport(
        recipe=run["recipe"], recipe_hash=run["recipe_hash"], preset=run["preset"], output_dir=run["output_dir"],
        workers=run["workers"] or 0, results=results, seconds=run["seconds"] or 0.0,
        version=run["version"] or "", run_id=run_id, manifest=str(manifest.path),
    )
