"""The demo's organizations have contacts (phone, e-mail, website, contact persons) that pass the import's checks,
so the producer pages of `cosmos demo` show them."""
from marketplace.demo.seed import build_records, demo_contacts
from marketplace.importer.service import import_records
from marketplace.organizations.contacts import persons_of
from marketplace.organizations.models import Organization
from tests.web.conftest import login, page_text


def test_every_russian_demo_organization_has_contacts_that_import(client, db, factories):
    records = build_records(organizations=40, seed=5)
    orgs = [r for r in records if r["type"] == "organization" and r["country"] == "RU"]
    assert orgs and all(r["phone"] and r["email"] and r["website"] and r["contacts"] for r in orgs)
    import_records(list(enumerate(records, start=1)), source="demo")
    org = db.session.query(Organization).filter_by(tax_id=orgs[0]["tax_id"]).one()
    assert org.phone == orgs[0]["phone"] and persons_of(org)
    login(client, factories.user(organization=factories.organization()))
    html = page_text(client.get(f"/producers/{org.id}"))
    assert org.phone in html and persons_of(org)[0].full_name in html


def test_demo_contacts_are_deterministic():
    assert demo_contacts("272100001", "ООО «Амурмаш»") == demo_contacts("272100001", "ООО «Амурмаш»")
