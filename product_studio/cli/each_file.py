"""The loop the read-only commands share (`check`, `read`, `classify`, `describe`): the inputs
expanded like every command's, a progress bar, one result per input and a summary, in the JSON
shape of `process --json` (``results`` with ``input``, ``status``, ``seconds``; ``summary``), with no
job manifest: they write no image outputs (``check --fix`` writes its fixed copies itself)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

import typer

from .common import EXIT_OK, EXIT_SOME_FAILED, print_json, progress_bar

Entry = dict[str, Any]


def for_each_file(
    files: list[Any],
    work: Callable[[Any], Entry],
    *,
    json_out: bool,
    quiet: bool,
    show: Callable[[Entry], None] | None = None,
    failed_fields: Entry | None = None,
    document: Callable[[list[Entry]], Entry] | None = None,
    summary: Callable[[list[Entry]], Entry] | None = None,
    footer: Callable[[Entry], str] | None = None,
    all_good: Callable[[list[Entry]], bool] | None = None,
) -> NoReturn:
    """Run ``work(input_file) -> fields`` on each of ``files`` and end the command.

    A StudioError makes that input's entry ``failed`` (with ``failed_fields``, the error on stderr)
    and the loop goes on. show: prints an entry (without --json). document: the top-level fields of
    the JSON document, from the results; summary: fields added to its summary, from the results;
    footer: the last line printed (without --json), from the summary. Exit 1 when an input failed or ``all_good(results)`` says no, else 0.
    """
    from tqdm import tqdm

    from ..errors import StudioError

    results: list[Entry] = []
    bar = progress_bar(len(files), quiet=quiet or json_out)
    started = time.perf_counter()
    try:
        for f in files:
            start = time.perf_counter()
            try:
                entry = {"input": str(f.path), "status": "done", **work(f)}
            except StudioError as exc:
                error = str(exc) if exc.path else f"{f.path}: {exc}"  # every failure line names its file
                entry = {"input": str(f.path), "status": "failed", **(failed_fields or {}), "error": error, "error_type": type(exc).__name__}
                bar.write(f"failed: {error}", file=sys.stderr)
            entry["seconds"] = round(time.perf_counter() - start, 3)
            results.append(entry)
            if show is not None and not json_out:
                with tqdm.external_write_mode(file=sys.stdout):
                    show(entry)
            bar.update(1)
    finally:
        bar.close()
    failed = sum(1 for r in results if r["status"] == "failed")
    totals = {"inputs": len(results), "done": len(results) - failed, "failed": failed,
              "seconds": round(time.perf_counter() - started, 3), **(summary(results) if summary else {})}
    if json_out:
        print_json({**(document(results) if document else {}), "summary": totals, "results": results})
    elif footer is not None:
        typer.echo(footer(totals))
    good = not failed and (all_good is None or all_good(results))
    raise typer.Exit(EXIT_OK if good else EXIT_SOME_FAILED)
