"""``cosmos eval search FILE [--json]``: how well the search page's query finds what is relevant.

The marketplace is built, not read: the demo's import records (``marketplace.demo.seed.build_records``, the same
organisations and listings ``cosmos demo`` creates) become index documents in a throw-away embedded index, encoded
by the application's encoder and expanded by the shipped operations catalogue, exactly as the page searches.

Relevance is judged by **rules** kept in FILE, so the file stays valid when the demo data changes. One JSON object
per line::

    {"q": "фрезеровка", "operations": ["machining.milling"], "okved2": ["25.62"], "words": ["фрезер"]}
    {"q": "zzqqxx", "type": "nonsense"}
    {"q": "lathe", "type": "latin"}

A listing is relevant when it carries one of ``operations`` (or a descendant: documents carry ancestors), or one of
its ОКПД2/ОКВЭД2 codes lies under a prefix of ``okpd2``/``okved2``, or a word of its title starts with one of
``words`` (lower case, ё as е). Metrics over the judged queries that have at least one relevant listing in the
built marketplace (the others are counted as ``unjudged``):

- **P@10**: the share of relevant listings among those returned on the first page of 10 (a query returning
  nothing scores 0), averaged over queries;
- **nDCG@10** with binary gains, the ideal ranking holding ``min(10, relevant)`` relevant listings;
- for ``nonsense`` queries, the share that return nothing (``total == 0``); ``latin`` queries (English trade words:
  the marketplace is in Russian, so no hit and a suggestion is right) are reported apart the same way.
"""
from __future__ import annotations

import json
import math
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

TYPES = ("query", "nonsense", "latin")


@dataclass(frozen=True)
class Judged:
    q: str
    type: str = "query"
    operations: tuple[str, ...] = ()
    okpd2: tuple[str, ...] = ()
    okved2: tuple[str, ...] = ()
    words: tuple[str, ...] = ()

    def relevant(self, doc: Any) -> bool:
        from search import expand_codes

        if self.operations and set(self.operations) & set(doc.operations):
            return True
        for scheme in ("okpd2", "okved2"):
            prefixes = getattr(self, scheme)
            if prefixes and set(prefixes) & set(expand_codes(getattr(doc, scheme))):
                return True
        if self.words:
            title = doc.title.lower().replace("ё", "е").replace("«", " ").replace("»", " ")
            title_words = [w.strip(".,:;()\"'") for w in title.split()]
            return any(w.startswith(stem) for stem in self.words for w in title_words)
        return False


def read_judged(path: Path) -> list[Judged]:
    """Parse FILE; a bad line raises ``click.UsageError`` naming the line and the field."""
    out = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise click.UsageError(f"{path}, строка {number}: неверный JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not str(record.get("q") or "").strip():
            raise click.UsageError(f"{path}, строка {number}: нет поля «q»")
        kind = record.get("type", "query")
        if kind not in TYPES:
            raise click.UsageError(f"{path}, строка {number}: поле «type» — одно из {', '.join(TYPES)}")
        rules = {name: tuple(str(v).lower() if name == "words" else str(v) for v in record.get(name) or ())
                 for name in ("operations", "okpd2", "okved2", "words")}
        if kind == "query" and not any(rules.values()):
            raise click.UsageError(f"{path}, строка {number}: у запроса нет правил (operations, okpd2, okved2, "
                                   f"words)")
        out.append(Judged(q=record["q"].strip(), type=kind, **rules))
    return out


def marketplace_documents(organizations: int = 600, seed: int = 27) -> list[Any]:
    """The demo marketplace's offers and needs as search documents (without vectors)."""
    from sqlalchemy import select

    from marketplace.classifiers.models import ClassifierCode
    from marketplace.demo.seed import build_records
    from marketplace.extensions import db
    from marketplace.indexing.finder import page_catalogue
    from search import Document
    from search.relevance import with_ancestors

    catalogue = page_catalogue()
    records = build_records(organizations=organizations, seed=seed)
    regions = {r["tax_id"]: r.get("region") for r in records if r["type"] == "organization"}
    names = {(s, c): n for s, c, n in db.session.execute(
        select(ClassifierCode.scheme, ClassifierCode.code, ClassifierCode.name))}
    docs = []
    for number, record in enumerate((r for r in records if r["type"] in ("offer", "need")), 1):
        codes = {scheme: tuple(c.strip() for c in str(record.get(scheme) or "").split(";") if c.strip())
                 for scheme in ("okpd2", "okved2")}
        op_ids = [i.strip() for i in str(record.get("operations") or "").split(";") if i.strip()]
        ops = with_ancestors([i for i in op_ids if catalogue and i in catalogue], catalogue.ancestors) \
            if catalogue else ()
        op_names = [catalogue.get(i).name for i in op_ids if catalogue and i in catalogue]
        code_names = [names.get((s, c), "") for s in ("okpd2", "okved2") for c in codes[s]]
        description = ". ".join(dict.fromkeys(p for p in [record.get("description") or "", *op_names, *code_names]
                                              if p))
        docs.append(Document(id=number, side=record["type"], kind=record["kind"], title=record["title"],
                             description=description, okpd2=codes["okpd2"], okved2=codes["okved2"],
                             region=regions.get(record["tax_id"]), country=record.get("country") or "RU",
                             operations=ops))
    return docs


@dataclass
class Report:
    queries: int = 0
    judged: int = 0
    unjudged: list[str] = field(default_factory=list)
    p_at_10: float = 0.0
    ndcg_at_10: float = 0.0
    nonsense: int = 0
    nonsense_empty: float = 0.0
    latin: int = 0
    latin_empty: float = 0.0
    listings: int = 0
    worst: list[dict[str, Any]] = field(default_factory=list)
    failed_nonsense: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def _ndcg(gains: Sequence[int], ideal: int) -> float:
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:10]))
    best = sum(1 / math.log2(i + 2) for i in range(min(10, ideal)))
    return dcg / best if best else 0.0


