"""``/api/v1/operations``: recognition, search-as-you-type, one node; public reads, problem+json errors."""
from __future__ import annotations

import pytest

from marketplace.operations.catalogue import OPERATIONS_DIR

PROBLEM = "application/problem+json"
HOT_DIP, TURNING, MILLING, POWDER = "coating.zinc.hot_dip", "machining.turning", "machining.milling", "coating.powder"
pytestmark = pytest.mark.skipif(not any(OPERATIONS_DIR.glob("*.yaml")), reason="no operations YAML shipped yet")


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return response.get_json(force=True)


def test_recognize(client):
    response = client.post("/api/v1/operations/recognize",
                           json={"text": "Требуется горячее цинкование металлоконструкций, 12 т/мес"})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    first = body["operations"][0]
    assert first["id"] == HOT_DIP and 0 < first["confidence"] <= 1 and "цинкование" in first["matched"]
    assert client.post("/api/v1/operations/recognize",
                       json={"text": "Поставка офисной бумаги"}).get_json()["operations"] == []
    top = client.post("/api/v1/operations/recognize", json={"text": "Лазерная резка, гибка, сварка", "top": 1})
    assert len(top.get_json()["operations"]) == 1


@pytest.mark.parametrize("body, field", [
    ({"text": ""}, "text"), ({"text": "   "}, "text"), ({"text": "а" * 2001}, "text"), ({}, "text"),
    ({"text": 5}, "text"), ({"text": "гибка", "top": 0}, "top"), ({"text": "гибка", "colour": 1}, "colour"),
])
def test_recognize_bad_input_is_a_422_naming_the_field(client, body, field):
    errors = problem(client.post("/api/v1/operations/recognize", json=body), 422)["errors"]
    assert field in errors, errors


def test_recognize_needs_json(client):
    problem(client.post("/api/v1/operations/recognize", data="text=гибка"), 415)


@pytest.mark.parametrize("q, expected", [
    ("токар", TURNING), ("фрезеровк", MILLING), ("порошк", POWDER), ("гибк труб", "forming.bending.tube"),
    ("SMD", "electronics.assembly.smd"), ("литье пластм", "plastics.injection"),
])
def test_search_as_you_type(client, q, expected):
    body = client.get(f"/api/v1/operations?q={q}").get_json()
    assert body["items"], q
    assert body["items"][0]["id"] == expected, [i["id"] for i in body["items"]]
    assert body["total"] >= len(body["items"])
    assert body["items"][0]["path"][-1] == body["items"][0]["name"]


def test_search_family_limit_and_listing(client):
    body = client.get("/api/v1/operations?q=гибк&family=forming&limit=2").get_json()
    assert len(body["items"]) <= 2 and all(i["family"] == "forming" for i in body["items"])
    everything = client.get("/api/v1/operations?limit=100").get_json()
    assert everything["total"] >= 250 and len(everything["items"]) == 100
    assert client.get("/api/v1/operations?q=кофеварка").get_json() == {"items": [], "total": 0}
    assert "family" in problem(client.get("/api/v1/operations?family=nosuch"), 400)["errors"]
    assert "limit" in problem(client.get("/api/v1/operations?limit=1000"), 400)["errors"]


def test_one_operation(client):
    body = client.get("/api/v1/operations/forming.bending.tube").get_json()
    assert body["id"] == "forming.bending.tube" and body["family"] == "forming"
    assert [p["id"] for p in body["path"]] == ["forming", "forming.bending", "forming.bending.tube"]
    assert body["okved2"] and isinstance(body["parameters"], list)
    assert {c["id"] for c in client.get("/api/v1/operations/forming").get_json()["children"]} >= {
        "forming.bending", "forming.stamping"}
    problem(client.get("/api/v1/operations/no.such"), 404)


def test_declared_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/operations", "/api/v1/operations/recognize", "/api/v1/operations/{op_id}"} <= set(paths)
    assert "422" in paths["/api/v1/operations/recognize"]["post"]["responses"]
