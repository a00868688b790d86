"""Bulk import throughput: generate N rows (organizations, offers and needs), import them twice, print figures.

    python bench/bench_import.py --rows 100000 [--format csv|xlsx|jsonl] [--database-url postgresql://...]

Target on 2 cores: 100,000 rows in under two minutes. Uses a throwaway SQLite database unless a URL is given.
"""
from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_rows(n: int) -> list[dict[str, str]]:
    from marketplace.organizations.validators import make_inn

    regions = ["27", "25", "28", "14", "54", "66", "77", "78", "16", "23"]
    codes = ["25.62.10", "25.61.11", "24.51.20", "28.13.14", "16.23.11", "26.12.30", "25.11.23", "22.29.29"]
    rows: list[dict[str, str]] = []
    org = 0
    while len(rows) < n:
        org += 1
        inn = make_inn(f"{regions[org % len(regions)]}{org:07d}")
        rows.append({"type": "organization", "tax_id": inn, "name": f"Завод № {org}", "region": regions[org % 10],
                     "kind": "both"})
        for i in range(min(49, n - len(rows))):
            offer = i % 3 != 0
            rows.append({"type": "offer" if offer else "need", "kind": "product" if offer else "purchase_request",
                         "tax_id": inn, "external_id": f"{org}-{i}", "title": f"Изделие {org}-{i}",
                         "description": "Детали по чертежам заказчика, контроль ОТК",
                         "okpd2": codes[(org + i) % len(codes)], "quantity": str(1 + i), "unit": "шт",
                         "price": f"{100 + i}.50", "ends_on": "2027-12-31"})
    return rows


def write(rows: list[dict[str, str]], path: Path) -> Path:
    header = sorted({k for r in rows for k in r}, key=lambda k: (k != "type", k))
    if path.suffix == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)
    elif path.suffix == ".jsonl":
        import json

        with open(path, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    else:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet()
        ws.append(header)
        for r in rows:
            ws.append([r.get(h) for h in header])
        wb.save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", choices=["csv", "xlsx", "jsonl"], default="csv")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    if args.rows < 1:
        parser.error("--rows must be positive")

    tmp = Path(tempfile.mkdtemp(prefix="cosmos-bench-"))
    os.environ["COSMOS_INSTANCE_PATH"] = str(tmp)
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.importer.service import import_file
    from marketplace.refdata.loader import load_reference_data

    config = {"SQLALCHEMY_DATABASE_URI": args.database_url} if args.database_url else {}
    app = create_app({"COSMOS_LOG_LEVEL": "WARNING", **config})
    path = write(make_rows(args.rows), tmp / f"bench.{args.format}")
    print(f"file: {path.name}, {args.rows} rows, {path.stat().st_size / 1e6:.1f} MB")
    with app.app_context():
        upgrade()
        load_reference_data()
        db.session.commit()
        for attempt in ("first import", "re-import (no changes)"):
            start = time.perf_counter()
            report = import_file(path)
            db.session.commit()
            elapsed = time.perf_counter() - start
            print(f"{attempt:24s} {elapsed:7.1f} s  {args.rows / elapsed:8.0f} rows/s  "
                  f"created {report.listings_created}, updated {report.listings_updated}, "
                  f"unchanged {report.listings_unchanged}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB; cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
