"""Search throughput and latency on synthetic listings: index N offers and needs, then time text, vector and hybrid
top-10 queries with a region filter.

    python bench/bench_search.py --n 100000 [--dim 256] [--queries 300] [--dir /tmp/idx] [--keep]

Listings are made from ОКПД2 names across the 89 subjects of the Federation. Vectors come from the product's
built-in encoder (``matching.encoders.BuiltinEncoder``, fitted on the ОКПД2 and ОКВЭД2 names as the application
fits it on the classifiers), and the indexing figure includes encoding each listing's text, as the outbox drain
does. ``--encoder hashing`` swaps in a crude hashing encoder inside this script to time the index alone. Targets
on 2 cores: hybrid top-10 p95 <= 50 ms at 100k and <= 200 ms at 1M; indexing >= 2,000 listings/s with the
built-in encoder.
"""
from __future__ import annotations

import argparse
import csv
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


def percentiles(samples: list[float]) -> str:
    ms = np.asarray(samples) * 1000
    return f"p50 {np.percentile(ms, 50):7.1f} ms   p95 {np.percentile(ms, 95):7.1f} ms   max {ms.max():7.1f} ms"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="listings to index")
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
    parser.add_argument("--url", default=None, help="search backend URL instead of --dir (e.g. http://es:9200)")
    parser.add_argument("--keep", action="store_true", help="keep the index directory")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--search-only", action="store_true",
                        help="reuse the listings already in --dir/--url and only time the queries")
    args = parser.parse_args(argv)

    codes = load_okpd2(args.okpd2)
    regions = load_regions(args.regions)
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="bench-search-"))
    url = args.url or f"embedded://{workdir.resolve()}"
    backend = open_backend(url, dim=args.dim)
    if not args.search_only:
        backend.clear()

    encoder: HashingEncoder | BuiltinBenchEncoder
    code_vectors = None
    if args.encoder == "builtin":
        started = time.perf_counter()
        with open(args.okved2, newline="", encoding="utf-8") as fh:
            okved2_names = [r["name"] for r in csv.DictReader(fh)]
        with open(args.okpd2, newline="", encoding="utf-8") as fh:
            okpd2_names = [r["name"] for r in csv.DictReader(fh)]
        encoder = BuiltinBenchEncoder(okpd2_names + okved2_names, args.dim)
        print(f"built-in encoder fitted on {len(okpd2_names) + len(okved2_names):,} names in "
              f"{time.perf_counter() - started:.1f} s (not counted), dim={encoder.dim}")
        if encoder.dim != args.dim:
            raise SystemExit(f"the encoder gives {encoder.dim} dimensions, not {args.dim}")
    else:
        encoder = HashingEncoder(args.dim)
        code_vectors = np.stack([encoder.encode(name) for _, name in codes])
    rng = np.random.default_rng(args.seed)
    index_seconds = encode_seconds = 0.0
    done = 0
    if args.search_only:
        done = args.n = backend.count()
    print(f"backend {backend!r}; {len(codes)} ОКПД2 codes, {len(regions)} regions, n={args.n:,}, dim={args.dim}")
    while done < args.n:
        batch = synthesise(done + 1, min(args.batch, args.n - done), codes, regions, code_vectors, rng)
        started = time.perf_counter()
        if code_vectors is None:  # encode the listings' text, as the outbox drain does before indexing
            vectors = encoder.encode_many([f"{d.title}. {d.description}" for d in batch])
            batch = [replace(d, vector=v) for d, v in zip(batch, vectors, strict=True)]
            encode_seconds += time.perf_counter() - started
        done += backend.index(batch)
        index_seconds += time.perf_counter() - started
        print(f"  indexed {done:>9,}  {done / index_seconds:8,.0f} listings/s", flush=True)
    assert backend.count() == args.n, (backend.count(), args.n)

    rng = np.random.default_rng(args.seed + 1)
    queries = []
    for _ in range(args.queries):
        name = codes[int(rng.integers(len(codes)))][1]
        words = [w for w in re.findall(r"\w+", name) if len(w) > 3] or ["изделия"]
        text = " ".join(words[: int(rng.integers(1, 4))])
        region = regions[int(rng.integers(len(regions)))][0]
        queries.append((text, encoder.encode(text), Filters(regions=(region,))))

    timings: dict[str, list[float]] = {"text": [], "vector": [], "hybrid": [], "hybrid+facets": [],
                                       "prefix": []}
    for text, vector, filters in queries[:20]:  # warm the page cache and the readers
        backend.search(Query(text=text, vector=vector, filters=filters))
    empty = 0
    for text, vector, filters in queries:
        for mode, query in (("text", Query(text=text, filters=filters, k=10)),
                            ("vector", Query(vector=vector, filters=filters, k=10)),
                            ("hybrid", Query(text=text, vector=vector, filters=filters, k=10)),
                            ("hybrid+facets", Query(text=text, vector=vector, filters=filters, k=10,
                                                    facets=("kind", "okpd2_class"))),
                            ("prefix", Query(text=text[: max(3, len(text) - 2)], prefix=True, filters=filters,
                                             k=10))):
            t = time.perf_counter()
            result = backend.search(query)
            timings[mode].append(time.perf_counter() - t)
            empty += mode == "hybrid" and not result.hits

    size = disk_size(workdir) if not args.url else 0
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    if index_seconds:
        print(f"indexing      {args.n:,} listings in {index_seconds:.1f} s = {args.n / index_seconds:,.0f} "
              f"listings/s ({args.encoder} encoder)")
        if encode_seconds:
            print(f"  of which encoding {encode_seconds:.1f} s ({args.n / encode_seconds:,.0f} listings/s), "
                  f"index writes {index_seconds - encode_seconds:.1f} s "
                  f"({args.n / (index_seconds - encode_seconds):,.0f} listings/s)")
    for mode, samples in timings.items():
        print(f"{mode:<13} top-10, region filter, {len(samples)} queries: {percentiles(samples)}")
    print(f"hybrid queries with no hit: {empty}")
    if size:
        print(f"index size    {size / 2**20:,.0f} MiB on disk ({size / args.n:,.0f} bytes/listing)")
    print(f"peak RSS      {peak_rss:,.0f} MiB")
    backend.close()
    if not args.keep and args.dir is None and not args.url:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
