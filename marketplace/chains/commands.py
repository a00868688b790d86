"""``cosmos chains``: build a chain from a JSON file with the marketplace's offers, list the route templates."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

EXIT_BAD_INPUT = 2


@click.group("chains", help="Цепочки кооперации: построение по файлу запроса, шаблоны маршрутов.")
def chains_group() -> None:
    pass


@chains_group.command("templates", help="Шаблоны маршрутов (насосный агрегат, металлоконструкция, …).")
@click.option("--json", "as_json", is_flag=True, help="Вывод в формате JSON.")
def templates_command(as_json: bool) -> None:
    from matching.chains import load_template, template_names

    rows = []
    for name in template_names():
        tpl = load_template(name)
        rows.append({"id": name, "title": tpl.title, "item": tpl.item, "okpd2": tpl.okpd2,
                     "unit_weight_kg": tpl.unit_weight_kg, "deadline_days": tpl.default_deadline_days,
                     "stages": [s.id for s in tpl.stages]})
    if as_json:
        click.echo(json.dumps({"templates": rows}, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['id']:28s} {row['title']} — этапов: {len(row['stages'])} ({', '.join(row['stages'])})")


@chains_group.command("build", help="Построить цепочку по файлу запроса JSON из предложений площадки.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--alternatives", "-k", type=click.IntRange(0, 20), default=3, show_default=True,
              help="Сколько альтернатив кроме лучшей цепочки.")
@click.option("--json", "as_json", is_flag=True, help="Вывод в формате JSON.")
@with_appcontext
def build_command(file: Path, alternatives: int, as_json: bool) -> None:
    from marketplace.chains.candidates import find_candidates, region_places
    from marketplace.chains.services import parse_request, transport_model
    from marketplace.core.validation import ValidationFailed
    from marketplace.geo.services import country_lists
    from matching.chains import build_chains

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        _bad_input(as_json, "", f"не удалось прочитать файл {file}: {exc.strerror or exc}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _bad_input(as_json, "", f"{file} — не JSON: {exc}")
    places = region_places()
    try:
        request = parse_request(data, places)
    except ValidationFailed as exc:
        error = exc.errors[0]
        _bad_input(as_json, error.field, error.message)
    candidates = find_candidates(request, places=places)
    result = build_chains(request, {s: c.candidates for s, c in candidates.items()}, k=alternatives,
                          transport=transport_model(), countries=country_lists())
    out: dict[str, Any] = {"chains": [chain_summary(c) for c in result.chains]}
    if not result.chains:
        out["infeasible_reasons"] = [r.to_dict() for r in result.infeasible_reasons]
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    if not result.chains:
        click.echo("Цепочку построить нельзя:")
        for reason in result.infeasible_reasons:
            click.echo(f"  — {reason.message}")
        return
    for chain in result.chains:
        click.echo(f"Цепочка {chain.rank + 1}: {chain.total_cost:,.0f} ₽, {chain.lead_time_days:.1f} дн., "
                   f"{chain.distance_km:,.0f} км; локализация "
                   + ", ".join(f"{k} {v:.0%}" for k, v in chain.localization))
        for a in chain.assignments:
            click.echo(f"  {a.stage:24s} {a.organization} (регион {a.region or '—'}, {a.tier.title_ru}), "
                       f"предложение {a.listing_id}")
        for note in chain.explanations:
            click.echo(f"  ! {note}")


def chain_summary(chain: Any) -> dict[str, Any]:
    """The CLI's JSON form of a chain."""
    return {
        "total_cost": round(chain.total_cost, 2),
        "lead_time_days": round(chain.lead_time_days, 2),
        "distance_km": round(chain.distance_km, 1),
        "localization": {label: round(share, 4) for label, share in chain.localization},
        "assignments": [{"stage": a.stage, "listing_id": int(a.listing_id), "organization": a.organization,
                         "region": a.region, "tier": a.tier.label} for a in chain.assignments],
    }


def _bad_input(as_json: bool, field: str, message: str) -> None:
    text = f"{field}: {message}" if field else message
    if as_json:
        click.echo(json.dumps({"error": {"field": field, "message": message}}, ensure_ascii=False))
    click.echo(f"Ошибка в запросе: {text}", err=True)
    sys.exit(EXIT_BAD_INPUT)
