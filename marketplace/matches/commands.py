"""``cosmos classify``, ``cosmos match`` and ``cosmos eval``: the engine from the command line.

Machine-readable output is one JSON document (``--json``) or one JSON line per input line (``--file``); messages
and progress go to stderr, so the output can be piped.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from marketplace.commands import progress_bar

SCHEMES = ("okpd2", "okved2")
NEED_KINDS = ("tender_lot", "missing_operation", "purchase_request")
OFFER_KINDS = ("capability", "product", "surplus", "equipment_rent")


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def read_inputs(path: Path, *, require: tuple[str, ...] = ("text",)) -> Iterator[tuple[int, dict[str, Any]]]:
    """Lines of ``path`` as records: a JSON object per line, or plain text (``{"text": line}``); blank lines skipped.

    A JSON line that is not an object or lacks a required field raises ``click.UsageError`` naming the line.
    """
    try:
        fh = open(path, encoding="utf-8")  # noqa: SIM115 (closed by the with below; open errors are reported first)
    except OSError as exc:
        raise click.BadParameter(f"{path}: {exc.strerror}", param_hint="--file") from None
    with fh:
        for number, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line:
                continue
            if line.startswith("{"):
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise click.UsageError(f"{path}, строка {number}: неверный JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    raise click.UsageError(f"{path}, строка {number}: ожидается объект JSON")
            else:
                record = {"text": line}
            for name in require:
                value = record.get(name)
                if value is None or (isinstance(value, str) and not value.strip()):
                    raise click.UsageError(f"{path}, строка {number}: нет поля «{name}»")
            yield number, record


def _count_lines(path: Path) -> int:
    with open(path, encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


# classify ---------------------------------------------------------------------------------------

def _codes(suggestions) -> list[dict[str, Any]]:
    return [{"code": s.code, "name": s.name, "score": round(float(s.score), 4)} for s in suggestions]


@click.command("classify", help="Подобрать коды ОКПД2 (или ОКВЭД2) для текста или для каждой строки файла.")
@click.argument("text", required=False)
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Файл: по тексту в строке или JSON Lines с полем text.")
@click.option("--scheme", type=click.Choice(SCHEMES), default="okpd2", show_default=True, help="Классификатор.")
@click.option("--top", type=click.IntRange(1, 100), default=10, show_default=True, help="Сколько кодов вывести.")
@click.option("--json", "as_json", is_flag=True, help="Вывод в JSON.")
@with_appcontext
def classify_command(text: str | None, file: Path | None, scheme: str, top: int, as_json: bool) -> None:
    from marketplace.classifiers.suggest import get_classifier

    if (text is None) == (file is None):
        raise click.UsageError("укажите либо текст, либо --file")
    if text is not None and not text.strip():
        raise click.BadParameter("пустой текст", param_hint="TEXT")
    classifier = get_classifier(scheme, progress_bar)
    if text is not None:
        codes = _codes(classifier.predict(text, top=top))
        if as_json:
            click.echo(_dump({"text": text, "codes": codes}))
        else:
            for c in codes:
                click.echo(f"{c['code']:14s} {c['score']:6.3f}  {c['name']}")
        return
    assert file is not None
    records = list(read_inputs(file))
    batch = 256
    with click.progressbar(length=len(records), label="Классификация", file=sys.stderr) as bar:
        for start in range(0, len(records), batch):
            chunk = records[start:start + batch]
            results = classifier.predict_many([r["text"] for _, r in chunk], top=top)
            for (_, record), suggestions in zip(chunk, results, strict=True):
                codes = _codes(suggestions)
                if as_json:
                    click.echo(_dump({"text": record["text"], "codes": codes}))
                else:
                    best = codes[0] if codes else {"code": "—", "name": ""}
                    click.echo(f"{best['code']:14s} {record['text']}")
            bar.update(len(chunk))


# match ------------------------------------------------------------------------------------------

def match_payload(result, *, policy) -> dict[str, Any]:
    """The JSON form of a shown result: ``{"matches": [...], "active_tier", "chain"}``."""
    from marketplace.matches.services import DatabaseLookup

    specs = DatabaseLookup().get_many([m.listing_id for m in result.matches])
    matches = []
    for m in result.matches:
        spec = specs.get(m.listing_id)
        matches.append({
            "listing_id": m.listing_id, "external_id": spec.external_id if spec else None,
            "title": spec.title if spec else None, "kind": spec.kind if spec else None,
            "organization": spec.organization_name if spec else None, "organization_id": m.organization_id,
            "region": spec.region if spec else None, "country": spec.country if spec else None,
            "tier": m.tier.label, "score": round(float(m.score), 4), "explanation": m.explanation,
        })
    chain = None
    if result.chain_suggested:
        chain = {"suggested": True,
                 "message": "Отечественных предложений, прошедших проверку, нет: прежде чем искать за рубежом, "
                            "постройте цепочку кооперации из российских производителей (cosmos chains build, "
                            "POST /api/v1/chains/requests)."}
    return {"matches": matches, "policy": policy.mode,
            "active_tier": result.active_tier.label if result.active_tier is not None else None,
            "candidates_considered": result.candidates_considered,
            "inferred_codes": list(result.inferred_codes), "chain": chain}


def _parse_date(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise click.UsageError(f"{field}: ожидается дата ГГГГ-ММ-ДД, получено {value!r}") from None


def _spec_from_record(record: dict[str, Any], *, where: str) -> Any:
    from marketplace.extensions import db
    from marketplace.geo.models import Region
    from marketplace.matches.services import ad_hoc_need

    region = record.get("region")
    region = None if region in (None, "") else str(region).zfill(2)
    if region is not None and db.session.get(Region, region) is None:
        raise click.UsageError(f"{where}region: неизвестный субъект РФ «{region}»")
    kind = record.get("kind") or "purchase_request"
    if kind not in NEED_KINDS:
        raise click.UsageError(f"{where}kind: ожидается одно из: {', '.join(NEED_KINDS)}")
    quantity = record.get("quantity")
    if quantity not in (None, ""):
        try:
            quantity = float(quantity)
        except (TypeError, ValueError):
            raise click.UsageError(f"{where}quantity: ожидается число") from None
        if quantity < 0:
            raise click.UsageError(f"{where}quantity: не может быть отрицательным")
    else:
        quantity = None

    def codes(name: str) -> tuple[str, ...]:
        value = record.get(name) or ()
        if isinstance(value, str):
            value = [v for v in value.replace(";", ",").split(",") if v.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise click.UsageError(f"{where}{name}: ожидается список кодов")
        return tuple(v.strip() for v in value)

    return ad_hoc_need(str(record["text"]), region, kind=kind, okpd2=codes("okpd2"), okved2=codes("okved2"),
                       quantity=quantity, unit=record.get("unit") or None,
                       deadline=_parse_date(record.get("deadline"), f"{where}deadline"),
                       certifications=tuple(record.get("certifications") or ()))


@click.command("match", help="Найти предложения для потребности (или потребности для предложения) с объяснениями.")
@click.option("--need", "need_id", type=click.IntRange(1), help="Номер потребности (или предложения) на площадке.")
@click.option("--text", help="Текст потребности, которой нет на площадке.")
@click.option("--region", help="Субъект РФ доставки, двузначный код (27 — Хабаровский край).")
@click.option("--kind", type=click.Choice(NEED_KINDS), default="purchase_request", show_default=True,
              help="Вид потребности для --text.")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON Lines: text, region и необязательные kind, okpd2, okved2, quantity, unit, deadline.")
@click.option("--top", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--policy", "mode", type=click.Choice(("strict", "weighted")), default=None,
              help="strict — по хартии (по умолчанию), weighted — для исследования.")
@click.option("--allow-excluded", is_flag=True, help="Не исключать страны из перечня 430-р.")
@click.option("--json", "as_json", is_flag=True, help="Вывод в JSON.")
@with_appcontext
def match_command(need_id: int | None, text: str | None, region: str | None, kind: str, file: Path | None,
                  top: int, mode: str | None, allow_excluded: bool, as_json: bool) -> None:
    from marketplace.extensions import db
    from marketplace.listings.models import Listing
    from marketplace.matches import services

    if sum(x is not None for x in (need_id, text, file)) != 1:
        raise click.UsageError("укажите одно из: --need, --text или --file")
    overrides = {"mode": mode, "allow_excluded": True if allow_excluded else None}
    if need_id is not None:
        listing = db.session.get(Listing, need_id)
        if listing is None:
            raise click.BadParameter(f"нет объявления {need_id}", param_hint="--need")
        policy = services.parse_policy({k: v for k, v in overrides.items() if v is not None},
                                       base=services.policy_for(listing))
        spec = services.DatabaseLookup().spec(listing)
        _emit(services.match_spec(spec, policy=policy, top=top), policy, as_json)
        return
    policy = services.parse_policy({k: v for k, v in overrides.items() if v is not None})
    if text is not None:
        if not text.strip():
            raise click.BadParameter("пустой текст", param_hint="--text")
        spec = _spec_from_record({"text": text, "region": region, "kind": kind}, where="--")
        _emit(services.match_spec(spec, policy=policy, top=top), policy, as_json)
        return
    assert file is not None
    records = list(read_inputs(file, require=("text",)))
    specs = [(n, _spec_from_record(r, where=f"{file}, строка {n}: "), r) for n, r in records]
    with click.progressbar(specs, label="Подбор", file=sys.stderr) as bar:
        for _, spec, record in bar:
            result = services.match_spec(spec, policy=policy, top=int(record.get("top") or top))
            click.echo(_dump({"text": record["text"], **match_payload(result, policy=policy)}))


def _emit(result, policy, as_json: bool) -> None:
    payload = match_payload(result, policy=policy)
    if as_json:
        click.echo(_dump(payload))
        return
    if not payload["matches"]:
        click.echo("Подходящих предложений нет.")
    for m in payload["matches"]:
        e = m["explanation"]
        km = f"{e['distance_km']:.0f} км" if e.get("distance_km") is not None else "расстояние неизвестно"
        click.echo(f"{m['score']:.3f}  [{e['tier_title']}, {km}]  #{m['listing_id']} {m['title']} — "
                   f"{m['organization']}")
    if payload["chain"]:
        click.echo(payload["chain"]["message"], err=True)


# eval -------------------------------------------------------------------------------------------

@click.group("eval", help="Качество классификации и подбора на размеченных фразах.")
def eval_group() -> None:
    pass


@eval_group.command("classify", help="Recall@1, Recall@10, MRR@10, nDCG@10 классификатора рядом с двумя базовыми.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--scheme", type=click.Choice(SCHEMES), default="okpd2", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def eval_classify(file: Path, scheme: str, as_json: bool) -> None:
    from marketplace.classifiers.suggest import get_classifier
    from marketplace.indexing.services import get_encoder
    from matching.evaluation import evaluate_classifier, load_examples

    examples = _examples(file, load_examples)
    reports = evaluate_classifier(get_classifier(scheme, progress_bar), examples, encoder=get_encoder(),
                                  baselines=True, echo=False)
    _print_reports(reports, as_json, extra={"examples": len(examples)})


@eval_group.command("match", help="Подбор на площадке из размеченных фраз: метрики, базовые методы, нарушения уровней.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--per-code", type=click.IntRange(2, 10), default=3, show_default=True,
              help="Сколько фраз одного кода взять (одна — потребность, остальные — предложения).")
@click.option("--limit", type=click.IntRange(10), default=None, help="Не больше стольких потребностей.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--no-inferred-codes", is_flag=True, help="Не определять коды потребностей по тексту.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def eval_match(file: Path, per_code: int, limit: int | None, seed: int, no_inferred_codes: bool,
               as_json: bool) -> None:
    from marketplace.classifiers.suggest import get_classifier
    from marketplace.indexing.services import get_encoder
    from matching.evaluation import load_examples
    from matching.match_evaluation import evaluate_matching

    examples = _examples(file, load_examples)
    outcome = evaluate_matching(examples, get_encoder(), per_code=per_code, limit=limit, seed=seed,
                                countries=_countries(), regions=_regions(),
                                classifier=None if no_inferred_codes else get_classifier("okpd2", progress_bar))
    _print_reports(outcome.reports, as_json, extra={"needs": outcome.needs, "offers": outcome.offers,
                                                    "tier_violations": outcome.tier_violations,
                                                    "local_first_failures": outcome.local_first_failures})


def _countries():
    from marketplace.geo.services import country_lists

    return country_lists()


def _regions():
    from sqlalchemy import select

    from marketplace.extensions import db
    from marketplace.geo.models import Region
    from matching.geo import Place

    return [Place(region=code, district=district, lat=lat, lon=lon) for code, district, lat, lon in
            db.session.execute(select(Region.code, Region.district_code, Region.lat, Region.lon)
                               .order_by(Region.code))]


def _examples(file: Path, loader):
    try:
        examples = loader(file)
    except (ValueError, KeyError) as exc:
        raise click.UsageError(f"{file}: {exc}") from None
    if not examples:
        raise click.UsageError(f"{file}: нет размеченных строк")
    return examples


def _print_reports(reports, as_json: bool, *, extra: dict[str, Any]) -> None:
    rows = [{"method": r.method, "recall@1": round(r.recall_at_1, 4), "recall@10": round(r.recall_at_10, 4),
             "mrr@10": round(r.mrr_at_10, 4), "ndcg@10": round(r.ndcg_at_10, 4)} for r in reports]
    within = all(r.within_at_1 is not None for r in reports)
    if within:  # classification: the hierarchical reading beside the exact one
        for row, r in zip(rows, reports, strict=True):
            row["within_code_recall@1"] = round(r.within_at_1, 4)
            row["within_code_recall@10"] = round(r.within_at_10, 4)
    if as_json:
        click.echo(_dump({"reports": rows, **extra}))
        return
    head = f"{'метод':32s} {'R@1':>7s} {'R@10':>7s} {'MRR@10':>7s} {'nDCG@10':>8s}"
    click.echo(head + (f" {'R@1⊂':>7s} {'R@10⊂':>7s}" if within else ""))
    for r in rows:
        line = (f"{r['method']:32s} {r['recall@1']:7.3f} {r['recall@10']:7.3f} {r['mrr@10']:7.3f} "
                f"{r['ndcg@10']:8.3f}")
        if within:
            line += f" {r['within_code_recall@1']:7.3f} {r['within_code_recall@10']:7.3f}"
        click.echo(line)
    if within:
        click.echo("⊂: засчитан и более точный код внутри размеченного (25.62.20.110 для 25.62.20)")
    for key, value in extra.items():
        click.echo(f"{key}: {value}")
