"""The coordinator's desk: scoped to the coordinator's regions (admins everywhere); acting elsewhere is 404."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from marketplace.accounts.models import UserRole
from marketplace.coordinator import services
from marketplace.core.models import AuditLog, OutboxEvent
from marketplace.core.validation import ValidationFailed
from marketplace.listings.models import ListingKind, ListingStatus
from tests.fixtures.tenders import csrf_token, login, make_tender, post


@pytest.fixture
def people(factories):
    return {
        "coordinator27": factories.user(role=UserRole.COORDINATOR, regions=["27"]),
        "coordinator25": factories.user(role=UserRole.COORDINATOR, regions=["25"]),
        "admin": factories.user(role=UserRole.ADMIN),
        "manufacturer": factories.user(organization=factories.organization(region="27")),
    }


# Services ------------------------------------------------------------------------------------------

def test_verify_in_scope_and_audited(db, factories, people):
    org = factories.organization(region="27")
    services.verify_organization(org, user=people["coordinator27"])
    assert org.verified
    audit = db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "organization",
                                                      AuditLog.entity_id == str(org.id))).all()
    assert [a.action for a in audit] == ["verify"] and audit[0].user_id == people["coordinator27"].id
    with pytest.raises(services.OutOfScope):
        services.verify_organization(factories.organization(region="27"), user=people["coordinator25"])


def test_hide_needs_a_reason_and_writes_audit_and_outbox(db, factories, people):
    listing = factories.listing(ListingKind.PRODUCT, organization=factories.organization(region="27"))
    with pytest.raises(ValidationFailed):
        services.hide_listing(listing, reason="  ", user=people["coordinator27"])
    with pytest.raises(services.OutOfScope):
        services.hide_listing(listing, reason="Контрафакт", user=people["coordinator25"])
    services.hide_listing(listing, reason="Контрафакт", user=people["coordinator27"])
    assert listing.status == ListingStatus.HIDDEN and listing.attributes["hidden_reason"] == "Контрафакт"
    audit = db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "listing",
                                                      AuditLog.entity_id == str(listing.id))).all()
    assert audit[-1].action == "hide" and audit[-1].changes["reason"] == "Контрафакт"
    assert [e.op for e in db.session.scalars(select(OutboxEvent).where(OutboxEvent.entity_id == listing.id))][-1] == "delete"
    services.unhide_listing(listing, user=people["admin"])
    assert listing.status == ListingStatus.ACTIVE


def test_scope_of_queries(db, factories, people):
    khv = factories.organization(region="27", name="ООО «Хабаровское»")
    pri = factories.organization(region="25", name="ООО «Приморское»")
    need = factories.listing(ListingKind.PURCHASE_REQUEST, organization=khv, title="Нужны втулки")
    factories.listing(ListingKind.PURCHASE_REQUEST, organization=pri, title="Нужны болты")
    assert khv in services.organizations(people["coordinator27"])
    assert pri not in services.organizations(people["coordinator27"])
    assert {khv, pri} <= set(services.organizations(people["admin"]))
    assert need in services.open_needs(people["coordinator27"])
    assert all(n.region_code == "27" for n in services.open_needs(people["coordinator27"]))


def test_lots_of_closed_tenders_stay_hidden_from_coordinators(db, factories, people):
    invited = factories.organization(region="25")
    world = make_tender(factories, visibility="closed", invited=[invited])
    assert world.lot not in services.open_needs(people["coordinator27"])
    assert world.lot in services.open_needs(people["admin"])
    open_world = make_tender(factories)
    assert open_world.lot in services.open_needs(people["coordinator27"])


# Pages ---------------------------------------------------------------------------------------------

def test_desk_needs_the_coordinator_role(client, people):
    login(client, None)
    assert client.get("/coordinator/").status_code == 302  # to the login page
    login(client, people["manufacturer"])
    assert client.get("/coordinator/").status_code == 403
    for who in ("coordinator27", "admin"):
        login(client, people[who])
        assert client.get("/coordinator/").status_code == 200


def test_desk_lists_only_own_regions(client, factories, people):
    factories.organization(region="27", name="ООО «Хабаровское»")
    factories.organization(region="25", name="ООО «Приморское»")
    login(client, people["coordinator27"])
    page = client.get("/coordinator/organizations").get_data(as_text=True)
    assert "ООО «Хабаровское»" in page and "ООО «Приморское»" not in page
    assert client.get("/coordinator/organizations?region=25").status_code == 404
    assert client.get("/coordinator/needs?region=25").status_code == 404
    assert client.get("/coordinator/organizations?region=27").status_code == 200
    login(client, people["admin"])
    page = client.get("/coordinator/organizations").get_data(as_text=True)
    assert "ООО «Хабаровское»" in page and "ООО «Приморское»" in page


def test_verify_through_the_page(client, factories, people, db):
    org = factories.organization(region="27")
    login(client, people["coordinator25"])
    assert post(client, None, f"/coordinator/organizations/{org.id}/verify", verified="1").status_code == 404
    db.session.refresh(org)
    assert not org.verified
    login(client, people["coordinator27"])
    assert post(client, None, f"/coordinator/organizations/{org.id}/verify", verified="1").status_code == 302
    db.session.refresh(org)
    assert org.verified


def test_hide_through_the_page(client, factories, people, db):
    listing = factories.listing(ListingKind.CAPABILITY, organization=factories.organization(region="27"),
                                okved2=["25.62"])
    hide_url = f"/coordinator/listings/{listing.id}/hide"
    login(client, people["coordinator25"])
    assert client.get(hide_url).status_code == 404
    assert client.post(hide_url, data={"reason": "x", "csrf_token": csrf_token(client)}).status_code == 404
    login(client, people["coordinator27"])
    response = post(client, hide_url, reason="")
    assert response.status_code == 200 and "обязательное поле" in response.get_data(as_text=True)
    assert post(client, hide_url, reason="Нарушение правил площадки").status_code == 302
    db.session.refresh(listing)
    assert listing.status == ListingStatus.HIDDEN


def test_closed_tender_lot_cannot_be_reached_by_a_coordinator(client, factories, people):
    world = make_tender(factories, visibility="closed", invited=[factories.organization()])
    login(client, people["coordinator27"])
    assert client.get(f"/coordinator/listings/{world.lot.id}/hide").status_code == 404
    assert world.lot.title not in client.get("/coordinator/needs").get_data(as_text=True)


def test_unknown_ids_are_404(client, people):
    login(client, people["admin"])
    assert client.get("/coordinator/listings/999999/hide").status_code == 404
    assert post(client, None, "/coordinator/organizations/999999/verify").status_code == 404


def test_long_lists_come_in_pages_with_statuses_in_words(client, factories, people, db):
    from marketplace.core.paging import PER_PAGE

    org = factories.organization(region="27", name="ООО «Много заявок»")
    titles = [f"Заявка № {i:03d}" for i in range(PER_PAGE + 7)]
    for title in titles:
        factories.listing(ListingKind.PURCHASE_REQUEST, organization=org, title=title)
    login(client, people["coordinator27"])
    first = client.get("/coordinator/needs?region=27").get_data(as_text=True)
    shown = [t for t in titles if t in first]
    assert len(shown) == PER_PAGE and f"из {PER_PAGE + 7}" in first and "страница 1 из 2" in first
    (next_link,) = re.findall(r'rel="next" href="([^"]+)"', first)
    assert "page=2" in next_link and "region=27" in next_link  # the page's own arguments are kept
    second = client.get("/coordinator/needs?region=27&page=2").get_data(as_text=True)
    assert {t for t in titles if t in second} == set(titles) - set(shown)
    assert client.get("/coordinator/needs?region=27&page=abc").status_code == 200  # page 1, not an error
    assert "страница 2 из 2" in client.get("/coordinator/needs?region=27&page=99").get_data(as_text=True)
    listings = client.get("/coordinator/listings?region=27").get_data(as_text=True)
    assert "опубликовано" in listings and ">active<" not in listings  # the status in words, not its value
