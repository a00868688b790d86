"""``cosmos operations recognize|list|show`` and ``cosmos eval operations``: the catalogue from the command line.

Machine-readable output is one JSON document (``--json``); messages go to stderr.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from matching.operations import OperationCatalogue
from matching.parameters import PARAMETERS


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _catalogue() -> OperationCatalogue:
    from marketplace.operations.catalogue import get_catalogue

    return get_catalogue()


def operation_detail(catalogue: OperationCatalogue, op_id: str) -> dict[str, Any]:
    """One node as the CLI and the API show it: its fields, its path from the root, its children."""
    op = catalogue.get(op_id)
    assert op is not None
    return {**op.as_dict(), "exclude": list(op.exclude),
            "parameters": [{"key": p, "title": PARAMETERS[p].title_ru, "unit": PARAMETERS[p].unit}
                           for p in op.parameters],
            "path": [{"id": p.id, "name": p.name} for p in catalogue.path(op_id)],
            "children": [{"id": c.id, "name": c.name} for c in catalogue.children(op_id)]}


@click.group("operations", help="Каталог производственных операций: распознавание в тексте, список, карточка.")
def operations_group() -> None:
    pass


@operations_group.command("recognize", help="Операции каталога, названные в тексте, с уверенностью и словами.")
@click.argument("text")
@click.option("--top", type=click.IntRange(1, 50), default=5, show_default=True, help="Сколько операций вывести.")
@click.option("--json", "as_json", is_flag=True, help="Вывод в JSON.")
@with_appcontext
def recognize_command(text: str, top: int, as_json: bool) -> None:
    if not text.strip():
        raise click.BadParameter("пустой текст", param_hint="TEXT")
    found = _catalogue().recognize(text, top=top)
    if as_json:
        click.echo(_dump({"text": text, "operations": [r.as_dict() for r in found]}))
        return
    if not found:
        click.echo("Операции не распознаны.", err=True)
        return
    for r in found:
        click.echo(f"{r.confidence:5.2f}  {r.operation_id:40s} {r.name}  [{r.matched}]")


@operations_group.command("list", help="Операции каталога деревом (или одного семейства).")
@click.option("--family", help="Id семейства (операции верхнего уровня), например machining.")
@click.option("--json", "as_json", is_flag=True, help="Вывод в JSON.")
@with_appcontext
def list_command(family: str | None, as_json: bool) -> None:
    catalogue = _catalogue()
    if family is not None and (catalogue.get(family) is None or catalogue.get(family).parent_id is not None):
        known = ", ".join(r.id for r in catalogue.roots())
        raise click.BadParameter(f"нет семейства «{family}» (есть: {known})", param_hint="--family")
    ops = [op for op in sorted(catalogue.operations.values(), key=lambda o: o.position)
           if family is None or op.family == family]
    if as_json:
        click.echo(_dump([{"id": o.id, "name": o.name, "parent_id": o.parent_id, "depth": o.depth,
                           "family": o.family} for o in ops]))
        return
    for op in ops:
        click.echo(f"{'  ' * op.depth}{op.id}  {op.name}{'  (общая)' if op.generic else ''}")
    click.echo(f"Операций: {len(ops)}", err=True)


@operations_group.command("show", help="Карточка операции: коды, параметры, оборудование, путь в каталоге.")
@click.argument("op_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Вывод в JSON.")
@with_appcontext
def show_command(op_id: str, as_json: bool) -> None:
    catalogue = _catalogue()
    if catalogue.get(op_id) is None:
        raise click.BadParameter(f"нет операции «{op_id}»", param_hint="ID")
    detail = operation_detail(catalogue, op_id)
    if as_json:
        click.echo(_dump(detail))
        return
    click.echo(f"{detail['name']} ({op_id})")
    click.echo("Путь: " + " → ".join(p["name"] for p in detail["path"]))
    for label, key in (("Синонимы", "synonyms"), ("Сокращения", "abbreviations"), ("Не путать с", "exclude"),
                       ("ОКВЭД2", "okved2"), ("ОКПД2", "okpd2"), ("Оборудование", "equipment")):
        if detail[key]:
            click.echo(f"{label}: {', '.join(detail[key])}")
    if detail["parameters"]:
        click.echo("Параметры: " + ", ".join(f"{p['title']} ({p['key']})" for p in detail["parameters"]))
    if detail["generic"]:
        click.echo("Общая операция: предложение на неё покрывает все вложенные.")
    for child in detail["children"]:
        click.echo(f"  └ {child['id']}  {child['name']}")


# eval -------------------------------------------------------------------------------------------

@dataclass
class RecognitionReport:
    """How well the recogniser reads labelled texts.

    ``recall`` — share of the texts with labels whose labelled operations are all recognised; ``precision`` — share
    of the recognised operations (on every text, the negative ones too) that are labelled; ``top1`` — share of the
    texts with labels whose first operation is a labelled one; ``negatives_clean`` — share of the texts labelled
    with no operation on which none is recognised."""

    texts: int = 0
    labelled: int = 0
    recall: float = 0.0
    precision: float = 0.0
    top1: float = 0.0
    negatives: int = 0
    negatives_clean: float = 0.0
    misses: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"texts": self.texts, "labelled": self.labelled, "recall": round(self.recall, 4),
                "precision": round(self.precision, 4), "top1": round(self.top1, 4), "negatives": self.negatives,
                "negatives_clean": round(self.negatives_clean, 4), "misses": self.misses}


def evaluate_recognition(catalogue: OperationCatalogue, examples: list[dict[str, Any]],
                         top: int = 5) -> RecognitionReport:
    report = RecognitionReport(texts=len(examples))
    all_found = right_found = full = first = clean = 0
    for ex in examples:
        gold = list(ex["operations"])
        found = [r.operation_id for r in catalogue.recognize(ex["text"], top=top)]
        missed = [g for g in gold if g not in found]
        extra = [f for f in found if f not in gold]
        all_found += len(found)
        right_found += len(found) - len(extra)
        if gold:
            report.labelled += 1
            full += not missed
            first += bool(found) and found[0] in gold
        else:
            report.negatives += 1
            clean += not found
        if missed or extra:
            report.misses.append({"line": ex.get("line"), "text": ex["text"], "labelled": gold, "recognized": found,
                                  "missed": missed, "extra": extra})
    report.recall = full / report.labelled if report.labelled else 0.0
    report.top1 = first / report.labelled if report.labelled else 0.0
    report.precision = right_found / all_found if all_found else 1.0
    report.negatives_clean = clean / report.negatives if report.negatives else 1.0
    return report


def read_examples(path: Path, catalogue: OperationCatalogue) -> list[dict[str, Any]]:
    """JSON Lines of ``{"text", "operations": [ids], "kind"}``; an unknown id or a bad line is an error naming it."""
    from marketplace.matches.commands import read_inputs

    examples = []
    for number, record in read_inputs(path):
        ops = record.get("operations")
        if not isinstance(ops, list) or not all(isinstance(o, str) for o in ops):
            raise click.UsageError(f"{path}, строка {number}: поле «operations» — список id операций")
        unknown = [o for o in ops if o not in catalogue]
        if unknown:
            raise click.UsageError(f"{path}, строка {number}: нет в каталоге: {', '.join(unknown)}")
        examples.append({**record, "line": number})
    return examples


@click.command("operations", help="Распознавание операций на размеченных текстах: полнота, точность, top-1, промахи.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--top", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def eval_operations_command(file: Path, top: int, as_json: bool) -> None:
    catalogue = _catalogue()
    report = evaluate_recognition(catalogue, read_examples(file, catalogue), top=top)
    if as_json:
        click.echo(_dump(report.as_dict()))
        return
    for miss in report.misses:
        click.echo(f"строка {miss['line']}: {miss['text']}\n    размечено {miss['labelled']}, "
                   f"распознано {miss['recognized']}")
    click.echo(f"Текстов: {report.texts} (с операциями {report.labelled}, без операций {report.negatives})")
    click.echo(f"Полнота (все размеченные операции текста распознаны): {report.recall:.3f}")
    click.echo(f"Точность распознанных операций: {report.precision:.3f}")
    click.echo(f"Первая операция верна (top-1): {report.top1:.3f}")
    click.echo(f"Тексты без операций без ложных срабатываний: {report.negatives_clean:.3f}")
