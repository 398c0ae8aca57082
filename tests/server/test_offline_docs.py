"""/docs and /redoc work without internet: their pages name only the server's own assets, and the server
serves those assets (Swagger UI and ReDoc from the pinned fastapi-offline wheel), not a CDN."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from conftest import KEY  # tests/server/conftest.py
from fastapi.testclient import TestClient

from product_studio.server import Settings, create_app

ASSET_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def _references(html: str) -> list[str]:
    """Every URL a page loads: src and href attributes, the spec URL, and url: '...' in its inline script."""
    found = re.findall(r'(?:src|href|spec-url)\s*=\s*"([^"]+)"', html)
    found += re.findall(r"\burl:\s*'([^']+)'", html)
    return found


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_the_servers_own_assets(tmp_path, page):
    # with API keys set too: the docs and their assets are public like /openapi.json
    with TestClient(create_app(Settings(data_dir=tmp_path, api_keys=KEY))) as c:
        r = c.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        csp = r.headers["content-security-policy"]  # the browser itself refuses anything from elsewhere
        assert "default-src 'self'" in csp and "img-src 'self' data:" in csp and "http" not in csp
        refs = _references(r.text)
        scripts = [u for u in refs if u.endswith(".js")]
        assert scripts, f"{page} loads no script: {refs}"
        for url in refs:
            parts = urlsplit(url)
            assert not parts.scheme and not parts.netloc and url.startswith("/"), f"{page} loads {url} from outside the server"
        assert "fonts.googleapis" not in r.text and "cdn." not in r.text
        for url in refs:
            asset = c.get(url)
            assert asset.status_code == 200, url
            suffix = "." + url.rsplit(".", 1)[-1]
            if suffix in ASSET_TYPES:
                assert ASSET_TYPES[suffix] in asset.headers["content-type"], (url, asset.headers["content-type"])
                assert len(asset.content) > 1000, url  # the real bundle, not a stub
        if page == "/docs":
            assert '"validatorUrl": null' in r.text  # Swagger UI would send the document to validator.swagger.io
            assert "SwaggerUIBundle" in c.get("/docs-assets/swagger-ui-bundle.js").text
        else:
            assert "Redoc" in c.get("/docs-assets/redoc.standalone.js").text[:2000]