def evaluate(judged: Iterable[Judged], docs: Sequence[Any], backend: Any, encoder: Any, catalogue: Any) -> Report:
    """Run every query through the page's query (:func:`marketplace.indexing.finder.relevant_query`)."""
    from marketplace.indexing.finder import relevant_query
    from search import Filters

    judged = list(judged)
    vectors = encoder.encode_queries([j.q for j in judged]) if judged else []
    report = Report(queries=len(judged), listings=len(docs))
    precisions, ndcgs, empty, latin_empty, per_query = [], [], [], [], []
    for item, vector in zip(judged, vectors, strict=True):
        result = backend.search(relevant_query(item.q, Filters(), k=10, vector=vector, catalogue=catalogue))
        if item.type == "nonsense":
            empty.append(result.total == 0)
            if result.total:
                report.failed_nonsense.append(item.q)
            continue
        if item.type == "latin":
            latin_empty.append(result.total == 0)
            continue
        relevant = {d.id for d in docs if item.relevant(d)}
        if not relevant:
            report.unjudged.append(item.q)
            continue
        gains = [1 if h.id in relevant else 0 for h in result.hits[:10]]
        precision = sum(gains) / len(gains) if gains else 0.0
        precisions.append(precision)
        ndcgs.append(_ndcg(gains, len(relevant)))
        per_query.append({"q": item.q, "p@10": round(precision, 3), "returned": result.total,
                          "relevant": len(relevant)})
    report.judged = len(precisions)
    report.p_at_10 = sum(precisions) / len(precisions) if precisions else 0.0
    report.ndcg_at_10 = sum(ndcgs) / len(ndcgs) if ndcgs else 0.0
    report.nonsense = len(empty)
    report.nonsense_empty = sum(empty) / len(empty) if empty else 0.0
    report.latin = len(latin_empty)
    report.latin_empty = sum(latin_empty) / len(latin_empty) if latin_empty else 0.0
    report.worst = sorted(per_query, key=lambda r: r["p@10"])[:10]
    return report


def run_eval(path: Path, *, organizations: int = 600, seed: int = 27) -> Report:
    """Build the demo marketplace into a temporary index and evaluate FILE against it."""
    from marketplace.indexing.finder import page_catalogue
    from marketplace.indexing.services import get_encoder
    from search import open_backend

    judged = read_judged(path)
    docs = marketplace_documents(organizations, seed)
    encoder = get_encoder()
    vectors = encoder.encode_passages([f"{d.title}. {d.description}" for d in docs]) if docs else []
    from dataclasses import replace

    docs = [replace(d, vector=v) for d, v in zip(docs, vectors, strict=True)]
    with tempfile.TemporaryDirectory(prefix="cosmos-eval-search-") as tmp:
        backend = open_backend(f"embedded://{tmp}", dim=encoder.dim)
        try:
            backend.index(docs)
            return evaluate(judged, docs, backend, encoder, page_catalogue())
        finally:
            backend.close()


@click.command("search")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--organizations", default=600, show_default=True, help="размер демо-площадки (организаций)")
@click.option("--seed", default=27, show_default=True, help="зерно генератора демо-данных")
@click.option("--json", "as_json", is_flag=True, help="вывести отчёт одним JSON-документом")
@with_appcontext
def eval_search_command(file: Path, organizations: int, seed: int, as_json: bool) -> None:
    """Качество поиска: P@10, nDCG@10 и доля бессмысленных запросов без результатов."""
    report = run_eval(file, organizations=organizations, seed=seed)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    click.echo(f"Площадка: {report.listings} объявлений; запросов {report.queries}, оценено {report.judged}, "
               f"без релевантных в данных {len(report.unjudged)}")
    click.echo(f"P@10     {report.p_at_10:.3f}")
    click.echo(f"nDCG@10  {report.ndcg_at_10:.3f}")
    click.echo(f"Бессмысленные без результатов: {report.nonsense_empty:.1%} из {report.nonsense}")
    click.echo(f"Латиница без результатов: {report.latin_empty:.1%} из {report.latin}")
    for row in report.worst:
        click.echo(f"  {row['p@10']:.2f}  {row['q']}  (найдено {row['returned']}, релевантных {row['relevant']})",
                   file=sys.stderr)
    for q in report.failed_nonsense:
        click.echo(f"  нашлось для бессмысленного: {q}", file=sys.stderr)
