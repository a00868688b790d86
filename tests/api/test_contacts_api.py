"""Contacts through the API: members replace them (errors by field, nothing saved), strangers may not (403),
anonymous callers see what COSMOS_CONTACTS_PUBLIC allows, in the contacts and in the organization's profile."""
from marketplace.organizations.contacts import persons_of
from tests.web.conftest import _forget_request_state


def test_member_replaces_contacts_and_errors_name_the_field(client, db, factories, bearer):
    org = factories.organization()
    member = factories.user(organization=org)
    body = {"phone": "+7 (4212) 45-67-89", "website": "zavod.ru",
            "contacts": [{"full_name": "Иванов Иван", "position": "менеджер", "email": "ivanov@zavod.ru"}]}
    response = client.put(f"/api/v1/organizations/{org.id}/contacts", json=body, headers=bearer(member))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["website"] == "https://zavod.ru"
    assert response.get_json()["contacts"][0]["full_name"] == "Иванов Иван"
    bad = {"phone": "12", "contacts": [{"full_name": "Петров", "email": "petrov@"}]}
    response = client.put(f"/api/v1/organizations/{org.id}/contacts", json=bad, headers=bearer(member))
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"phone", "contacts.0.email"}
    assert [c.full_name for c in persons_of(org)] == ["Иванов Иван"]
    stranger = factories.user(organization=factories.organization())
    assert client.put(f"/api/v1/organizations/{org.id}/contacts", json=body,
                      headers=bearer(stranger)).status_code == 403
    assert client.put(f"/api/v1/organizations/{org.id}/contacts", json=body).status_code == 401


def test_anonymous_callers_see_what_the_setting_allows(app, client, db, factories, bearer):
    org = factories.organization(phone="+7 4212 45-67-89", email="sales@zavod.ru", website="https://zavod.ru")
    reader = factories.user(organization=factories.organization())
    assert client.get(f"/api/v1/organizations/{org.id}").get_json()["phone"] is None
    card = client.get(f"/api/v1/organizations/{org.id}/contacts").get_json()
    assert card["phone"] is None and card["website"] is None and card["hidden"] is True
    assert client.get(f"/api/v1/organizations/{org.id}", headers=bearer(reader)).get_json()["phone"] == org.phone
    _forget_request_state()  # the test's requests share one application context: drop the reader
    app.config["CONTACTS_PUBLIC"] = "website"
    try:
        card = client.get(f"/api/v1/organizations/{org.id}/contacts").get_json()
        assert card["website"] == "https://zavod.ru" and card["email"] is None
    finally:
        app.config["CONTACTS_PUBLIC"] = "none"
