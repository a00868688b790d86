"""Chains offered automatically: a need the matcher found no acceptable domestic offer for gets a chain request from
the route template that fits it, built by the job; once per need, and a need no template fits is not retried."""
from __future__ import annotations

from sqlalchemy import func, select

from marketplace.chains import services
from marketplace.chains.models import ChainRequest, ChainRequestStatus
from marketplace.core.models import AuditLog, utcnow
from marketplace.matches.models import MatchRun
from tests.chains.scenario import seed_pump_unit
from workers import queue


def matched(db, need, *, chain_suggested: bool) -> None:
    db.session.add(MatchRun(listing_id=need.id, computed_at=utcnow(), listing_updated_at=need.updated_at,
                            chain_suggested=chain_suggested))


def no_route_notes(db, need) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == services.NO_ROUTE, AuditLog.entity_id == str(need.id)))


def test_needs_without_a_domestic_offer_get_one_built_chain_request(db, factories, offers):
    seed_pump_unit(offers, factories)
    buyer = factories.organization(region="27")
    pump = factories.listing("tender_lot", organization=buyer, title="Насосный агрегат К 100-65-200",
                             okpd2=["28.13.14"], quantity=4)
    served = factories.listing("tender_lot", organization=buyer, title="Насосный агрегат К 80-50-200",
                               okpd2=["28.13.14"], quantity=2)
    unmatched = factories.listing("tender_lot", organization=buyer, title="Насос дренажный", okpd2=["28.13.14"],
                                  quantity=1)
    odd = factories.listing("tender_lot", organization=buyer, title="Уборка производственных помещений",
                            okpd2=["81.22.12"], quantity=1)
    matched(db, pump, chain_suggested=True)
    matched(db, served, chain_suggested=False)  # a domestic offer was acceptable: no chain
    matched(db, odd, chain_suggested=True)
    db.session.commit()  # ``unmatched`` has no match run yet: the matcher has not judged it

    assert set(services.needs_awaiting_chain()) == {pump.id, odd.id}
    handle = queue.enqueue("chains.suggest_for_needs")
    assert handle.status == "finished", handle.error
    rows = list(db.session.scalars(select(ChainRequest)))
    assert [(r.need_id, r.template) for r in rows] == [(pump.id, "pump_unit")]
    assert handle.result == {"requests": [rows[0].id]}
    db.session.expire_all()
    row = db.session.get(ChainRequest, rows[0].id)
    assert row.status == ChainRequestStatus.BUILT and row.chains and row.delivery_region == "27"
    assert no_route_notes(db, odd) == 1 and no_route_notes(db, unmatched) == 0

    again = queue.enqueue("chains.suggest_for_needs")
    assert again.result == {"requests": []}
    assert db.session.scalar(select(func.count()).select_from(ChainRequest)) == 1
    assert no_route_notes(db, odd) == 1
    assert services.needs_awaiting_chain() == []


def test_suggest_job_is_declared_on_the_matching_queue():
    spec = queue.get_spec("chains.suggest_for_needs")
    assert spec.queue == "matching"
