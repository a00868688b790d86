"""An unexpected error is a styled Russian 500 page (problem+json under /api/), never werkzeug's bare page."""
from __future__ import annotations

import pytest


@pytest.fixture
def failing(app, monkeypatch):
    def boom(*_args, **_kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setitem(app.view_functions, "showcase.index", boom)
    monkeypatch.setitem(app.view_functions, "api.openapi_document", boom)


def test_500_page_is_russian_and_styled(client, failing):
    response = client.get("/")
    body = response.get_data(as_text=True)
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert "Что-то пошло не так" in body and "изменения не сохранены" in body and '<html lang="ru">' in body
    assert "Internal Server Error" not in body


def test_500_in_the_api_is_problem_json(client, failing):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 500
