"""The bell, the notifications page (read/unread, links, paging) and the e-mail settings."""
from marketplace.notifications.models import Notification
from marketplace.notifications.preferences import modes_for
from marketplace.notifications.services import notify
from tests.web.conftest import login, page_text, submit


def test_bell_page_paging_and_reading(client, db, parties):
    p = parties
    for n in range(25):
        notify(p.supplier_org.id, "match_need", f"Потребность №{n}", link=f"/listings/{p.need.id}")
    other = notify(p.buyer_org.id, "deal_offer", "Чужое уведомление")
    login(client, p.supplier)
    html = page_text(client.get("/my/feed"))
    assert 'class="badge rounded-pill text-bg-danger unread-count">25<' in html
    first = page_text(client.get("/notifications/"))
    assert "Потребность №24" in first and "Потребность №4" not in first and "1 / 2" in first
    assert "Потребность №4" in page_text(client.get("/notifications/?page=2"))
    assert "Чужое уведомление" not in first
    note = db.session.query(Notification).filter_by(title="Потребность №24").one()
    response = submit(client, "/notifications/", {}, action=f"/notifications/{note.id}/open")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/listings/{p.need.id}")
    db.session.expire_all()
    assert db.session.get(Notification, note.id).read_at is not None
    assert "Потребность №24" not in page_text(client.get("/notifications/?unread=1"))
    assert submit(client, "/notifications/", {}, action=f"/notifications/{other.id}/open").status_code == 404
    submit(client, "/notifications/", {}, action="/notifications/read-all")
    assert "unread-count" not in page_text(client.get("/notifications/"))


def test_email_settings_are_saved_and_bad_input_is_named(client, db, parties):
    p = parties
    login(client, p.buyer)
    response = submit(client, "/notifications/settings", {"messages": "daily", "matches": "off", "tenders": "instant",
                                                          "chains": "weekly"})
    assert response.status_code == 422 and 'data-field="chains"' in page_text(response)
    assert modes_for(p.buyer)["messages"] == "instant" and modes_for(p.buyer)["matches"] == "instant"  # not saved
    response = submit(client, "/notifications/settings", {"messages": "daily", "matches": "off",
                                                          "tenders": "instant", "chains": "instant"})
    assert response.status_code == 302
    assert modes_for(p.buyer.id)["messages"] == "daily" and modes_for(p.buyer.id)["matches"] == "off"
    login(client, None)
    assert client.get("/notifications/").status_code == 302  # to the login page
