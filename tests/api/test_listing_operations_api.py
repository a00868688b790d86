"""The API's listings carry catalogue operations and parameters (flat fields, as in the import); a bad value is a 422
problem naming the field — and the forms, the API and the import refuse the same value with the same message."""
from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from marketplace.core.models import utcnow
from marketplace.importer.service import ImportRejected, import_file
from marketplace.listings.models import Listing
from tests.fixtures.listing_operations import catalogue  # noqa: F401  (a fixture)
from tests.web.conftest import login, page_text, submit

pytestmark = pytest.mark.usefixtures("catalogue")

POWDER = {"kind": "capability", "title": "Порошковая окраска, камера 6×2×2 м, сталь и алюминий",
          "operations": ["coating.powder"], "material_ids": ["steel.carbon", "алюминий"],
          "max_length_mm": 6000, "max_width_mm": 2000, "max_height_mm": 2000}
# (field, JSON value, other fields): each is a 422 naming the field.
BAD = [
    ("operations", ["coating.nonexistent"], {}),
    ("operations", ["coating.powder", "painting"], {}),
    ("max_length_mm", -5, {}),
    ("max_length_mm", 0, {}),
    ("max_length_mm", "шесть", {}),
    ("max_length_mm", True, {}),
    ("max_width_mm", 200000, {}),
    ("tolerance_it", 25, {"operations": ["machining.turning"], "max_length_mm": None, "max_width_mm": None,
                          "max_height_mm": None}),
    ("tolerance_it", 0, {"operations": ["machining.turning"], "max_length_mm": None, "max_width_mm": None,
                         "max_height_mm": None}),
    ("roughness_ra_um", 500, {"operations": ["machining.turning"], "max_width_mm": None, "max_height_mm": None}),
    ("batch_min", 100, {"operations": ["machining.turning"], "max_width_mm": None, "max_height_mm": None,
                        "batch_max": 10}),
    ("material_ids", ["адамантий"], {}),
    ("tolerance_it", 7, {}),
]


@pytest.fixture
def member(factories, bearer):
    org = factories.organization(region="27")
    user = factories.user(organization=org, email_confirmed_at=utcnow())
    return org, user, bearer(user)


def test_create_read_update_with_operations_and_parameters(client, db, member):
    org, _user, headers = member
    created = client.post("/api/v1/listings", headers=headers, json=POWDER)
    assert created.status_code == 201, created.get_data(as_text=True)
    item = created.get_json()
    assert item["operations"] == ["coating.powder"]
    assert item["material_ids"] == ["steel.carbon", "aluminium"]
    assert (item["max_length_mm"], item["max_width_mm"], item["max_height_mm"]) == (6000, 2000, 2000)
    assert item["tolerance_it"] is None
    assert item["okved2"] == ["25.61"] and item["okpd2"] == ["25.61.1"]  # filled in from the operation

    read = client.get(f"/api/v1/listings/{item['id']}").get_json()
    assert read["operations"] == ["coating.powder"] and read["max_length_mm"] == 6000

    patched = client.patch(f"/api/v1/listings/{item['id']}", headers=headers, json={
        "operations": ["coating.powder", "machining.turning"], "tolerance_it": 8, "max_diameter_mm": "350"})
    assert patched.status_code == 200, patched.get_data(as_text=True)
    body = patched.get_json()
    assert body["operations"] == ["coating.powder", "machining.turning"]
    assert body["tolerance_it"] == 8 and body["max_diameter_mm"] == 350 and body["max_length_mm"] == 6000
    assert body["material_ids"] == ["steel.carbon", "aluminium"]  # untouched fields keep their values

    cleared = client.patch(f"/api/v1/listings/{item['id']}", headers=headers, json={"tolerance_it": None})
    assert cleared.status_code == 200 and cleared.get_json()["tolerance_it"] is None


@pytest.mark.parametrize(("field", "value", "other"), BAD)
def test_bad_value_is_a_problem_naming_the_field(client, db, member, field, value, other):
    _org, _user, headers = member
    response = client.post("/api/v1/listings", headers=headers, json={**POWDER, **other, field: value})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    assert field in errors and errors[field][0], errors
    assert db.session.scalar(select(func.count(Listing.id)).where(Listing.title == POWDER["title"])) == 0


def test_a_bad_patch_changes_nothing(client, db, member):
    _org, _user, headers = member
    item = client.post("/api/v1/listings", headers=headers, json=POWDER).get_json()
    response = client.patch(f"/api/v1/listings/{item['id']}", headers=headers,
                            json={"operations": ["machining.turning"], "title": "Другое"})
    assert response.status_code == 422
    # Turning uses no max_width_mm / max_height_mm: named, and the listing unchanged.
    assert {"max_width_mm", "max_height_mm"} <= set(response.get_json()["errors"])
    again = client.get(f"/api/v1/listings/{item['id']}").get_json()
    assert again["operations"] == ["coating.powder"] and again["title"] == POWDER["title"]


def test_openapi_documents_the_fields(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    create = next(v for k, v in schemas.items() if k.startswith("ListingCreate"))["properties"]
    assert create["operations"]["type"] == "array" and create["material_ids"]["type"] == "array"
    assert create["tolerance_it"]["type"] == "integer" and create["tolerance_it"]["maximum"] == 18
    assert create["max_length_mm"]["type"] == "number"
    out = next(v for k, v in schemas.items() if k == "Listing")["properties"]
    assert {"operations", "material_ids", "max_length_mm", "roughness_ra_um"} <= set(out)


# One rule for the three ways in -------------------------------------------------------------------

AGREEMENT = [  # (field, the value as typed in a form cell or a CSV cell, the same value in JSON)
    ("tolerance_it", "25", 25),
    ("max_length_mm", "-5", -5),
    ("max_length_mm", "шесть", "шесть"),
    ("material_ids", "адамантий", ["адамантий"]),
    ("operations", "coating.nonexistent", ["coating.nonexistent"]),
    ("roughness_ra_um", "7", 7),
]
TURNING_FORM = {"title": "Токарная обработка валов", "operations": "machining.turning", "max_length_mm": "900"}


@pytest.mark.parametrize(("field", "typed", "json_value"), AGREEMENT)
def test_form_api_and_import_refuse_a_value_with_one_message(client, db, factories, member, tmp_path: Path,
                                                             field, typed, json_value):
    org, user, headers = member
    other = {"operations": "coating.powder", "max_length_mm": ""} if field == "roughness_ra_um" else {}
    form_data = {**TURNING_FORM, **other, field: typed}

    login(client, user)
    page = page_text(submit(client, "/my/listings/new/capability", {**form_data, "action": "publish"}))
    form_messages = [html.unescape(m) for m in re.findall(r'data-field="' + field + r'">([^<]*)<', page)]

    json_data = {"kind": "capability", **{k: v for k, v in form_data.items() if v != ""}, field: json_value}
    if isinstance(json_data.get("operations"), str):
        json_data["operations"] = [json_data["operations"]]
    api = client.post("/api/v1/listings", headers=headers, json=json_data)
    assert api.status_code == 422
    api_messages = api.get_json()["errors"][field]

    path = tmp_path / "rows.csv"
    row = {"type": "offer", "kind": "capability", "tax_id": org.tax_id, "external_id": "x-1", **form_data}
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    with pytest.raises(ImportRejected) as excinfo:
        import_file(path)
    import_messages = [e.message for e in excinfo.value.report.errors if e.field == field and e.row == 2]

    assert form_messages and form_messages == api_messages == import_messages, (form_messages, api_messages,
                                                                                import_messages)
