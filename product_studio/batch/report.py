"""Write a batch's report three ways: report.json (everything), report.csv (one row a file) and
report.html (before/after thumbnails and each image's compliance, rule by rule)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from ..imageio import write_atomic
from .local import BatchReport

CSV_FIELDS = (
    "input", "relative", "status", "output", "error_type", "error", "seconds",
    "input_size", "output_size", "output_bytes", "quality", "compliant", "failed_rules",
)


def write_reports(report: BatchReport, out_dir: str | Path) -> dict[str, Path]:
    """Write report.json, report.csv and report.html into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    paths = {"json": out / "report.json", "csv": out / "report.csv", "html": out / "report.html"}
    write_atomic(paths["json"], json.dumps(report.to_dict(), indent=2, ensure_ascii=False).encode())
    write_atomic(paths["csv"], render_csv(report).encode())
    write_atomic(paths["html"], render_html(report).encode())
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
        writer.writerow(row)
    return buf.getvalue()


_ENV = Environment(loader=PackageLoader("product_studio.batch", "templates"), autoescape=select_autoescape(["html"]))


def render_html(report: BatchReport) -> str:
    out = Path(report.output_dir).resolve()
    rows = []
    for r in report.results:
        output = Path(r.output).resolve() if r.output else None
        rel_output = output.relative_to(out).as_posix() if output and output.is_relative_to(out) else r.output
        rows.append({"r": r, "output_link": rel_output, "failed": failed_rules(r.compliance)})
    return _ENV.get_template("report.html").render(report=report, summary=report.summary(), rows=rows)
