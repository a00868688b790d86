"""Pages: the coordinator's queue and chain page (approve, reject, swap, comment), requests from a template or
a form, the build status, and who gets 404."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from marketplace.accounts.models import UserRole
from marketplace.chains import services
from marketplace.chains.models import ChainRequest, ChainRequestStatus, ChainStatus, CooperationChain
from marketplace.notifications.models import Notification
from tests.chains.conftest import login, post
from tests.chains.scenario import pump_request, seed_pump_unit


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def coordinator(factories):
    return factories.user(role=UserRole.COORDINATOR, regions=["27"])


@pytest.fixture
def built(db, factories, offers, coordinator):
    seeded = seed_pump_unit(offers, factories)
    row = services.create_request(pump_request(), user=coordinator)
    services.build(row.id, alternatives=2)
    db.session.commit()
    return seeded, row


def test_anonymous_users_go_to_the_login_page(client, built):
    _, row = built
    for url in ("/chains/", "/chains/new", f"/chains/requests/{row.id}", f"/chains/chains/{row.chains[0].id}"):
        response = client.get(url)
        assert response.status_code == 302 and "/account/login" in response.headers["Location"], url


def test_coordinator_of_27_sees_the_queue_and_the_chain_page(client, coordinator, built):
    _, row = built
    login(client, coordinator)
    queue = client.get("/chains/")
    assert queue.status_code == 200 and row.item in text(queue)
    page = client.get(f"/chains/chains/{row.chains[0].id}")
    body = text(page)
    assert page.status_code == 200
    assert 'class="chain-diagram"' in body and "км" in body and "Хабаровский край" in body
    assert "Где цепочка выходит за регион" in body and "Поставка асинхронного электродвигателя" in body
    assert f'action="/chains/chains/{row.chains[0].id}/approve"' in body and "swap-form" in body


def test_coordinator_of_another_region_gets_404(client, factories, built):
    _, row = built
    other = factories.user(role=UserRole.COORDINATOR, regions=["25"])
    login(client, other)
    assert row.item not in text(client.get("/chains/"))
    chain_id = row.chains[0].id
    assert client.get(f"/chains/chains/{chain_id}").status_code == 404
    assert client.get(f"/chains/requests/{row.id}").status_code == 404
    assert client.get(f"/chains/requests/{row.id}/status").status_code == 404
    token_page = "/chains/new"
    response = post(client, token_page, f"/chains/chains/{chain_id}/approve")
    assert response.status_code == 404


def test_a_manufacturer_may_not_open_the_queue(client, factories):
    maker = factories.user(role=UserRole.MANUFACTURER, organization=factories.organization(region="27"))
    login(client, maker)
    assert client.get("/chains/").status_code == 403


def test_post_without_csrf_token_is_refused(client, coordinator, built):
    _, row = built
    login(client, coordinator)
    response = client.post(f"/chains/chains/{row.chains[0].id}/approve", data={})
    assert response.status_code == 400
    assert row.chains[0].status == ChainStatus.SUGGESTED


def test_coordinator_approves_and_participants_are_notified(client, db, coordinator, built, monkeypatch):
    from workers import queue

    _, row = built
    chain = row.chains[0]
    emailed = []
    monkeypatch.setattr(queue, "enqueue", lambda name, *a, **kw: emailed.append((name, a)))
    login(client, coordinator)
    url = f"/chains/chains/{chain.id}"
    response = post(client, url, url + "/approve", {"comment": "Согласовано"}, follow=True)
    assert response.status_code == 200 and "Цепочка утверждена" in text(response)
    db.session.expire_all()
    chain = db.session.get(CooperationChain, chain.id)
    assert chain.status == ChainStatus.APPROVED
    notes = list(db.session.scalars(select(Notification).where(Notification.kind == "chain_approved")))
    participants = {int(a["organization_id"]) for a in chain.result["assignments"]}
    assert {n.organization_id for n in notes} == participants
    assert sorted(a[0] for name, a in emailed if name == "notifications.email") == sorted(n.id for n in notes)
    assert "утверждена" in text(client.get(url))


def test_reject_without_reason_keeps_the_page_with_the_error(client, db, coordinator, built):
    _, row = built
    chain = row.chains[0]
    login(client, coordinator)
    url = f"/chains/chains/{chain.id}"
    response = post(client, url, url + "/reject", {"reason": "   "})
    assert response.status_code == 422 and "укажите причину отклонения" in text(response)
    response = post(client, url, url + "/reject", {"reason": "Нет мощности у литейки"}, follow=True)
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(CooperationChain, chain.id).reason == "Нет мощности у литейки"


def test_swap_and_comment_from_the_page_show_in_the_history(client, db, coordinator, built):
    seeded, row = built
    chain = row.chains[0]
    login(client, coordinator)
    url = f"/chains/chains/{chain.id}"
    response = post(client, url, url + "/swap", {"stage": "housing_machining",
                                                 "listing_id": str(seeded.machining_27_alt.id)}, follow=True)
    assert response.status_code == 200 and "Исполнитель заменён" in text(response)
    response = post(client, url, url + "/swap", {"stage": "housing_machining", "listing_id": "999999"})
    assert response.status_code == 422 and "выберите исполнителя" in text(response)
    post(client, url, url + "/comment", {"text": "Уточнить сроки у Амурмаша"})
    page = text(client.get(url))
    assert "замена исполнителя" in page and "Уточнить сроки у Амурмаша" in page and "ООО «Амурмаш»" in page


def test_request_from_a_template_builds_inline_and_shows_the_chains(client, db, factories, offers, coordinator):
    seed_pump_unit(offers, factories)
    login(client, coordinator)
    form = client.get("/chains/new?template=pump_unit")
    assert form.status_code == 200 and "housing_casting" in text(form)
    response = post(client, "/chains/new", "/chains/new",
                    {"template": "pump_unit", "quantity": "10", "delivery_region": "27", "deadline_days": "120"})
    assert response.status_code == 302
    row = db.session.scalar(select(ChainRequest).order_by(ChainRequest.id.desc()))
    assert response.headers["Location"].endswith(f"/chains/requests/{row.id}")
    assert row.status == ChainRequestStatus.BUILT and row.template == "pump_unit"
    status = client.get(f"/chains/requests/{row.id}/status").get_json()
    assert status["done"] is True and status["progress"] == 1.0 and status["chains"] == len(row.chains) >= 1
    page = text(client.get(f"/chains/requests/{row.id}"))
    assert "build-progress" in page and "Вариант 1" in page


def test_request_form_keeps_input_and_shows_errors_by_field(client, db, factories, coordinator):
    login(client, coordinator)
    stages = json.dumps([{"id": "a", "text": "Токарная обработка", "after": ["b"]}], ensure_ascii=False)
    response = post(client, "/chains/new", "/chains/new",
                    {"item": "Вал", "quantity": "много", "delivery_region": "27", "deadline_days": "30",
                     "unit_weight_kg": "2", "stages": stages})
    body = text(response)
    assert response.status_code == 422
    assert 'data-field="quantity"' in body and "введите число" in body and 'value="Вал"' in body
    response = post(client, "/chains/new", "/chains/new",
                    {"item": "Вал", "quantity": "5", "delivery_region": "27", "deadline_days": "30",
                     "unit_weight_kg": "2", "stages": stages})
    body = text(response)
    assert response.status_code == 422 and 'data-field="stages"' in body and "stages[0].after" in body
    response = post(client, "/chains/new", "/chains/new",
                    {"item": "Вал", "quantity": "5", "delivery_region": "25", "deadline_days": "30",
                     "unit_weight_kg": "2", "stages": stages.replace(', "after": ["b"]', "")})
    assert response.status_code == 422 and 'data-field="delivery_region"' in text(response)
    assert db.session.scalar(select(ChainRequest.id)) is None


def test_buyer_sees_own_request_but_cannot_decide(client, db, factories, offers):
    seed_pump_unit(offers, factories)
    buyer_org = factories.organization(region="27")
    buyer = factories.user(role=UserRole.BUYER, organization=buyer_org)
    login(client, buyer)
    response = post(client, "/chains/new", "/chains/new",
                    {"template": "pump_unit", "quantity": "10", "delivery_region": "27", "deadline_days": "120"})
    assert response.status_code == 302
    row = db.session.scalar(select(ChainRequest).order_by(ChainRequest.id.desc()))
    assert row.organization_id == buyer_org.id
    assert row.item in text(client.get("/chains/mine"))
    chain_url = f"/chains/chains/{row.chains[0].id}"
    page = text(client.get(chain_url))
    assert "approve-form" not in page
    assert post(client, chain_url, chain_url + "/approve").status_code == 404


def test_acceptance_khabarovsk_coordinator_template_to_approved_chain(client, db, factories, offers, coordinator):
    """A coordinator of Хабаровский край takes the pump template: the chain stays in 27 where the region can do the
    stage, the page explains where and why it leaves, the coordinator swaps a supplier and approves."""
    seeded = seed_pump_unit(offers, factories)
    login(client, coordinator)
    response = post(client, "/chains/new?template=pump_unit", "/chains/new",
                    {"template": "pump_unit", "quantity": "10", "delivery_region": "27", "deadline_days": "120"},
                    follow=True)
    assert response.status_code == 200 and "Вариант 1" in text(response)
    row = db.session.scalar(select(ChainRequest).order_by(ChainRequest.id.desc()))
    best = row.chains[0]
    tiers = {a["stage"]: (a["region"], a["tier"]) for a in best.result["assignments"]}
    assert {s for s, (region, _) in tiers.items() if region == "27"} == {
        "housing_machining", "impeller_machining", "shaft", "painting", "assembly"}
    assert tiers["housing_casting"] == ("25", "district") and tiers["motor"] == ("54", "national")

    url = f"/chains/chains/{best.id}"
    page = text(client.get(url))
    assert "Где цепочка выходит за регион и почему" in page
    assert "в регионе доставки исполнителей нет" in page  # the builder's reason for the castings and the motor

    # a machine shop is no painter (the platform's acceptability rule): the swap goes to the other machine shop
    current = {a["stage"]: a["listing_id"] for a in best.result["assignments"]}["housing_machining"]
    other = seeded.machining_27_alt if current == str(seeded.machining_27.id) else seeded.machining_27
    post(client, url, url + "/swap", {"stage": "housing_machining", "listing_id": str(other.id)})
    post(client, url, url + "/approve", {"comment": "Утверждено"})
    db.session.expire_all()
    best = db.session.get(CooperationChain, best.id)
    assert best.status == ChainStatus.APPROVED
    assert {a["stage"]: a["listing_id"] for a in best.result["assignments"]}["housing_machining"] == str(other.id)
    assert [e.kind for e in best.events] == ["built", "swapped", "approved"]
    notified = set(db.session.scalars(select(Notification.organization_id).where(
        Notification.kind == "chain_approved")))
    assert seeded.machining_27.organization_id in notified and seeded.motor_54.organization_id in notified
