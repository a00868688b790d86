"""Coordinator pages: gaps with drill-down and exports, localization, KPIs, the cooperation network, the report.

Pages read the snapshots the ``analytics.refresh`` job stores (with the time they were computed and a button that
enqueues a recomputation); only the drill-down into the needs behind a gap line queries the listings directly,
limited to one region (or district) and one ОКПД2 class. A region's pages are for its coordinators and the
admins; a district's for coordinators of every region in it; Russia's for admins. Everyone else gets 404, and an
anonymous visitor the login page.
"""
from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from marketplace.analytics import snapshots
from marketplace.analytics.export import gaps_csv, gaps_xlsx, regional_report_xlsx
from marketplace.analytics.gaps import (
    BY,
    BY_TITLES_RU,
    DEFAULT_LEVEL,
    gap_needs,
    gap_needs_by_class,
    gap_needs_by_operation,
    gap_operation_needs,
)
from marketplace.analytics.kpis import METRIC_TITLES_RU, METRICS, set_kpi_target, with_current_targets
from marketplace.analytics.scope import (
    COUNTRY,
    GAP_LEVEL_TITLES_RU,
    GAP_LEVELS,
    TIER_TITLES_RU,
    TIERS,
    Geography,
    Scope,
    UnknownScope,
)
from marketplace.core.permissions import is_admin, is_coordinator_for
from marketplace.core.validation import ValidationFailed
from marketplace.extensions import db

bp = Blueprint("analytics", __name__, url_prefix="/analytics")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Colours of the tiers in charts and of the clusters in the network picture (colour-blind-safe first).
TIER_COLOURS = {"local": "#1b7837", "district": "#5aae61", "national": "#2166ac", "eaeu": "#f1a340",
                "friendly": "#b35806", "excluded": "#7f7f7f"}
CLUSTER_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                   "#bcbd22", "#393b79", "#637939", "#843c39")


def _authenticated() -> bool:
    return bool(getattr(current_user, "is_authenticated", False))


def _login():
    from marketplace.extensions import login_manager

    return login_manager.unauthorized()


def may_view(user: Any, scope: Scope) -> bool:
    """Coordinators see their regions (and a district when they coordinate all of it); admins see everything."""
    if is_admin(user):
        return True
    if scope.kind == "country":
        return False
    return all(is_coordinator_for(user, region) for region in scope.regions)


def _scope_or_404(code: str) -> Scope:
    try:
        scope = Geography.load().scope(code)
    except UnknownScope:
        abort(404)
    if not may_view(current_user, scope):
        abort(404)
    return scope


@bp.context_processor
def _helpers() -> dict[str, Any]:
    from flask import current_app

    chartjs = os.path.join(current_app.static_folder or "", "vendor", "chart.js", "chart.umd.js")
    return {"tier_chart": tier_chart, "rub": rub, "count": rub, "cluster_colour": cluster_colour,
            "chartjs_available": os.path.isfile(chartjs)}


def tier_chart(series: Any) -> dict[str, Any]:
    """Chart.js data for stacked bars: one dataset per tier present, one bar per month."""
    labels = [m.month for m in series.months]
    datasets = []
    for tier in TIERS:
        values = [next((t.value for t in m.tiers if t.tier == tier), 0.0) for m in series.months]
        if any(values):
            datasets.append({"label": TIER_TITLES_RU[tier], "data": values, "backgroundColor": TIER_COLOURS[tier]})
    return {"labels": labels, "datasets": datasets}


def rub(value: float | None) -> str:
    """12 345 678 — roubles with thin spaces, no kopecks."""
    if value is None:
        return "—"
    return f"{value:,.0f}".replace(",", "\u202f")


def cluster_colour(index: int) -> str:
    return CLUSTER_COLOURS[index % len(CLUSTER_COLOURS)]


@bp.before_request
def _require_login():
    if not _authenticated():
        return _login()
    return None


def _level(scope: Scope) -> str:
    level = request.args.get("level") or DEFAULT_LEVEL[scope.kind]
    if level not in GAP_LEVELS:
        abort(404)
    return level


def _by() -> str:
    """How the gaps are read: by ОКПД2 class (the default) or by the needs' catalogue operations."""
    by = request.args.get("by") or "class"
    return by if by in BY else "class"


