"""Offers and needs: the services (validation, nothing half-saved, audit and outbox), the pages (errors next to
fields, input kept), the classifier picker's search, and who may do what (another organization's listing is a 404)."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import UserRole
from marketplace.core.models import AuditLog, OutboxEvent, utcnow
from marketplace.core.validation import ValidationFailed
from marketplace.listings import services
from marketplace.listings.models import Capability, Listing, ListingKind, ListingStatus
from marketplace.organizations.models import OrganizationKind
from tests.web.conftest import login, page_text, submit

pytestmark = pytest.mark.usefixtures("enqueued")


def confirmed(factories, **fields):
    return factories.user(email_confirmed_at=utcnow(), **fields)


def outbox_ops(db, listing_id: int) -> list[str]:
    return list(db.session.scalars(select(OutboxEvent.op).where(OutboxEvent.entity_type == "listing",
                                                                OutboxEvent.entity_id == listing_id)
                                   .order_by(OutboxEvent.id)))


def audit_actions(db, listing_id: int) -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).where(AuditLog.entity_type == "listing",
                                                                 AuditLog.entity_id == str(listing_id))
                                   .order_by(AuditLog.id)))


# Services ------------------------------------------------------------------------------------------

def test_create_capability_parses_fields_codes_and_place_and_writes_audit_and_outbox(db, factories):
    org = factories.organization(region="27")
    user = confirmed(factories, organization=org)
    listing = services.create_listing("capability", org, {
        "title": "Токарная обработка с ЧПУ", "okved2": "25.62; 25.61", "okpd2": ["25.62.20"],
        "capacity_per_month": "1 500,5", "capacity_unit": "шт", "equipment": "DMG CTX 510", "lead_time_days": "14",
        "region": "25", "town": "Владивосток", "certifications": "ISO 9001; ГОСТ Р 15.201"}, user)
    assert isinstance(listing, Capability) and listing.status == ListingStatus.ACTIVE
    assert listing.okved2_codes == ["25.62", "25.61"] and listing.okpd2_codes == ["25.62.20"]
    assert [c.position for c in listing.codes if c.scheme == "okved2"] == [0, 1]
    assert listing.capacity_per_month == Decimal("1500.5") and listing.lead_time_days == 14
    assert listing.region_code == "25" and listing.town.name == "Владивосток"
    assert listing.certifications == ["ISO 9001", "ГОСТ Р 15.201"]
    assert listing.created_by_id == user.id
    assert outbox_ops(db, listing.id) == ["upsert"]
    assert audit_actions(db, listing.id) == ["create"]


def test_listing_without_a_place_is_where_its_organization_is(db, factories):
    org = factories.organization(region="28")
    listing = services.create_listing(ListingKind.PURCHASE_REQUEST, org, {"title": "Нужны подшипники"},
                                      confirmed(factories, organization=org))
    assert listing.region_code == "28" and listing.lat == org.lat and listing.mode == "buy"


def test_invalid_data_raises_every_error_by_field_and_saves_nothing(db, factories):
    org = factories.organization(region="27")
    user = confirmed(factories, organization=org)
    before = db.session.scalar(select(func.count(Listing.id)))
    with pytest.raises(ValidationFailed) as excinfo:
        services.create_listing("surplus", org, {
            "title": "", "okpd2": "99.99.99", "price": "-5", "condition": "broken", "starts_on": "2030-01-02",
            "ends_on": "2030-01-01", "frequency": "monthly", "region": "00"}, user)
    errors = excinfo.value.as_dict()
    assert set(errors) == {"title", "okpd2", "price", "condition", "ends_on", "frequency", "region", "quantity"}
    assert "обязательное поле" in errors["title"]
    assert db.session.scalar(select(func.count(Listing.id))) == before
    assert db.session.scalar(select(func.count(OutboxEvent.id)).where(OutboxEvent.entity_type == "listing")) == 0


def test_capability_needs_a_code_and_buyers_do_not_offer(db, factories):
    buyer_org = factories.organization(region="27", kind=OrganizationKind.BUYER)
    user = confirmed(factories, organization=buyer_org)
    with pytest.raises(ValidationFailed) as excinfo:
        services.create_listing("capability", buyer_org, {"title": "Сварка"}, user)
    assert set(excinfo.value.as_dict()) == {"okved2", "kind"}
    with pytest.raises(ValidationFailed) as excinfo:
        services.create_listing("tender_lot", buyer_org, {"title": "Лот"}, user)
    assert "kind" in excinfo.value.as_dict()  # tender lots are made by the tenders slice


def test_update_is_partial_and_audits_changes(db, factories):
    org = factories.organization(region="27")
    user = confirmed(factories, organization=org)
    listing = services.create_listing("product", org, {"title": "Втулка", "okpd2": "25.62.20", "price": "100",
                                                       "min_lot": "10"}, user)
    services.update_listing(listing, {"price": "120,50", "okpd2": "25.62.20; 25.61"}, user)
    assert listing.price == Decimal("120.50") and listing.min_lot == Decimal("10") and listing.title == "Втулка"
    assert listing.okpd2_codes == ["25.62.20", "25.61"]
    entry = db.session.scalars(select(AuditLog).where(AuditLog.entity_id == str(listing.id),
                                                      AuditLog.action == "update")).one()
    assert entry.changes["price"] == ["100", "120.5"] and "codes" in entry.changes and entry.user_id == user.id
    assert outbox_ops(db, listing.id) == ["upsert", "upsert"]
    services.update_listing(listing, {"price": "120.5"}, user)  # no change: no audit, no outbox row
    assert outbox_ops(db, listing.id) == ["upsert", "upsert"]
    with pytest.raises(ValidationFailed):
        services.update_listing(listing, {"min_lot": "много"}, user)
    assert listing.min_lot == Decimal("10")


def test_archive_renew_hide(db, factories):
    org = factories.organization(region="27")
    user = confirmed(factories, organization=org)
    listing = services.create_listing("equipment_rent", org, {"title": "Аренда крана", "rate_period": "day",
                                                              "ends_on": date.today().isoformat()}, user)
    services.archive_listing(listing, user)
    assert listing.status == ListingStatus.ARCHIVED and outbox_ops(db, listing.id)[-1] == "delete"
    with pytest.raises(ValidationFailed) as excinfo:
        services.renew_listing(listing, date.today() - timedelta(days=1), user)
    assert "ends_on" in excinfo.value.as_dict()
    with pytest.raises(ValidationFailed):
        services.renew_listing(listing, date.today() + timedelta(days=800), user)
    until = date.today() + timedelta(days=90)
    services.renew_listing(listing, until.isoformat(), user)
    assert listing.ends_on == until and listing.status == ListingStatus.ACTIVE

    stranger = factories.user(role=UserRole.COORDINATOR, regions=["25"])
    with pytest.raises(PermissionError):
        services.hide_listing(listing, stranger, "нарушение")
    coordinator = factories.user(role=UserRole.COORDINATOR, regions=["27"])
    with pytest.raises(ValidationFailed):
        services.hide_listing(listing, coordinator, "  ")
    services.hide_listing(listing, coordinator, "Неверные сведения")
    assert listing.status == ListingStatus.HIDDEN and services.hidden_reason(listing) == "Неверные сведения"
    with pytest.raises(ValidationFailed):
        services.update_listing(listing, {"title": "Обход"}, user)
    services.unhide_listing(listing, coordinator)
    assert listing.status == ListingStatus.ACTIVE and services.hidden_reason(listing) is None
    assert audit_actions(db, listing.id) == ["create", "archive", "renew", "hide", "unhide"]


def test_index_after_commit_enqueues_the_drain_only_when_the_job_exists(app, enqueued, monkeypatch):
    from workers import queue

    with app.app_context():
        services.index_after_commit()
        # the index catches up, then the changed listings get their matches
        assert enqueued == ["search.drain_outbox", "matching.refresh_stale"]
        app.config["MATCH_AFTER_COMMIT"] = False
        try:
            services.index_after_commit()
        finally:
            app.config["MATCH_AFTER_COMMIT"] = True
        assert enqueued == ["search.drain_outbox", "matching.refresh_stale", "search.drain_outbox"]
        monkeypatch.setattr(queue, "load_jobs", lambda: {})
        services.index_after_commit()
        assert enqueued == ["search.drain_outbox", "matching.refresh_stale", "search.drain_outbox"]


# Pages ---------------------------------------------------------------------------------------------

def test_create_edit_archive_through_pages(client, db, factories, enqueued):
    org = factories.organization(region="27", name="ООО «Амурмаш»")
    login(client, confirmed(factories, organization=org))
    assert "Мои предложения" in page_text(client.get("/my/offers"))
    form = page_text(client.get("/my/listings/new/capability"))
    assert 'data-classifier-picker="okved2"' in form and 'name="capacity_per_month"' in form
    assert 'name="frequency"' not in form  # fields of the kind only

    response = submit(client, "/my/listings/new/capability", {
        "title": "Лазерная резка металла", "okved2": "25.62", "capacity_per_month": "200", "capacity_unit": "т",
        "action": "publish"})
    assert response.status_code == 302
    listing = db.session.scalars(select(Listing).where(Listing.title == "Лазерная резка металла")).one()
    assert listing.status == ListingStatus.ACTIVE and listing.organization_id == org.id
    assert enqueued == ["search.drain_outbox", "matching.refresh_stale"]
    assert "Лазерная резка металла" in page_text(client.get("/my/offers"))

    edit_url = f"/my/listings/{listing.id}/edit"
    assert 'value="200"' in page_text(client.get(edit_url))
    response = submit(client, edit_url, {"title": "Лазерная резка до 20 мм", "okved2": "25.62",
                                         "capacity_per_month": "250", "action": "save"})
    assert response.status_code == 302
    db.session.refresh(listing)
    assert listing.title == "Лазерная резка до 20 мм" and listing.capacity_per_month == Decimal("250")

    response = submit(client, "/my/offers", action=f"/my/listings/{listing.id}/archive")
    assert response.status_code == 302
    db.session.refresh(listing)
    assert listing.status == ListingStatus.ARCHIVED

    until = (date.today() + timedelta(days=30)).isoformat()
    response = submit(client, f"/listings/{listing.id}", {"until": until}, action=f"/my/listings/{listing.id}/renew")
    assert response.status_code == 302
    db.session.refresh(listing)
    assert listing.status == ListingStatus.ACTIVE and listing.ends_on.isoformat() == until


def test_errors_are_shown_next_to_fields_and_input_is_kept(client, db, factories):
    org = factories.organization(region="27")
    login(client, confirmed(factories, organization=org))
    response = submit(client, "/my/listings/new/surplus", {
        "title": "Лист стальной 09Г2С", "quantity": "двадцать", "okpd2": "99.99", "price": "1 200",
        "description": "Остатки после заказа", "action": "publish"})
    assert response.status_code == 422
    page = page_text(response)
    assert re.search(r'class="form-control is-invalid"[^>]*name="quantity"', page)
    assert 'data-field="quantity"' in page and "не число" in page
    assert 'data-field="okpd2"' in page and "неизвестный код ОКПД2" in page
    assert 'value="двадцать"' in page and 'value="1 200"' in page and "Остатки после заказа" in page
    assert 'data-field="price"' not in page
    assert db.session.scalar(select(Listing.id).where(Listing.title == "Лист стальной 09Г2С")) is None


def test_buyer_needs_pages(client, db, factories):
    org = factories.organization(region="27", kind=OrganizationKind.BUYER)
    login(client, confirmed(factories, role=UserRole.BUYER, organization=org))
    page = page_text(client.get("/my/needs"))
    assert "Мои потребности" in page and "/my/listings/new/missing_operation" in page
    response = submit(client, "/my/listings/new/missing_operation", {
        "title": "Гальваническое цинкование", "okved2": "25.61", "quantity": "500", "unit": "кг",
        "frequency": "monthly", "action": "publish"})
    assert response.status_code == 302
    response = submit(client, "/my/listings/new/purchase_request", {"title": "Подшипники 6205", "okpd2": "28.15.10",
                                                                    "quantity": "1000", "mode": "buy",
                                                                    "action": "draft"})
    assert response.status_code == 302
    page = page_text(client.get("/my/needs"))
    assert "Гальваническое цинкование" in page and "Подшипники 6205" in page and "черновик" in page
    response = submit(client, "/my/listings/new/capability", {"title": "Резка", "okved2": "25.62",
                                                              "action": "draft"})
    assert response.status_code == 422 and "организация-заказчик не публикует предложения" in page_text(response)


def test_classifier_search_by_code_prefix_and_by_russian_words(client):
    by_code = client.get("/classifiers/okved2/search?q=25.6").get_json()
    assert by_code and all(item["code"].startswith("25.6") for item in by_code) and len(by_code) <= 20
    assert by_code[0]["code"] == "25.6"  # broader codes first
    by_words = client.get("/classifiers/okved2/search?q=ОБРАБОТКА металлических").get_json()
    assert any(item["code"] == "25.62" for item in by_words)
    assert all("обработка" in item["name"].lower() for item in by_words)
    okpd2 = client.get("/classifiers/okpd2/search?q=подшипники").get_json()
    assert okpd2 and all("подшипник" in item["name"].lower() for item in okpd2)
    assert client.get("/classifiers/okpd2/search?q=").get_json() == []
    assert client.get("/classifiers/okpd2/search?q=%25%25").get_json() == []
    assert client.get("/classifiers/nace/search?q=25").status_code == 404


# Who may do what -----------------------------------------------------------------------------------

@pytest.fixture
def people(factories):
    org_a = factories.organization(region="27", name="ООО «А»")
    org_b = factories.organization(region="27", name="ООО «Б»")
    org_c = factories.organization(region="27", name="АО «Заказчик»", kind=OrganizationKind.BUYER)
    users = {
        "anonymous": None,
        "manufacturer_a": confirmed(factories, organization=org_a),
        "manufacturer_b": confirmed(factories, organization=org_b),
        "buyer": confirmed(factories, role=UserRole.BUYER, organization=org_c),
        "coordinator_27": confirmed(factories, role=UserRole.COORDINATOR, regions=["27"]),
        "admin": confirmed(factories, role=UserRole.ADMIN),
    }
    draft = factories.listing(ListingKind.CAPABILITY, organization=org_a, status=ListingStatus.DRAFT,
                              title="Черновик А", okved2=["25.62"])
    active = factories.listing(ListingKind.CAPABILITY, organization=org_a, title="Опубликовано А", okved2=["25.62"])
    return {"users": users, "draft": draft, "active": active, "org_a": org_a}


VISITORS = ("anonymous", "manufacturer_a", "manufacturer_b", "buyer", "coordinator_27", "admin")
LOGIN, TO_ORG = "login", "new-org"
GET_MATRIX = [
    ("/my/offers", (LOGIN, 200, 200, 200, TO_ORG, TO_ORG)),
    ("/my/needs", (LOGIN, 200, 200, 200, TO_ORG, TO_ORG)),
    ("/my/listings/new/capability", (LOGIN, 200, 200, 200, TO_ORG, TO_ORG)),
    ("/listings/{draft}", (404, 200, 404, 404, 200, 200)),
    ("/listings/{active}", (200, 200, 200, 200, 200, 200)),
    ("/my/listings/{draft}/edit", (LOGIN, 200, 404, 404, 404, 200)),
    ("/my/listings/{active}/edit", (LOGIN, 200, 404, 404, 404, 200)),
]
POST_MATRIX = [
    ("/my/listings/{active}/archive", {}, (LOGIN, 302, 404, 404, 404, 302)),
    ("/my/listings/{draft}/publish", {}, (LOGIN, 302, 404, 404, 404, 302)),
    ("/my/listings/{active}/renew", {"until": "{until}"}, (LOGIN, 302, 404, 404, 404, 302)),
    ("/my/listings/{active}/edit", {"title": "Чужое"}, (LOGIN, 302, 404, 404, 404, 302)),
]


def _expect(response, expected) -> None:
    if expected == LOGIN:
        assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    elif expected == TO_ORG:
        assert response.status_code == 302 and response.headers["Location"].endswith("/organizations/new")
    else:
        assert response.status_code == expected


@pytest.mark.parametrize("url,expected", GET_MATRIX, ids=[u for u, _ in GET_MATRIX])
def test_get_matrix(client, people, url, expected):
    url = url.format(draft=people["draft"].id, active=people["active"].id)
    for visitor, want in zip(VISITORS, expected, strict=True):
        login(client, people["users"][visitor])
        response = client.get(url)
        try:
            _expect(response, want)
        except AssertionError:
            raise AssertionError(f"{visitor} GET {url}: {response.status_code}, expected {want}") from None


@pytest.mark.parametrize("url,data,expected", POST_MATRIX, ids=[u for u, _, _ in POST_MATRIX])
def test_post_matrix(client, db, people, url, data, expected):
    from tests.web.conftest import form_token

    until = (date.today() + timedelta(days=10)).isoformat()
    for visitor, want in zip(VISITORS, expected, strict=True):
        draft, active = people["draft"], people["active"]
        before = (draft.status, active.status, active.title, active.ends_on)
        login(client, people["users"][visitor])
        token = form_token(client, "/account/login" if visitor == "anonymous" else f"/listings/{active.id}")
        target = url.format(draft=draft.id, active=active.id)
        payload = {k: v.format(until=until) for k, v in data.items()}
        if target.endswith("/edit"):
            payload.update(okved2="25.62")
        response = client.post(target, data={**payload, "csrf_token": token})
        try:
            _expect(response, want)
        except AssertionError:
            raise AssertionError(f"{visitor} POST {target}: {response.status_code}, expected {want}") from None
        db.session.refresh(draft)
        db.session.refresh(active)
        if want != 302:  # refused: nothing changed
            assert (draft.status, active.status, active.title, active.ends_on) == before, visitor
        # Put things back for the next visitor.
        draft.status, active.status, active.title, active.ends_on = ListingStatus.DRAFT, ListingStatus.ACTIVE, \
            "Опубликовано А", None
        db.session.flush()


def test_unknown_listing_ids_are_404(client, people):
    login(client, people["users"]["admin"])
    assert client.get("/listings/999999").status_code == 404
    assert client.get("/my/listings/999999/edit").status_code == 404
    login(client, people["users"]["manufacturer_a"])
    assert client.get("/my/listings/new/nonsense").status_code == 404
    assert client.get("/my/listings/new/tender_lot").status_code == 404
