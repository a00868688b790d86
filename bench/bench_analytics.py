"""Coordinator analytics at scale: seed offers, needs, matches, chains and awards with bulk inserts, then time the
``analytics.refresh`` job, the live gaps of one region (the CLI), the drill-down and the page reads.

    python bench/bench_analytics.py --offers 1000000 --needs 200000 [--matches-per-need 4] [--database-url URL]

Uses a throwaway SQLite database under a temporary directory unless a URL is given. Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BATCH = 20_000
TIERS_ORDER = ("local", "district", "national", "eaeu", "friendly")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--needs", type=int, default=20_000)
    parser.add_argument("--organizations", type=int, default=0, help="default: (offers + needs) / 50")
    parser.add_argument("--matches-per-need", type=int, default=4)
    parser.add_argument("--chains", type=int, default=2_000)
    parser.add_argument("--awards", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=27)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--no-seed", action="store_true", help="reuse the data already in --database-url")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="bench-analytics-")
    os.environ["COSMOS_INSTANCE_PATH"] = workdir
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.refdata.loader import load_reference_data

    url = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
    app = create_app({"COSMOS_LOG_LEVEL": "WARNING", "SQLALCHEMY_DATABASE_URI": url, "TESTING": True,
                      "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False, "REDIS_URL": None,
                      "SEARCH_URL": f"embedded://{workdir}/search"})
    figures: dict[str, object] = {"offers": args.offers, "needs": args.needs, "database": url.split(":")[0]}
    with app.app_context():
        upgrade(revision="heads")
        load_reference_data()
        db.session.commit()
        start = time.perf_counter()
        counts = existing(db) if args.no_seed else seed(db, args)
        figures.update(counts)
        figures["seed_s"] = round(time.perf_counter() - start, 1)
        print(json.dumps(figures), file=sys.stderr, flush=True)

        from marketplace.analytics.snapshots import refresh

        start = time.perf_counter()
        report = refresh()
        db.session.commit()
        figures["refresh_s"] = round(time.perf_counter() - start, 1)
        figures["refresh_parts_s"] = report.seconds
        figures["snapshots"] = report.rows
        print(json.dumps(figures), file=sys.stderr, flush=True)

        from marketplace.analytics.gaps import gap_needs, gaps
        from marketplace.analytics.scope import resolve_scope

        scope = resolve_scope("27")
        start = time.perf_counter()
        live = gaps(scope)
        figures["live_gaps_27_s"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        needs = gap_needs(scope, live.rows[0].okpd2_class, "local") if live.rows else ()
        figures["drill_down_27_s"] = round(time.perf_counter() - start, 2)
        figures["drill_down_rows"] = len(needs)
        figures["gaps_27_rows"] = len(live.rows)
        db.session.remove()

    figures.update(time_pages(app))
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(figures, ensure_ascii=False, indent=2))


def existing(db) -> dict[str, int]:
    from sqlalchemy import func, select

    from marketplace.listings.models import Listing, Side
    from marketplace.matches.models import Match
    from marketplace.organizations.models import Organization

    sides = dict(db.session.execute(select(Listing.side, func.count()).group_by(Listing.side)).all())
    return {"offers": sides.get(Side.OFFER, 0), "needs": sides.get(Side.NEED, 0),
            "organizations": db.session.scalar(select(func.count()).select_from(Organization)),
            "matches": db.session.scalar(select(func.count()).select_from(Match))}


def seed(db, args) -> dict[str, int]:
    """Bulk inserts through SQLAlchemy Core: organizations, listings with one ОКПД2 code, matches, chains, awards."""
    from sqlalchemy import insert, select

    from marketplace.chains.models import ChainRequest, CooperationChain
    from marketplace.classifiers.models import ClassifierCode
    from marketplace.geo.models import Region
    from marketplace.listings.models import Listing, ListingCode
    from marketplace.matches.models import Match
    from marketplace.organizations.models import Organization

    rng = random.Random(args.seed)
    regions = db.session.execute(select(Region.code, Region.district_code)).all()
    district_of = dict(regions)
    region_codes = [r for r, _ in regions]
    weights = [25 if r == "27" else 8 if district_of[r] == "FEFD" else 1 for r in region_codes]
    codes = rng.sample([c for (c,) in db.session.execute(
        select(ClassifierCode.code).where(ClassifierCode.scheme == "okpd2", ClassifierCode.level >= 4,
                                          ClassifierCode.section == "C"))], 600)
    now = datetime.now(UTC)
    conn = db.session.connection()

    n_orgs = args.organizations or max(100, (args.offers + args.needs) // 50)
    org_region = []
    rows = []
    for i in range(1, n_orgs + 1):
        foreign = i % 97 == 0
        region = None if foreign else rng.choices(region_codes, weights)[0]
        org_region.append(region)
        rows.append({"id": i, "name": f"Завод № {i}", "country_code": ("BY" if i % 2 else "CN") if foreign else "RU",
                     "tax_id": f"{i:010d}", "region_code": region, "kind": "both", "verified": False, "archived": False,
                     "created_at": now - timedelta(days=rng.randrange(720)), "updated_at": now})
    _bulk(conn, insert(Organization.__table__), rows)

    total = args.offers + args.needs
    listing_org = [0] * (total + 1)
    listing_rows, code_rows = [], []
    for lid in range(1, total + 1):
        need = lid > args.offers
        org = rng.randrange(1, n_orgs + 1)
        listing_org[lid] = org
        listing_rows.append({
            "id": lid, "kind": "purchase_request" if need else "product", "side": "need" if need else "offer",
            "status": "active" if rng.random() < 0.9 else "closed", "organization_id": org,
            "title": f"{'Потребность' if need else 'Изделие'} {lid}", "description": "",
            "country_code": "RU" if org_region[org - 1] else "BY", "region_code": org_region[org - 1],
            "quantity": rng.randrange(1, 500), "unit": "шт", "price": None if need else rng.randrange(100, 50_000),
            "budget": rng.randrange(10_000, 5_000_000) if need and rng.random() < 0.7 else None, "currency": "RUB",
            "certifications": [], "attributes": {}, "created_at": now - timedelta(days=rng.randrange(365)),
            "updated_at": now})
        code_rows.append({"listing_id": lid, "scheme": "okpd2", "code": rng.choice(codes), "position": 0})
        if len(listing_rows) >= BATCH:
            _bulk(conn, insert(Listing.__table__), listing_rows)
            _bulk(conn, insert(ListingCode.__table__), code_rows)
            listing_rows, code_rows = [], []
    _bulk(conn, insert(Listing.__table__), listing_rows)
    _bulk(conn, insert(ListingCode.__table__), code_rows)

    match_rows = []
    n_matches = 0
    need_created = now - timedelta(days=180)
    for need in range(args.offers + 1, total + 1):
        need_region = org_region[listing_org[need] - 1]
        for offer in rng.sample(range(1, args.offers + 1), min(args.matches_per_need, args.offers)):
            offer_region = org_region[listing_org[offer] - 1]
            if offer_region is None:
                tier = "eaeu" if listing_org[offer] % 2 else "friendly"
            elif offer_region == need_region:
                tier = "local"
            elif need_region and district_of[offer_region] == district_of[need_region]:
                tier = "district"
            else:
                tier = "national"
            n_matches += 1
            match_rows.append({"id": n_matches, "need_id": need, "offer_id": offer, "score": rng.random(),
                               "tier": tier, "acceptable": rng.random() < 0.5, "rank": 0, "explanation": {},
                               "status": "new", "created_at": need_created + timedelta(hours=rng.randrange(1, 400)),
                               "updated_at": now})
            if len(match_rows) >= BATCH:
                _bulk(conn, insert(Match.__table__), match_rows)
                match_rows = []
    _bulk(conn, insert(Match.__table__), match_rows)

    request_rows, chain_rows = [], []
    for i in range(1, args.chains + 1):
        buyer = rng.randrange(1, n_orgs + 1)
        suppliers = rng.sample(range(1, n_orgs + 1), 3)
        request_rows.append({"id": i, "organization_id": buyer, "item": "Рама", "quantity": 10, "unit_weight_kg": 50,
                             "delivery_region": org_region[buyer - 1] or "27", "deadline_days": 30, "spec": {},
                             "status": "built", "progress": 1.0, "created_at": now, "updated_at": now})
        chain_rows.append({"id": i, "request_id": i, "rank": 0, "status": "approved", "total_cost": 1e6,
                           "lead_time_days": 20, "distance_km": 1000, "localization": {}, "created_at": now,
                           "updated_at": now, "decided_at": now - timedelta(days=rng.randrange(200)),
                           "result": {"assignments": [
                               {"stage": f"s{k}", "listing_id": "0", "organization_id": str(s),
                                "organization": f"Завод № {s}", "region": org_region[s - 1], "tier": "local",
                                "production_cost": rng.randrange(10_000, 300_000)} for k, s in enumerate(suppliers)]}})
    _bulk(conn, insert(ChainRequest.__table__), request_rows)
    _bulk(conn, insert(CooperationChain.__table__), chain_rows)

    n_awards = _seed_awards(conn, rng, args, n_orgs, now)
    db.session.commit()
    return {"organizations": n_orgs, "matches": n_matches, "approved_chains": args.chains, "awards": n_awards}


def _seed_awards(conn, rng, args, n_orgs, now) -> int:
    """Tender lots (need listings of kind tender_lot) with a winning response each; skipped without the model."""
    try:
        from marketplace.tenders.models import LotAward, Tender, TenderResponse
    except ImportError:
        return 0
    from sqlalchemy import insert, update

    from marketplace.listings.models import Listing

    lots = list(range(args.offers + 1, args.offers + 1 + min(args.awards, args.needs)))
    tenders = []
    for i in range(1, len(lots) // 5 + 2):
        tenders.append({"id": i, "organization_id": rng.randrange(1, n_orgs + 1), "title": f"Тендер {i}",
                        "description": "", "status": "awarded", "visibility": "open", "created_at": now,
                        "updated_at": now})
    _bulk(conn, insert(Tender.__table__), tenders)
    responses, awards = [], []
    for k, lot in enumerate(lots, 1):
        tender = k // 5 + 1
        conn.execute(update(Listing.__table__).where(Listing.__table__.c.id == lot)
                     .values(kind="tender_lot", tender_id=tender, lot_number=k % 5 + 1))
        supplier = rng.randrange(1, n_orgs + 1)
        responses.append({"id": k, "lot_id": lot, "organization_id": supplier, "price": 1000, "quantity": 10,
                          "lead_time_days": 10, "comment": "", "status": "awarded", "created_at": now,
                          "updated_at": now})
        awards.append({"lot_id": lot, "tender_id": tender, "response_id": k, "supplier_organization_id": supplier,
                       "amount": rng.randrange(50_000, 3_000_000),
                       "decided_at": now - timedelta(days=rng.randrange(300))})
    _bulk(conn, insert(TenderResponse.__table__), responses)
    _bulk(conn, insert(LotAward.__table__), awards)
    return len(awards)


def _bulk(conn, statement, rows) -> None:
    for start in range(0, len(rows), BATCH):
        conn.execute(statement, rows[start:start + BATCH])


def time_pages(app) -> dict[str, float]:
    """Median of 5 reads of each coordinator page (admin session), from the snapshots."""
    import statistics

    from marketplace.accounts.models import User, UserRole
    from marketplace.extensions import db

    with app.app_context():
        admin = db.session.query(User).filter_by(email="bench@example.ru").one_or_none()
        if admin is None:
            admin = User(email="bench@example.ru", full_name="Bench", role=UserRole.ADMIN, password_hash="x")
            db.session.add(admin)
            db.session.commit()
        user_id = admin.get_id()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    out: dict[str, float] = {}
    for name, path in (("page_gaps_27_ms", "/analytics/27/gaps"), ("page_gaps_RU_ms", "/analytics/RU/gaps"),
                       ("page_localization_27_ms", "/analytics/27/localization"),
                       ("page_kpis_27_ms", "/analytics/27/kpis"), ("page_network_27_ms", "/analytics/27/network"),
                       ("page_report_27_ms", "/analytics/27/report"), ("export_xlsx_27_ms", "/analytics/27/gaps.xlsx")):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        out[name] = round(statistics.median(times), 1)
    return out


if __name__ == "__main__":
    main()
