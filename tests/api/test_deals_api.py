"""Requests for quotation through /api/v1: the flow with a token, errors by field with nothing saved, the OpenAPI
document, and the authorization matrix extended to conversations (7 roles; another organization's conversation by
id is a 404, an action of the other side 403, one the status forbids 409)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from marketplace.deals import services
from marketplace.deals.models import Conversation, QuoteRequest
from marketplace.listings.models import ListingKind
from tests.api.conftest import ROLES

BODY = {"title": "Валы по чертежу", "quantity": 200, "unit": "шт", "delivery_region": "27",
        "deadline": (date.today() + timedelta(days=30)).isoformat(), "text": "Просим цену и срок"}


@pytest.fixture
def deal_world(world, factories, db):
    from datetime import UTC, datetime

    for user in world.users.values():
        if user is not None:
            user.email_confirmed_at = datetime.now(UTC)
    need = factories.listing(ListingKind.MISSING_OPERATION, organization=world.buyer_org, title="Токарка валов",
                             region_code="27")
    request = services.send_request(world.buyer_org, world.users["buyer"], {**BODY, "quantity": "200"},
                                    [services.Target(world.org_a.id, world.listing_a.id)], need=need)
    db.session.flush()
    world.extra.update(conversation=request.conversations[0], need=need)
    return world


def statuses(*codes: int) -> dict[str, int]:
    return dict(zip(ROLES, codes, strict=True))


# (anonymous, member_a = supplier, member_b, buyer, coordinator_27 = delivery region, coordinator_25, admin)
MATRIX = [
    ("read the conversation", "GET", "", None, statuses(404, 200, 404, 200, 200, 404, 200)),
    ("write a message", "POST", "/messages", {"body": "Добрый день"}, statuses(401, 201, 404, 201, 403, 404, 403)),
    ("make an offer", "POST", "/offer", {"price": "450000"}, statuses(401, 201, 404, 403, 403, 404, 403)),
    ("accept before an offer", "POST", "/accept", {}, statuses(401, 403, 404, 409, 403, 404, 403)),
    ("decline", "POST", "/decline", {"reason": "дорого"}, statuses(401, 200, 404, 200, 403, 404, 403)),
]


@pytest.mark.parametrize(("name", "method", "suffix", "body", "expected"),
                         [pytest.param(*case, id=case[0]) for case in MATRIX])
@pytest.mark.parametrize("role", ROLES)
def test_conversation_authorization_matrix(client, deal_world, as_role, role, name, method, suffix, body, expected):
    conversation = deal_world.extra["conversation"]
    kwargs: dict[str, Any] = {"headers": as_role(role)}
    if body is not None:
        kwargs["json"] = body
    response = client.open(f"/api/v1/conversations/{conversation.id}{suffix}", method=method, **kwargs)
    assert response.status_code == expected[role], response.get_data(as_text=True)
    if expected[role] >= 400:
        assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("role", ROLES)
def test_lists_and_unknown_ids(client, deal_world, as_role, role):
    conversation = deal_world.extra["conversation"]
    assert client.get("/api/v1/conversations/2000000000", headers=as_role(role)).status_code == 404
    listed = client.get("/api/v1/conversations", headers=as_role(role)).get_json()["items"]
    sees = role in ("member_a", "buyer", "coordinator_27", "admin")
    assert ([c["id"] for c in listed] == [conversation.id]) is sees


def test_the_flow_through_the_api(client, db, deal_world, as_role):
    w = deal_world
    buyer, supplier = as_role("buyer"), as_role("member_a")
    created = client.post("/api/v1/quote-requests", headers=buyer, json={
        **BODY, "need_id": w.extra["need"].id,
        "suppliers": [{"offer_id": w.listing_a.id}, {"organization_id": w.org_b.id}]})
    assert created.status_code == 201, created.get_data(as_text=True)
    ids = [c["id"] for c in created.get_json()["conversations"]]
    assert len(ids) == 2
    offer = client.post(f"/api/v1/conversations/{ids[0]}/offer", headers=supplier,
                        json={"price": "450000.50", "lead_time_days": 21})
    assert offer.status_code == 201 and offer.get_json()["price"] == "450000.50"
    accepted = client.post(f"/api/v1/conversations/{ids[0]}/accept", headers=buyer,
                           json={"offer_message_id": offer.get_json()["id"]})
    assert accepted.status_code == 200 and accepted.get_json()["amount"] == "450000.50"
    detail = client.get(f"/api/v1/conversations/{ids[0]}", headers=supplier).get_json()
    assert detail["status"] == "accepted" and [m["kind"] for m in detail["messages"]] == ["request", "offer", "accept"]
    again = client.post(f"/api/v1/conversations/{ids[0]}/messages", headers=supplier, json={"body": "ещё"})
    assert again.status_code == 409
    notes = client.get("/api/v1/notifications?unread=true", headers=supplier).get_json()["items"]
    assert any(n["kind"] == "deal_accepted" for n in notes)


def test_bad_requests_name_the_fields_and_save_nothing(client, db, deal_world, as_role):
    w = deal_world
    before = db.session.query(QuoteRequest).count(), db.session.query(Conversation).count()
    response = client.post("/api/v1/quote-requests", headers=as_role("buyer"), json={
        **BODY, "suppliers": [{"offer_id": w.draft_a.id}]})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert "suppliers[0].offer_id" in errors
    response = client.post("/api/v1/quote-requests", headers=as_role("buyer"), json={
        **BODY, "delivery_region": "99", "deadline": "2001-01-01", "suppliers": [{"organization_id": w.org_a.id}]})
    assert set(response.get_json()["errors"]) >= {"delivery_region", "deadline"}
    response = client.post("/api/v1/quote-requests", headers=as_role("buyer"), json={
        **BODY, "quantity": -1, "text": "  ", "suppliers": [{"organization_id": w.org_a.id}]})
    assert set(response.get_json()["errors"]) == {"quantity", "text"}
    assert (db.session.query(QuoteRequest).count(), db.session.query(Conversation).count()) == before
    assert client.post("/api/v1/quote-requests", json=BODY).status_code == 401


def test_openapi_documents_the_deals(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/conversations", "/quote-requests", "/conversations/{conversation_id}",
                 "/conversations/{conversation_id}/offer", "/conversations/{conversation_id}/accept",
                 "/notifications"):
        assert path in spec["paths"] or f"/api/v1{path}" in spec["paths"], path
