"""Memory of the embedded backend alone: a fresh process opens an index, runs the bench's queries and prints how
much its resident memory grew, anonymous (heap: the text index's readers, the vector columns' caches) and
file-backed (the memory-mapped vector matrix and tantivy's files, which the kernel may drop and re-read) apart.

    python bench/search_rss.py DIR --queries QUERIES.npz [--dim 256]

``bench_search.py`` runs it after timing each size (``--no-rss`` skips it) with the queries it timed: region-
filtered text, vector and hybrid top-10, the matcher's ids-only hybrid and a broad (side = offer) vector query.
The baseline is taken after the imports (Python, numpy, tantivy), before the index is opened.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def status_mib() -> dict[str, float]:
    """VmRSS, RssAnon and RssFile of this process in MiB (Linux /proc)."""
    out = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    return out


def measure(directory: Path, queries: Path, dim: int) -> dict[str, float]:
    import numpy as np

    from search import Filters, Query, open_backend

    with np.load(queries, allow_pickle=False) as npz:
        texts, vectors, regions = list(npz["texts"]), npz["vectors"], list(npz["regions"])
    before = status_mib()
    backend = open_backend(f"embedded://{directory.resolve()}", dim=dim)
    count = backend.count()
    for text, vector, region in zip(texts, vectors, regions, strict=True):
        filters = Filters(regions=(str(region),))
        backend.search(Query(text=str(text), filters=filters))
        backend.search(Query(vector=vector, filters=filters))
        backend.search(Query(text=str(text), vector=vector, filters=filters))
        backend.search(Query(text=str(text), vector=vector, filters=filters, count=False, fields=False))
        backend.search(Query(vector=vector, filters=Filters(side="offer"), count=False, fields=False))
    after = status_mib()
    backend.close()
    return {"listings": count, "rss": after["VmRSS"] - before["VmRSS"], "anon": after["RssAnon"] - before["RssAnon"],
            "file": after["RssFile"] - before["RssFile"], "peak": after["VmHWM"]}


def line(figures: dict[str, float]) -> str:
    return (f"backend memory after the queries ({figures['listings']:,.0f} listings, a fresh process): RSS "
            f"+{figures['rss']:,.0f} MiB (anonymous +{figures['anon']:,.0f}, file-backed +{figures['file']:,.0f}); "
            f"process peak {figures['peak']:,.0f} MiB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--queries", type=Path, required=True, help=".npz with texts, vectors and regions")
    parser.add_argument("--dim", type=int, default=256)
    args = parser.parse_args(argv)
    if not (args.dir / "vectors").exists() and not any(args.dir.iterdir()):
        parser.error(f"{args.dir} holds no index")
    print(line(measure(args.dir, args.queries, args.dim)))


if __name__ == "__main__":
    main()
