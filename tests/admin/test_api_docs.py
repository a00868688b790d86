"""/api/docs: Swagger UI over the OpenAPI document, its assets from the npm build (or a plain link without them)."""
from __future__ import annotations

import pytest

from tests.web.conftest import page_text


def test_docs_page_points_at_the_openapi_document(client, db):
    response = client.get("/api/docs/")
    page = page_text(response)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert 'href="/api/v1/openapi.json"' in page and "Документация API" in page
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_docs_page_loads_swagger_ui_when_built(client, db, monkeypatch):
    import marketplace.web as web

    monkeypatch.setattr(web, "vendor_file_exists", lambda relative: True)
    page = page_text(client.get("/api/docs/"))
    assert 'data-url="/api/v1/openapi.json"' in page
    assert "vendor/swagger-ui/swagger-ui-bundle.js" in page and "js/api-docs.js" in page


@pytest.mark.parametrize("name", ["swagger-ui-dist"])
def test_swagger_ui_comes_from_package_json(name):
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    assert name in json.loads((root / "package.json").read_text())["dependencies"]
    assert "swagger-ui/swagger-ui-bundle.js" in (root / "scripts" / "build-assets.mjs").read_text()
