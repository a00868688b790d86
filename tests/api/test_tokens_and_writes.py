"""Personal tokens (API and CLI) and the writes over the listing, tender and community services."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from marketplace.api.models import ApiToken
from marketplace.api.tokens import hash_token
from marketplace.listings.models import Listing, ListingStatus


def confirm(user):
    user.email_confirmed_at = datetime.now(UTC)
    return user


def test_token_is_shown_once_stored_as_hash_and_revocable(client, db, world, bearer):
    headers = bearer(world.users["member_a"])
    created = client.post("/api/v1/tokens", json={"name": "1С:ERP"}, headers=headers)
    assert created.status_code == 201
    secret = created.get_json()["token"]
    assert secret.startswith("cosmos_")
    row = db.session.get(ApiToken, created.get_json()["id"])
    assert row.token_hash == hash_token(secret) and secret not in (row.token_hash, row.prefix)
    listed = client.get("/api/v1/tokens", headers=headers).get_json()["items"]
    assert all("token" not in t for t in listed) and created.get_json()["id"] in {t["id"] for t in listed}

    mine = {"Authorization": f"Bearer {secret}"}
    me = client.get("/api/v1/me", headers=mine)
    assert me.status_code == 200 and me.get_json()["id"] == world.users["member_a"].id
    assert db.session.get(ApiToken, row.id).last_used_at is not None

    assert client.delete(f"/api/v1/tokens/{row.id}", headers=headers).status_code == 204
    refused = client.get("/api/v1/me", headers=mine)
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    assert "Bearer" in refused.headers["WWW-Authenticate"]


def test_someone_elses_token_cannot_be_revoked(client, world, bearer):
    headers_a = bearer(world.users["member_a"])
    other = client.post("/api/v1/tokens", json={"name": "B"}, headers=bearer(world.users["member_b"])).get_json()
    assert client.delete(f"/api/v1/tokens/{other['id']}", headers=headers_a).status_code == 404


def test_bad_authorization_headers_are_401_even_for_public_reads(client):
    for value in ("Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer "):
        response = client.get("/api/v1/regions", headers={"Authorization": value})
        assert response.status_code == 401, value
        assert response.mimetype == "application/problem+json"


def test_inactive_users_tokens_stop_working(client, world, bearer):
    headers = bearer(world.users["member_a"])
    world.users["member_a"].is_active = False
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_cli_creates_lists_and_revokes_tokens(runner, db, world):
    email = world.users["member_a"].email
    result = runner.invoke(args=["api", "token", "create", "--email", email, "--name", "Интеграция"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    assert token is not None and token.name == "Интеграция"
    listed = runner.invoke(args=["api", "token", "list", "--email", email])
    assert token.prefix in listed.output and secret not in listed.output
    assert runner.invoke(args=["api", "token", "revoke", str(token.id)]).exit_code == 0
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    missing = runner.invoke(args=["api", "token", "create", "--email", "nobody@example.ru", "--name", "x"])
    assert missing.exit_code != 0


def test_create_update_archive_renew_listing(client, db, world, bearer, enqueued):
    headers = bearer(confirm(world.users["member_a"]))
    created = client.post("/api/v1/listings", headers=headers, json={
        "kind": "capability", "title": "Фрезерная обработка", "okved2": ["25.62"], "okpd2": ["25.62.20"],
        "capacity_per_month": 300, "lead_time_days": 10, "region": "27", "town": "Хабаровск"})
    assert created.status_code == 201, created.get_data(as_text=True)
    item = created.get_json()
    assert item["organization_id"] == world.org_a.id and item["status"] == "active"
    assert item["okpd2"] == ["25.62.20"] and float(item["capacity_per_month"]) == 300
    assert "search.drain_outbox" in enqueued
    listing_id = item["id"]

    patched = client.patch(f"/api/v1/listings/{listing_id}", headers=headers, json={"price": "1500.50"})
    assert patched.status_code == 200 and patched.get_json()["price"] == "1500.50"
    assert patched.get_json()["title"] == "Фрезерная обработка"  # untouched fields keep their values

    archived = client.post(f"/api/v1/listings/{listing_id}/archive", headers=headers)
    assert archived.get_json()["status"] == "archived"
    until = (datetime.now(UTC).date() + timedelta(days=60)).isoformat()
    renewed = client.post(f"/api/v1/listings/{listing_id}/renew", headers=headers, json={"ends_on": until})
    assert renewed.status_code == 200 and renewed.get_json()["status"] == "active"
    assert renewed.get_json()["ends_on"] == until


def test_service_validation_errors_come_back_by_field(client, world, bearer):
    headers = bearer(confirm(world.users["member_a"]))
    response = client.post("/api/v1/listings", headers=headers, json={
        "kind": "surplus", "title": "Неликвид", "okpd2": ["99.99.99"], "equipment": "станок"})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert {"okpd2", "quantity", "equipment"} <= set(errors)
    assert db_count_titles(world, "Неликвид") == 0


def db_count_titles(world, title: str) -> int:
    from marketplace.extensions import db

    return len(db.session.scalars(select(Listing).where(Listing.title == title)).all())


def test_unconfirmed_users_save_drafts_only(client, world, bearer):
    headers = bearer(world.users["member_b"])
    active = client.post("/api/v1/listings", headers=headers,
                         json={"kind": "product", "title": "Болты", "status": "active"})
    assert active.status_code == 422 and "status" in active.get_json()["errors"]
    draft = client.post("/api/v1/listings", headers=headers, json={"kind": "product", "title": "Болты",
                                                                   "status": "draft"})
    assert draft.status_code == 201 and draft.get_json()["status"] == ListingStatus.DRAFT.value


def test_tender_flow_through_the_api(client, world, bearer):
    buyer = bearer(confirm(world.users["buyer"]))
    supplier = bearer(confirm(world.users["member_a"]))
    deadline = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    tender = client.post("/api/v1/tenders", headers=buyer, json={
        "title": "Поставка фланцев", "visibility": "closed", "submission_deadline": deadline,
        "invited_organization_ids": [world.org_a.id]})
    assert tender.status_code == 201, tender.get_data(as_text=True)
    tender_id = tender.get_json()["id"]
    lot = client.post(f"/api/v1/tenders/{tender_id}/lots", headers=buyer, json={
        "title": "Фланцы Ду100", "okpd2": ["25.62.20"], "quantity": 40, "unit": "шт", "region": "27",
        "delivery_deadline": (datetime.now(UTC).date() + timedelta(days=40)).isoformat()})
    assert lot.status_code == 201, lot.get_data(as_text=True)
    lot_id = lot.get_json()["id"]
    # A draft is invisible to the invited supplier until published.
    assert client.get(f"/api/v1/tenders/{tender_id}", headers=supplier).status_code == 404
    assert client.post(f"/api/v1/tenders/{tender_id}/publish", headers=buyer).get_json()["status"] == "published"
    response = client.post(f"/api/v1/tenders/{tender_id}/lots/{lot_id}/responses", headers=supplier,
                           json={"price": 1200, "quantity": 40, "lead_time_days": 14})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert float(response.get_json()["total"]) == 48000
    response_id = response.get_json()["id"]
    updated = client.put(f"/api/v1/responses/{response_id}", headers=supplier,
                         json={"price": 1100, "quantity": 40, "lead_time_days": 10, "comment": "скидка"})
    assert updated.status_code == 200 and updated.get_json()["price"] == "1100.00"
    early = client.post(f"/api/v1/tenders/{tender_id}/lots/{lot_id}/award", headers=buyer,
                        json={"response_id": response_id})
    assert early.status_code == 409 and early.get_json()["type"] == "urn:cosmos:problem:state-conflict"
    from marketplace.extensions import db
    from marketplace.tenders.models import Tender

    db.session.get(Tender, tender_id).submission_deadline = datetime.now(UTC) - timedelta(minutes=1)
    db.session.flush()
    award = client.post(f"/api/v1/tenders/{tender_id}/lots/{lot_id}/award", headers=buyer,
                        json={"response_id": response_id})
    assert award.status_code == 200, award.get_data(as_text=True)
    assert award.get_json()["supplier_organization_id"] == world.org_a.id
    assert client.get(f"/api/v1/tenders/{tender_id}", headers=buyer).get_json()["status"] == "awarded"
    assert client.get(f"/api/v1/responses/{response_id}", headers=supplier).get_json()["status"] == "awarded"


def test_join_open_community(client, world, bearer):
    headers = bearer(world.users["member_a"])
    joined = client.post(f"/api/v1/communities/{world.open_community.id}/join", headers=headers, json={})
    assert joined.status_code == 200
    assert joined.get_json() == {"community_id": world.open_community.id, "organization_id": world.org_a.id,
                                 "status": "active"}


def test_session_cookie_cannot_write(client, world):
    """Without a token the API does not write, even for a logged-in browser (no CSRF token travels with it)."""
    with client.session_transaction() as session:
        session["_user_id"] = world.users["member_a"].get_id()
        session["_fresh"] = True
    assert client.get(f"/api/v1/listings/{world.draft_a.id}").status_code == 200  # the session reads
    response = client.post("/api/v1/tokens", json={"name": "x"})
    assert response.status_code == 401
