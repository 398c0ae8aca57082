"""The web page: GET / serves static/index.html (the files under /static need no build step)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(tags=["web"])


@router.get("/", response_class=HTMLResponse, response_model=None, summary="The web page")
def index() -> Response:
    page = STATIC_DIR / "index.html"
    if page.is_file():
        return FileResponse(page, media_type="text/html")
    return HTMLResponse("<!doctype html><title>Product Studio</title><p>The web page is not installed; the API is at "
                        "<a href='/docs'>/docs</a>.</p>")
