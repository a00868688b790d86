import re
from collections import Counter

import pytest
from sqlalchemy import func, select

from marketplace.demo.seed import build_records, seed_demo
from marketplace.demo.shops import FOREIGN
from marketplace.geo.models import Region
from marketplace.listings.models import Listing, ListingCode
from marketplace.operations.catalogue import get_catalogue
from marketplace.organizations.models import Organization

METALS = {"steel", "cast_iron", "aluminium", "copper", "titanium", "nickel", "zinc", "magnesium", "lead_tin",
          "hard_alloy", "precious"}
# ОКВЭД2 divisions that have nothing to do with metal: food, drinks, textile, clothing, leather.
NON_METAL_DIVISIONS = ("10", "11", "13", "14", "15")


@pytest.fixture(scope="module")
def records(app):
    with app.app_context():
        return build_records(300, seed=1)


def _split(value):
    return [v.strip() for v in re.split(r"[;,]", value or "") if v.strip()]


def _capabilities(records):
    return [r for r in records if r.get("kind") == "capability"]


def _region_of(records):
    return {r["tax_id"]: r.get("region") for r in records if r["type"] == "organization"}


def test_demo_marketplace_covers_every_district_and_is_densest_in_khabarovsk(db):
    report = seed_demo(organizations=300, seed=1)
    assert report.organizations_created == 300 + len(FOREIGN) and not report.errors
    by_region = Counter(db.session.scalars(select(Organization.region_code)))
    districts = {db.session.get(Region, code).district_code for code in by_region if code}
    assert len(districts) == 8
    assert by_region.most_common(1)[0][0] == "27"
    far_east = sum(n for code, n in by_region.items() if code and db.session.get(Region, code).district_code == "FEFD")
    assert far_east > 300 / 3
    kinds = set(db.session.scalars(select(Listing.kind).distinct()))
    assert len(kinds) == 7  # every offer and need kind
    # offers and needs carry real classifier codes
    assert db.session.scalar(select(func.count(ListingCode.code))) >= report.listings_created


def test_demo_records_are_deterministic(db):
    assert build_records(20, seed=5) == build_records(20, seed=5)


def test_no_capability_pairs_a_textile_or_food_activity_with_a_metal(records):
    materials = get_catalogue().materials
    checked = 0
    for r in _capabilities(records):
        mats = _split(r.get("material_ids"))
        assert all(m in materials for m in mats), r["material_ids"]
        roots = {(materials.ancestors(m) or [m])[-1] for m in mats}
        if roots & METALS:
            checked += 1
            assert not [c for c in _split(r["okved2"]) if c.startswith(NON_METAL_DIVISIONS)], r
    assert checked > 100


def test_every_capability_names_catalogue_operations_and_takes_their_codes(records):
    catalogue = get_catalogue()
    caps = _capabilities(records)
    assert caps
    for r in caps:
        ops = _split(r.get("operations"))
        assert ops and all(op in catalogue for op in ops), r["title"]
        for scheme in ("okved2", "okpd2"):
            assert set(_split(r.get(scheme))) <= set(catalogue.codes(ops, scheme)), (r["title"], scheme)
        assert _split(r.get("okved2")) or _split(r.get("okpd2"))
        for key in ("max_length_mm", "max_diameter_mm", "max_mass_kg", "max_thickness_mm"):
            if key in r:
                assert r[key] > 0


def test_khabarovsk_has_machining_and_ship_repair_but_no_hot_dip_galvanizing(records):
    catalogue = get_catalogue()
    region = _region_of(records)
    home_ops = {op for r in _capabilities(records) if region.get(r["tax_id"]) == "27"
                for op in _split(r["operations"])}
    assert any(op == "machining" or "machining" in catalogue.ancestors(op) for op in home_ops)
    assert any(catalogue.covers(op, "repair.ship") for op in home_ops)
    assert not any(catalogue.covers(op, "coating.zinc.hot_dip") or catalogue.covers("coating.zinc.hot_dip", op)
                   for op in home_ops)
    # galvanizing is farther: elsewhere in the Far East or in the rest of Russia, and home buyers ask for it
    elsewhere = [r for r in _capabilities(records) if region.get(r["tax_id"]) != "27"
                 and any(catalogue.covers(op, "coating.zinc.hot_dip") for op in _split(r["operations"]))]
    assert elsewhere


