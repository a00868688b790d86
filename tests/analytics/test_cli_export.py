from __future__ import annotations

import csv
import io
import json

from openpyxl import load_workbook

from marketplace.analytics.export import gaps_csv, gaps_xlsx, regional_report_xlsx
from marketplace.analytics.gaps import gap_needs, gaps
from marketplace.analytics.kpis import kpis
from marketplace.analytics.localization import localization
from marketplace.analytics.network import network
from marketplace.analytics.scope import resolve_scope


def test_cli_gaps_json_prints_the_same_list(market, runner):
    result = runner.invoke(args=["analytics", "gaps", "--region", "27", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["scope"] == "27" and data["level"] == "local"
    assert data["rows"] == [
        {"rank": 1, "okpd2_class": "28.41", "name": "Оборудование металлообрабатывающее", "needs": 1,
         "budget": 200000.0, "unmet_needs": 1, "unmet_budget": 200000.0, "unmet_without_budget": 0,
         "unmet_quantity": None, "unit": None},
        {**data["rows"][1], "rank": 2, "okpd2_class": "25.62", "unmet_needs": 2, "unmet_budget": 100000.0}]
    assert data == {**gaps(resolve_scope("27")).to_dict(), "rows": data["rows"]}


def test_cli_gaps_of_a_district_at_a_level(market, runner):
    result = runner.invoke(args=["analytics", "gaps", "--district", "FEFD", "--level", "local", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["scope"], data["level"], data["needs"], data["unmet_needs"]) == ("FEFD", "local", 6, 3)


def test_cli_refuses_an_unknown_region(market, runner):
    result = runner.invoke(args=["analytics", "gaps", "--region", "99", "--json"])
    assert result.exit_code != 0
    assert "unknown scope" in result.output


def test_cli_needs_lists_the_drill_down(market, runner):
    result = runner.invoke(args=["analytics", "needs", "25.62", "--region", "27", "--json"])
    assert result.exit_code == 0, result.output
    assert [n["id"] for n in json.loads(result.output)] == [market.needs["turning"].id, market.needs["coating"].id]


def test_cli_refresh_then_kpis(market, runner, db):
    from marketplace.analytics.models import AnalyticsSnapshot

    result = runner.invoke(args=["analytics", "refresh", "--scope", "27", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"] == 4
    assert db.session.query(AnalyticsSnapshot).filter_by(scope="27").count() == 4
    result = runner.invoke(args=["analytics", "kpis", "--region", "27", "--json"])
    assert json.loads(result.output)["median_hours_to_first_match"] == 7.5


def test_csv_export_has_a_header_and_one_line_per_niche(market):
    text = gaps_csv(gaps(resolve_scope("27")))
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))  # what a Russian Excel expects: «;», decimal comma
    assert rows[0][:3] == ["Место", "ОКПД2", "Наименование"] and len(rows[0]) == 10
    assert [r[:2] for r in rows[1:]] == [["1", "28.41"], ["2", "25.62"]]
    assert rows[2][6] == "100000,0" and rows[2][8] == "10,0" and rows[2][9] == "шт"


def test_xlsx_export_holds_the_gaps_and_the_needs_behind_them(market):
    report = gaps(resolve_scope("27"))
    needs = {r.okpd2_class: gap_needs(resolve_scope("27"), r.okpd2_class, "local") for r in report.rows}
    wb = load_workbook(io.BytesIO(gaps_xlsx(report, needs)))
    assert wb.sheetnames == ["Пробелы", "Потребности"]
    gap_sheet = wb["Пробелы"]
    assert [gap_sheet.cell(row=r, column=2).value for r in (3, 4)] == ["28.41", "25.62"]
    assert gap_sheet.cell(row=3, column=7).value == 200000
    need_ids = {row[1] for row in wb["Потребности"].iter_rows(min_row=3, values_only=True)}
    assert need_ids == {market.needs[k].id for k in ("turning", "coating", "machine")}


def test_needs_of_several_lines_come_from_one_query(market):
    from marketplace.analytics.gaps import gap_needs_by_class

    scope = resolve_scope("27")
    both = gap_needs_by_class(scope, ["25.62", "28.41"], "national")
    assert {cls: [n.id for n in needs] for cls, needs in both.items()} == {
        "25.62": [market.needs["coating"].id], "28.41": [market.needs["machine"].id]}
    assert both["28.41"] == gap_needs(scope, "28.41", "national")


def test_regional_report_has_a_sheet_for_each_part(market):
    scope = resolve_scope("27")
    data = regional_report_xlsx({level: gaps(scope, level) for level in ("local", "district", "national")},
                                localization(scope), kpis(scope), network(scope))
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Пробелы — регион", "Пробелы — округ", "Пробелы — Россия", "Локализация",
                             "Локализация — контракты", "KPI", "KPI по месяцам", "Сеть кооперации"]
    assert wb["Пробелы — Россия"].cell(row=3, column=2).value == "28.41"
    kpi_rows = {r[0]: r[1] for r in wb["KPI"].iter_rows(min_row=3, values_only=True)}
    assert kpi_rows["Активные потребности"] == 5
    loc = [r for r in wb["Локализация"].iter_rows(min_row=3, values_only=True) if r and r[0] == "Весь период"]
    assert sum(r[4] for r in loc) == 1.0
