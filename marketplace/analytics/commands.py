"""``cosmos analytics …``: gaps, localization, KPIs, network, targets and the refresh, from the command line."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click
from flask.cli import with_appcontext

from marketplace.analytics.scope import GAP_LEVELS, UnknownScope


def _scope(region: str | None, district: str | None):
    from marketplace.analytics.scope import COUNTRY, resolve_scope

    if region and district:
        raise click.UsageError("укажите --region или --district, не оба")
    try:
        return resolve_scope(region or district or COUNTRY)
    except UnknownScope as exc:
        raise click.BadParameter(str(exc), param_hint="--region/--district") from None


def _scope_options(func):
    func = click.option("--district", help="Федеральный округ, например FEFD.")(func)
    return click.option("--region", help="Код субъекта РФ, например 27.")(func)


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group("analytics", help="Аналитика для координаторов: пробелы, локализация, KPI, сеть кооперации.")
def analytics_group() -> None:
    pass


@analytics_group.command("gaps", help="Ниши импортозамещения: спрос без подходящего поставщика.")
@_scope_options
@click.option("--level", type=click.Choice(sorted(GAP_LEVELS)),
              help="Нет поставщика: local — в регионе, district — в округе, national — в России.")
@click.option("--by", type=click.Choice(["class", "operation"]), default="class", show_default=True,
              help="class — по классам ОКПД2; operation — по операциям каталога (без операции — по классу).")
@click.option("--limit", type=int, default=0, help="Показать первые N строк (0 — все).")
@click.option("--json", "as_json", is_flag=True, help="Вывести JSON.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Записать CSV.")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False, path_type=Path), help="Записать XLSX.")
@with_appcontext
def gaps_command(region: str | None, district: str | None, level: str | None, by: str, limit: int, as_json: bool,
                 csv_path: Path | None, xlsx_path: Path | None) -> None:
    from marketplace.analytics.export import gaps_csv, gaps_xlsx
    from marketplace.analytics.gaps import gaps

    report = gaps(_scope(region, district), level, by=by)
    if csv_path:
        csv_path.write_text(gaps_csv(report), encoding="utf-8-sig")
    if xlsx_path:
        xlsx_path.write_bytes(gaps_xlsx(report))
    rows = report.rows[:limit] if limit else report.rows
    if as_json:
        drop = {"operation_id"} if by == "class" else set()
        _echo_json({**report.to_dict(), "rows": [{k: v for k, v in asdict(r).items() if k not in drop}
                                                 for r in rows]})
        return
    click.echo(f"{report.scope_name}: {report.unmet_needs} из {report.needs} активных потребностей без поставщика "
               f"({report.level}), бюджет {report.unmet_budget:,.0f} руб.".replace(",", " "))
    for r in rows:
        line = f"{r.operation_id or '':24s} " if by == "operation" else ""
        click.echo(f"{r.rank:4d}. {line}{r.okpd2_class or '—':6s} {r.unmet_needs:5d}/{r.needs:<5d} "
                   f"{r.unmet_budget:>16,.0f}  {r.name[:70]}".replace(",", " "))


@analytics_group.command("needs", help="Потребности за строкой пробелов (по классу ОКПД2).")
@click.argument("okpd2_class")
@_scope_options
@click.option("--level", type=click.Choice(sorted(GAP_LEVELS)), default=None)
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def needs_command(okpd2_class: str, region: str | None, district: str | None, level: str | None, limit: int,
                  as_json: bool) -> None:
    from marketplace.analytics.gaps import DEFAULT_LEVEL, gap_needs

    scope = _scope(region, district)
    needs = gap_needs(scope, okpd2_class, level or DEFAULT_LEVEL[scope.kind], limit=limit)
    if as_json:
        _echo_json([asdict(n) for n in needs])
        return
    for n in needs:
        click.echo(f"{n.id:8d} {n.region_code or '--'} {n.budget or 0:>14,.0f} {n.best_tier or '—':9s} "
                   f"{n.title[:60]} ({n.organization})".replace(",", " "))


@analytics_group.command("localization", help="Доли стоимости по уровням поставщиков (по месяцам).")
@_scope_options
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def localization_command(region: str | None, district: str | None, as_json: bool) -> None:
    from marketplace.analytics.localization import localization
    from marketplace.analytics.scope import TIER_TITLES_RU

    report = localization(_scope(region, district))
    if as_json:
        _echo_json(report.to_dict())
        return
    for series in (report.matched, report.awarded):
        if series is None:
            click.echo(report.awards_note)
            continue
        click.echo(f"{report.scope_name}, {series.basis}: {series.total:,.0f} руб., {series.count} шт.".replace(",", " "))
        for t in series.tiers:
            click.echo(f"  {TIER_TITLES_RU.get(t.tier, t.tier):28s} {t.share:6.1%} {t.value:>16,.0f}".replace(",", " "))


@analytics_group.command("kpis", help="Показатели платформы и выполнение целей.")
@_scope_options
@click.option("--year", type=int)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def kpis_command(region: str | None, district: str | None, year: int | None, as_json: bool) -> None:
    from marketplace.analytics.kpis import kpis

    report = kpis(_scope(region, district), year)
    if as_json:
        _echo_json(report.to_dict())
        return
    for v in report.values:
        target = f" из {v.target:,.0f} ({v.progress:.0%})".replace(",", " ") if v.target else ""
        click.echo(f"{v.title:40s} {v.value:>10,.0f}{target}".replace(",", " "))
    click.echo(f"{'Медиана до первого совпадения, ч':40s} {report.median_hours_to_first_match}")


@analytics_group.command("network", help="Сеть кооперации: кластеры, центральные поставщики, связи регионов.")
@_scope_options
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def network_command(region: str | None, district: str | None, as_json: bool) -> None:
    from marketplace.analytics.network import network

    report = network(_scope(region, district))
    if as_json:
        _echo_json({k: v for k, v in report.to_dict().items() if k not in ("nodes", "edges")})
        return
    click.echo(f"{report.scope_name}: {report.organizations} организаций, {report.links} связей, "
               f"{len(report.clusters)} кластеров")
    for n in report.central:
        click.echo(f"  {n.name[:50]:50s} {n.region or '--'} партнёров {n.partners:3d} посредничество {n.betweenness:.3f}")
    for link in report.interregional:
        click.echo(f"  {link.names[0]} — {link.names[1]}: {link.count} связей, {link.value:,.0f} руб.".replace(",", " "))


@analytics_group.command("set-target", help="Задать цель показателя на год (без --region — для всей страны).")
@click.option("--region")
@click.option("--metric", required=True)
@click.option("--year", type=int, required=True)
@click.option("--target", type=float, required=True)
@with_appcontext
def set_target_command(region: str | None, metric: str, year: int, target: float) -> None:
    from marketplace.analytics.kpis import set_kpi_target
    from marketplace.core.validation import ValidationFailed
    from marketplace.extensions import db

    try:
        set_kpi_target(region, metric, year, target)
    except ValidationFailed as exc:
        raise click.UsageError(str(exc)) from None
    db.session.commit()
    click.echo(f"цель {metric} на {year}: {target:g} ({region or 'RU'})")


@analytics_group.command("refresh", help="Пересчитать кэш аналитики сейчас (все области или одну).")
@click.option("--scope", help="27, FEFD или RU; без него — все.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def refresh_command(scope: str | None, as_json: bool) -> None:
    from marketplace.analytics.snapshots import refresh
    from marketplace.extensions import db

    try:
        report = refresh([scope] if scope else None)
    except UnknownScope as exc:
        raise click.BadParameter(str(exc), param_hint="--scope") from None
    db.session.commit()
    if as_json:
        _echo_json(asdict(report))
        return
    click.echo(f"областей {report.scopes}, записей {report.rows}, секунды {report.seconds}")
