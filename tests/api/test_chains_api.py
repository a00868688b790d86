"""/api/v1 for cooperation chains: templates, requests (built by the chains.build job, inline here), a chain with
its costs and explanations, the coordinator's review (approve, reject, swap, comment), the review queue; invalid
requests name the field and save nothing; who gets 404 and who 403."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import UserRole
from marketplace.chains import services
from marketplace.chains.models import ChainRequest, ChainStatus
from marketplace.notifications.models import Notification
from tests.chains.conftest import index, offers  # noqa: F401  (fixtures: the embedded index, offers in regions)
from tests.chains.scenario import pump_request, seed_pump_unit

PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run ``chains.build`` inline, as the embedded mode does; record the other jobs (e-mails, the outbox)."""
    from workers import queue

    real = queue.enqueue
    calls: list[str] = []

    def fake_enqueue(name: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        if name == "chains.build":
            return real(name, *args, **kwargs)
        return queue.JobHandle(name, "queued", id="test")

    monkeypatch.setattr(queue, "enqueue", fake_enqueue)
    return calls


class People:
    def __init__(self, factories: Any, fast_passwords: Any) -> None:
        self.buyer_org = factories.organization(region="27", name="АО «Хабаровский заказчик»")
        self.buyer = factories.user(role=UserRole.BUYER, organization=self.buyer_org)
        self.coordinator_27 = factories.user(role=UserRole.COORDINATOR, regions=["27"])
        self.coordinator_25 = factories.user(role=UserRole.COORDINATOR, regions=["25"])
        self.stranger = factories.user(role=UserRole.MANUFACTURER,
                                       organization=factories.organization(region="25"))
        self.admin = factories.user(role=UserRole.ADMIN)


@pytest.fixture
def people(factories, fast_passwords) -> People:
    return People(factories, fast_passwords)


@pytest.fixture
def auth(bearer, people):
    cache: dict[str, dict[str, str]] = {}

    def headers(name: str) -> dict[str, str]:
        if name not in cache:
            cache[name] = bearer(getattr(people, name))
        return cache[name]

    return headers


@pytest.fixture
def seeded(offers, factories):  # noqa: F811  (offers is the imported fixture)
    return seed_pump_unit(offers, factories)


@pytest.fixture
def built(db, people, seeded):
    """The buyer's pump unit request for Хабаровский край, built with two alternatives."""
    row = services.create_request(pump_request(), user=people.buyer, organization_id=people.buyer_org.id)
    services.build(row.id, alternatives=2)
    db.session.commit()
    return row


def problem(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return response.get_json(force=True)


def count_requests(db) -> int:
    return db.session.scalar(select(func.count()).select_from(ChainRequest))


# Templates and requests --------------------------------------------------------------------------------------------

def test_templates_are_listed_with_their_routes(client):
    body = client.get("/api/v1/chains/templates").get_json()
    names = [t["name"] for t in body["items"]]
    assert names == sorted(names) and {"pump_unit", "bronze_bushing", "wooden_frame_house"} <= set(names)
    pump = next(t for t in body["items"] if t["name"] == "pump_unit")
    assert pump["title"] and pump["unit_weight_kg"] > 0
    stage_ids = {s["id"] for s in pump["stages"]}
    assert all(set(s["after"]) <= stage_ids for s in pump["stages"])
    assert any(len(s["after"]) > 1 for s in pump["stages"])  # parallel branches join at assembly


def test_request_from_a_template_is_built_and_answered_with_202(client, db, people, auth, seeded, enqueued):
    response = client.post("/api/v1/chains/requests", headers=auth("buyer"),
                           json={"template": "pump_unit", "quantity": 10, "delivery_region": "27",
                                 "deadline_days": 120, "alternatives": 2})
    assert response.status_code == 202, response.get_data(as_text=True)
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/chains/requests/{body['id']}")
    assert body["job"]["name"] == "chains.build" and body["job"]["status"] == "finished"
    assert body["status"] == "built" and body["done"] is True and body["progress"] == 1.0
    assert body["template"] == "pump_unit" and body["organization_id"] == people.buyer_org.id
    assert body["quantity"] == "10.000" and body["delivery_region"] == "27"
    assert 1 <= len(body["chains"]) <= 3 and body["chains"][0]["rank"] == 0
    assert enqueued.count("chains.build") == 1
    again = client.get(f"/api/v1/chains/requests/{body['id']}", headers=auth("buyer")).get_json()
    assert again["status"] == "built" and [c["id"] for c in again["chains"]] == [c["id"] for c in body["chains"]]


def test_request_as_for_the_cli_file_keeps_the_route(client, auth, seeded):
    data = {"item": "Втулка бронзовая", "quantity": 5, "unit_weight_kg": 2.5, "delivery_region": "27",
            "deadline_days": 60,
            "stages": [{"id": "machining", "text": "Токарная обработка втулки", "okved2": ["25.62"],
                        "after": ["casting"]},
                       {"id": "casting", "text": "Литьё бронзы", "okved2": ["24.54"]}]}
    response = client.post("/api/v1/chains/requests", headers=auth("buyer"), json=data)
    assert response.status_code == 202, response.get_data(as_text=True)
    body = response.get_json()
    assert [s["id"] for s in body["stages"]] == ["casting", "machining"]  # topological order
    assert body["stages"][1]["after"] == ["casting"] and body["item"] == "Втулка бронзовая"
    assert body["status"] == "built"
    chain = client.get(f"/api/v1/chains/{body['chains'][0]['id']}", headers=auth("buyer")).get_json()
    assert {a["stage"] for a in chain["assignments"]} == {"casting", "machining"}


def test_a_build_in_progress_shows_its_status(client, db, people, auth, monkeypatch, seeded):
    from workers import queue

    monkeypatch.setattr(queue, "enqueue", lambda name, *a, **k: queue.JobHandle(name, "queued", id="rq-42"))
    response = client.post("/api/v1/chains/requests", headers=auth("buyer"),
                           json={"template": "pump_unit", "quantity": 10, "delivery_region": "27"})
    body = response.get_json()
    assert response.status_code == 202
    assert body["job"] == {"name": "chains.build", "id": "rq-42", "status": "queued", "error": None}
    assert body["status"] == "pending" and body["done"] is False and body["chains"] == []
    row = db.session.get(ChainRequest, body["id"])
    assert row.job_id == "rq-42"
    row.status, row.progress, row.message = "building", 0.4, "Исполнители найдены для 3 из 7 этапов"
    db.session.commit()
    status = client.get(f"/api/v1/chains/requests/{body['id']}", headers=auth("buyer")).get_json()
    assert (status["status"], status["progress"], status["done"]) == ("building", 0.4, False)
    assert status["message"].startswith("Исполнители найдены") and status["job_id"] == "rq-42"


INVALID = [
    pytest.param({"stages": [{"id": "a", "text": "Литьё", "after": ["b"]},
                             {"id": "b", "text": "Обработка", "after": ["a"]}]}, "stages", "cycle", id="cycle"),
    pytest.param({"delivery_region": "99"}, "delivery_region", "", id="unknown-region"),
    pytest.param({"quantity": -5}, "quantity", "negative", id="negative-quantity"),
    pytest.param({"stages": [{"id": "a", "text": "Литьё"}, {"id": "b", "text": "Обработка", "after": ["x"]}]},
                 "stages[1].after", "x", id="unknown-predecessor"),
    pytest.param({"stages": [{"id": "a", "text": "Литьё", "okved2": [25]}]}, "stages[0].okved2[0]", "",
                 id="code-not-a-string"),
    pytest.param({"stages": [{"id": "a", "text": "Литьё", "colour": "red"}]}, "stages[0].colour", "",
                 id="unknown-stage-field"),
    pytest.param({"deadline_days": "soon"}, "deadline_days", "", id="deadline-not-a-number"),
    pytest.param({"item": None}, "item", "", id="item-null"),
]


def valid_request() -> dict[str, Any]:
    return {"item": "Корпус", "quantity": 10, "unit_weight_kg": 50, "delivery_region": "27", "deadline_days": 90,
            "stages": [{"id": "casting", "text": "Литьё корпуса", "okved2": ["24.51"]},
                       {"id": "machining", "text": "Обработка корпуса", "okved2": ["25.62"], "after": ["casting"]}]}


@pytest.mark.parametrize(("change", "field", "words"), INVALID)
def test_invalid_requests_name_the_field_and_save_nothing(client, db, auth, enqueued, change, field, words):
    before = count_requests(db)
    response = client.post("/api/v1/chains/requests", headers=auth("buyer"), json={**valid_request(), **change})
    body = problem(response, 422)
    assert body["type"] == "urn:cosmos:problem:validation"
    assert field in body["errors"], body["errors"]
    assert words in " ".join(body["errors"][field])
    assert count_requests(db) == before and "chains.build" not in enqueued


@pytest.mark.parametrize(("data", "field"), [
    ({"template": "no_such_template", "quantity": 1, "delivery_region": "27"}, "template"),
    ({"template": "pump_unit", "delivery_region": "27"}, "quantity"),
    ({"template": "pump_unit", "quantity": 1}, "delivery_region"),
    ({"template": "pump_unit", "quantity": 1, "delivery_region": "27", "okpd2": "28.13"}, "okpd2"),
])
def test_invalid_template_requests_name_the_field(client, db, auth, enqueued, data, field):
    before = count_requests(db)
    body = problem(client.post("/api/v1/chains/requests", headers=auth("buyer"), json=data), 422)
    assert field in body["errors"], body["errors"]
    assert count_requests(db) == before and "chains.build" not in enqueued


def test_a_coordinator_requests_chains_only_for_their_regions(client, db, auth, seeded):
    before = count_requests(db)
    data = {"template": "pump_unit", "quantity": 2, "delivery_region": "27"}
    body = problem(client.post("/api/v1/chains/requests", headers=auth("coordinator_25"), json=data), 422)
    assert "delivery_region" in body["errors"] and count_requests(db) == before
    assert client.post("/api/v1/chains/requests", headers=auth("coordinator_27"), json=data).status_code == 202


def test_writing_needs_a_token_and_another_organization_is_refused(client, db, people, auth):
    data = {"template": "pump_unit", "quantity": 2, "delivery_region": "27"}
    problem(client.post("/api/v1/chains/requests", json=data), 401)
    problem(client.post("/api/v1/chains/requests", headers=auth("stranger"),
                        json={**data, "organization_id": people.buyer_org.id}), 403)


def test_my_requests(client, auth, built):
    mine = client.get("/api/v1/chains/requests", headers=auth("buyer")).get_json()
    assert [r["id"] for r in mine["items"]] == [built.id] and mine["meta"]["total"] == 1
    assert client.get("/api/v1/chains/requests", headers=auth("stranger")).get_json()["items"] == []


# A chain -------------------------------------------------------------------------------------------------------

def test_chain_has_costs_route_explanations_and_history(client, auth, built):
    chain = client.get(f"/api/v1/chains/{built.chains[0].id}", headers=auth("buyer")).get_json()
    assert chain["status"] == "suggested" and chain["request_id"] == built.id and chain["delivery_region"] == "27"
    assert float(chain["total_cost"]) == pytest.approx(built.chains[0].total_cost, abs=0.01)
    assert float(chain["production_cost"]) + float(chain["transport_cost"]) == pytest.approx(
        float(chain["total_cost"]), abs=0.02)
    assert chain["lead_time_days"] <= 120 and chain["distance_km"] > 0
    assert sum(chain["localization"].values()) == pytest.approx(1.0, abs=1e-3)
    by_stage = {a["stage"]: a for a in chain["assignments"]}
    assert by_stage["assembly"]["region"] == "27" and by_stage["assembly"]["tier"] == "local"
    assert by_stage["housing_casting"]["tier"] == "district"  # Приморье casts: the region cannot
    assert {"organization", "listing_id", "organization_id", "price_per_unit", "start_day", "finish_day"} <= set(
        by_stage["assembly"])
    assert any(leg["to"] == "delivery" for leg in chain["legs"]) and all(leg["km"] >= 0 for leg in chain["legs"])
    assert any("Литьё корпуса" in text for text in chain["explanations"])
    assert chain["violations"] == [] and chain["feasible"] is True
    assert [e["kind"] for e in chain["history"]] == ["built"]


def test_who_sees_a_request_and_its_chains(client, auth, built):
    chain_id = built.chains[0].id
    for name in ("buyer", "coordinator_27", "admin"):
        assert client.get(f"/api/v1/chains/requests/{built.id}", headers=auth(name)).status_code == 200, name
        assert client.get(f"/api/v1/chains/{chain_id}", headers=auth(name)).status_code == 200, name
    for name in ("coordinator_25", "stranger"):
        problem(client.get(f"/api/v1/chains/requests/{built.id}", headers=auth(name)), 404)
        problem(client.get(f"/api/v1/chains/{chain_id}", headers=auth(name)), 404)
    problem(client.get(f"/api/v1/chains/{chain_id}"), 404)  # anonymous
    problem(client.get("/api/v1/chains/2000000000", headers=auth("admin")), 404)


# The coordinator's review ----------------------------------------------------------------------------------------

def test_coordinator_approves_and_participants_are_notified(client, db, auth, built, enqueued):
    best, other = built.chains[0], built.chains[1]
    response = client.post(f"/api/v1/chains/{best.id}/approve", headers=auth("coordinator_27"),
                           json={"comment": "Согласовано с заказчиком"})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "approved" and body["reason"] == "Согласовано с заказчиком"
    assert body["decided_at"] and body["history"][-1]["kind"] == "approved"
    db.session.expire_all()
    assert db.session.get(type(other), other.id).status == ChainStatus.REJECTED
    participants = {int(a["organization_id"]) for a in best.result["assignments"]}
    notified = set(db.session.scalars(select(Notification.organization_id)
                                      .where(Notification.kind == "chain_approved")))
    assert notified == participants
    assert enqueued.count("notifications.email") == len(participants)
    again = problem(client.post(f"/api/v1/chains/{best.id}/approve", headers=auth("coordinator_27"), json={}), 409)
    assert again["type"] == "urn:cosmos:problem:state-conflict" and "status" in again["errors"]
    problem(client.post(f"/api/v1/chains/requests/{built.id}/rebuild", headers=auth("buyer")), 409)


def test_participants_of_an_approved_chain_see_it(client, db, factories, people, bearer, auth, built):
    chain = built.chains[0]
    org_id = int(chain.result["assignments"][0]["organization_id"])
    member = factories.user(role=UserRole.MANUFACTURER, organization=db.session.get(type(people.buyer_org), org_id))
    headers = bearer(member)
    problem(client.get(f"/api/v1/chains/{chain.id}", headers=headers), 404)
    assert client.post(f"/api/v1/chains/{chain.id}/approve", headers=auth("coordinator_27"), json={}).status_code \
        == 200
    assert client.get(f"/api/v1/chains/{chain.id}", headers=headers).status_code == 200
    problem(client.post(f"/api/v1/chains/{chain.id}/comments", headers=headers, json={"text": "Готовы"}), 403)


def test_a_buyer_may_not_decide_and_another_region_is_404(client, db, auth, built):
    chain_id = built.chains[0].id
    for action, data in (("approve", {}), ("reject", {"reason": "дорого"}), ("comment", {"text": "?"}),
                         ("swap", {"stage": "assembly", "listing_id": 1})):
        path = f"/api/v1/chains/{chain_id}/{'comments' if action == 'comment' else action}"
        problem(client.post(path, headers=auth("buyer"), json=data), 403)
        problem(client.post(path, headers=auth("coordinator_25"), json=data), 404)
        problem(client.post(path, headers=auth("stranger"), json=data), 404)
        problem(client.post(path, json=data), 401)
    problem(client.get(f"/api/v1/chains/{chain_id}/alternatives", headers=auth("buyer")), 403)
    problem(client.get(f"/api/v1/chains/{chain_id}/alternatives", headers=auth("coordinator_25")), 404)
    db.session.expire_all()
    assert db.session.get(type(built.chains[0]), chain_id).status == ChainStatus.SUGGESTED


def test_reject_needs_a_reason(client, auth, built):
    chain_id = built.chains[0].id
    assert "reason" in problem(client.post(f"/api/v1/chains/{chain_id}/reject", headers=auth("coordinator_27"),
                                           json={}), 422)["errors"]
    assert "reason" in problem(client.post(f"/api/v1/chains/{chain_id}/reject", headers=auth("coordinator_27"),
                                           json={"reason": "   "}), 422)["errors"]
    body = client.post(f"/api/v1/chains/{chain_id}/reject", headers=auth("coordinator_27"),
                       json={"reason": "Литейка не подтвердила сроки"}).get_json()
    assert body["status"] == "rejected" and body["reason"] == "Литейка не подтвердила сроки"
    assert body["history"][-1]["kind"] == "rejected" and body["history"][-1]["user_name"]


def test_swap_recomputes_the_chain_and_names_what_it_breaks(client, auth, built, seeded):
    chain_id = built.chains[0].id
    options = client.get(f"/api/v1/chains/{chain_id}/alternatives", headers=auth("coordinator_27")).get_json()
    by_stage = {o["stage"]: o for o in options["items"]}
    machining = by_stage["housing_machining"]
    assert machining["current_listing_id"] == seeded.machining_27.id
    alternative = next(a for a in machining["alternatives"] if a["listing_id"] == seeded.machining_27_alt.id)
    assert alternative["tier"] == "local" and alternative["region"] == "27"
    before = client.get(f"/api/v1/chains/{chain_id}", headers=auth("coordinator_27")).get_json()
    response = client.post(f"/api/v1/chains/{chain_id}/swap", headers=auth("coordinator_27"),
                           json={"stage": "housing_machining", "listing_id": seeded.machining_27_alt.id})
    assert response.status_code == 200, response.get_data(as_text=True)
    swapped = response.get_json()
    assigned = {a["stage"]: a["listing_id"] for a in swapped["assignments"]}
    assert assigned["housing_machining"] == seeded.machining_27_alt.id
    assert float(swapped["total_cost"]) > float(before["total_cost"]) and swapped["violations"] == []
    assert swapped["history"][-1]["kind"] == "swapped"
    far = next(a for a in by_stage["impeller_casting"]["alternatives"] if a["listing_id"] == seeded.bronze_54.id)
    flagged = client.post(f"/api/v1/chains/{chain_id}/swap", headers=auth("coordinator_27"),
                          json={"stage": "impeller_casting", "listing_id": far["listing_id"]}).get_json()
    assert "tier" in flagged["violations"] and flagged["feasible"] is False
    stored = client.get(f"/api/v1/chains/{chain_id}", headers=auth("buyer")).get_json()
    assert stored["violations"] == flagged["violations"]


def test_swap_takes_only_offers_of_the_pool(client, auth, built, seeded):
    chain_id = built.chains[0].id
    outside = problem(client.post(f"/api/v1/chains/{chain_id}/swap", headers=auth("coordinator_27"),
                                  json={"stage": "assembly", "listing_id": seeded.machining_54.id}), 422)
    assert "listing_id" in outside["errors"]
    unknown = problem(client.post(f"/api/v1/chains/{chain_id}/swap", headers=auth("coordinator_27"),
                                  json={"stage": "nope", "listing_id": seeded.machining_54.id}), 422)
    assert "stage" in unknown["errors"]
    assert "listing_id" in problem(client.post(f"/api/v1/chains/{chain_id}/swap", headers=auth("coordinator_27"),
                                               json={"stage": "assembly"}), 422)["errors"]


def test_comments_go_into_the_history(client, auth, built):
    chain_id = built.chains[0].id
    assert "text" in problem(client.post(f"/api/v1/chains/{chain_id}/comments", headers=auth("coordinator_27"),
                                         json={"text": " "}), 422)["errors"]
    response = client.post(f"/api/v1/chains/{chain_id}/comments", headers=auth("coordinator_27"),
                           json={"text": "Проверить сертификат сборщика"})
    assert response.status_code == 201
    assert response.get_json()["kind"] == "comment"
    history = client.get(f"/api/v1/chains/{chain_id}", headers=auth("buyer")).get_json()["history"]
    assert [e["kind"] for e in history] == ["built", "comment"] and history[-1]["text"].startswith("Проверить")


def test_review_queue_shows_suggested_chains_in_the_coordinators_regions(client, auth, built):
    ids = [c.id for c in built.chains]
    queue = client.get("/api/v1/coordinator/chains", headers=auth("coordinator_27")).get_json()
    assert [c["id"] for c in queue["items"]] == ids and queue["meta"]["total"] == len(ids)
    assert all(c["status"] == "suggested" and c["item"] == built.item for c in queue["items"])
    assert client.get("/api/v1/coordinator/chains", headers=auth("coordinator_25")).get_json()["items"] == []
    assert client.get("/api/v1/coordinator/chains?region=25", headers=auth("admin")).get_json()["items"] == []
    client.post(f"/api/v1/chains/{ids[0]}/approve", headers=auth("coordinator_27"), json={})
    assert client.get("/api/v1/coordinator/chains", headers=auth("coordinator_27")).get_json()["items"] == []
    approved = client.get("/api/v1/coordinator/chains?status=approved", headers=auth("coordinator_27")).get_json()
    assert [c["id"] for c in approved["items"]] == [ids[0]]
    everything = client.get("/api/v1/coordinator/chains?status=all", headers=auth("admin")).get_json()
    assert {c["id"] for c in everything["items"]} == set(ids)
    problem(client.get("/api/v1/coordinator/chains", headers=auth("buyer")), 403)
    problem(client.get("/api/v1/coordinator/chains"), 401)
    problem(client.get("/api/v1/coordinator/chains?status=maybe", headers=auth("coordinator_27")), 400)


def test_rebuild_by_the_author_replaces_the_suggested_chains(client, auth, built):
    old = len(built.chains)  # built with 2 alternatives; a rebuild asks for the default 3
    response = client.post(f"/api/v1/chains/requests/{built.id}/rebuild", headers=auth("buyer"))
    assert response.status_code == 202, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "built" and body["job"]["status"] == "finished"
    assert len(body["chains"]) == services.DEFAULT_ALTERNATIVES + 1 > old
    assert [c["rank"] for c in body["chains"]] == list(range(len(body["chains"])))
    problem(client.post(f"/api/v1/chains/requests/{built.id}/rebuild", headers=auth("coordinator_25")), 404)


def test_responses_follow_the_openapi_document(app, client, auth, built, seeded):
    """Every chain operation's answers — successes and problems — match what /api/v1/openapi.json declares."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite hands back naive date-times, written without the offset the schema's date-time wants")
    import schemathesis

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    coordinator = auth("coordinator_27")
    calls = [
        ("GET", "/api/v1/chains/templates", "/api/v1/chains/templates", None, {}),
        ("GET", "/api/v1/chains/requests", "/api/v1/chains/requests", None, auth("buyer")),
        ("POST", "/api/v1/chains/requests", "/api/v1/chains/requests",
         {"template": "pump_unit", "quantity": 3, "delivery_region": "27"}, auth("buyer")),
        ("POST", "/api/v1/chains/requests", "/api/v1/chains/requests", {"quantity": -1}, auth("buyer")),
        ("GET", "/api/v1/chains/requests/{request_id}", f"/api/v1/chains/requests/{built.id}", None, auth("buyer")),
        ("POST", "/api/v1/chains/requests/{request_id}/rebuild", f"/api/v1/chains/requests/{built.id}/rebuild",
         None, auth("buyer")),
    ]
    for method, template, path, body, headers in calls:
        response = client.open(path, method=method, json=body, headers=headers)
        schema[template][method].validate_response(response)
    best, other = (chain["id"] for chain in client.get(f"/api/v1/chains/requests/{built.id}",
                                                       headers=coordinator).get_json()["chains"][:2])  # rebuilt
    machining = next(o for o in client.get(f"/api/v1/chains/{best}/alternatives", headers=coordinator)
                     .get_json()["items"] if o["stage"] == "housing_machining")
    calls = [
        ("GET", "/api/v1/chains/{chain_id}", f"/api/v1/chains/{best}", None, auth("buyer")),
        ("GET", "/api/v1/chains/{chain_id}/alternatives", f"/api/v1/chains/{best}/alternatives", None, coordinator),
        ("POST", "/api/v1/chains/{chain_id}/swap", f"/api/v1/chains/{best}/swap",
         {"stage": "housing_machining", "listing_id": machining["alternatives"][0]["listing_id"]}, coordinator),
        ("POST", "/api/v1/chains/{chain_id}/comments", f"/api/v1/chains/{best}/comments", {"text": "Ок"},
         coordinator),
        ("POST", "/api/v1/chains/{chain_id}/approve", f"/api/v1/chains/{best}/approve", {}, auth("buyer")),
        ("POST", "/api/v1/chains/{chain_id}/reject", f"/api/v1/chains/{other}/reject", {"reason": "дорого"},
         coordinator),
        ("POST", "/api/v1/chains/{chain_id}/approve", f"/api/v1/chains/{best}/approve", {}, coordinator),
        ("POST", "/api/v1/chains/{chain_id}/approve", f"/api/v1/chains/{best}/approve", {}, coordinator),
        ("GET", "/api/v1/coordinator/chains", "/api/v1/coordinator/chains?status=all", None, coordinator),
        ("GET", "/api/v1/chains/{chain_id}", f"/api/v1/chains/{best}", None, auth("coordinator_25")),
    ]
    statuses = []
    for method, template, path, body, headers in calls:
        response = client.open(path, method=method, json=body, headers=headers)
        statuses.append(response.status_code)
        schema[template][method].validate_response(response)
    assert statuses == [200, 200, 200, 201, 403, 200, 200, 409, 200, 404]
