"""``cosmos eval codes FILE``: the code suggestions on labelled listing texts, next to the classifier alone."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from marketplace.commands import progress_bar

METHODS = ("classifier", "suggestions")


@click.command("codes", help="Подсказки кодов ОКПД2/ОКВЭД2 на размеченных текстах: доля верного класса первым, "
                             "R@1 и R@10 — рядом с одним классификатором (как было до подсказок по двум схемам).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--halves", is_flag=True, help="Ещё и отдельно по чётным и нечётным строкам.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def eval_codes(file: Path, halves: bool, as_json: bool) -> None:
    from marketplace.classifiers.suggest import SCHEMES, get_classifier, get_suggester
    from matching.evaluation import evaluate_codes, load_code_examples

    try:
        examples = load_code_examples(file)
    except (ValueError, KeyError) as exc:
        raise click.UsageError(f"{file}: {exc}") from None
    if not examples:
        raise click.UsageError(f"{file}: нет размеченных строк")
    suggester = get_suggester(progress_bar)
    parts = {"all": examples}
    if halves:
        parts.update({"even": examples[0::2], "odd": examples[1::2]})
    reports = []
    for part, rows in parts.items():
        for scheme in SCHEMES:
            classifier = get_classifier(scheme)
            rankers = {
                "classifier": lambda texts, c=classifier: [[s.code for s in p] for p in c.predict_many(texts, 10)],
                "suggestions": lambda texts, s=scheme: [[x.code for x in p]
                                                        for p in suggester.predict_many(texts, s, 10)],
            }
            for method in METHODS:
                reports.append((part, evaluate_codes(method, scheme, rows, rankers[method])))
    if as_json:
        click.echo(json.dumps({"examples": len(examples), "reports": [
            {"part": part, "scheme": r.scheme, "method": r.method, "n": r.n, "class@1": round(r.class_at_1, 4),
             "recall@1": round(r.recall_at_1, 4), "recall@10": round(r.recall_at_10, 4)} for part, r in reports]},
            ensure_ascii=False, indent=2))
        return
    click.echo(f"{'строки':7s} {'схема':7s} {'метод':12s} {'n':>4s} {'класс@1':>8s} {'R@1':>6s} {'R@10':>6s}")
    for part, r in reports:
        click.echo(f"{part:7s} {r.scheme:7s} {r.method:12s} {r.n:4d} {r.class_at_1:8.3f} {r.recall_at_1:6.3f} "
                   f"{r.recall_at_10:6.3f}")
    click.echo("класс@1: первый код в том же классе (первые 5 знаков, 25.62), что и размеченный; "
               "classifier — один классификатор схемы (как до подсказок по двум схемам и каталогу операций)")
