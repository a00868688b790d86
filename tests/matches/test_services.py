"""Matches stored for needs and offers: the charter's tiers, the explanation, constraints, the feed, notifications."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from marketplace.matches import services
from marketplace.matches.models import Match, MatchRun
from marketplace.notifications.models import Notification


def offer_ids(ranked):
    return [m.offer_id for m in ranked.matches]


def test_strict_policy_shows_the_local_supplier_only_while_it_is_acceptable(app, db, market):
    report = services.refresh_listing(market.need.id)
    db.session.commit()
    assert report.active_tier == "local" and report.stored >= 3
    ranked = services.ranked_matches(market.need)
    assert offer_ids(ranked) == [market.khv.id]
    assert ranked.hidden_lower >= 2  # Приморский край and Новосибирская область are there, not shown

    weighted = services.ranked_matches(market.need, services.parse_policy({"mode": "weighted"}))
    order = offer_ids(weighted)
    assert order.index(market.khv.id) < order.index(market.vvo.id) < order.index(market.nsk.id)
    assert market.bakery.id not in order


def test_a_local_supplier_without_the_capacity_gives_way_to_the_district(app, db, market):
    market.khv.capacity_per_month = Decimal("50")  # the need is for 200 pieces
    db.session.commit()
    services.refresh_listing(market.need.id)
    ranked = services.ranked_matches(market.need)
    assert offer_ids(ranked) == [market.vvo.id]
    assert ranked.active_tier.label == "district"


def test_explanation_names_tier_distance_signals_and_constraints(app, db, market):
    services.refresh_listing(market.need.id)
    row = db.session.scalar(select(Match).where(Match.need_id == market.need.id, Match.offer_id == market.vvo.id))
    e = row.explanation
    assert e["tier"] == "district" and 500 < e["distance_km"] < 900  # Хабаровск — Владивосток ≈ 650 km
    assert {s["name"] for s in e["signals"]} == {"semantic", "codes", "distance"}
    assert abs(sum(s["weight"] for s in e["signals"]) - 1.0) < 1e-6
    held = {c["name"]: c["held"] for c in e["constraints"]}
    # the platform's acceptability rule: the same operation, the material in work, then quantity and deadline
    assert held == {"operation": True, "materials": True, "quantity": True, "deadline": True}
    assert e["constraints"][0]["name"] == "operation" and "токарная обработка" in e["constraints"][0]["detail"]


def test_refresh_is_idempotent_and_notifies_each_side_once(app, db, market):
    first = services.refresh_listing(market.need.id)
    notes = services.notify_new_matches(first.new)
    db.session.commit()
    assert notes
    again = services.refresh_listing(market.need.id)
    assert services.notify_new_matches(again.new) == []
    rows = db.session.scalars(select(Match).where(Match.need_id == market.need.id)).all()
    assert len(rows) == first.stored == again.stored
    supplier_notes = db.session.scalars(select(Notification).where(
        Notification.organization_id == market.khv.organization_id)).all()
    assert len(supplier_notes) == 1 and "Токарная обработка валов" in supplier_notes[0].title
    buyer_notes = db.session.scalars(select(Notification).where(
        Notification.organization_id == market.buyer.id)).all()
    assert len(buyer_notes) == 1
    assert db.session.get(MatchRun, market.need.id).active_tier == "local"


def test_an_offer_finds_the_needs_it_can_serve_and_they_reach_its_feed(app, db, market):
    services.refresh_listing(market.vvo.id)
    feed = services.feed_for_organization(market.vvo.organization_id)
    assert [m.need_id for m in feed] == [market.need.id]
    assert feed[0].tier == "district"


def test_an_archived_need_drops_its_untouched_matches(app, db, market):
    services.refresh_listing(market.need.id)
    from marketplace.listings.models import ListingStatus

    market.need.status = ListingStatus.ARCHIVED
    db.session.commit()
    services.refresh_listing(market.need.id)
    assert db.session.scalars(select(Match).where(Match.need_id == market.need.id)).all() == []
    assert services.stale_listing_ids() == [i for i in services.stale_listing_ids() if i != market.need.id]


def test_the_charter_cascade_local_then_far_east_then_russia_then_eaeu(app, db, market):
    """Хабаровский край first; Приморский край when no local shop is acceptable; Новосибирская область when no
    Far Eastern one is; Belarus only when no Russian one is — and then a domestic chain is suggested."""
    expected = [("local", market.khv), ("district", market.vvo), ("national", market.nsk), ("eaeu", market.by)]
    for tier, shop in expected:
        services.refresh_listing(market.need.id)
        ranked = services.ranked_matches(market.need)
        assert ranked.active_tier.label == tier and offer_ids(ranked) == [shop.id]
        assert ranked.chain_suggested is (tier == "eaeu")
        shop.capacity_per_month = Decimal("50")  # no longer acceptable: 200 pieces are needed
        db.session.commit()
    services.refresh_listing(market.need.id)
    assert services.ranked_matches(market.need).matches == ()


def test_the_acceptability_rule_is_one_instance_so_its_readings_are_memoised(app):
    first = services.acceptability_rule()
    assert services.acceptability_rule() is first
    assert first.catalogue is not None and len(first.catalogue) >= 250
