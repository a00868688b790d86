"""``cosmos import`` reads an organization's contacts (phone, e-mail, website, address, contact persons) with the
same checks as the form: a bad value names its column and rejects the file; a re-import changes nothing."""
import pytest

from marketplace.importer.service import ImportRejected, import_records
from marketplace.organizations.contacts import persons_of
from marketplace.organizations.models import Organization
from marketplace.organizations.validators import make_inn

INN = make_inn("272100077")
ROW = {"type": "organization", "tax_id": INN, "name": "ООО «Амурмаш»", "region": "27", "kind": "manufacturer",
       "phone": "+7 (4217) 54-32-10", "email": "Sales@Amurmash.ru", "website": "amurmash.ru",
       "address": "Комсомольск-на-Амуре, ул. Заводская, 1",
       "contacts": "Иванов Иван Петрович, начальник отдела продаж, +7 914 123-45-67, ivanov@amurmash.ru; "
                   "Петрова Анна, инженер-технолог, 8 (4217) 54-32-11"}


def _org(db):
    return db.session.query(Organization).filter_by(tax_id=INN).one()


def test_contacts_are_imported_and_a_reimport_changes_nothing(db):
    import_records([(2, dict(ROW))])
    org = _org(db)
    assert (org.phone, org.email, org.website) == ("+7 (4217) 54-32-10", "sales@amurmash.ru", "https://amurmash.ru")
    persons = [(c.full_name, c.position, c.phone, c.email) for c in persons_of(org)]
    assert persons == [("Иванов Иван Петрович", "начальник отдела продаж", "+7 914 123-45-67", "ivanov@amurmash.ru"),
                       ("Петрова Анна", "инженер-технолог", "8 (4217) 54-32-11", None)]
    ids = [c.id for c in persons_of(org)]
    report = import_records([(2, dict(ROW))])
    assert report.organizations_unchanged == 1 and [c.id for c in persons_of(org)] == ids
    import_records([(2, {k: v for k, v in ROW.items() if k != "contacts"})])  # no column: persons stay
    assert len(persons_of(org)) == 2
    import_records([(2, {**ROW, "contacts": ""})])  # an empty cell: no persons
    assert persons_of(org) == []


@pytest.mark.parametrize(("column", "value", "field"), [
    ("phone", "12-34", "phone"), ("email", "sales@", "email"), ("website", "ftp://x", "website"),
    ("contacts", "Иванов, менеджер, +7 914 123-45-67, ivanov@", "contacts[0].email"),
])
def test_a_bad_contact_names_its_column(db, column, value, field):
    with pytest.raises(ImportRejected) as caught:
        import_records([(2, {**ROW, column: value})])
    assert [e.field for e in caught.value.report.errors] == [field]
    assert db.session.query(Organization).filter_by(tax_id=INN).count() == 0