def _common(scope: Scope, page: str, cached: snapshots.Cached | None) -> dict[str, Any]:
    return {"scope": scope, "page": page, "computed_at": cached.computed_at if cached else None,
            "region_names": Geography.load().region_names,
            "tier_titles": TIER_TITLES_RU, "tier_colours": TIER_COLOURS, "tiers": TIERS,
            "level_titles": GAP_LEVEL_TITLES_RU}


@bp.get("/")
def index():
    """The scopes the user may open; a coordinator of one region goes straight to it."""
    geography = Geography.load()
    scopes = [s for s in geography.all_scopes() if may_view(current_user, s)]
    if not scopes:
        abort(404)
    regions = [s for s in scopes if s.kind == "region"]
    if len(scopes) == 1 and regions:
        return redirect(url_for(".gaps", code=regions[0].code))
    return render_template("analytics/index.html", scopes=scopes, geography=geography)


@bp.get("/<code>")
def scope_home(code: str):
    scope = _scope_or_404(code)
    return redirect(url_for(".gaps", code=scope.code))


@bp.get("/<code>/gaps")
def gaps(code: str):
    scope = _scope_or_404(code)
    level = _level(scope)
    by = _by()
    cached = snapshots.cached_gaps(scope.code, level, by)
    return render_template("analytics/gaps.html", level=level, report=cached.report if cached else None,
                           by=by, by_titles=BY_TITLES_RU, **_common(scope, "gaps", cached))


@bp.get("/<code>/gaps.<fmt>")
def gaps_export(code: str, fmt: str):
    scope = _scope_or_404(code)
    level = _level(scope)
    by = _by()
    cached = snapshots.cached_gaps(scope.code, level, by)
    if cached is None or fmt not in ("csv", "xlsx"):
        abort(404)
    name = f"gaps-{scope.code}-{level}{'-operations' if by == 'operation' else ''}-{cached.computed_at:%Y%m%d-%H%M}"
    if fmt == "csv":
        return Response("\ufeff" + gaps_csv(cached.report), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f"attachment; filename={name}.csv"})
    if by == "operation":
        rows = cached.report.rows
        needs = gap_needs_by_operation(scope, level, classes=[r.okpd2_class for r in rows if not r.operation_id],
                                       operations=[r.operation_id for r in rows if r.operation_id], limit=5000,
                                       viewer=current_user)
        keys = [r.operation_id or r.okpd2_class for r in rows]
    else:
        needs = gap_needs_by_class(scope, [r.okpd2_class for r in cached.report.rows], level, limit=5000,
                                   viewer=current_user)
        keys = [r.okpd2_class for r in cached.report.rows]
    needs = {k: needs[k] for k in keys if k in needs}
    return Response(gaps_xlsx(cached.report, needs), mimetype=XLSX,
                    headers={"Content-Disposition": f"attachment; filename={name}.xlsx"})


@bp.get("/<code>/gaps/<okpd2_class>")
def gap_detail(code: str, okpd2_class: str):
    scope = _scope_or_404(code)
    level = _level(scope)
    okpd2_class = "" if okpd2_class == "none" else okpd2_class
    by = _by()
    cached = snapshots.cached_gaps(scope.code, level, by)
    row = next((r for r in cached.report.rows if r.okpd2_class == okpd2_class and not r.operation_id),
               None) if cached else None
    if by == "operation":  # the class line of a report by operation: the needs that name no operation
        needs = gap_needs_by_operation(scope, level, classes=[okpd2_class], limit=500,
                                       viewer=current_user).get(okpd2_class, ())
    else:
        needs = gap_needs(scope, okpd2_class, level, limit=500, viewer=current_user)
    if row is None and not needs:
        abort(404)
    return render_template("analytics/gap_detail.html", level=level, row=row, okpd2_class=okpd2_class,
                           needs=needs, by=by, operation=None, **_common(scope, "gaps", cached))


@bp.get("/<code>/gaps/operations/<operation_id>")
def gap_operation_detail(code: str, operation_id: str):
    scope = _scope_or_404(code)
    level = _level(scope)
    cached = snapshots.cached_gaps(scope.code, level, "operation")
    row = next((r for r in cached.report.rows if r.operation_id == operation_id), None) if cached else None
    needs = gap_operation_needs(scope, operation_id, level, limit=500, viewer=current_user)
    if row is None and not needs:
        abort(404)
    return render_template("analytics/gap_detail.html", level=level, row=row, okpd2_class=None, needs=needs,
                           by="operation", operation=operation_id, **_common(scope, "gaps", cached))


