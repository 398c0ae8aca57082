"""The web page and the API's documentation pages, all served from the package (nothing from a CDN):

- GET / serves static/index.html (the files under /static need no build step);
- GET /docs (Swagger UI) and /redoc (ReDoc) load their scripts and styles from /docs-assets, the files
  the pinned ``fastapi-offline`` wheel bundles (Swagger UI, Apache-2.0; ReDoc, MIT), so the docs work on a
  machine without internet. Their Content-Security-Policy lets a page load from the server only (ReDoc's
  sidebar would fetch a logo from cdn.redoc.ly; the browser blocks it without a request).
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, Response

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
DOCS_ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"  # swagger-ui-bundle.js, .css, redoc.standalone.js
DOCS_ASSETS_URL = "/docs-assets"

router = APIRouter(tags=["web"])


@router.get("/", response_class=HTMLResponse, response_model=None, summary="The web page")
def index() -> Response:
    page = STATIC_DIR / "index.html"
    if page.is_file():
        return FileResponse(page, media_type="text/html")
    return HTMLResponse("<!doctype html><title>Product Studio</title><p>The web page is not installed; the API is at "
                        "<a href='/docs'>/docs</a>.</p>")


docs = APIRouter(include_in_schema=False)

# Swagger UI and ReDoc start from an inline script and inline styles; ReDoc's search runs in a blob: worker.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
            "frame-ancestors 'self'; base-uri 'self'; form-action 'self'")


def _own_assets_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_CSP
    return page


@docs.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return _own_assets_only(get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{root}{DOCS_ASSETS_URL}/favicon.png",
        oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
        # validatorUrl: None keeps Swagger UI from sending the document to validator.swagger.io
        swagger_ui_parameters={"validatorUrl": None, **(request.app.swagger_ui_parameters or {})},
    ))


@docs.get("/docs/oauth2-redirect")
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@docs.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return _own_assets_only(get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{DOCS_ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{DOCS_ASSETS_URL}/favicon.png",
        with_google_fonts=False,
    ))
