"""``cosmos eval acceptability FILE``: the engine's "acceptable" decision against labelled scenarios (issue 12).

The built-in encoder is fitted on the set's texts and the ОКПД2 names (so the figures do not depend on what the
marketplace's database holds); with ``--inferred-codes`` the app's classifier reads codes for needs that name none,
as the marketplace does. The figures of the engine before issue 12 (``baseline.json`` beside FILE, or
``--baseline``) are printed beside the current ones.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from marketplace.commands import progress_bar

ROWS = (("precision", "точность (precision)"), ("recall", "полнота (recall)"),
        ("first_shown_right", "первый показанный верен"), ("tier_violations", "нарушения порядка уровней"))


def _refdata(name: str) -> Path:
    return Path(current_app.root_path) / "refdata" / "data" / name


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _config(inferred: bool) -> str:
    return "builtin+inferred_codes" if inferred else "builtin"


def run(file: Path, *, inferred_codes: bool) -> dict[str, Any]:
    from matching.acceptability_eval import evaluate_acceptability, fit_encoder, load_scenarios, region_places

    regions = region_places(_refdata("regions.csv"))
    try:
        scenarios = load_scenarios(file, regions)
    except (OSError, ValueError) as exc:
        raise click.UsageError(f"{file}: {exc}") from None
    if not scenarios:
        raise click.UsageError(f"{file}: нет сценариев")
    with open(_refdata("okpd2.csv"), encoding="utf-8") as fh:
        names = [row["name"] for row in csv.DictReader(fh)]
    encoder = fit_encoder(scenarios, names)
    classifier = None
    if inferred_codes:
        from marketplace.classifiers.suggest import get_classifier

        classifier = get_classifier("okpd2", progress_bar)
    from marketplace.operations.catalogue import get_catalogue

    catalogue = get_catalogue()
    from marketplace.classifiers.suggest import goods_vocabulary
    from marketplace.geo.services import country_lists

    report = evaluate_acceptability(scenarios, encoder, countries=country_lists(), classifier=classifier,
                                    catalogue=catalogue, goods=goods_vocabulary())
    return {"config": _config(inferred_codes), **report.to_dict()}


def _baseline(path: Path, config: str) -> dict[str, Any] | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    run_ = data.get("runs", {}).get(config)
    return None if run_ is None else {"commit": data.get("commit"), **run_}


@click.command("acceptability", help="Приемлемость предложений на размеченных сценариях: точность, полнота, "
               "«первый показанный верен», нарушения уровней, по семействам, рядом с движком до задачи 12.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Файл с цифрами прежнего движка (по умолчанию baseline.json рядом с FILE).")
@click.option("--inferred-codes/--no-inferred-codes", default=False, show_default=True,
              help="Определять коды потребностей без кодов классификатором площадки.")
@click.option("--wrong", "show_wrong", type=click.IntRange(0), default=20, show_default=True,
              help="Сколько ошибочных решений вывести.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def eval_acceptability(file: Path, baseline_path: Path | None, inferred_codes: bool, show_wrong: int,
                       as_json: bool) -> None:
    current = run(file, inferred_codes=inferred_codes)
    baseline = _baseline(baseline_path or file.parent / "baseline.json", current["config"])
    from matching.acceptability_eval import TARGETS

    if as_json:
        click.echo(json.dumps({"current": current, "baseline": baseline, "targets": TARGETS}, ensure_ascii=False))
        return
    click.echo(f"сценариев: {current['scenarios']}, пар: {current['pairs']} ({current['config']})")
    base_head = f"до задачи 12 ({(baseline.get('commit') or '')[:8]})" if baseline else "до задачи 12: нет"
    click.echo(f"{'':28s} {'сейчас':>8s} {base_head:>24s} {'цель':>6s}")
    for key, title in ROWS:
        target = TARGETS.get(key)
        click.echo(f"{title:28s} {_fmt(current[key]):>8s} {_fmt(baseline.get(key) if baseline else None):>24s} "
                   f"{('≥' + _fmt(target)) if target else '':>6s}")
    click.echo("\nпо семействам: сценарии, пары, точность, полнота, первый верен (до задачи 12)")
    base_fam = (baseline or {}).get("families", {})
    for family, c in current["families"].items():
        b = base_fam.get(family, {})
        click.echo(f"  {family:20s} {c['scenarios_with_right'] + c['scenarios_without_right']:3d} {c['pairs']:4d} "
                   f"P {_fmt(c['precision'])} ({_fmt(b.get('precision'))})  R {_fmt(c['recall'])} "
                   f"({_fmt(b.get('recall'))})  1-й {_fmt(c['first_shown_right'])} "
                   f"({_fmt(b.get('first_shown_right'))})")
    wrong = current["wrong"]
    if wrong and show_wrong:
        click.echo(f"\nошибочные решения ({len(wrong)}, первые {min(show_wrong, len(wrong))}):")
        for d in wrong[:show_wrong]:
            verdict = "пропущено верное" if d["label"] else "принято неверное"
            e = d["explanation"]
            held = ", ".join(f"{c['name']}={c['held']}" for c in e.get("constraints", []))
            click.echo(f"  [{d['scenario']}] {verdict}: «{d['offer']}» ({d['offer_region']}) для «{d['need']}» — "
                       f"{d['reason']}; движок: score {e.get('score')}, {e.get('tier')}, {held}")
