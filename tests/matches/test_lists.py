"""The long lists of matches come in pages, sorted and filtered by the query string: a need's suppliers (strict mode
keeps the charter's tier order across pages) and the supplier's feed. Match rows are stored directly with chosen
tiers, scores and distances, so the tests read the lists' logic and not the engine's."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from marketplace.accounts.models import UserRole
from marketplace.listings.models import ListingKind
from marketplace.matches import lists
from marketplace.matches.models import Match, MatchStatus
from tests.web.conftest import login

OFFER_ROW = re.compile(r'class="match-row" data-offer-id="(\d+)"')
FEED_ROW = re.compile(r'class="feed-row" data-need-id="(\d+)"')


def _match(db, need, offer, tier, score, km):
    row = Match(need_id=need.id, offer_id=offer.id, tier=tier, score=score, distance_km=km, acceptable=True,
                explanation={"distance_km": km, "reasons": ["та же операция"], "constraints": [], "signals": []})
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def suppliers(db, factories):
    """A need in Хабаровский край and stored matches: five local capabilities, a local product, three district
    offers (one scoring above every local one) and two national ones."""
    buyer = factories.organization(region="27")
    need = factories.listing(ListingKind.PURCHASE_REQUEST, organization=buyer, title="Валы стальные")
    rows = {}
    spec = [("local", 0.90, 40), ("local", 0.80, 5), ("local", 0.70, 120), ("local", 0.60, 15), ("local", 0.55, 60),
            ("district", 0.95, 700), ("district", 0.85, 650), ("district", 0.50, 900),
            ("national", 0.88, 5000), ("national", 0.65, 6000)]
    region = {"local": "27", "district": "25", "national": "54"}
    for i, (tier, score, km) in enumerate(spec):
        offer = factories.listing(ListingKind.CAPABILITY, organization=factories.organization(region=region[tier]),
                                  title=f"Токарные работы {i}")
        rows[offer.id] = _match(db, need, offer, tier, score, km)
    product = factories.listing(ListingKind.PRODUCT, organization=factories.organization(region="25"),
                                title="Валы в наличии")
    rows[product.id] = _match(db, need, product, "district", 0.75, 800)
    user = factories.user(role=UserRole.BUYER, organization=buyer)
    return need, rows, user


def _ids(client, url, pattern=OFFER_ROW):
    response = client.get(url)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    return [int(x) for x in pattern.findall(text)], text


def _tiers(rows, ids):
    return [rows[i].tier for i in ids]


def test_strict_mode_pages_keep_the_nearest_tier_and_its_score_order(client, db, suppliers, monkeypatch):
    need, rows, user = suppliers
    monkeypatch.setattr(lists, "MATCHES_PER_PAGE", 2)
    login(client, user)
    url = f"/listings/{need.id}/matches"
    first, text = _ids(client, url)
    assert "Показаны 1–2 из 5" in text and 'rel="next"' in text
    seen = first + _ids(client, url + "?page=2")[0] + _ids(client, url + "?page=3")[0]
    local = sorted((m for m in rows.values() if m.tier == "local"), key=lambda m: -m.score)
    assert seen == [m.offer_id for m in local]  # no district row, though one scores 0.95
    assert _ids(client, url + "?page=99")[0] == [local[-1].offer_id]  # past the end: the last page

    by_distance, text = _ids(client, url + "?sort=distance&page=1")
    assert by_distance == [m.offer_id for m in sorted(local, key=lambda m: m.distance_km)][:2]
    assert 'name="sort"' in text and 'value="distance" selected' in text


def test_strict_mode_ignores_a_tier_filter_and_a_bad_sort_and_says_which_parameter(client, db, suppliers):
    need, rows, user = suppliers
    login(client, user)
    ids, text = _ids(client, f"/listings/{need.id}/matches?tier=district&sort=cheapest")
    assert set(_tiers(rows, ids)) == {"local"} and len(ids) == 5
    assert "Параметр tier" in text and "Параметр sort" in text and "«cheapest»" in text
    assert [rows[i].score for i in ids] == sorted((rows[i].score for i in ids), reverse=True)


def test_a_kind_filter_finds_the_nearest_tier_with_that_kind(client, db, suppliers):
    need, rows, user = suppliers
    login(client, user)
    ids, text = _ids(client, f"/listings/{need.id}/matches?kind=product")
    assert len(ids) == 1 and rows[ids[0]].tier == "district" and 'data-tier="local"' not in text
    ids, text = _ids(client, f"/listings/{need.id}/matches?kind=tender_lot")  # a need kind: not an offer's
    assert "Параметр kind" in text and len(ids) == 5


def test_weighted_mode_filters_a_tier_and_pages_it(client, db, suppliers, monkeypatch):
    need, rows, user = suppliers
    monkeypatch.setattr(lists, "MATCHES_PER_PAGE", 3)
    login(client, user)
    url = f"/listings/{need.id}/matches?mode=weighted"
    everything = _ids(client, url)[0] + _ids(client, url + "&page=2")[0] + _ids(client, url + "&page=3")[0] \
        + _ids(client, url + "&page=4")[0]
    assert sorted(everything) == sorted(rows)
    district, text = _ids(client, url + "&tier=district")
    assert set(_tiers(rows, district)) == {"district"} and "Показаны 1–3 из 4" in text
    assert "tier=district" in text and "mode=weighted" in text  # the pager keeps the filter and the mode
    assert client.get(f"/listings/{need.id}/matches?mode=loose").status_code == 400
    assert "Параметр mode" in client.get(f"/listings/{need.id}/matches?mode=loose").get_data(as_text=True)


@pytest.fixture
def feed(db, factories):
    """A supplier in Хабаровский край with two offers, and needs of other organizations matched to them."""
    supplier = factories.organization(region="27")
    turning = factories.listing(ListingKind.CAPABILITY, organization=supplier, title="Токарные работы")
    welding = factories.listing(ListingKind.CAPABILITY, organization=supplier, title="Сварочные работы")
    today = date.today()
    spec = [(ListingKind.PURCHASE_REQUEST, turning, "local", 0.9, 30, 40),
            (ListingKind.MISSING_OPERATION, turning, "district", 0.8, 700, 10),
            (ListingKind.PURCHASE_REQUEST, welding, "local", 0.7, 5, None),
            (ListingKind.MISSING_OPERATION, welding, "national", 0.6, 4000, 20),
            (ListingKind.PURCHASE_REQUEST, turning, "national", 0.5, 6000, 90)]
    needs = {}
    for i, (kind, offer, tier, score, km, days) in enumerate(spec):
        need = factories.listing(kind, organization=factories.organization(region="27"), title=f"Потребность {i}",
                                 ends_on=today + timedelta(days=days) if days else None)
        needs[need.id] = _match(db, need, offer, tier, score, km)
    dismissed = factories.listing(ListingKind.PURCHASE_REQUEST, organization=factories.organization(region="27"))
    _match(db, dismissed, turning, "local", 0.99, 1).status = MatchStatus.DISMISSED
    user = factories.user(organization=supplier)
    return needs, user, dismissed


def test_the_feed_comes_in_pages_best_first_without_dismissed_needs(client, db, feed, monkeypatch):
    needs, user, dismissed = feed
    monkeypatch.setattr(lists, "FEED_PER_PAGE", 2)
    login(client, user)
    first, text = _ids(client, "/my/feed", FEED_ROW)
    assert "Показаны 1–2 из 5" in text
    seen = first + _ids(client, "/my/feed?page=2", FEED_ROW)[0] + _ids(client, "/my/feed?page=3", FEED_ROW)[0]
    assert seen == [m.need_id for m in sorted(needs.values(), key=lambda m: -m.score)]
    assert dismissed.id not in seen


def test_the_feed_sorts_by_deadline_distance_and_filters_tier_and_kind(client, db, feed):
    needs, user, _ = feed
    login(client, user)
    by_deadline = _ids(client, "/my/feed?sort=deadline", FEED_ROW)[0]
    dated = sorted((m for m in needs.values() if m.need.ends_on), key=lambda m: m.need.ends_on)
    assert by_deadline == [m.need_id for m in dated] + [m.need_id for m in needs.values() if not m.need.ends_on]
    by_distance = _ids(client, "/my/feed?sort=distance", FEED_ROW)[0]
    assert by_distance == [m.need_id for m in sorted(needs.values(), key=lambda m: m.distance_km)]
    local = _ids(client, "/my/feed?tier=local", FEED_ROW)[0]
    assert {needs[i].tier for i in local} == {"local"} and len(local) == 2
    ops, text = _ids(client, "/my/feed?kind=missing_operation&sort=distance", FEED_ROW)
    assert [needs[i].need.kind for i in ops] == [ListingKind.MISSING_OPERATION] * 2
    assert needs[ops[0]].distance_km < needs[ops[1]].distance_km
    assert 'value="missing_operation" selected' in text


def test_bad_feed_parameters_fall_back_to_the_default_and_name_the_parameter(client, db, feed):
    needs, user, _ = feed
    login(client, user)
    default = _ids(client, "/my/feed", FEED_ROW)[0]
    for query, name in (("sort=price", "sort"), ("tier=moon", "tier"), ("kind=capability", "kind"),
                        ("page=-3", None), ("page=abc", None)):
        ids, text = _ids(client, f"/my/feed?{query}", FEED_ROW)
        assert ids == default, query
        if name:
            assert f"Параметр {name}" in text, query
    assert "Под выбранные условия потребностей нет" in _ids(client, "/my/feed?tier=eaeu", FEED_ROW)[1]
