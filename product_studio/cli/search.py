"""`product-studio index | search | similar | dupes`: a searchable catalogue of product photos."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..marketplaces.presets import default_preset_name
from .common import EXIT_OK, EXIT_SOME_FAILED, JsonOption, QuietOption, handle_errors, help_text, info, print_json

IndexOption = typer.Option(..., "--index", "-i", help="The index folder written by `product-studio index`.")
TopOption = typer.Option(10, "--top", "-n", min=1, help="How many results.")


def register(app: typer.Typer) -> None:
    app.command(
        "index",
        help=help_text(
            """Index photos for search: attributes, text read, titles (zh/en), multilingual embeddings and perceptual
            hashes, written to the -o folder (index.json + embeddings.npy). Re-indexing into the same folder reuses
            unchanged files.

            Example:

              product-studio index photos/ -o catalog/
            """
        ),
    )(index)
    app.command(
        "search",
        help=help_text(
            """Search an index with words in Chinese or English (either finds both).

            Examples:

              product-studio search "红色 运动鞋" --index catalog/

              product-studio search "red sneaker" --index catalog/ --json
            """
        ),
    )(search)
    app.command(
        "similar",
        help=(
            "Catalogue items related to a photo: same category, brand and model, close colours, similar text "
            "and look (a documented blend).\n\nExample:\n\n  product-studio similar photo.jpg --index catalog/"
        ),
    )(similar)
    app.command(
        "dupes",
        help=(
            "Groups of near-duplicate images in an index (pHash distance at most --threshold bits of 64).\n\n"
            "Example:\n\n  product-studio dupes --index catalog/"
        ),
    )(dupes)


def _fields(fields: str | None) -> list[str] | None:
    return [f.strip() for f in fields.split(",") if f.strip()] if fields else None


FieldsOption = typer.Option(
    None, "--fields", help="Attributes to measure (comma-separated: category,colors,size,text,quality,background); default all."
)


@handle_errors
def index(
    inputs: list[str] = typer.Argument(..., help="Image files, folders or globs."),
    output: Path = typer.Option(..., "-o", "--output", help="Index folder (created if missing)."),
    preset: str = typer.Option(default_preset_name(), "--preset", "-p", help="Preset whose title rule drafts the indexed titles."),
    fields: str | None = FieldsOption,
    rebuild: bool = typer.Option(False, "--rebuild", help="Measure every file again, even unchanged ones."),
    json_out: bool = JsonOption,
    quiet: bool = QuietOption,
) -> None:
    from ..marketplaces.presets import load_preset
    from ..understand.search import build_index
    from .common import StageProgress, gather_inputs

    files = gather_inputs(inputs)
    failures: list[dict[str, str]] = []

    with StageProgress(quiet=quiet or json_out, unit="img") as progress:

        def on_error(path: str, exc: Exception) -> None:
            error = str(exc) if getattr(exc, "path", None) else f"{path}: {exc}"
            failures.append({"input": path, "error": error})
            progress.bar.write(f"failed: {error}", file=sys.stderr)

        built = build_index(
            [f.path for f in files],
            output,
            title_rule=load_preset(preset).title_rule(),
            fields=_fields(fields),
            reuse=not rebuild,
            on_error=on_error,
            progress=progress,
        )
    if json_out:
        print_json({"index": str(output), "items": len(built), "failed": failures})
    else:
        info(f"{len(built)} item(s) in {output}" + (f"; {len(failures)} failed" if failures else ""))
    raise typer.Exit(EXIT_SOME_FAILED if failures else EXIT_OK)


@handle_errors
def search(
    query: str = typer.Argument(..., help='Words in Chinese or English, e.g. "红色 运动鞋" or "red sneaker".'),
    index_dir: Path = IndexOption,
    top: int = TopOption,
    json_out: bool = JsonOption,
) -> None:
    from ..understand.search import load_index
    from ..understand.search import search as run_search

    hits = run_search(load_index(index_dir), query, top_k=top)
    if json_out:
        print_json({"query": query, "results": hits})
    else:
        for h in hits:
            typer.echo(f"{h['rank']:>3}  {h['score']:.3f}  {h['path']}  {h['title_en'] or ''} | {h['title_zh'] or ''}")
    raise typer.Exit(EXIT_OK)


@handle_errors
def similar(
    photo: Path = typer.Argument(..., help="The photo to find related catalogue items for."),
    index_dir: Path = IndexOption,
    top: int = TopOption,
    fields: str | None = FieldsOption,
    json_out: bool = JsonOption,
) -> None:
    from ..imageio import load_image
    from ..understand.search import _file_sha256, load_index, make_record
    from ..understand.search import similar as run_similar

    catalog = load_index(index_dir)
    item = load_image(photo)
    record = make_record(item, path=str(photo), sha256=_file_sha256(photo), fields=_fields(fields))
    hits = run_similar(catalog, item, top_k=top, record=record)
    if json_out:
        print_json({"photo": str(photo), "results": hits})
    else:
        for h in hits:
            parts = ", ".join(f"{k} {v:.2f}" for k, v in h["parts"].items() if v is not None)
            typer.echo(f"{h['rank']:>3}  {h['score']:.3f}  {h['path']}  ({parts})")
    raise typer.Exit(EXIT_OK)


@handle_errors
def dupes(
    index_dir: Path = IndexOption,
    threshold: int = typer.Option(10, "--threshold", "-t", min=0, max=64, help="Largest pHash distance (bits of 64) that counts as a duplicate."),
    json_out: bool = JsonOption,
) -> None:
    from ..understand.search import find_duplicates, load_index

    groups = find_duplicates(load_index(index_dir), threshold=threshold)
    if json_out:
        print_json({"threshold": threshold, "groups": groups})
    else:
        if not groups:
            typer.echo("no near-duplicates found")
        for n, group in enumerate(groups, 1):
            typer.echo(f"group {n}:")
            for member in group:
                typer.echo(f"  {member['distance']:>2}  {member['path']}")
    raise typer.Exit(EXIT_OK)
