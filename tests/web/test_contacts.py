"""Contacts: members edit them (errors name the field, nothing half-saved, input kept), signed-in users see them on
the producer and listing pages, anonymous visitors see what COSMOS_CONTACTS_PUBLIC allows."""
import pytest

from marketplace.accounts.models import Membership, MembershipRole
from marketplace.core.models import AuditLog
from marketplace.organizations.contacts import persons_of, split_persons_cell
from marketplace.organizations.models import Organization
from tests.web.conftest import login, page_text, submit

GOOD = {"phone": "+7 (4212) 45-67-89", "email": "Sales@Zavod.ru", "website": "zavod.ru", "address": "Хабаровск, ул. Заводская, 1",
        "contacts-0-full_name": "Иванов Иван", "contacts-0-position": "менеджер по продажам",
        "contacts-0-phone": "8 914 123-45-67", "contacts-0-email": "ivanov@zavod.ru"}


@pytest.fixture
def org_with_member(factories, db):
    org = factories.organization(name="ООО «Контактный завод»")
    owner = factories.user(organization=org)
    member = factories.user()
    db.session.add(Membership(user=member, organization=org, role=MembershipRole.MEMBER))
    db.session.flush()
    return org, owner, member


def test_a_member_saves_contacts_and_they_are_audited(client, db, org_with_member):
    org, _owner, member = org_with_member
    login(client, member)
    url = f"/organizations/{org.id}/contacts"
    response = submit(client, url, GOOD)
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Organization, org.id)
    assert (saved.phone, saved.email, saved.website) == ("+7 (4212) 45-67-89", "sales@zavod.ru", "https://zavod.ru")
    assert [(c.full_name, c.position, c.email) for c in persons_of(org.id)] == [
        ("Иванов Иван", "менеджер по продажам", "ivanov@zavod.ru")]
    assert db.session.query(AuditLog).filter_by(action="update_contacts", entity_id=str(org.id)).count() == 1


def test_bad_contacts_name_the_field_keep_the_input_and_save_nothing(client, db, org_with_member):
    org, owner, _ = org_with_member
    login(client, owner)
    bad = {**GOOD, "phone": "12-34", "contacts-0-email": "not-an-email", "contacts-1-phone": "+7 914 000-00-00"}
    response = submit(client, f"/organizations/{org.id}/contacts", bad)
    assert response.status_code == 422
    html = page_text(response)
    for field in ("phone", "contacts[0].email", "contacts[1].full_name"):
        assert f'data-field="{field}"' in html
    assert "12-34" in html and "not-an-email" in html  # the input is kept
    db.session.expire_all()
    assert db.session.get(Organization, org.id).phone is None and persons_of(org.id) == []


def test_a_stranger_cannot_edit_contacts(client, factories, org_with_member):
    org, _, _ = org_with_member
    login(client, factories.user(organization=factories.organization()))
    assert client.get(f"/organizations/{org.id}/contacts").status_code == 404


def test_producer_and_listing_pages_show_contacts_by_viewer(app, client, db, factories, org_with_member):
    org, owner, _ = org_with_member
    org.phone, org.email, org.website = "+7 4212 45-67-89", "sales@zavod.ru", "https://zavod.ru"
    listing = factories.listing(organization=org, title="Токарная обработка валов")
    login(client, factories.user(organization=factories.organization()))
    for url in (f"/producers/{org.id}", f"/listings/{listing.id}"):
        html = page_text(client.get(url))
        assert "+7 4212 45-67-89" in html and "sales@zavod.ru" in html, url
    login(client, None)
    html = page_text(client.get(f"/producers/{org.id}"))
    assert "sales@zavod.ru" not in html and "zavod.ru" not in html and "contacts-hidden" in html
    app.config["CONTACTS_PUBLIC"] = "website"
    try:
        html = page_text(client.get(f"/listings/{listing.id}"))
        assert "https://zavod.ru" in html and "sales@zavod.ru" not in html
        app.config["CONTACTS_PUBLIC"] = "all"
        assert "sales@zavod.ru" in page_text(client.get(f"/producers/{org.id}"))
    finally:
        app.config["CONTACTS_PUBLIC"] = "none"


def test_import_cell_of_contact_persons():
    assert split_persons_cell("Иванов Иван, менеджер, +7 914 123-45-67, ivanov@zavod.ru; Петров П.") == [
        {"full_name": "Иванов Иван", "position": "менеджер", "phone": "+7 914 123-45-67", "email": "ivanov@zavod.ru"},
        {"full_name": "Петров П."}]
