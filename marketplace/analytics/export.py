"""Exports for coordinators: the gaps list as CSV or XLSX, and the regional report workbook."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from marketplace.analytics.gaps import GapNeed, GapReport
from marketplace.analytics.kpis import KpiReport
from marketplace.analytics.localization import LocalizationReport, LocalizationSeries
from marketplace.analytics.network import NetworkReport
from marketplace.analytics.scope import GAP_LEVEL_TITLES_RU, TIER_TITLES_RU, TIERS
from marketplace.core.cells import csv_cell, escape_workbook

GAP_COLUMNS = ("Место", "ОКПД2", "Наименование", "Потребностей", "Без поставщика", "Доля без поставщика",
               "Бюджет без поставщика, руб.", "Без бюджета", "Количество", "Ед. изм.")
NEED_COLUMNS = ("ID", "Потребность", "Вид", "Заказчик", "Регион", "ОКПД2", "Бюджет, руб.", "Количество", "Ед. изм.",
                "Размещена", "Ближайший подходящий уровень")


def gap_rows(report: GapReport) -> list[tuple[Any, ...]]:
    return [(r.rank, r.okpd2_class, r.name, r.needs, r.unmet_needs, round(r.unmet_share, 4), r.unmet_budget,
             r.unmet_without_budget, r.unmet_quantity, r.unit) for r in report.rows]


def need_rows(needs: Iterable[GapNeed]) -> list[tuple[Any, ...]]:
    return [(n.id, n.title, n.kind, n.organization, n.region_code, n.okpd2_code, n.budget, n.quantity, n.unit,
             n.created_at, TIER_TITLES_RU.get(n.best_tier, "нет") if n.best_tier else "нет подходящих")
            for n in needs]


def gaps_csv(report: GapReport) -> str:
    """The ranked gaps as CSV the way a Russian Excel opens it: semicolons between fields, a decimal comma in
    numbers (UTF-8; the view and the CLI add a BOM, without which Excel reads it as cp1251)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(GAP_COLUMNS)
    writer.writerows([_ru_cell(v) for v in row] for row in gap_rows(report))
    return out.getvalue()


def _ru_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value).replace(".", ",")  # 0.25 → «0,25»: a number to a Russian Excel, not a date or text
    return csv_cell(value)


def _sheet(wb: Workbook, title: str, heading: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
           *, first: bool = False) -> None:
    ws = wb.active if first else wb.create_sheet()
    ws.title = title
    ws.append([heading])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(list(columns))
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        ws.append(list(row))
    for i, name in enumerate(columns, 1):
        ws.column_dimensions[get_column_letter(i)].width = max(10, min(60, len(str(name)) + 4))
    ws.freeze_panes = "A3"


def _gaps_sheet(wb: Workbook, report: GapReport, *, first: bool = False, title: str | None = None) -> None:
    heading = f"{report.scope_name}: {GAP_LEVEL_TITLES_RU[report.level]} — {report.unmet_needs} потребностей " \
              f"из {report.needs}, {report.unmet_budget:,.2f} руб.".replace(",", " ")
    _sheet(wb, title or "Пробелы", heading, GAP_COLUMNS, gap_rows(report), first=first)
    wb[title or "Пробелы"].column_dimensions["C"].width = 60


def gaps_xlsx(report: GapReport, needs: Mapping[str, Sequence[GapNeed]] | None = None) -> bytes:
    """The ranked gaps as a workbook; with ``needs`` (class → needs) a second sheet lists the needs behind them."""
    wb = Workbook()
    _gaps_sheet(wb, report, first=True)
    if needs:
        _sheet(wb, "Потребности", "Потребности без поставщика", ("Класс ОКПД2", *NEED_COLUMNS),
               [(cls, *row) for cls, items in needs.items() for row in need_rows(items)])
    return _save(wb)


def _localization_rows(series: LocalizationSeries) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = [("Весь период", TIER_TITLES_RU.get(t.tier, t.tier), t.count, t.value,
                                    round(t.share, 4)) for t in series.tiers]
    for month in series.months:
        rows.extend((month.month, TIER_TITLES_RU.get(t.tier, t.tier), t.count, t.value, round(t.share, 4))
                    for t in month.tiers)
    return rows


def regional_report_xlsx(gaps: Mapping[str, GapReport], localization: LocalizationReport | None,
                         kpis: KpiReport | None, network: NetworkReport | None,
                         computed_at: datetime | None = None) -> bytes:
    """The report a coordinator sends upward: gaps at every level, localization, KPIs and the network."""
    wb = Workbook()
    first = True
    for level, report in gaps.items():
        title = {"local": "Пробелы — регион", "district": "Пробелы — округ", "national": "Пробелы — Россия"}[level]
        _gaps_sheet(wb, report, first=first, title=title)
        first = False
    if localization is not None:
        columns = ("Месяц", "Уровень поставщика", "Потребностей", "Стоимость, руб.", "Доля")
        _sheet(wb, "Локализация", f"{localization.scope_name}: стоимость подобранного по уровням поставщиков",
               columns, _localization_rows(localization.matched), first=first)
        first = False
        if localization.awarded is not None:
            _sheet(wb, "Локализация — контракты", "Присуждённая стоимость по уровням поставщиков", columns,
                   _localization_rows(localization.awarded))
        if localization.awards_note:
            ws = wb["Локализация — контракты" if localization.awarded is not None else "Локализация"]
            ws.append([])
            ws.append([localization.awards_note])
    if kpis is not None:
        rows: list[tuple[Any, ...]] = [(v.title, v.value, v.target, None if v.progress is None else round(v.progress, 4))
                                       for v in kpis.values]
        rows.append(("Медиана времени до первого подходящего совпадения, ч", kpis.median_hours_to_first_match,
                     None, None))
        _sheet(wb, "KPI", f"{kpis.scope_name}: показатели платформы, {kpis.year} год",
               ("Показатель", "Значение", "Цель", "Выполнение"), rows, first=first)
        wb["KPI"].column_dimensions["A"].width = 60
        first = False
        _sheet(wb, "KPI по месяцам", "Новые за месяц",
               ("Месяц", "Организации", "Организаций всего", "Предложения", "Потребности", "Утверждённые цепочки"),
               [(m.month, m.organizations, m.organizations_total, m.offers, m.needs, m.approved_chains)
                for m in kpis.months])
    if network is not None:
        _sheet(wb, "Сеть кооперации", f"{network.scope_name}: {network.organizations} организаций, "
               f"{network.links} связей", ("Организация", "Регион", "Кластер", "Партнёров", "Связей", "Посредничество"),
               [(n.name, n.region, n.cluster + 1, n.partners, n.strength, n.betweenness) for n in network.central],
               first=first)
        first = False
        ws = wb["Сеть кооперации"]
        ws.append([])
        ws.append(["Межрегиональные связи", "", "Связей", "Стоимость, руб."])
        for link in network.interregional:
            ws.append([f"{link.names[0]} — {link.names[1]}", "", link.count, link.value])
    if first:
        wb.active.title = "Нет данных"
    if computed_at is not None:
        wb.properties.title = f"Космос: региональный отчёт (данные на {computed_at:%Y-%m-%d %H:%M} UTC)"
    return _save(wb)


def _save(wb: Workbook) -> bytes:
    escape_workbook(wb)  # user-written titles and names never become live formulas
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


__all__ = ["TIERS", "gaps_csv", "gaps_xlsx", "regional_report_xlsx"]