def test_every_catalogue_family_has_a_demo_supplier(records):
    catalogue = get_catalogue()
    families = {catalogue.get(op).family for r in _capabilities(records) for op in _split(r["operations"])}
    assert {root.id for root in catalogue.roots()} <= families


def test_tenders_have_meaningful_titles_and_needs_give_parameters(records):
    lots = [r for r in records if r.get("kind") == "tender_lot"]
    titles = {r["tender_title"] for r in lots}
    assert len(titles) >= 5
    for title in titles:
        assert not re.search(r"№\s*\d+", title) and not title.lower().startswith("закупка продукции"), title
        assert len(title.split()) >= 4, title
    jobs = [r for r in records if r.get("kind") == "missing_operation"]
    assert jobs
    catalogue = get_catalogue()
    for r in jobs:
        assert r["operations"] and r["quantity"] and r["ends_on"], r["title"]
        takes_materials = any("materials" in catalogue.get(op).parameters for op in _split(r["operations"]))
        assert bool(r.get("material_ids")) == takes_materials, r["title"]
        limits = {p for op in _split(r["operations"]) for p in catalogue.get(op).parameters
                  if p.endswith(("_mm", "_kg")) or p == "tolerance_it"}
        assert not limits or any(r.get(k) for k in limits), r["title"]


def test_demo_command_seeds_and_serves_the_organizations_by_region(app, db, runner, monkeypatch, tmp_path):
    """``make demo`` runs ``cosmos demo``: it must really start a server (Flask ignores ``app.run()`` inside a CLI
    command) on the app whose home page lists the organizations by region."""
    import werkzeug.serving

    from marketplace.indexing import services

    served: list[tuple] = []
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda *args, **kwargs: served.append(args))
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")  # what the ``cosmos`` (FlaskGroup) entry point sets
    monkeypatch.setitem(app.config, "SEARCH_URL", f"embedded://{tmp_path / 'search'}")
    services.close_search(keep_encoder=True)
    try:
        result = runner.invoke(args=["demo", "--organizations", "12", "--port", "5123"])
        assert result.exit_code == 0, result.output
        assert "Демо-пользователь" in result.output
        assert "Периодические задания" in result.output  # no Redis: they run beside the site
        assert services.check().consistent  # the demo's listings were indexed
        from marketplace.analytics.models import AnalyticsSnapshot

        assert "Аналитика рассчитана" in result.output  # the coordinators' tabs open with data
        assert "Цепочки кооперации: утверждено" in result.output
        from marketplace.communities.models import Community
        from marketplace.organizations.models import Organization

        assert "Сообщества:" in result.output and db.session.query(Community).count() >= 1
        assert db.session.query(Organization).filter_by(region_code="27", verified=True).count() >= 1
        assert db.session.query(AnalyticsSnapshot).filter_by(scope="27").count() > 0
    finally:
        services.close_search(keep_encoder=True)
    assert [(host, port) for host, port, _ in served] == [("127.0.0.1", 5123)]
    page = served[0][2].test_client().get("/").get_data(as_text=True)
    assert "Хабаровский край" in page and '<span class="count">' in page


def test_demo_communities_cover_every_kind_of_access(app, db):
    """On the full demo's shape (the seed's organizations, not 12): an open cluster and association, a closed
    community with a request waiting, a secret one with an invitation; a third of the region verified."""
    from marketplace.communities.models import Community, CommunityAccess, MemberStatus
    from marketplace.demo.communities import create_demo_communities
    from marketplace.demo.seed import seed_demo
    from marketplace.organizations.models import Organization

    seed_demo(120, 27)
    made = create_demo_communities()
    by_access = {c.access: c for c in made}
    assert {CommunityAccess.OPEN, CommunityAccess.CLOSED, CommunityAccess.SECRET} <= set(by_access), \
        [c.name for c in made]
    assert any(m.status == MemberStatus.REQUESTED for m in by_access[CommunityAccess.CLOSED].members)
    assert any(m.status == MemberStatus.INVITED for m in by_access[CommunityAccess.SECRET].members)
    assert all(len([m for m in c.members if m.status == MemberStatus.ACTIVE]) >= 2 for c in made)
    local = db.session.query(Organization).filter_by(region_code="27")
    assert 0 < local.filter_by(verified=True).count() < local.count()
    assert create_demo_communities() == []  # a second run adds nothing
    assert db.session.query(Community).count() == len(made)
