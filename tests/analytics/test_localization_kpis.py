from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from marketplace.analytics.kpis import kpis, median_of_histogram, set_kpi_target
from marketplace.analytics.localization import localization
from marketplace.analytics.scope import resolve_scope
from marketplace.core.validation import ValidationFailed


def shares(series):
    return {t.tier: t.share for t in series.tiers}


def test_matched_value_goes_to_the_tier_of_the_best_acceptable_match(market):
    report = localization(resolve_scope("27"))
    matched = report.matched

    # turning 100 000 (district), milling 50 000 (local), machine 200 000 (EAEU), bolts 4 × 1 500 (local)
    assert matched.total == 356000
    assert {t.tier: t.value for t in matched.tiers} == {"local": 56000, "district": 100000, "eaeu": 200000}
    assert shares(matched)["local"] == pytest.approx(56000 / 356000)
    assert matched.count == 4
    assert report.awarded is not None and report.awarded.total == 0
    assert "Присуждённых лотов пока нет" in report.awards_note


def test_localization_shares_sum_to_one_overall_and_in_every_month(market):
    for code in ("27", "FEFD", "RU"):
        matched = localization(resolve_scope(code)).matched
        assert sum(t.share for t in matched.tiers) == pytest.approx(1.0)
        for month in matched.months:
            assert sum(t.share for t in month.tiers) == pytest.approx(1.0)
    months = {m.month: {t.tier: t.value for t in m.tiers} for m in localization(resolve_scope("27")).matched.months}
    assert months == {"2026-10": {"local": 50000, "district": 100000, "eaeu": 200000}, "2026-11": {"local": 6000}}


def test_a_need_without_budget_quantity_or_price_counts_in_no_share(market, db, factories):
    from tests.analytics.conftest import add_match

    need = factories.listing("purchase_request", organization=market.orgs["27b"], okpd2=["28.41"])
    add_match(db, need, market.offers["msk"], "national")  # the Moscow offer has no price
    matched = localization(resolve_scope("27")).matched
    assert matched.without_value == 1
    assert matched.total == 356000


def test_kpis_count_the_region_and_measure_progress_against_targets(market, db):
    year = datetime.now(UTC).year
    set_kpi_target("27", "organizations", year, 4)
    set_kpi_target(None, "organizations", year, 2000)
    set_kpi_target("27", "organizations", year, 8)  # changing a target replaces it
    report = kpis(resolve_scope("27"), year)

    organizations = report.value("organizations")
    assert (organizations.value, organizations.target, organizations.progress) == (2, 8, 0.25)
    assert report.value("active_offers").value == 1
    assert report.value("active_needs").value == 5
    assert report.value("matches").value == 4  # acceptable matches of the needs delivered to 27
    assert report.value("approved_chains").value == 0
    assert report.value("active_needs").target is None
    # first acceptable matches after 2, 5, 30 and 10 hours
    assert report.median_hours_to_first_match == 7.5
    assert report.needs_with_match == 4

    country = kpis(resolve_scope("RU"), year).value("organizations")
    assert country.target == 2000 and country.value == 5
    assert kpis(resolve_scope("FEFD"), year).value("organizations").target == 8  # the sum of its regions'


def test_kpi_months_accumulate_organizations(market):
    months = kpis(resolve_scope("27")).months
    assert months[-1].organizations_total == 2
    assert sum(m.needs for m in months) == 5


def test_targets_are_validated():
    with pytest.raises(ValidationFailed) as info:
        set_kpi_target("27", "happiness", 2026, -1)
    assert set(info.value.as_dict()) == {"metric", "target"}


@pytest.mark.parametrize(("histogram", "median"), [({}, None), ({3: 1}, 3.0), ({2: 1, 5: 1, 30: 2}, 17.5),
                                                   ({1: 3, 9: 1}, 1.0), ({0: 1, 4: 1}, 2.0)])
def test_median_of_a_histogram(histogram, median):
    assert median_of_histogram(histogram) == median


def test_first_match_delay_uses_the_earliest_acceptable_match(market, db):
    from tests.analytics.conftest import add_match

    add_match(db, market.needs["machine"], market.offers["khv"], "local", after=timedelta(hours=1))
    # 1, 2, 5, 10 hours now
    assert kpis(resolve_scope("27")).median_hours_to_first_match == 3.5


def test_months_without_activity_stay_on_the_time_axis():
    from marketplace.analytics.scope import month_range

    assert month_range({"2025-11", "2026-02"}) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert month_range([]) == []
