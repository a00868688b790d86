"""The demo's cooperation chains for Хабаровский край (issue 14, part 3).

On the demo's own offers every route template is feasible for delivery to region 27, with the region doing what it
can: a stage some region-27 offer can do (its operation agrees, it holds the required certifications) stays in the
region, and a stage that leaves it says why. After ``cosmos demo`` the region's coordinator finds approved and
pending chains, and the analytics are computed.

The index is a fresh embedded one with the chain tests' hashing encoder: which offers are acceptable for a stage
depends on their operations and codes (the acceptability rule), not on the encoder.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.chains import services
from marketplace.chains.models import ChainRequest, ChainRequestStatus, ChainStatus, CooperationChain
from matching.chains import load_template, template_names
from tests.chains.conftest import index  # noqa: F401  (fixture: a fresh embedded index, hashing encoder)

HOME = "27"
# The demo's test size: every shop profile once (all its capabilities, in the nearest tier it exists in), then as
# many organizations again drawn by the profiles' weights.
SIZE = 120


def _seed_and_index(db, size: int, seed: int) -> None:
    from marketplace.demo.seed import seed_demo
    from marketplace.indexing.services import drain_outbox

    report = seed_demo(size, seed)
    assert not report.errors
    db.session.commit()
    drain_outbox()


@pytest.mark.parametrize("seed", [27, 5])
def test_every_route_template_is_feasible_for_khabarovsk_with_the_region_doing_what_it_can(db, index, seed):  # noqa: F811
    _seed_and_index(db, SIZE, seed)
    local_somewhere = 0
    for name in template_names():
        template = load_template(name)
        row = services.create_from_template(name, quantity=10, delivery_region=HOME)
        outcome = services.build(row.id, alternatives=2)
        reasons = [r.message for r in outcome.result.infeasible_reasons]
        assert row.status == ChainRequestStatus.BUILT and row.chains, (name, reasons)
        best = outcome.result.best
        assert {a.stage for a in best.assignments} == {s.id for s in template.stages}, name
        for stage in template.stages:
            found = outcome.candidates[stage.id]
            # a region-27 offer that can do the stage and holds its certifications keeps the stage in the region
            local = [c for c in found.candidates if c.acceptable and c.place.region == HOME
                     and set(stage.certifications_required) <= set(c.certifications)]
            assignment = next(a for a in best.assignments if a.stage == stage.id)
            if local:
                assert assignment.region == HOME, (name, stage.id, assignment.organization)
            else:
                assert assignment.region != HOME
                assert any(stage.text[:40] in e for e in best.explanations), (name, stage.id, best.explanations)
        local_somewhere += any(a.region == HOME for a in best.assignments)
    # the region can do part of every route (machining, welding, painting, timber, inspection): none comes wholly
    # from elsewhere
    assert local_somewhere == len(template_names())


def test_no_demo_need_asks_for_what_no_demo_offer_is(db):
    """No contradictory listing: every need the demo's buyers put out (a job, a purchase, a tender lot) is, by the
    platform's acceptability rule, what some demo offer is — the same operation or the same product, of a material
    the offer names — unless it is a route template's item, which no one shop makes (a cooperation chain does)."""
    from marketplace.demo.seed import seed_demo
    from marketplace.listings.models import Listing, Side
    from marketplace.matches.services import acceptability_rule, listing_specs

    seed_demo(SIZE, 27)
    rule = acceptability_rule()
    specs = listing_specs(list(db.session.scalars(select(Listing).order_by(Listing.id))))
    offers = [s for s in specs if s.side == Side.OFFER.value]
    made_by_chains = tuple(load_template(n).okpd2 for n in template_names())
    needs = [s for s in specs if s.side == Side.NEED.value
             and not any(c.startswith(made_by_chains) for c in s.okpd2)]
    assert len(needs) > SIZE / 2

    def agrees(need, offer):
        checks = rule.checks(need, offer)
        kind = [c for c in checks if c.name in ("operation", "product")]
        return bool(kind) and all(c.held for c in kind) and not any(
            c.name == "materials" and c.held is False for c in checks)

    unmatched = {need.title for need in needs if not any(agrees(need, offer) for offer in offers)}
    assert not unmatched, sorted(unmatched)


def test_demo_leaves_approved_and_pending_chains_for_the_khabarovsk_coordinator(app, db, runner, index):  # noqa: F811
    from marketplace.accounts.models import User
    from marketplace.analytics.models import AnalyticsSnapshot
    from marketplace.analytics.snapshots import KINDS

    result = runner.invoke(args=["demo", "--no-serve", "--organizations", str(SIZE), "--seed", "27"])
    assert result.exit_code == 0, result.output
    coordinator = db.session.scalar(select(User).where(User.email == "coordinator@cosmos.local"))
    approved = services.review_queue(coordinator, status="approved")
    waiting = services.review_queue(coordinator, status="suggested")
    assert approved and waiting, result.output
    assert {r.delivery_region for r in approved + waiting} == {HOME}
    # an approved request keeps one approved chain (its alternatives closed); a waiting one has no decision yet
    for row in approved:
        assert [c.status for c in row.chains].count(ChainStatus.APPROVED) == 1
        assert ChainStatus.SUGGESTED not in {c.status for c in row.chains}
    for row in waiting:
        assert ChainStatus.APPROVED not in {c.status for c in row.chains}
    assert f"утверждено {len(approved)}, ждут решения координатора {len(waiting)}" in result.output
    # the coordinator's own requests, one per route template: each one built for the region
    own = list(db.session.scalars(select(ChainRequest).where(ChainRequest.created_by_id == coordinator.id)))
    assert sorted(r.template for r in own) == sorted(template_names())
    assert all(r.status == ChainRequestStatus.BUILT and r.chains for r in own), [(r.template, r.message) for r in own]
    # every chain request the demo made was built or found infeasible: none is left pending or failed
    statuses = set(db.session.scalars(select(ChainRequest.status).distinct()))
    assert statuses <= {ChainRequestStatus.BUILT, ChainRequestStatus.INFEASIBLE}, statuses
    assert db.session.scalar(select(func.count(CooperationChain.id))) > 0
    # the coordinator's analytics tabs open with data for the region, its district and the country
    for scope in (HOME, "FEFD", "RU"):
        kinds = set(db.session.scalars(select(AnalyticsSnapshot.kind).where(AnalyticsSnapshot.scope == scope)))
        assert set(KINDS) <= kinds, (scope, kinds)