@bp.get("/<code>/localization")
def localization(code: str):
    scope = _scope_or_404(code)
    cached = snapshots.cached_localization(scope.code)
    return render_template("analytics/localization.html", report=cached.report if cached else None,
                           **_common(scope, "localization", cached))


@bp.get("/<code>/kpis")
def kpis(code: str):
    scope = _scope_or_404(code)
    cached = snapshots.cached_kpis(scope.code)
    report = with_current_targets(cached.report) if cached else None
    return render_template("analytics/kpis.html", report=report, metrics=METRICS, metric_titles=METRIC_TITLES_RU,
                           can_set_targets=_can_set_targets(scope), year=datetime.now(UTC).year,
                           **_common(scope, "kpis", cached))


def _can_set_targets(scope: Scope) -> bool:
    return scope.kind == "region" or (scope.kind == "country" and is_admin(current_user))


@bp.post("/<code>/targets")
def set_target(code: str):
    scope = _scope_or_404(code)
    if not _can_set_targets(scope):
        abort(404)
    try:
        year = int(request.form.get("year", ""))
        target = float(request.form.get("target", "").replace(",", ".").replace(" ", ""))
    except ValueError:
        flash("Год и цель — числа.", "danger")
        return redirect(url_for(".kpis", code=scope.code))
    try:
        set_kpi_target(None if scope.kind == "country" else scope.code, request.form.get("metric", ""), year,
                       target, set_by_id=current_user.id)
    except ValidationFailed as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for(".kpis", code=scope.code))
    db.session.commit()
    flash("Цель сохранена.", "success")
    return redirect(url_for(".kpis", code=scope.code))


@bp.get("/<code>/network")
def network(code: str):
    scope = _scope_or_404(code)
    cached = snapshots.cached_network(scope.code)
    return render_template("analytics/network.html", report=cached.report if cached else None,
                           cluster_colours=CLUSTER_COLOURS, **_common(scope, "network", cached))


@bp.get("/<code>/report")
def report(code: str):
    """The printable regional report: every part on one page, styled for paper."""
    scope = _scope_or_404(code)
    parts = _report_parts(scope)
    return render_template("analytics/report.html", cluster_colours=CLUSTER_COLOURS, **parts,
                           **_common(scope, "report", parts["cached_kpis"]))


@bp.get("/<code>/report.xlsx")
def report_xlsx(code: str):
    scope = _scope_or_404(code)
    parts = _report_parts(scope)
    data = regional_report_xlsx(parts["gaps"], parts["localization"], parts["kpis"], parts["network"],
                                parts["cached_kpis"].computed_at if parts["cached_kpis"] else None)
    return Response(data, mimetype=XLSX,
                    headers={"Content-Disposition": f"attachment; filename=cosmos-report-{scope.code}.xlsx"})


def _report_parts(scope: Scope) -> dict[str, Any]:
    gaps_by_level = {}
    for level in GAP_LEVELS:
        cached = snapshots.cached_gaps(scope.code, level)
        if cached is not None:
            gaps_by_level[level] = cached.report
    loc = snapshots.cached_localization(scope.code)
    kpi = snapshots.cached_kpis(scope.code)
    net = snapshots.cached_network(scope.code)
    return {"gaps": gaps_by_level, "localization": loc.report if loc else None,
            "kpis": with_current_targets(kpi.report) if kpi else None, "network": net.report if net else None,
            "cached_kpis": kpi}


@bp.post("/<code>/refresh")
def refresh(code: str):
    """Enqueue the recomputation of this scope (inline in the embedded mode, on RQ in production)."""
    scope = _scope_or_404(code)
    from workers.queue import enqueue

    handle = enqueue("analytics.refresh", scope.code)
    if handle.status == "finished":
        flash("Аналитика пересчитана.", "success")
    elif handle.status == "queued":
        flash("Пересчёт поставлен в очередь: обновите страницу через минуту.", "info")
    else:
        flash(f"Пересчитать не удалось: {handle.error}", "danger")
    target = request.form.get("next") or ""
    if not target.startswith("/analytics/"):
        target = url_for(".gaps", code=scope.code)
    return redirect(target)


__all__ = ["COUNTRY", "bp", "may_view"]
