"""Chain requests on the marketplace: creation, building from the offers, the coordinator's review and history."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.accounts.models import UserRole
from marketplace.chains import services
from marketplace.chains.models import ChainRequestStatus, ChainStatus, CooperationChain
from marketplace.core.models import AuditLog
from marketplace.core.validation import ValidationFailed
from marketplace.notifications.models import Notification
from tests.chains.scenario import ASSEMBLY_CERT, pump_request, seed_pump_unit


def audit_actions(db, entity_type, entity_id):
    return list(db.session.scalars(select(AuditLog.action).where(
        AuditLog.entity_type == entity_type, AuditLog.entity_id == str(entity_id)).order_by(AuditLog.id)))


def test_request_from_template_is_pending_with_the_route_and_the_delivery_place(db, factories):
    coordinator = factories.user(role=UserRole.COORDINATOR, regions=["27"])
    row = services.create_from_template("pump_unit", quantity=10, delivery_region="27", user=coordinator)
    assert row.status == ChainRequestStatus.PENDING and row.template == "pump_unit"
    assert row.delivery_region == "27" and row.deadline_days == 90 and float(row.quantity) == 10
    assert [s["id"] for s in row.spec["stages"]][-1] == "assembly"
    assert row.spec["delivery_region"]["district"] == "FEFD" and row.spec["delivery_region"]["lat"]
    assert audit_actions(db, "chain_request", row.id) == ["chain_request.create"]


@pytest.mark.parametrize(("change", "field"), [
    ({"quantity": -5}, "quantity"),
    ({"delivery_region": "00"}, "delivery_region"),
    ({"stages": [{"id": "a", "text": "Литьё", "after": ["x"]}]}, "stages[0].after"),
    ({"stages": [{"id": "a", "text": "Литьё", "okved2": ["литьё"]}]}, "stages[0].okved2[0]"),
])
def test_invalid_request_names_the_field(db, change, field):
    data = {**pump_request(), **change}
    with pytest.raises(ValidationFailed) as caught:
        services.create_request(data)
    assert list(caught.value.as_dict()) == [field]


def test_unknown_template_is_a_field_error(db):
    with pytest.raises(ValidationFailed) as caught:
        services.create_from_template("rocket", quantity=1, delivery_region="27")
    assert "template" in caught.value.as_dict()


def test_build_keeps_stages_in_the_region_where_it_can_and_explains_the_rest(db, factories, offers):
    seeded = seed_pump_unit(offers, factories)
    row = services.create_request(pump_request())
    outcome = services.build(row.id, alternatives=2)
    assert row.status == ChainRequestStatus.BUILT and row.progress == 1.0
    assert len(row.chains) >= 1 and [c.rank for c in row.chains] == list(range(len(row.chains)))
    best = row.chains[0]
    by_stage = {a["stage"]: a for a in best.result["assignments"]}
    # the region can machine, paint and assemble: those stay in 27, even though Новосибирск machines cheaper
    for stage in ("housing_machining", "impeller_machining", "shaft", "painting", "assembly"):
        assert by_stage[stage]["region"] == "27" and by_stage[stage]["tier"] == "local", stage
    assert by_stage["assembly"]["listing_id"] == str(seeded.assembly_27.id)  # the certified one
    # casting only in Приморье (same district); bronze in 25 beats the cheaper 54; motors only in 54
    assert by_stage["housing_casting"]["region"] == "25" and by_stage["housing_casting"]["tier"] == "district"
    assert by_stage["impeller_casting"]["listing_id"] == str(seeded.bronze_25.id)
    assert by_stage["motor"]["region"] == "54" and by_stage["motor"]["tier"] == "national"
    explanations = " ".join(best.result["explanations"])
    assert "Поставка асинхронного электродвигателя" in explanations and "Россия" in explanations
    assert "Литьё корпуса" in explanations
    assert best.total_cost == pytest.approx(best.result["total_cost"], abs=0.01)
    assert set(best.localization) == {"local", "district", "national"}
    assert best.events[0].kind == "built"
    # the outcome keeps the per-stage counts and the pool a coordinator may swap from
    assert row.outcome["stages"]["housing_machining"]["acceptable"] >= 2
    pool_ids = {c["listing_id"] for c in row.outcome["pool"]["housing_machining"]}
    assert str(seeded.machining_27_alt.id) in pool_ids
    assert outcome.result.exact


def test_offers_without_a_price_are_not_acceptable_and_the_notes_say_so(db, factories, offers):
    offers.add("27", "25.62", price=None, title="Токарные работы")
    offers.add("27", "25.62", price=900, title="Токарные работы")
    offers.index()
    row = services.create_request({"item": "Вал", "quantity": 5, "unit_weight_kg": 10, "delivery_region": "27",
                                   "deadline_days": 30,
                                   "stages": [{"id": "turning", "text": "Токарная обработка вала",
                                               "okved2": ["25.62"]}]})
    outcome = services.build(row.id)
    stats = row.outcome["stages"]["turning"]
    assert stats["no_price"] == 1 and stats["acceptable"] == 1 and "без цены" in stats["notes"][0]
    unpriced = [c for c in outcome.candidates["turning"].candidates if not c.acceptable]
    assert len(unpriced) == 1
    assert row.status == ChainRequestStatus.BUILT and row.chains[0].total_cost > 0


def test_build_with_no_supplier_for_a_stage_stores_the_reasons(db, factories, offers):
    offers.add("27", "25.62", title="Токарные работы")
    offers.index()
    row = services.create_request({
        "item": "Изделие", "quantity": 1, "unit_weight_kg": 50, "delivery_region": "27", "deadline_days": 60,
        "stages": [{"id": "turning", "text": "Токарная обработка", "okved2": ["25.62"]},
                   {"id": "aircraft", "text": "Сборка летательного аппарата", "okved2": ["30.30"],
                    "after": ["turning"]}]})
    services.build(row.id)
    assert row.status == ChainRequestStatus.INFEASIBLE and row.chains == []
    reasons = row.outcome["infeasible_reasons"]
    assert reasons and reasons[0]["constraint"] == "candidates" and reasons[0]["stage"] == "aircraft"
    assert "построить нельзя" in row.message
    assert "chain_request.build" in audit_actions(db, "chain_request", row.id)


def test_rebuild_replaces_suggested_chains(db, factories, offers):
    seed_pump_unit(offers, factories)
    row = services.create_request(pump_request())
    services.build(row.id, alternatives=1)
    services.reject(row.chains[1], user=None, reason="Не подходит")
    services.build(row.id, alternatives=1)
    stored = list(db.session.scalars(select(CooperationChain).where(CooperationChain.request_id == row.id)
                                     .order_by(CooperationChain.rank)))
    # the rejected one stays with its decision; the suggested one is replaced by the two new ones, ranked after it
    assert [(c.rank, c.status) for c in stored] == [(1, ChainStatus.REJECTED), (2, ChainStatus.SUGGESTED),
                                                    (3, ChainStatus.SUGGESTED)]


@pytest.fixture
def built(db, factories, offers):
    seeded = seed_pump_unit(offers, factories)
    coordinator = factories.user(role=UserRole.COORDINATOR, regions=["27"])
    row = services.create_request(pump_request(), user=coordinator)
    services.build(row.id, alternatives=2)
    return seeded, coordinator, row


def test_approve_notifies_each_participant_once_and_closes_the_alternatives(db, built):
    _, coordinator, row = built
    chain = row.chains[0]
    ids = services.approve(chain, user=coordinator, comment="Согласовано с минпромторгом")
    assert chain.status == ChainStatus.APPROVED and chain.decided_by_id == coordinator.id
    participants = {int(a["organization_id"]) for a in chain.result["assignments"]}
    notes = list(db.session.scalars(select(Notification).where(Notification.id.in_(ids))))
    assert {n.organization_id for n in notes} == participants and len(notes) == len(participants)
    assert all(n.kind == "chain_approved" and str(chain.id) in n.link for n in notes)
    assert all(c.status == ChainStatus.REJECTED for c in row.chains[1:])
    assert [e.kind for e in chain.events] == ["built", "approved"]
    assert "chain.approve" in audit_actions(db, "cooperation_chain", chain.id)
    with pytest.raises(ValidationFailed):
        services.approve(chain, user=coordinator)
    with pytest.raises(ValidationFailed):  # nothing to rebuild once approved
        services.build(row.id)


def test_send_notifications_enqueues_one_email_job_each(db, built, monkeypatch):
    from workers import queue

    _, coordinator, row = built
    ids = services.approve(row.chains[0], user=coordinator)
    calls = []
    monkeypatch.setattr(queue, "enqueue", lambda name, *args, **kw: calls.append((name, args)))
    db.session.commit()
    services.send_notifications(ids)
    assert calls == [("notifications.email", (i,)) for i in ids]


def test_reject_needs_a_reason(db, built):
    _, coordinator, row = built
    chain = row.chains[0]
    with pytest.raises(ValidationFailed) as caught:
        services.reject(chain, user=coordinator, reason="  ")
    assert caught.value.as_dict() == {"reason": ["укажите причину отклонения"]}
    services.reject(chain, user=coordinator, reason="Литейка в Приморье не подтвердила сроки")
    assert chain.status == ChainStatus.REJECTED and chain.reason.startswith("Литейка")
    assert chain.events[-1].kind == "rejected"


def test_swap_recomputes_and_flags_what_it_breaks(db, built):
    seeded, coordinator, row = built
    chain = row.chains[0]
    before = chain.total_cost
    options = services.alternatives_for(row, chain, "housing_machining")
    alt = next(c for c in options if c["listing_id"] == str(seeded.machining_27_alt.id))
    new = services.swap(chain, user=coordinator, stage_id="housing_machining", listing_id=alt["listing_id"])
    by_stage = {a["stage"]: a for a in chain.result["assignments"]}
    assert by_stage["housing_machining"]["listing_id"] == str(seeded.machining_27_alt.id)
    assert chain.total_cost == pytest.approx(new.total_cost) and chain.total_cost > before
    assert chain.events[-1].kind == "swapped" and "ООО «Амурмаш»" in chain.events[-1].text
    assert new.violations == ()
    # farther than the one it replaces: flagged as breaking the procurement priority
    far = next(c for c in services.alternatives_for(row, chain, "impeller_casting")
               if c["listing_id"] == str(seeded.bronze_54.id))
    flagged = services.swap(chain, user=coordinator, stage_id="impeller_casting", listing_id=far["listing_id"])
    assert "tier" in flagged.violations and "tier" in chain.result["violations"]
    assert "приоритет закупки" in chain.events[-1].text
    assert audit_actions(db, "cooperation_chain", chain.id).count("chain.swap") == 2


def test_swap_flags_capacity_when_one_organization_takes_too_much(db, built):
    seeded, coordinator, row = built
    chain = row.chains[0]
    # Амурмаш has capacity 50 a month: three stages of 10 fit; the deadline check still holds
    for stage in ("housing_machining", "impeller_machining"):
        services.swap(chain, user=coordinator, stage_id=stage, listing_id=str(seeded.machining_27_alt.id))
    assert "capacity" not in chain.result["violations"]
    row.spec = {**row.spec, "quantity": 20}  # a bigger lot: 3 stages × 20 > 50
    flagged = services.swap(chain, user=coordinator, stage_id="shaft", listing_id=str(seeded.machining_27_alt.id))
    assert "capacity" in flagged.violations


def test_swap_accepts_only_offers_of_the_pool(db, built):
    seeded, coordinator, row = built
    chain = row.chains[0]
    with pytest.raises(ValidationFailed) as caught:
        services.swap(chain, user=coordinator, stage_id="assembly",
                      listing_id=str(seeded.machining_54.id))
    assert "listing_id" in caught.value.as_dict()
    with pytest.raises(ValidationFailed) as caught:
        services.swap(chain, user=coordinator, stage_id="nope", listing_id="1")
    assert "stage" in caught.value.as_dict()


def test_comment_goes_into_the_history(db, built):
    _, coordinator, row = built
    chain = row.chains[0]
    with pytest.raises(ValidationFailed):
        services.comment(chain, user=coordinator, text="")
    services.comment(chain, user=coordinator, text="Проверить сертификат сборщика " + ASSEMBLY_CERT)
    assert chain.events[-1].kind == "comment" and chain.events[-1].user_id == coordinator.id


def test_permissions_follow_the_delivery_region(db, factories, built):
    _, coordinator, row = built
    other = factories.user(role=UserRole.COORDINATOR, regions=["25"])
    admin = factories.user(role=UserRole.ADMIN)
    maker = factories.user(role=UserRole.MANUFACTURER, organization=factories.organization(region="27"))
    assert services.can_review(coordinator, row) and services.can_review(admin, row)
    assert not services.can_review(other, row) and not services.can_review(maker, row)
    assert not services.can_view(other, row) and not services.can_view(None, row)
    assert [r.id for r in services.review_queue(coordinator)] == [row.id]
    assert services.review_queue(other) == [] and row in services.review_queue(admin)
    # a participant of the approved chain may see it afterwards
    member_org = int(row.chains[0].result["assignments"][0]["organization_id"])
    from marketplace.organizations.models import Organization

    participant = factories.user(organization=db.session.get(Organization, member_org))
    assert not services.can_view(participant, row)
    services.approve(row.chains[0], user=coordinator)
    assert services.can_view(participant, row)


def test_suggest_chain_for_need_picks_the_template_by_code_and_is_idempotent(db, factories):
    buyer = factories.organization(region="27")
    need = factories.listing("tender_lot", organization=buyer, title="Насосный агрегат К 100-65-200",
                             okpd2=["28.13.14"], quantity=4)
    row = services.suggest_chain_for_need(need.id)
    assert row is not None and row.template == "pump_unit" and row.need_id == need.id
    assert row.delivery_region == "27" and float(row.quantity) == 4 and row.organization_id == buyer.id
    assert services.suggest_chain_for_need(need.id) is row
    explicit = factories.listing("tender_lot", organization=buyer, title="Втулки", quantity=100)
    assert services.suggest_chain_for_need(explicit.id, template="bronze_bushing").template == "bronze_bushing"
    with pytest.raises(LookupError):
        services.suggest_chain_for_need(factories.listing("capability", organization=buyer).id)


def test_swap_to_a_slow_supplier_flags_the_deadline(db, factories, offers, built):
    seeded, coordinator, row = built
    slow = offers.add("27", "25.62", title="Фрезерная обработка и расточка корпусов под заказ", price=2000, lead=200, capacity=100)
    offers.index()
    services.build(row.id, alternatives=0)
    chain = row.chains[0]
    assert str(slow.id) in {c["listing_id"] for c in services.alternatives_for(row, chain, "housing_machining")}
    new = services.swap(chain, user=coordinator, stage_id="housing_machining", listing_id=str(slow.id))
    assert "deadline" in new.violations and chain.lead_time_days > row.deadline_days
    assert "срок поставки" in chain.events[-1].text


def test_transport_rates_come_from_the_chain_transport_setting(app, db, factories, offers, monkeypatch):
    seed_pump_unit(offers, factories)
    row = services.create_request(pump_request())
    services.build(row.id, alternatives=0)
    default = row.chains[0].result
    monkeypatch.setitem(app.config, "CHAIN_TRANSPORT", {"cost_per_tonne_km": 50, "km_per_day": 250})
    services.build(row.id, alternatives=0)
    dearer = row.chains[0].result
    assert dearer["transport_cost"] == pytest.approx(10 * default["transport_cost"], rel=1e-6)
    assert dearer["transport_cost"] > 0 and dearer["production_cost"] == pytest.approx(default["production_cost"])
    slow_legs = {(leg["from"], leg["to"]): leg["days"] for leg in dearer["legs"]}
    for leg in default["legs"]:
        if leg["km"] > 0:  # handling 1 day + km / 250 instead of km / 500
            assert slow_legs[(leg["from"], leg["to"])] == pytest.approx(1 + 2 * (leg["days"] - 1), abs=0.02)
    monkeypatch.setitem(app.config, "CHAIN_TRANSPORT", {"cost_per_km": 1})
    with pytest.raises(ValueError, match="cost_per_km"):
        services.transport_model()


def test_the_demo_approves_the_first_chains_of_its_region_and_leaves_the_rest_waiting(db, factories, built, app):
    from marketplace.demo.commands import _decide_some_chains

    _, coordinator, row = built
    coordinator.email = "coordinator@cosmos.local"  # the demo's coordinator
    db.session.flush()
    with app.test_request_context():
        _decide_some_chains(approve=1)
    assert row.chains[0].status == ChainStatus.APPROVED and row.chains[0].decided_by_id == coordinator.id
    assert all(c.status == ChainStatus.REJECTED for c in row.chains[1:])  # its alternatives close with it
