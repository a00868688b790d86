"""Queries and CPU per page of the load mix (bench/bench_load.py), each page rendered many times through Flask's
test client in this process, against a PostgreSQL database seeded with the demo's data (bench_load's by default).

    python bench/profile_pages.py [--repeat 30] [--page home] [--profile home] [--top 25]
                                  [--database-url postgresql://postgres@127.0.0.1/cosmos_bench_load]

For each kind of page (home, region 27, the Far Eastern district, search «токарная обработка», producer pages,
listing pages, the API's listing list with a token, and POST /api/v1/listings) it prints the number of SQL
statements per request (an SQLAlchemy ``before_cursor_execute`` listener) and the CPU milliseconds of this process per
request (``time.process_time``: Python, templates, the driver; not PostgreSQL's own CPU), median and 90th percentile
over ``--repeat`` requests after an untimed pass over the kind's pages (which fills the per-process caches), once
rendered (``COSMOS_PAGE_CACHE`` off) and once with the public pages kept (core.pagecache; the versions in Redis with
``--redis-url``, else in this process). ``--profile KIND`` runs cProfile over the rendered repeats of that kind and
prints the ``--top`` functions by cumulative time. Run it under ``taskset -c 0,1``; the
database must exist (run bench_load.py once); the writes it makes are the bench's own kind (listings of a demo buyer).
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WRITE_BODY = {"kind": "purchase_request", "title": "Закупка болтов М12 партия профиль",
              "description": "Болты М12 оцинкованные, ГОСТ 7798", "okpd2": ["25.94.11"], "quantity": 100,
              "unit": "шт", "mode": "buy", "budget": 5000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--page", action="append", help="only these kinds (home, region, district, search, "
                                                        "producer, listing, api_list, api_create)")
    parser.add_argument("--profile", help="cProfile this kind")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--database-url", default=os.environ.get(
        "COSMOS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/cosmos_bench_load"))
    parser.add_argument("--instance", default=str(Path(tempfile.gettempdir()) / "cosmos-bench-load"))
    parser.add_argument("--redis-url", default=os.environ.get("COSMOS_BENCH_REDIS_URL", ""),
                        help="Redis for the queue and limits (empty: none; writes then run their jobs inline)")
    parser.add_argument("--sql", action="store_true", help="print each statement of the first timed request")
    opts = parser.parse_args()
    os.environ.update(DATABASE_URL=opts.database_url, SECRET_KEY="bench-profile", COSMOS_INSECURE_COOKIES="1",
                      COSMOS_INSTANCE_PATH=opts.instance, COSMOS_HSTS_SECONDS="0")
    if opts.redis_url:
        os.environ["REDIS_URL"] = opts.redis_url
    else:
        os.environ.pop("REDIS_URL", None)

    from sqlalchemy import event, select, text

    from marketplace import create_app
    from marketplace.accounts.models import User
    from marketplace.api.tokens import create_token
    from marketplace.extensions import db

    app = create_app()
    statements: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute",
                     lambda _c, _cur, statement, *_a: statements.append(statement))
        orgs = db.session.scalars(text(
            "SELECT o.id FROM organizations o WHERE EXISTS (SELECT 1 FROM listings l WHERE l.organization_id = o.id "
            "AND l.status = 'active') ORDER BY o.id LIMIT 20")).all()
        listings = db.session.scalars(text(
            "SELECT l.id FROM listings l WHERE l.status = 'active' AND l.tender_id IS NULL ORDER BY l.id "
            "LIMIT 20")).all()
        buyer = db.session.scalar(select(User).where(User.email == "buyer@cosmos.local"))
        _token, secret = create_token(buyer, name=f"profile-{int(time.time())}")
        db.session.commit()
    auth = {"Authorization": f"Bearer {secret}"}
    kinds = {
        "home": [("GET", "/", {})],
        "region": [("GET", "/regions/27", {})],
        "district": [("GET", "/districts/FEFD", {})],
        "search": [("GET", "/search?q=" + quote("токарная обработка"), {})],
        "producer": [("GET", f"/producers/{i}", {}) for i in orgs],
        "listing": [("GET", f"/listings/{i}", {}) for i in listings],
        "api_list": [("GET", "/api/v1/listings", auth)],
        "api_create": [("POST", "/api/v1/listings", auth)],
    }
    wanted = opts.page or list(kinds)
    client = app.test_client(use_cookies=False)  # as wrk: every request a new anonymous visitor

    def measure(kind: str, *, keep: bool, profiler: cProfile.Profile | None = None) -> tuple[list[int], list[float],
                                                                                            set[int]]:
        """One untimed pass over the kind's pages (a gunicorn worker's first requests fill its caches), then
        ``--repeat`` timed requests."""
        app.config["COSMOS_PAGE_CACHE"] = keep
        requests = kinds[kind]
        counts: list[int] = []
        cpu: list[float] = []
        codes: set[int] = set()
        warm = len(requests) + 1
        for n in range(warm + opts.repeat):
            method, path, headers = requests[n % len(requests)]
            body = dict(WRITE_BODY, title=f"{WRITE_BODY['title']} {n}") if method == "POST" else None
            statements.clear()
            timed = n >= warm
            started = time.process_time()
            if profiler and timed:
                profiler.enable()
            response = client.open(path, method=method, headers=headers, json=body)
            if profiler:
                profiler.disable()
            spent = time.process_time() - started
            codes.add(response.status_code)
            if not timed:
                continue
            if opts.sql and n == warm:
                print(f"--- {kind} ({'kept' if keep else 'rendered'}): {path}")
                for s in statements:
                    print("   ", " ".join(s.split())[:200])
            counts.append(len(statements))
            cpu.append(1000 * spent)
        cpu.sort()
        return counts, cpu, codes

    def cell(counts: list[int], cpu: list[float]) -> str:
        spread = f" ({min(counts)}–{max(counts)})" if min(counts) != max(counts) else ""
        return f"{statistics.median(counts):>4.0f}{spread:<8} {statistics.median(cpu):>7.1f} {cpu[int(0.9 * (len(cpu) - 1))]:>6.1f}"

    print(f"{'':<11} {'rendered (page cache off)':<30} {'kept pages (page cache on)':<30}")
    print(f"{'page':<11} {'queries':<12} {'CPU ms':>7} {'p90':>6}   {'queries':<12} {'CPU ms':>7} {'p90':>6}  status")
    for kind in wanted:
        profiler = cProfile.Profile() if kind == opts.profile else None
        off = measure(kind, keep=False, profiler=profiler)
        on = measure(kind, keep=True)
        print(f"{kind:<11} {cell(*off[:2])}   {cell(*on[:2])}  {sorted(off[2] | on[2])}", flush=True)
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(opts.top)


if __name__ == "__main__":
    main()
