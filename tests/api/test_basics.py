"""Reference data, reads, pagination, errors as problem+json and the OpenAPI document."""
from __future__ import annotations

import pytest

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    return body


def test_regions_are_paginated_with_total_and_meta(client):
    response = client.get("/api/v1/regions?per_page=10&page=2")
    assert response.status_code == 200
    body = response.get_json()
    assert response.headers["X-Total-Count"] == "89"
    assert body["meta"] == {"page": 2, "per_page": 10, "total": 89, "pages": 9}
    assert len(body["items"]) == 10
    assert 'rel="next"' in response.headers["Link"] and 'rel="prev"' in response.headers["Link"]


def test_region_filter_by_district_and_lookup(client):
    body = client.get("/api/v1/regions?district=FEFD&per_page=100").get_json()
    assert "27" in {r["code"] for r in body["items"]}
    assert all(r["district_code"] == "FEFD" for r in body["items"])
    assert client.get("/api/v1/regions/27").get_json()["name"] == "Хабаровский край"
    assert_problem(client.get("/api/v1/regions/00"), 404)


def test_per_page_above_the_maximum_is_a_400_with_field_errors(client):
    body = assert_problem(client.get("/api/v1/regions?per_page=101"), 400)
    assert "per_page" in body["errors"]


def test_districts_and_countries(client):
    districts = client.get("/api/v1/federal-districts").get_json()
    assert districts["meta"]["total"] == 8
    eaeu = client.get("/api/v1/countries?eaeu=true").get_json()
    assert {c["iso2"] for c in eaeu["items"]} >= {"AM", "BY", "KZ", "KG"}


@pytest.mark.parametrize(("query", "expected"), [("q=25.62", "25.62"), ("q=обработке металлических", "25.62")])
def test_classifier_search_by_code_prefix_and_by_words(client, query, expected):
    body = client.get(f"/api/v1/classifier-codes?scheme=okpd2&per_page=100&{query}").get_json()
    assert expected in {c["code"] for c in body["items"]}
    assert all(c["scheme"] == "okpd2" for c in body["items"])


def test_classifier_search_finds_capitalised_russian_words(client):
    body = client.get("/api/v1/classifier-codes?scheme=okpd2&q=трубы").get_json()
    assert body["meta"]["total"] > 0


def test_classifier_code_lookup(client):
    assert client.get("/api/v1/classifier-codes/okved2/25.62").get_json()["scheme"] == "okved2"
    assert_problem(client.get("/api/v1/classifier-codes/okved2/99.99.99"), 404)


def test_listing_filters(client, world):
    def ids(query: str) -> set[int]:
        return {item["id"] for item in client.get(f"/api/v1/listings?per_page=100&{query}").get_json()["items"]}

    a = world.listing_a.id
    assert a in ids("side=offer") and a not in ids("side=need")
    assert a in ids("kind=capability") and a not in ids("kind=product")
    assert a in ids("region=27") and a not in ids("region=25")
    assert a in ids("district=FEFD") and a not in ids("district=CFD")
    assert a in ids("okpd2=25.62") and a not in ids("okpd2=25.61")
    assert a in ids(f"organization={world.org_a.id}") and a not in ids(f"organization={world.org_b.id}")
    assert a in ids("status=active") and a not in ids("status=closed")
    assert a in ids("q=токарная")
    assert a in {i["id"] for i in client.get("/api/v1/offers?per_page=100").get_json()["items"]}
    assert a not in {i["id"] for i in client.get("/api/v1/needs?per_page=100").get_json()["items"]}


def test_listing_sort_and_representation(client, world):
    body = client.get(f"/api/v1/listings?organization={world.org_a.id}&sort=title").get_json()
    titles = [item["title"] for item in body["items"]]
    assert titles == sorted(titles)
    item = client.get(f"/api/v1/listings/{world.listing_a.id}").get_json()
    assert item["okpd2"] == ["25.62.10"] and item["kind"] == "capability" and "equipment" in item
    assert "stock" not in item  # a product's column is not a capability's


def test_anonymous_sees_public_listings_only(client, world):
    ids = {i["id"] for i in client.get(f"/api/v1/listings?organization={world.org_a.id}").get_json()["items"]}
    assert ids == {world.listing_a.id}


def test_unknown_route_and_method_are_problems(client):
    assert_problem(client.get("/api/v1/no-such-thing"), 404)
    response = client.delete("/api/v1/regions")
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_pages_outside_the_api_keep_html_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype != PROBLEM


def test_invalid_ids_are_404_not_overflow(client):
    assert_problem(client.get("/api/v1/listings/99999999999999999999"), 404)
    assert_problem(client.get("/api/v1/listings/-1"), 404)


def test_body_must_be_json(client, world, bearer):
    headers = bearer(world.users["member_a"])
    assert_problem(client.post("/api/v1/tokens", data="name=x", headers=headers), 415)
    assert_problem(client.post("/api/v1/tokens", data="{", headers=headers, content_type="application/json"), 400)
    body = assert_problem(client.post("/api/v1/tokens", json={"nom": "x"}, headers=headers), 422)
    assert set(body["errors"]) == {"name", "nom"}


def test_request_too_large_is_a_problem(app, client, world, bearer):
    headers = bearer(world.users["member_a"])
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post("/api/v1/tokens", data=b'{"name": "' + b"x" * limit + b'"}', headers=headers,
                           content_type="application/json")
    assert_problem(response, 413)


def test_server_errors_are_problems(app, client, monkeypatch):
    from marketplace.api.resources import reference

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(reference, "select", broken)
    body = assert_problem(client.get("/api/v1/federal-districts"), 500)
    assert "boom" not in body["detail"]


def test_rate_limit_errors_are_problems(app, client):
    from werkzeug.exceptions import TooManyRequests

    from marketplace.api.problems import handle_http_exception

    with app.test_request_context("/api/v1/regions"):
        response = handle_http_exception(TooManyRequests(retry_after=30))
    assert response.status_code == 429 and response.mimetype == PROBLEM
    assert response.headers["Retry-After"] == "30"


def test_openapi_document_validates_against_the_openapi_30_schema(client):
    from schemathesis.specs.openapi import definitions

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.0")
    errors = [str(e) for e in definitions.OPENAPI_30_VALIDATOR.iter_errors(spec)]
    assert errors == []
    operation_ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(operation_ids) == len(set(operation_ids))
    assert "/api/v1/listings/{listing_id}" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_api_route_is_in_the_document(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    import re

    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi_document":
            continue
        path = re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)
