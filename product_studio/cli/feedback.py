"""`product-studio feedback report`: what people accepted and rejected, per op, preset and model version."""

from __future__ import annotations

from typing import Any

import typer

from .common import JsonOption, handle_errors, help_text, print_json

feedback_app = typer.Typer(help="Feedback people gave on the server's results.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(feedback_app, name="feedback")


@feedback_app.command(
    "report",
    help=help_text(
        """Acceptance rate per op, preset, model version and recipe variant, with Wilson 95% intervals, and the shadow
        the server now uses for each preset's default recipe (chosen by the feedback).

        Examples:

          product-studio feedback report

          product-studio feedback report --database-url postgresql+psycopg://studio@db/studio --json
        """
    ),
)
@handle_errors
def report(
    database_url: str | None = typer.Option(None, "--database-url", help="SQLAlchemy URL (default: the server's, from PRODUCT_STUDIO_* settings)."),
    json_output: bool = JsonOption,
) -> None:
    from ..marketplaces import list_presets, load_preset
    from ..server.settings import Settings
    from ..store import acceptance_report, decide, open_database

    settings = Settings()
    db = open_database(database_url or settings.resolved_database_url)
    try:
        document = acceptance_report(db)
        document["defaults"] = [
            t.to_dict() for name in list_presets()
            for t in decide(name, load_preset(name).recipe(), db, min_votes=settings.feedback_min_votes)
        ]
        document["min_votes"] = settings.feedback_min_votes
    finally:
        db.dispose()
    if json_output:
        print_json(document)
        return
    total = document["total"]
    typer.echo(f"{total['votes']} verdict(s), {total['accepted']} accepted ({total['rate']:.1%})")
    for title, key in (("op", "by_op"), ("preset", "by_preset"), ("model version", "by_model"), ("variant", "by_variant")):
        _table(title, document[key])
    typer.echo("\ndefault recipe options chosen by feedback:")
    for d in document["defaults"]:
        mark = "" if d["chosen"] == d["preset_value"] else "  (switched)"
        typer.echo(f"  {d['preset']:<16} {d['option']} = {d['chosen']}{mark}: {d['reason']}")


def _table(title: str, rows: list[dict[str, Any]]) -> None:
    typer.echo(f"\nper {title}:")
    if not rows:
        typer.echo("  (no feedback yet)")
        return
    width = max(len(r["key"]) for r in rows)
    typer.echo(f"  {'':<{width}}  votes  accepted   rate   95% interval")
    for r in rows:
        typer.echo(f"  {r['key']:<{width}}  {r['votes']:>5}  {r['accepted']:>8}  {r['rate']:>5.1%}   "
                   f"{r['wilson_low']:.1%}..{r['wilson_high']:.1%}")
