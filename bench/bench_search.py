"""Search throughput and latency on synthetic listings: index N offers and needs, then time text, vector and hybrid
top-10 queries with a region filter, each next to a bare peer built in the same run on the same documents
(``bench_peer.BarePeer``: tantivy with the same stemmer, numpy exact vectors, reciprocal rank fusion).

    python bench/bench_search.py --n 100000 [--dim 256] [--queries 300] [--dir /tmp/idx] [--keep]
    python bench/bench_search.py --n 10000 100000 300000 1000000     # a scale table and the fitted exponent
    python bench/bench_search.py --n 100000 --reference /tmp/ref.json   # write, or check against, today's top-10

Every figure is printed with the product / peer ratio and the machine's load (``os.getloadavg``). The checks are
printed too: the vector top-10 equals the peer's exact numpy top-10 on every query, no hit is outside the query's
region, and with ``--reference`` every top-10 (text, vector, hybrid) equals the one a previous run wrote. After
each size the backend's own memory is measured in a fresh process running the same queries (``search_rss.py``).

Listings are made from ОКПД2 names across the 89 subjects of the Federation. Vectors come from the product's
built-in encoder (``matching.encoders.BuiltinEncoder``, fitted on the ОКПД2 and ОКВЭД2 names as the application
fits it on the classifiers), and the indexing figure includes encoding each listing's text, as the outbox drain
does. ``--encoder hashing`` swaps in a crude hashing encoder inside this script to time the index alone. Targets
on 2 cores: hybrid top-10 p95 <= 50 ms at 100k, within 2x of the peer at 100k and 1.5x at 1M; indexing >= 2,000
listings/s with the built-in encoder.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import resource
import shutil
import sys
import tempfile
import time
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_peer import BarePeer, limit_blas, load, same_top, scale_table, stats  # noqa: E402

from search import Document, Filters, Query, open_backend  # noqa: E402

SHARED = Path("/work/shared/data")
PRODUCT_OKPD2 = ROOT / "marketplace" / "refdata" / "data" / "okpd2.csv"
PRODUCT_REGIONS = ROOT / "marketplace" / "refdata" / "data" / "regions.csv"
PRODUCT_OKVED2 = ROOT / "marketplace" / "refdata" / "data" / "okved2.csv"
OFFER_KINDS = ("capability", "product", "surplus", "equipment_rent")
NEED_KINDS = ("tender_lot", "missing_operation", "purchase_request")
VERBS = {
    "capability": ("Изготовление", "Производство", "Обработка", "Выполним заказ:", "Контрактное производство:"),
    "product": ("Поставка", "Продаём", "Серийный выпуск:", "В наличии:"),
    "surplus": ("Остатки:", "Складские излишки:", "Распродажа остатков:"),
    "equipment_rent": ("Аренда оборудования:", "Сдаём в аренду линию:", "Свободные мощности:"),
    "tender_lot": ("Закупка", "Тендер на поставку:", "Лот:"),
    "missing_operation": ("Требуется операция:", "Ищем подрядчика:", "Нужна кооперация:"),
    "purchase_request": ("Купим", "Запрос цен:", "Потребность:"),
}
EXTRAS = ("по ГОСТ", "по чертежам заказчика", "партия от 100 шт", "сталь 09Г2С", "нержавеющая сталь AISI 304",
          "алюминий АД31", "контроль ОТК", "доставка по России", "отсрочка платежа", "серийное производство",
          "приёмка ВП", "сертификат соответствия", "срок 30 дней", "ЧПУ", "мелкая серия")


class HashingEncoder:
    """A bag of word prefixes hashed into ``dim`` signed buckets, L2-normalised: crude, deterministic, fast."""

    def __init__(self, dim: int = 256):
        self.dim = dim

    def encode(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            if len(word) < 3:
                continue
            h = zlib.crc32(word[:6].encode())
            vector[h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
        norm = np.linalg.norm(vector)
        if norm == 0:
            vector[0] = 1.0
            return vector
        return vector / norm

    def encode_many(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.encode(t) for t in texts])


class BuiltinBenchEncoder:
    """The product's built-in encoder (TF-IDF over stems and character n-grams, then SVD), fitted on names."""

    def __init__(self, names: list[str], dim: int = 256):
        from matching.encoders import BuiltinEncoder

        self.encoder = BuiltinEncoder(n_components=dim).fit(names)
        self.dim = self.encoder.dim

    def encode(self, text: str) -> np.ndarray:
        return self.encoder.encode_queries([text])[0]

    def encode_many(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode_passages(texts)


def load_okpd2(path: Path) -> list[tuple[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [(r["code"], r["name"]) for r in csv.DictReader(fh)]
    return [(code, name) for code, name in rows if len(code) >= 8]


def load_regions(path: Path) -> list[tuple[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [(r["code"], r["federal_district"]) for r in csv.DictReader(fh)]


def synthesise(start_id: int, count: int, codes: list[tuple[str, str]], regions: list[tuple[str, str]],
               code_vectors: np.ndarray | None, rng: np.random.Generator) -> list[Document]:
    """``count`` listings with ids from ``start_id``; random draws are made in bulk so the bench times the index.

    With ``code_vectors`` (the hashing encoder) each listing gets its code's vector plus noise; without, the
    listings carry no vector and the caller encodes their text inside the timed part.
    """
    side_offer = rng.random(count) < 0.6
    kind_pick = rng.integers(0, 12, count)
    code_pick = rng.integers(0, len(codes), count)
    other_pick = rng.integers(0, len(codes), count)
    region_pick = rng.integers(0, len(regions), count)
    extra_pick = rng.integers(0, len(EXTRAS), (count, 2))
    verb_pick = rng.integers(0, 60, count)
    orgs = rng.integers(1, 50_000, count)
    quantities = rng.integers(1, 1000, count)
    prices = rng.integers(100, 100_000, count)
    vectors: list[np.ndarray | None] = [None] * count
    if code_vectors is not None:
        dim = code_vectors.shape[1]
        noisy = code_vectors[code_pick] + 0.35 * rng.standard_normal((count, dim), dtype=np.float32) / np.sqrt(dim)
        vectors = list(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for j in range(count):
        i = start_id + j
        side = "offer" if side_offer[j] else "need"
        kinds = OFFER_KINDS if side == "offer" else NEED_KINDS
        kind = kinds[kind_pick[j] % len(kinds)]
        code, name = codes[code_pick[j]]
        verbs = VERBS[kind]
        region, district = regions[region_pick[j]]
        out.append(Document(
            id=i, side=side, kind=kind, title=f"{verbs[verb_pick[j] % len(verbs)]} {name[:1].lower()}{name[1:]}",
            description=f"{name}. {EXTRAS[extra_pick[j, 0]]}, {EXTRAS[extra_pick[j, 1]]}. "
                        f"Также: {codes[other_pick[j]][1].lower()}.",
            okpd2=(code,), region=region, district=district, organization_id=int(orgs[j]),
            quantity=float(quantities[j]), unit="шт", price=float(prices[j]), status="active",
            updated_at=start + timedelta(minutes=i), vector=vectors[j],
        ))
    return out


def disk_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def ids_only(**fields) -> Query:
    """The query as the matcher asks it (no total, no stored fields); the plain query for code before issue 16."""
    try:
        return Query(**fields, count=False, fields=False)
    except TypeError:
        return Query(**fields)


class Run:
    """Timed queries for one corpus size: product and peer interleaved, query by query."""

    def __init__(self, backend, peer: BarePeer, region_of: np.ndarray):
        self.backend, self.peer, self.region_of = backend, peer, region_of
        self.times: dict[str, list[float]] = {}
        self.peer_times: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}  # process CPU time: the work, less the waits for a busy core
        self.peer_cpu: dict[str, list[float]] = {}
        self.tops: dict[str, list[list[int]]] = {}
        self.scored: dict[str, list[list[tuple[int, float]]]] = {}
        self.recall: dict[int, list[float]] = {}
        self.approximate = bool(getattr(getattr(backend, "_vectors", None), "approximate", False))
        self.wrong_region = self.vector_mismatch = self.checked_hits = self.empty = 0

    def product(self, mode: str, query: Query):
        t, c = time.perf_counter(), time.process_time()
        result = self.backend.search(query)
        self.times.setdefault(mode, []).append(time.perf_counter() - t)
        self.cpu.setdefault(mode, []).append(time.process_time() - c)
        self.tops.setdefault(mode, []).append([h.id for h in result.hits])
        self.scored.setdefault(mode, []).append([(h.id, h.score) for h in result.hits])
        return result

    def bare(self, mode: str, fn, *args):
        t, c = time.perf_counter(), time.process_time()
        out = fn(*args)
        self.peer_times.setdefault(mode, []).append(time.perf_counter() - t)
        self.peer_cpu.setdefault(mode, []).append(time.process_time() - c)
        return out

    def query(self, text: str, vector: np.ndarray, region: str) -> None:
        peer, filters = self.peer, Filters(regions=(region,))
        for mode, query in (("text", Query(text=text, filters=filters)),
                            ("vector", Query(vector=vector, filters=filters)),
                            ("hybrid", Query(text=text, vector=vector, filters=filters))):
            hits = self.product(mode, query).hits
            ids = [h.id for h in hits]
            self.wrong_region += sum(self.region_of[i] != region for i in ids)
            self.checked_hits += len(ids)
            self.empty += mode == "hybrid" and not ids
        self.bare("text", peer.text, text, region, 10)
        want, scores = self.bare("vector", peer.vector, vector, peer.region_rows(region), 10)
        self.bare("hybrid", peer.hybrid, text, vector, region)
        exact = dict(zip(want.tolist(), scores.tolist(), strict=True))
        self.vector_mismatch += not same_top(self.tops["vector"][-1], want.tolist(), exact)
        # what the matcher asks: ids and scores, no total, no stored fields
        self.product("hybrid ids", ids_only(text=text, vector=vector, filters=filters))
        self.product("hybrid+facets", Query(text=text, vector=vector, filters=filters, facets=("kind", "okpd2_class")))
        self.product("prefix", Query(text=text[: max(3, len(text) - 2)], prefix=True, filters=filters))
        # a broad filter (the matcher's side = offer) against one pass of the peer over the whole matrix
        broad = self.product("vector broad", ids_only(vector=vector, filters=Filters(side="offer")))
        self.bare("vector broad", peer.vector, vector, None, 10)
        want, scores = peer.vector(vector, peer.side_rows("offer"), 100)
        exact = dict(zip(want.tolist(), scores.tolist(), strict=True))
        self.vector_mismatch += not same_top([h.id for h in broad.hits], want[:10].tolist(), exact)
        self.recall.setdefault(10, []).append(len({h.id for h in broad.hits} & set(want[:10].tolist())) / 10)
        if self.approximate:  # the matcher's depth
            deep = self.backend.search(ids_only(vector=vector, filters=Filters(side="offer"), k=100))
            self.recall.setdefault(100, []).append(len({h.id for h in deep.hits} & set(want.tolist())) / 100)

    def report(self, n: int, queries: int) -> dict[str, tuple[float, float]]:
        print(f"\nn={n:,}, {queries} queries per mode, top-10 ({load()})")
        print(f"{'mode':<14}{'product p50':>12}{'p95':>9}{'peer p50':>10}{'p95':>9}{'ratio p50':>11}{'p95':>7}")
        out = {}
        for mode, samples in self.times.items():
            p50, p95, _ = stats(samples)
            out[mode] = (p50, p95)
            peer_mode = {"hybrid+facets": "hybrid", "hybrid ids": "hybrid", "prefix": "text"}.get(mode, mode)
            q50, q95, _ = stats(self.peer_times[peer_mode])
            note = "" if peer_mode == mode else f"  (peer: {peer_mode})"
            c50, c95, _ = stats(self.cpu[mode])
            d50, d95, _ = stats(self.peer_cpu[peer_mode])
            print(f"{mode:<14}{p50:10.2f} ms{p95:7.2f} ms{q50:8.2f} ms{q95:7.2f} ms{p50 / q50:10.2f}x"
                  f"{p95 / q95:6.2f}x   cpu {c50:6.2f} /{c95:6.2f} ms vs {d50:5.2f} /{d95:6.2f}: "
                  f"{c50 / d50:5.2f}x {c95 / d95:5.2f}x{note}")
            if peer_mode == mode:
                out["peer " + mode] = (q50, q95)
        same = sum(a == b for a, b in zip(self.tops["hybrid"], self.tops["hybrid ids"], strict=True))
        print(f"checks: hybrid ids-only top-10 = hybrid top-10 in {same}/{queries}; "
              f"vector top-10 = exact numpy top-10 in {2 * queries - self.vector_mismatch}/{2 * queries}; "
              f"hits outside the query's region {self.wrong_region} of {self.checked_hits}; "
              f"hybrid queries with no hit {self.empty}")
        print("broad vector (side=offer) recall against exact numpy: " + ", ".join(
            f"top-{k} {np.mean(v):.4f} (min {min(v):.2f})" for k, v in sorted(self.recall.items()))
              + (" [approximate]" if self.approximate else " [exact]"))
        return out

    def check_reference(self, path: Path, key: dict) -> None:
        modes = ("text", "vector", "hybrid", "vector broad")
        tops = {m: [[[i, round(s, 5)] for i, s in top] for top in self.scored[m]] for m in modes}
        if not path.exists():
            path.write_text(json.dumps({"key": key, "tops": tops}))
            print(f"reference top-10 written to {path}")
            return
        saved = json.loads(path.read_text())
        if saved["key"] != key:
            print(f"reference {path} is for {saved['key']}, not {key}: not compared")
            return
        for mode in modes:
            same = sum(a == b for a, b in zip(saved["tops"][mode], tops[mode], strict=True))
            print(f"reference: {mode} top-10 identical in {same}/{len(tops[mode])}")


def backend_memory(workdir: Path, queries: list, dim: int) -> str:
    """The backend's resident memory after the timed queries, in a fresh process (``search_rss.py``)."""
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "queries.npz"
        np.savez(path, texts=np.asarray([t for t, _, _ in queries]), vectors=np.stack([v for _, v, _ in queries]),
                 regions=np.asarray([r for _, _, r in queries]))
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "search_rss.py"), str(workdir), "--queries",
                               str(path), "--dim", str(dim)], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else f"backend memory not measured: {done.stderr.strip()}"


def build_encoder(args):
    if args.encoder == "hashing":
        return HashingEncoder(args.dim)
    started = time.perf_counter()
    names = []
    for path in (args.okpd2, args.okved2):
        with open(path, newline="", encoding="utf-8") as fh:
            names += [r["name"] for r in csv.DictReader(fh)]
    encoder = BuiltinBenchEncoder(names, args.dim)
    print(f"built-in encoder fitted on {len(names):,} names in {time.perf_counter() - started:.1f} s "
          f"(not counted), dim={encoder.dim}")
    if encoder.dim != args.dim:
        raise SystemExit(f"the encoder gives {encoder.dim} dimensions, not {args.dim}")
    return encoder


def main(argv: list[str] | None = None) -> list:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[100_000], help="listings to index (several: a scale "
                        "table, each size built by adding to the previous one)")
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--queries", type=int, default=300, help="queries per mode")
    parser.add_argument("--batch", type=int, default=50_000, help="listings per index() call")
    parser.add_argument("--okpd2", type=Path, default=PRODUCT_OKPD2 if PRODUCT_OKPD2.exists()
                        else SHARED / "okpd2.csv")
    parser.add_argument("--okved2", type=Path, default=PRODUCT_OKVED2 if PRODUCT_OKVED2.exists()
                        else SHARED / "okved2.csv")
    parser.add_argument("--encoder", choices=("builtin", "hashing"), default="builtin",
                        help="builtin: the product's encoder, its time counted in indexing; hashing: index only")
    parser.add_argument("--regions", type=Path, default=PRODUCT_REGIONS if PRODUCT_REGIONS.exists()
                        else SHARED / "regions.csv")
    parser.add_argument("--dir", type=Path, default=None, help="index directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the index directory")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reference", type=Path, default=None,
                        help="JSON of every top-10 with its scores: written when missing, else compared (the "
                        "largest --n). Text ties are broken by tantivy's segment order, which differs between two "
                        "builds: compare on one index (--dir D --keep, then --search-only --dir D with each code)")
    parser.add_argument("--approximate", action="store_true", help="open the index with approximate=True (its "
                        "recall against the exact top-10 and top-100 is printed)")
    parser.add_argument("--probe", type=float, default=0.05, help="share of inverted lists probed (--approximate)")
    parser.add_argument("--search-only", action="store_true",
                        help="time the queries on the listings already in --dir (one --n, the same --seed)")
    parser.add_argument("--no-rss", action="store_true", help="skip the backend's memory, measured in a fresh "
                        "process after each size (bench/search_rss.py)")
    parser.add_argument("--blas-threads", type=int, default=1, help="BLAS threads of this process, product and "
                        "peer alike (0: the library's default; on shared cores more than one adds a scheduler wait)")
    args = parser.parse_args(argv)
    sizes = sorted(set(args.n))
    limit_blas(args.blas_threads)
    opts = {"approximate": True, "probe": args.probe} if args.approximate else {}

    codes = load_okpd2(args.okpd2)
    regions = load_regions(args.regions)
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="bench-search-"))
    backend = open_backend(f"embedded://{workdir.resolve()}", dim=args.dim, **opts)
    if args.search_only:
        if args.dir is None or len(sizes) != 1 or backend.count() != sizes[0]:
            parser.error(f"--search-only needs --dir holding exactly --n listings ({backend.count()} there)")
    else:
        backend.clear()
    encoder = build_encoder(args)
    code_vectors = np.stack([encoder.encode(name) for _, name in codes]) if args.encoder == "hashing" else None
    peer = BarePeer(args.dim)
    region_of = np.empty(sizes[-1] + 1, dtype=object)
    rng = np.random.default_rng(args.seed)
    qrng = np.random.default_rng(args.seed + 1)
    queries = []
    for _ in range(args.queries):
        name = codes[int(qrng.integers(len(codes)))][1]
        words = [w for w in re.findall(r"\w+", name) if len(w) > 3] or ["изделия"]
        text = " ".join(words[: int(qrng.integers(1, 4))])
        queries.append((text, encoder.encode(text), regions[int(qrng.integers(len(regions)))][0]))
    print(f"backend {backend!r}; {len(codes)} ОКПД2 codes, {len(regions)} regions, sizes {sizes}, dim={args.dim}")
    index_seconds = encode_seconds = 0.0
    done, table = 0, []
    for n in sizes:
        while done < n:
            batch = synthesise(done + 1, min(args.batch, n - done), codes, regions, code_vectors, rng)
            started = time.perf_counter()
            if code_vectors is None:  # encode the listings' text, as the outbox drain does before indexing
                vectors = encoder.encode_many([f"{d.title}. {d.description}" for d in batch])
                batch = [replace(d, vector=v) for d, v in zip(batch, vectors, strict=True)]
                encode_seconds += time.perf_counter() - started
            done += len(batch) if args.search_only else backend.index(batch)
            index_seconds += time.perf_counter() - started
            peer.add(batch)
            for d in batch:
                region_of[d.id] = d.region
            print(f"  indexed {done:>9,}  {done / index_seconds:8,.0f} listings/s ({load()})", flush=True)
        assert backend.count() == n, (backend.count(), n)
        peer.freeze()
        if not args.search_only:
            print(f"indexing {n:,} listings: {n / index_seconds:,.0f} listings/s ({args.encoder} encoder"
                  + (f"; encoding alone {n / encode_seconds:,.0f}/s, index writes "
                     f"{n / (index_seconds - encode_seconds):,.0f}/s)" if encode_seconds else ")"))
        run = Run(backend, peer, region_of)
        for text, vector, region in queries[:20]:  # warm the page cache and the readers
            backend.search(Query(text=text, vector=vector, filters=Filters(regions=(region,))))
            peer.hybrid(text, vector, region)
        for text, vector, region in queries:
            run.query(text, vector, region)
        figures = run.report(n, len(queries))
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size = disk_size(workdir)
        print(f"index size {size / 2**20:,.0f} MiB on disk ({size / n:,.0f} bytes/listing); peak RSS of the "
              f"bench (product, peer and the generator together) {peak_rss:,.0f} MiB")
        if not args.no_rss:
            print(backend_memory(workdir, queries, args.dim))
        table.append((n, figures))
        if args.reference is not None and n == sizes[-1]:
            run.check_reference(args.reference, {"n": n, "seed": args.seed, "encoder": args.encoder,
                                                 "queries": args.queries, "dim": args.dim})
    if len(table) > 1:
        scale_table(table)
    backend.close()
    if not args.keep and args.dir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return table


if __name__ == "__main__":
    main()
