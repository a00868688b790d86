from __future__ import annotations

import pytest

from marketplace.analytics.gaps import all_gap_reports, gap_needs, gaps
from marketplace.analytics.scope import Geography, UnknownScope, resolve_scope


def by_class(report):
    return {r.okpd2_class: r for r in report.rows}


def test_a_need_served_only_from_the_district_is_a_local_gap_but_not_a_district_gap(market):
    local = by_class(gaps(resolve_scope("27"), "local"))
    district = by_class(gaps(resolve_scope("27"), "district"))

    turning = market.needs["turning"].id
    assert turning in {n.id for n in gap_needs(resolve_scope("27"), "25.62", "local")}
    assert turning not in {n.id for n in gap_needs(resolve_scope("27"), "25.62", "district")}
    assert local["25.62"].unmet_needs == 2  # turning (only Приморский край) and coating (nobody)
    assert local["25.62"].unmet_budget == 100000
    assert district["25.62"].unmet_needs == 1  # coating only
    assert district["25.62"].unmet_budget == 0


def test_a_need_with_no_acceptable_supplier_in_russia_is_a_national_gap(market):
    national = gaps(resolve_scope("27"), "national")
    rows = by_class(national)

    assert set(rows) == {"28.41", "25.62"}
    machine = rows["28.41"]  # acceptable only in Belarus; the Moscow match is not acceptable
    assert (machine.needs, machine.unmet_needs, machine.unmet_budget) == (1, 1, 200000)
    coating = rows["25.62"]
    assert (coating.unmet_needs, coating.unmet_without_budget, coating.unmet_quantity, coating.unit) == (1, 1, 10, "шт")
    assert coating.needs == 4
    ids = {n.id for n in gap_needs(resolve_scope("27"), "28.41", "national")}
    assert ids == {market.needs["machine"].id}


def test_niches_are_ranked_by_unmet_budget_then_needs_and_named_from_okpd2(market):
    report = gaps(resolve_scope("27"))  # a region's default level is local

    assert report.level == "local"
    assert [(r.rank, r.okpd2_class) for r in report.rows] == [(1, "28.41"), (2, "25.62")]
    assert report.rows[0].name == "Оборудование металлообрабатывающее"
    assert (report.needs, report.unmet_needs, report.unmet_budget) == (5, 3, 300000)


def test_district_and_country_scopes_include_every_region_inside(market):
    district = gaps(resolve_scope("FEFD"))
    assert district.level == "district"
    assert district.needs == 6  # five in 27 and one in 25
    assert by_class(gaps(resolve_scope("FEFD"), "local"))["25.62"].needs == 5
    assert gaps(resolve_scope("54"), "local").rows == ()
    assert gaps(resolve_scope("RU")).needs == 6


def test_closed_needs_are_not_demand(market, db):
    from marketplace.listings.models import ListingStatus

    market.needs["machine"].status = ListingStatus.CLOSED
    db.session.flush()
    assert "28.41" not in by_class(gaps(resolve_scope("27"), "national"))


def test_one_pass_for_all_scopes_agrees_with_each_scope_alone(market):
    geography = Geography.load()
    scopes = [geography.scope(c) for c in ("27", "25", "FEFD", "RU")]
    together = all_gap_reports(geography, scopes)
    for scope in scopes:
        for level in ("local", "district", "national"):
            assert together[scope.code][level] == gaps(scope, level)


def test_drill_down_lists_the_largest_budgets_first_with_the_nearest_tier(market):
    needs = gap_needs(resolve_scope("27"), "25.62", "local")
    assert [n.id for n in needs] == [market.needs["turning"].id, market.needs["coating"].id]
    assert needs[0].best_tier == "district"
    assert needs[1].best_tier is None
    assert needs[0].okpd2_code == "25.62.10"
    assert needs[0].organization == "Хабаровский покупатель"


def test_unknown_scope_and_level_are_refused(market):
    with pytest.raises(UnknownScope):
        resolve_scope("XX")
    with pytest.raises(ValueError):
        gaps(resolve_scope("27"), "galaxy")
