"""The matching endpoints of /api/v1: classification, ad-hoc match, a listing's matches, policy, feed, status."""
from __future__ import annotations

from marketplace.accounts.models import UserRole
from marketplace.matches import services


def test_classify_and_its_validation(client):
    response = client.post("/api/v1/classify", json={"text": "токарная обработка металлических деталей", "top": 3})
    assert response.status_code == 200
    body = response.get_json()
    assert body["scheme"] == "okpd2" and len(body["codes"]) == 3 and body["codes"][0]["code"].startswith("25.62")
    bad = client.post("/api/v1/classify", json={"text": "", "scheme": "oktmo"})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert set(bad.get_json()["errors"]) >= {"scheme"}


def test_ad_hoc_match_in_the_cli_format(client, market):
    response = client.post("/api/v1/match", json={"text": "токарная обработка валов из стали", "region": "27"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["policy"] == "strict" and body["active_tier"] == "local"
    assert body["matches"][0]["listing_id"] == market.khv.id
    bad = client.post("/api/v1/match", json={"text": "токарные работы", "region": "99", "quantity": -5})
    assert bad.status_code == 422
    assert "quantity" in bad.get_json()["errors"]  # the schema refuses a negative amount before anything runs
    unknown = client.post("/api/v1/match", json={"text": "токарные работы", "region": "99"})
    assert unknown.status_code == 422 and "region" in unknown.get_json()["errors"]


def test_listing_matches_are_private_to_the_need_and_follow_the_policy(client, db, factories, market, bearer):
    services.refresh_listing(market.need.id)
    db.session.commit()
    buyer = factories.user(role=UserRole.BUYER, organization=market.buyer)
    stranger = factories.user(organization=factories.organization(region="54"))
    coordinator_far = factories.user(role=UserRole.COORDINATOR, regions=["54"])
    url = f"/api/v1/listings/{market.need.id}/matches"
    assert client.get(url).status_code == 404
    assert client.get(url, headers=bearer(stranger)).status_code == 404
    assert client.get(url, headers=bearer(coordinator_far)).status_code == 404
    response = client.get(url, headers=bearer(buyer))
    assert response.status_code == 200
    body = response.get_json()
    assert [m["listing_id"] for m in body["matches"]] == [market.khv.id] and body["hidden_lower_tiers"] >= 2
    weighted = client.get(url + "?mode=weighted", headers=bearer(buyer)).get_json()
    assert [m["tier"] for m in weighted["matches"]][:3] == ["local", "district", "national"]
    assert client.get(url + "?mode=loose", headers=bearer(buyer)).status_code == 400

    policy_url = f"/api/v1/listings/{market.need.id}/match-policy"
    assert client.put(policy_url, json={"mode": "weighted"}, headers=bearer(stranger)).status_code == 404
    bad = client.put(policy_url, json={"mode": "weighted", "threshold": 3}, headers=bearer(buyer))
    assert bad.status_code == 422 and "threshold" in bad.get_json()["errors"]
    ok = client.put(policy_url, json={"mode": "weighted"}, headers=bearer(buyer))
    assert ok.status_code == 200 and ok.get_json()["mode"] == "weighted"
    assert len(client.get(url, headers=bearer(buyer)).get_json()["matches"]) >= 3  # the need's own policy now


def test_refresh_runs_the_job_and_answers_202(client, db, factories, market, bearer):
    buyer = factories.user(role=UserRole.BUYER, organization=market.buyer)
    stranger = factories.user(organization=factories.organization(region="54"))
    url = f"/api/v1/listings/{market.need.id}/matches/refresh"
    assert client.post(url, headers=bearer(stranger)).status_code == 404
    assert client.post(url).status_code == 401
    response = client.post(url, headers=bearer(buyer))
    assert response.status_code == 202
    body = response.get_json()
    assert body["job"] == "finished" and body["result"]["active_tier"] == "local"  # inline without Redis
    listed = client.get(f"/api/v1/listings/{market.need.id}/matches", headers=bearer(buyer)).get_json()
    assert [m["listing_id"] for m in listed["matches"]] == [market.khv.id]


def test_feed_and_match_status(client, db, factories, market, bearer):
    services.refresh_listing(market.need.id)
    db.session.commit()
    supplier = factories.user(organization=market.khv.organization)
    feed = client.get("/api/v1/matches/feed", headers=bearer(supplier))
    assert feed.status_code == 200
    items = feed.get_json()["items"]
    assert [i["listing_id"] for i in items] == [market.need.id] and items[0]["offer_id"] == market.khv.id
    assert client.get("/api/v1/matches/feed").status_code == 401

    match_id = items[0]["match_id"]
    stranger = factories.user(organization=factories.organization(region="54"))
    assert client.patch(f"/api/v1/matches/{match_id}", json={"status": "seen"},
                        headers=bearer(stranger)).status_code == 404
    response = client.patch(f"/api/v1/matches/{match_id}", json={"status": "contacted"}, headers=bearer(supplier))
    assert response.status_code == 200 and response.get_json()["status"] == "contacted"
    bad = client.patch(f"/api/v1/matches/{match_id}", json={"status": "married"}, headers=bearer(supplier))
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]
