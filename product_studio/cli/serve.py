"""`product-studio serve`: the HTTP API and the web page (uvicorn + the FastAPI app factory)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from .common import handle_errors, help_text, info

HELP = help_text(
    """Run the HTTP API (/v1, OpenAPI at /docs) and the web page (/).

    Every option also reads PRODUCT_STUDIO_<NAME> (e.g. PRODUCT_STUDIO_API_KEYS=k1,k2,
    PRODUCT_STUDIO_DATABASE_URL=postgresql+psycopg://user@host/db, PRODUCT_STUDIO_MAX_UPLOAD_BYTES,
    PRODUCT_STUDIO_MAX_CONCURRENCY, PRODUCT_STUDIO_CORS_ORIGINS). Binding to an address other than loopback needs API
    keys.

    Examples:

      product-studio serve

      PRODUCT_STUDIO_API_KEYS=$(python -c 'import secrets; print(secrets.token_urlsafe(24))') product-studio serve --host 0.0.0.0 --workers 2
    """
)


def register(app: typer.Typer) -> None:
    app.command("serve", help=HELP)(serve)


@handle_errors
def serve(
    host: str | None = typer.Option(None, "--host", help="Address to bind (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default 8000)."),
    workers: int | None = typer.Option(None, "--workers", help="uvicorn worker processes (default 1)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Uploads, results and the SQLite file."),
    database_url: str | None = typer.Option(None, "--database-url", help="SQLAlchemy URL (default SQLite in --data-dir)."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    import cv2
    import uvicorn

    from ..server.settings import ENV_PREFIX, load_settings

    overrides = {"host": host, "port": port, "workers": workers, "data_dir": data_dir, "database_url": database_url}
    for name, value in overrides.items():
        if value is not None:  # the worker processes build their Settings from the environment
            os.environ[f"{ENV_PREFIX}{name.upper()}"] = str(value)
    settings = load_settings()  # a bad PRODUCT_STUDIO_* value: one line naming it and what it takes, exit 2
    settings.check_safe()
    # Requests already run in cpu_slots threads; OpenCV's own threads would fight them. (The batch
    # workers' heap tuning is left out on purpose: a long-lived server keeps its memory flat instead.)
    cv2.setNumThreads(1)
    info(f"Product Studio on http://{settings.host}:{settings.port} (API docs at /docs), data in {settings.data_dir}")
    uvicorn.run(
        "product_studio.server.app:create_app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=log_level,
        timeout_graceful_shutdown=10,
    )
