"""Capabilities and needs carry catalogue operations and engineering parameters: the services (one validation for the
forms, the API and the import), the form round trip, each bad input named with the input kept, the listing page."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from marketplace.core.models import AuditLog, OutboxEvent, utcnow
from marketplace.core.validation import ValidationFailed
from marketplace.listings import services
from marketplace.listings.models import Listing
from marketplace.operations.models import ListingOperation
from tests.fixtures.listing_operations import catalogue  # noqa: F401  (a fixture)
from tests.web.conftest import login, page_text, submit

pytestmark = pytest.mark.usefixtures("enqueued", "catalogue")

POWDER = {"title": "Порошковая окраска, камера 6×2×2 м, сталь и алюминий",
          "description": "Окрашиваем металлоконструкции в камере 6×2×2 м, детали до 500 кг.",
          "operations": "coating.powder", "material_ids": "steel.carbon; Алюминий",
          "max_length_mm": "6000", "max_width_mm": "2000", "max_height_mm": "2 000", "max_mass_kg": "500"}
TURNING = {"title": "Токарная обработка валов", "operations": "machining.turning", "material_ids": "45; АМг6",
           "max_diameter_mm": "400", "tolerance_it": "IT7", "roughness_ra_um": "0,8", "batch_min": "10",
           "batch_max": "1000"}
# (field, value, other fields, a word of the message): each is refused naming the field.
BAD_INPUTS = [
    ("operations", "coating.nonexistent", {}, "неизвестная операция"),
    ("max_length_mm", "-5", {}, "наибольшая длина"),
    ("max_length_mm", "шесть метров", {}, "ожидается число"),
    ("max_mass_kg", "2000000", {}, "не больше"),
    ("tolerance_it", "25", {"operations": "machining.turning", "max_length_mm": ""}, "квалитет"),
    ("tolerance_it", "7.5", {"operations": "machining.turning", "max_length_mm": ""}, "целое"),
    ("material_ids", "сталь; адамантий", {}, "нет в списке материалов"),
    ("tolerance_it", "7", {}, "не относится ни к одной из выбранных операций"),
    ("max_diameter_mm", "300", {"operations": ""}, "выберите операцию"),
]


def confirmed(factories, **fields):
    return factories.user(email_confirmed_at=utcnow(), **fields)


def test_service_stores_operations_parameters_and_fills_codes(db, factories):
    org = factories.organization(region="27")
    listing = services.create_listing("capability", org, POWDER, confirmed(factories, organization=org))
    assert listing.operation_ids == ["coating.powder"]
    assert listing.parameters == {"materials": ["steel.carbon", "aluminium"], "max_length_mm": 6000.0,
                                  "max_width_mm": 2000.0, "max_height_mm": 2000.0, "max_mass_kg": 500.0}
    # No code given: the operation's ОКПД2 and ОКВЭД2 (inherited from «coating»).
    assert listing.okpd2_codes == ["25.61.1"] and listing.okved2_codes == ["25.61"]
    audit = db.session.scalar(select(AuditLog).where(AuditLog.entity_id == str(listing.id)))
    assert audit.action == "create" and audit.changes["operations"] == ["coating.powder"]
    assert audit.changes["parameters"]["max_length_mm"] == 6000.0


def test_codes_the_listing_names_are_kept(db, factories):
    org = factories.organization(region="27")
    listing = services.create_listing("capability", org, {**POWDER, "okved2": "25.62"},
                                      confirmed(factories, organization=org))
    assert listing.okved2_codes == ["25.62"] and listing.okpd2_codes == []


def test_integers_grades_and_texts_are_read(db, factories):
    org = factories.organization(region="27")
    listing = services.create_listing("capability", org, TURNING, confirmed(factories, organization=org))
    assert listing.parameters == {"materials": ["steel.carbon", "aluminium"], "max_diameter_mm": 400.0,
                                  "tolerance_it": 7, "roughness_ra_um": 0.8, "batch_min": 10, "batch_max": 1000}
    assert listing.okved2_codes == ["25.62"]


def test_update_changes_operations_audits_and_queues_the_index(db, factories):
    org = factories.organization(region="27")
    user = confirmed(factories, organization=org)
    listing = services.create_listing("capability", org, POWDER, user)
    services.update_listing(listing, {"operations": ["coating.powder", "coating.zinc.hot_dip"],
                                      "max_mass_kg": 800}, user)
    assert listing.operation_ids == ["coating.powder", "coating.zinc.hot_dip"]
    assert listing.parameters["max_mass_kg"] == 800.0 and listing.parameters["max_length_mm"] == 6000.0
    audit = db.session.scalars(select(AuditLog).where(AuditLog.entity_id == str(listing.id))
                               .order_by(AuditLog.id.desc())).first()
    assert audit.action == "update"
    assert audit.changes["operations"] == [["coating.powder"], ["coating.powder", "coating.zinc.hot_dip"]]
    assert audit.changes["parameters"][1]["max_mass_kg"] == 800.0
    ops = db.session.scalars(select(OutboxEvent.op).where(OutboxEvent.entity_id == listing.id)).all()
    assert ops == ["upsert", "upsert"]


@pytest.mark.parametrize(("field", "value", "other", "word"), BAD_INPUTS)
def test_service_refuses_a_bad_value_naming_its_field_and_saves_nothing(db, factories, field, value, other, word):
    org = factories.organization(region="27")
    before = db.session.scalar(select(func.count(Listing.id)))
    with pytest.raises(ValidationFailed) as excinfo:
        services.create_listing("capability", org, {**POWDER, **other, field: value},
                                confirmed(factories, organization=org))
    errors = excinfo.value.as_dict()
    assert field in errors and any(word in m for m in errors[field]), errors
    assert db.session.scalar(select(func.count(Listing.id))) == before
    assert db.session.scalar(select(func.count(ListingOperation.listing_id))) == 0


def test_a_need_gives_the_job_not_a_batch_range(db, factories):
    org = factories.organization(region="27")
    user = confirmed(factories, organization=org)
    need = services.create_listing("missing_operation", org, {
        "title": "Нужна токарная обработка вала", "operations": "machining.turning", "material_ids": "12Х18Н10Т",
        "max_diameter_mm": "120", "tolerance_it": "6", "quantity": "50"}, user)
    assert need.operation_ids == ["machining.turning"]
    assert need.parameters == {"materials": ["steel.stainless"], "max_diameter_mm": 120.0, "tolerance_it": 6}
    with pytest.raises(ValidationFailed) as excinfo:
        services.create_listing("missing_operation", org, {"title": "Токарка", "operations": "machining.turning",
                                                           "batch_max": "100"}, user)
    assert "batch_max" in excinfo.value.as_dict()


def test_surplus_takes_no_operations(db, factories):
    org = factories.organization(region="27")
    with pytest.raises(ValidationFailed) as excinfo:
        services.create_listing("surplus", org, {"title": "Лист", "quantity": "3", "operations": "coating.powder"},
                                confirmed(factories, organization=org))
    assert "operations" in excinfo.value.as_dict()


# Pages ---------------------------------------------------------------------------------------------

def _value(page: str, name: str) -> str:
    found = re.search(r'name="' + name + r'" value="([^"]*)"', page)
    assert found, f"no input {name}"
    return html.unescape(found.group(1))


def test_form_round_trip_shows_operations_and_parameters_on_the_page(client, db, factories):
    org = factories.organization(region="27")
    login(client, confirmed(factories, organization=org))
    form = page_text(client.get("/my/listings/new/capability"))
    assert "data-operations-picker" in form and 'name="operations"' in form
    assert "Наибольшая длина детали, мм" in form and "js/operations-picker.js" in form
    response = submit(client, "/my/listings/new/capability", {**POWDER, "action": "publish"})
    assert response.status_code == 302, page_text(response)
    listing = db.session.scalars(select(Listing).where(Listing.title == POWDER["title"])).one()
    assert listing.operation_ids == ["coating.powder"] and listing.okved2_codes == ["25.61"]

    page = page_text(client.get(f"/listings/{listing.id}"))
    assert '<a href="/operations/coating.powder"' in page and "Порошковая окраска</a>" in page
    assert "Материалы: сталь углеродистая, алюминий; наибольшая деталь 6000×2000×2000 мм; масса до 500 кг" in page

    edit = page_text(client.get(f"/my/listings/{listing.id}/edit"))
    assert _value(edit, "operations") == "coating.powder"
    assert _value(edit, "material_ids") == "steel.carbon; aluminium" and _value(edit, "max_length_mm") == "6000"
    assert 'data-operation-id="coating.powder"' in edit  # the chosen operation's chip
    response = submit(client, f"/my/listings/{listing.id}/edit", {
        **POWDER, "operations": "coating.powder; coating.zinc.hot_dip", "max_height_mm": "2500", "action": "save"})
    assert response.status_code == 302, page_text(response)
    db.session.refresh(listing)
    assert listing.operation_ids == ["coating.powder", "coating.zinc.hot_dip"]
    assert listing.parameters["max_height_mm"] == 2500.0


def test_need_form_labels_say_what_the_job_is(client, db, factories):
    org = factories.organization(region="27")
    login(client, confirmed(factories, organization=org))
    form = page_text(client.get("/my/listings/new/missing_operation"))
    assert "Требуемый квалитет точности IT" in form and "Диаметр детали, мм" in form
    assert "Партия от" not in form and "Точность, которую держите" not in form
    response = submit(client, "/my/listings/new/missing_operation", {
        "title": "Нужна токарная обработка", "operations": "machining.turning", "tolerance_it": "7",
        "roughness_ra_um": "0,8", "action": "publish"})
    assert response.status_code == 302, page_text(response)
    need = db.session.scalars(select(Listing).where(Listing.title == "Нужна токарная обработка")).one()
    assert "IT7; Ra 0,8" in page_text(client.get(f"/listings/{need.id}"))


@pytest.mark.parametrize(("field", "value", "other", "word"), BAD_INPUTS)
def test_form_names_the_bad_field_and_keeps_the_input(client, db, factories, field, value, other, word):
    org = factories.organization(region="27")
    login(client, confirmed(factories, organization=org))
    data = {**POWDER, **other, field: value}
    response = submit(client, "/my/listings/new/capability", {**data, "action": "publish"})
    assert response.status_code == 422
    page = page_text(response)
    messages = re.findall(r'data-field="' + field + r'">([^<]*)<', page)
    assert messages and any(word in html.unescape(m) for m in messages), messages
    for name, typed in data.items():  # every input kept as typed
        if name != "description":
            assert _value(page, name) == typed, name
    assert db.session.scalar(select(func.count(Listing.id)).where(Listing.title == POWDER["title"])) == 0


def test_form_suggests_operations_from_the_description(client, db, factories):
    org = factories.organization(region="27")
    login(client, confirmed(factories, organization=org))
    # A refused form (no code, no operation) is shown again with the operations its text names as suggestions.
    response = submit(client, "/my/listings/new/capability", {
        "title": "Порошковая покраска металлоконструкций", "action": "publish"})
    assert response.status_code == 422
    page = page_text(response)
    assert re.search(r'class="[^"]*operation-suggestion[^"]*" data-operation-id="coating.powder"', page)
    suggest = client.get("/my/listings/operations/suggest", query_string={
        "text": "Выполним горячее цинкование металлоконструкций, детали до 6×2×2 м"}).get_json()
    assert suggest["operations"][0]["id"] == "coating.zinc.hot_dip"
    assert "max_length_mm" in suggest["operations"][0]["parameters"]
    assert suggest["parameters"]["max_length_mm"] == 6000.0


def test_picker_search_endpoints(client, db, factories):
    org = factories.organization(region="27")
    assert client.get("/my/listings/operations/search?q=токар").status_code in (302, 401)  # login needed
    login(client, confirmed(factories, organization=org))
    found = client.get("/my/listings/operations/search?q=порошк").get_json()
    assert found[0]["id"] == "coating.powder" and found[0]["path"] == "Нанесение покрытий"
    assert "material_ids" in found[0]["parameters"]
    mats = client.get("/my/listings/materials/search?q=амг").get_json()
    assert [m["id"] for m in mats] == ["aluminium"]
    assert client.get("/my/listings/operations/search?q=").get_json() == []


@pytest.mark.parametrize(("kind", "has_picker"), [("capability", True), ("product", True),
                                                  ("missing_operation", True), ("purchase_request", True),
                                                  ("surplus", False), ("equipment_rent", False)])
def test_which_forms_pick_operations(client, db, factories, kind, has_picker):
    org = factories.organization(region="27")
    login(client, confirmed(factories, organization=org))
    form = page_text(client.get(f"/my/listings/new/{kind}"))
    assert ("data-operations-picker" in form) is has_picker
    assert ('name="max_length_mm"' in form) is has_picker
