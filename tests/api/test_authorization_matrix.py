"""Who may read and change what through /api/v1: every role against every endpoint that reads or changes private
data, other organizations' objects included. The rules are the web's: members change their organization's data,
closed tenders and their responses are seen by the buyer and the invited suppliers, a response by its author and
the buyer, coordinators act in their regions, admins everywhere; what a caller may not see is a 404."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from tests.api.conftest import ROLES, World
from tests.chains.conftest import index, offers  # noqa: F401  (fixtures for the chain cases)

Path = Callable[[World], str]


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: Path
    expected: dict[str, int]  # role → status
    body: dict[str, Any] | Callable[[World], dict[str, Any]] | None = None


def statuses(anonymous: int, member_a: int, member_b: int, buyer: int, coordinator_27: int, coordinator_25: int,
             admin: int) -> dict[str, int]:
    return dict(zip(ROLES, (anonymous, member_a, member_b, buyer, coordinator_27, coordinator_25, admin),
                    strict=True))


RESPONSE = {"price": "95.50", "quantity": "100", "lead_time_days": 12, "comment": "со склада"}
CASES = [
    # Organizations: profiles are public; the owner (and admins) edit them.
    Case("edit A's profile", "PATCH", lambda w: f"/api/v1/organizations/{w.org_a.id}",
         statuses(401, 200, 403, 403, 403, 403, 200), {"description": "Токарные и фрезерные работы"}),
    Case("edit an unknown organization", "PATCH", lambda w: "/api/v1/organizations/2000000000",
         statuses(401, 404, 404, 404, 404, 404, 404), {"description": "x"}),
    # Listings: public, draft, hidden (hidden_a and draft_a belong to A, region 27).
    Case("public listing", "GET", lambda w: f"/api/v1/listings/{w.listing_a.id}",
         statuses(200, 200, 200, 200, 200, 200, 200)),
    Case("draft listing of A", "GET", lambda w: f"/api/v1/listings/{w.draft_a.id}",
         statuses(404, 200, 404, 404, 200, 404, 200)),
    Case("hidden listing of A", "GET", lambda w: f"/api/v1/listings/{w.hidden_a.id}",
         statuses(404, 200, 404, 404, 200, 404, 200)),
    Case("edit public listing of A", "PATCH", lambda w: f"/api/v1/listings/{w.listing_a.id}",
         statuses(401, 200, 403, 403, 403, 403, 200), {"description": "Новое описание"}),
    Case("edit draft listing of A", "PATCH", lambda w: f"/api/v1/listings/{w.draft_a.id}",
         statuses(401, 200, 404, 404, 403, 404, 200), {"title": "Новое название"}),
    Case("archive listing of A", "POST", lambda w: f"/api/v1/listings/{w.listing_a.id}/archive",
         statuses(401, 200, 403, 403, 403, 403, 200)),
    Case("renew draft listing of A", "POST", lambda w: f"/api/v1/listings/{w.draft_a.id}/renew",
         statuses(401, 200, 404, 404, 403, 404, 200), {"ends_on": (date.today() + timedelta(days=30)).isoformat()}),
    # Tenders: the closed one is the buyer's and invited A's; the draft is the buyer's only.
    Case("closed tender", "GET", lambda w: f"/api/v1/tenders/{w.closed_tender.id}",
         statuses(404, 200, 404, 200, 404, 404, 200)),
    Case("lot of the closed tender", "GET", lambda w: f"/api/v1/tenders/{w.closed_tender.id}/lots/{w.closed_lot.id}",
         statuses(404, 200, 404, 200, 404, 404, 200)),
    Case("lot of the closed tender as a listing", "GET", lambda w: f"/api/v1/listings/{w.closed_lot.id}",
         statuses(404, 200, 404, 200, 404, 404, 200)),
    Case("draft tender", "GET", lambda w: f"/api/v1/tenders/{w.draft_tender.id}",
         statuses(404, 404, 404, 200, 404, 404, 200)),
    Case("edit draft tender", "PATCH", lambda w: f"/api/v1/tenders/{w.draft_tender.id}",
         statuses(401, 404, 404, 200, 404, 404, 200), {"title": "Поставка втулок, уточнено"}),
    Case("edit published closed tender", "PATCH", lambda w: f"/api/v1/tenders/{w.closed_tender.id}",
         statuses(401, 403, 404, 409, 404, 404, 409), {"title": "Другое"}),
    Case("add lot to draft tender", "POST", lambda w: f"/api/v1/tenders/{w.draft_tender.id}/lots",
         statuses(401, 404, 404, 201, 404, 404, 201),
         {"title": "Лот 2", "okpd2": ["25.62.20"], "quantity": 5, "unit": "шт", "region": "27",
          "delivery_deadline": "2099-06-30"}),
    Case("publish draft tender", "POST", lambda w: f"/api/v1/tenders/{w.draft_tender.id}/publish",
         statuses(401, 404, 404, 200, 404, 404, 200)),
    Case("cancel closed tender", "POST", lambda w: f"/api/v1/tenders/{w.closed_tender.id}/cancel",
         statuses(401, 403, 404, 200, 404, 404, 200), {"reason": "потребность отпала"}),
    # Responses: A's on the closed tender, B's on the open one.
    # Before the deadline a response is a sealed envelope: its author reads it, the buyer (and an admin) only
    # learns how many there are.
    Case("A's response", "GET", lambda w: f"/api/v1/responses/{w.response_a.id}",
         statuses(404, 200, 404, 404, 404, 404, 404)),
    Case("B's response", "GET", lambda w: f"/api/v1/responses/{w.open_response_b.id}",
         statuses(404, 404, 200, 404, 404, 404, 404)),
    Case("edit A's response", "PUT", lambda w: f"/api/v1/responses/{w.response_a.id}",
         statuses(401, 200, 404, 404, 404, 404, 404), RESPONSE),
    Case("responses to the closed tender's lot", "GET",
         lambda w: f"/api/v1/tenders/{w.closed_tender.id}/lots/{w.closed_lot.id}/responses",
         statuses(404, 200, 404, 409, 404, 404, 409)),
    Case("response counts of the closed tender", "GET",
         lambda w: f"/api/v1/tenders/{w.closed_tender.id}/responses/count",
         statuses(401, 403, 404, 200, 404, 404, 200)),
    Case("respond to the closed tender", "POST",
         lambda w: f"/api/v1/tenders/{w.closed_tender.id}/lots/{w.closed_lot.id}/responses",
         statuses(401, 422, 404, 403, 404, 404, 403), RESPONSE),
    # A (not verified, not invited to the open tender) may not; B (verified) has responded already.
    Case("respond to the open tender", "POST",
         lambda w: f"/api/v1/tenders/{w.open_tender.id}/lots/{w.open_tender.lots[0].id}/responses",
         statuses(401, 422, 422, 403, 403, 403, 403), RESPONSE),
    Case("award before the deadline", "POST",
         lambda w: f"/api/v1/tenders/{w.open_tender.id}/lots/{w.open_tender.lots[0].id}/award",
         statuses(401, 403, 403, 409, 403, 403, 409), None),
    Case("my responses", "GET", lambda w: "/api/v1/responses", statuses(401, 200, 200, 200, 200, 200, 200)),
    # Coordinator actions: region 27 (A, the buyer) is coordinator_27's.
    Case("hide A's listing", "POST", lambda w: f"/api/v1/coordinator/listings/{w.listing_a.id}/hide",
         statuses(401, 403, 403, 403, 200, 404, 200), {"reason": "реклама, а не предложение"}),
    Case("unhide A's listing", "POST", lambda w: f"/api/v1/coordinator/listings/{w.hidden_a.id}/unhide",
         statuses(401, 403, 403, 403, 200, 404, 200)),
    Case("verify A", "POST", lambda w: f"/api/v1/coordinator/organizations/{w.org_a.id}/verify",
         statuses(401, 403, 403, 403, 200, 404, 200), {"verified": True}),
    Case("verify B", "POST", lambda w: f"/api/v1/coordinator/organizations/{w.org_b.id}/verify",
         statuses(401, 403, 403, 403, 404, 200, 200), {"verified": True}),
    # Communities: the secret one is B's only.
    Case("secret community", "GET", lambda w: f"/api/v1/communities/{w.secret_community.id}",
         statuses(404, 404, 200, 404, 404, 404, 200)),
    Case("join the secret community", "POST", lambda w: f"/api/v1/communities/{w.secret_community.id}/join",
         statuses(401, 404, 422, 404, 404, 404, 403), {}),
    Case("join the open community", "POST", lambda w: f"/api/v1/communities/{w.open_community.id}/join",
         statuses(401, 200, 422, 200, 403, 403, 403), {}),
    # The caller's own account.
    Case("me", "GET", lambda w: "/api/v1/me", statuses(401, 200, 200, 200, 200, 200, 200)),
    Case("tokens", "GET", lambda w: "/api/v1/tokens", statuses(401, 200, 200, 200, 200, 200, 200)),
]

PARAMS = [pytest.param(case, role, id=f"{case.name}-{role}") for case in CASES for role in ROLES]


@pytest.fixture
def confirmed(world):
    """Users who confirmed their e-mail (publishing needs it)."""
    from datetime import UTC, datetime

    for user in world.users.values():
        if user is not None:
            user.email_confirmed_at = datetime.now(UTC)
    return world


@pytest.mark.parametrize(("case", "role"), PARAMS)
def test_authorization_matrix(client, confirmed, as_role, case: Case, role: str):
    world = confirmed
    body = case.body
    if case.name == "award before the deadline":
        body = {"response_id": world.open_response_b.id}
    kwargs: dict[str, Any] = {"headers": as_role(role)}
    if body is not None:
        kwargs["json"] = body
    response = client.open(case.path(world), method=case.method, **kwargs)
    expected = case.expected[role]
    assert response.status_code == expected, response.get_data(as_text=True)
    if expected >= 400:
        assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("role", ROLES)
def test_lists_show_only_what_the_role_may_see(client, world, as_role, role):
    headers = as_role(role)
    listing_ids = {i["id"] for i in client.get(f"/api/v1/listings?organization={world.org_a.id}&per_page=100",
                                               headers=headers).get_json()["items"]}
    tender_ids = {t["id"] for t in client.get("/api/v1/tenders?per_page=100", headers=headers).get_json()["items"]}
    community_ids = {c["id"] for c in client.get("/api/v1/communities?per_page=100",
                                                 headers=headers).get_json()["items"]}
    lot_ids = {i["id"] for i in client.get("/api/v1/needs?kind=tender_lot&per_page=100",
                                           headers=headers).get_json()["items"]}
    sees_private_of_a = role in {"member_a", "coordinator_27", "admin"}
    assert (world.draft_a.id in listing_ids) is sees_private_of_a
    assert (world.hidden_a.id in listing_ids) is sees_private_of_a
    assert world.listing_a.id in listing_ids
    sees_closed = role in {"member_a", "buyer", "admin"}
    assert (world.closed_tender.id in tender_ids) is sees_closed
    assert (world.closed_lot.id in lot_ids) is sees_closed
    assert (world.draft_tender.id in tender_ids) is (role in {"buyer", "admin"})
    assert world.open_tender.id in tender_ids
    assert (world.secret_community.id in community_ids) is (role in {"member_b", "admin"})
    assert world.open_community.id in community_ids


@pytest.mark.parametrize(("role", "visible"), [("anonymous", 0), ("member_a", 0), ("member_b", 1), ("buyer", 1),
                                               ("coordinator_27", 0), ("coordinator_25", 0), ("admin", 1)])
def test_lot_responses_buyer_sees_all_suppliers_their_own(client, db, world, as_role, role, visible):
    from datetime import UTC, datetime

    lot = world.open_tender.lots[0]
    url = f"/api/v1/tenders/{world.open_tender.id}/lots/{lot.id}/responses"
    response = client.get(url, headers=as_role(role))
    if role in ("buyer", "admin"):  # sealed until the deadline: how many, not what
        assert response.status_code == 409 and "подано 1" in response.get_json()["detail"]
        counts = client.get(f"/api/v1/tenders/{world.open_tender.id}/responses/count", headers=as_role(role))
        assert counts.get_json()["sealed"] is True and counts.get_json()["lots"][0]["responses"] == 1
        assert "price" not in counts.get_data(as_text=True)
    else:
        assert response.status_code == 200
        assert [r["id"] for r in response.get_json()["items"]] == [world.open_response_b.id] * visible
    world.open_tender.submission_deadline = datetime.now(UTC)
    db.session.commit()
    response = client.get(url, headers=as_role(role))
    assert response.status_code == 200
    assert [r["id"] for r in response.get_json()["items"]] == [world.open_response_b.id] * visible
    if visible and role != "member_b":
        assert response.get_json()["items"][0]["price"] == "90.00"


def test_other_organizations_ids_in_bodies_are_refused(client, world, as_role):
    headers = as_role("member_b")
    response = client.post("/api/v1/listings", headers=headers,
                           json={"kind": "capability", "title": "Чужая", "okved2": ["25.62"], "status": "draft",
                                 "organization_id": world.org_a.id})
    assert response.status_code == 403
    missing = client.post("/api/v1/listings", headers=headers,
                          json={"kind": "capability", "title": "Чужая", "okved2": ["25.62"], "status": "draft",
                                "organization_id": 2_000_000_000})
    assert missing.status_code == 403  # the same answer: nothing learned about which ids exist


# Cooperation chains: the buyer (region 27) asked for a pump unit delivered to 27 and the builder suggested chains.
# Their reviewers are coordinator_27 and admins; the buyer sees them but may not decide (403); A, B and
# coordinator_25 may not see them (404).
def chain_path(suffix: str = "") -> Path:
    return lambda w: f"/api/v1/chains/{w.extra['chain'].id}{suffix}"


def swap_body(w: World) -> dict[str, Any]:
    from marketplace.chains import services

    row, chain = w.extra["request"], w.extra["chain"]
    option = services.alternatives_for(row, chain, "housing_machining")[0]
    return {"stage": "housing_machining", "listing_id": int(option["listing_id"])}


CHAIN_CASES = [
    Case("chain templates", "GET", lambda w: "/api/v1/chains/templates", statuses(200, 200, 200, 200, 200, 200, 200)),
    Case("my chain requests", "GET", lambda w: "/api/v1/chains/requests",
         statuses(401, 200, 200, 200, 200, 200, 200)),
    Case("request a chain for 27", "POST", lambda w: "/api/v1/chains/requests",
         statuses(401, 202, 202, 202, 202, 422, 202), {"template": "pump_unit", "quantity": 2, "delivery_region": "27"}),
    Case("the buyer's chain request", "GET", lambda w: f"/api/v1/chains/requests/{w.extra['request'].id}",
         statuses(404, 404, 404, 200, 200, 404, 200)),
    Case("rebuild the buyer's chain request", "POST",
         lambda w: f"/api/v1/chains/requests/{w.extra['request'].id}/rebuild",
         statuses(401, 404, 404, 202, 202, 404, 202)),
    Case("a chain of the buyer's request", "GET", chain_path(), statuses(404, 404, 404, 200, 200, 404, 200)),
    Case("alternatives for the chain's stages", "GET", chain_path("/alternatives"),
         statuses(404, 404, 404, 403, 200, 404, 200)),
    Case("approve the chain", "POST", chain_path("/approve"), statuses(401, 404, 404, 403, 200, 404, 200), {}),
    Case("reject the chain", "POST", chain_path("/reject"), statuses(401, 404, 404, 403, 200, 404, 200),
         {"reason": "дорого"}),
    Case("swap a supplier of the chain", "POST", chain_path("/swap"), statuses(401, 404, 404, 403, 200, 404, 200),
         swap_body),
    Case("comment on the chain", "POST", chain_path("/comments"), statuses(401, 404, 404, 403, 201, 404, 201),
         {"text": "Проверить сроки литья"}),
    Case("the coordinator's chain queue", "GET", lambda w: "/api/v1/coordinator/chains",
         statuses(401, 403, 403, 403, 200, 200, 200)),
]
CHAIN_PARAMS = [pytest.param(case, role, id=f"{case.name}-{role}") for case in CHAIN_CASES for role in ROLES]


@pytest.fixture
def chain_world(db, world, factories, offers):  # noqa: F811  (offers: the imported fixture)
    from marketplace.chains import services
    from tests.chains.scenario import pump_request, seed_pump_unit

    seed_pump_unit(offers, factories)
    row = services.create_request(pump_request(), user=world.users["buyer"], organization_id=world.buyer_org.id)
    services.build(row.id, alternatives=1)
    db.session.commit()
    world.extra.update(request=row, chain=row.chains[0])
    return world


@pytest.mark.parametrize(("case", "role"), CHAIN_PARAMS)
def test_chain_authorization_matrix(client, chain_world, as_role, case: Case, role: str):
    body = case.body(chain_world) if callable(case.body) else case.body
    kwargs: dict[str, Any] = {"headers": as_role(role)}
    if body is not None:
        kwargs["json"] = body
    response = client.open(case.path(chain_world), method=case.method, **kwargs)
    expected = case.expected[role]
    assert response.status_code == expected, response.get_data(as_text=True)
    if expected >= 400:
        assert response.mimetype == "application/problem+json"
