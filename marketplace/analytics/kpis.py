"""Platform KPIs per region against the targets coordinators set.

* ``organizations`` — organizations registered in the scope and not archived (for Russia: every organization);
* ``active_offers`` / ``active_needs`` — listings with status active, by the listing's region;
* ``matches`` — acceptable stored matches of the needs delivered to the scope;
* ``approved_chains`` — cooperation chains a coordinator approved, by the request's delivery region;
* ``median_hours_to_first_match`` — over published needs with an acceptable match, the median of
  (first acceptable match's ``created_at`` − need's ``created_at``), to the hour (rounded down).

Targets are ``KpiTarget`` rows (region, metric, year); the row without a region is the national target. A
district's target is the sum of its regions' targets when at least one is set.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select

from marketplace.analytics.models import KpiTarget
from marketplace.analytics.scope import (
    COUNTRY,
    Geography,
    Scope,
    floor_int,
    hours_between,
    month_key,
    month_range,
    region_filter,
    year_month,
)
from marketplace.chains.models import ChainRequest, ChainStatus, CooperationChain
from marketplace.core.validation import FieldError, ValidationFailed
from marketplace.extensions import db
from marketplace.listings.models import Listing, ListingStatus, Side
from marketplace.matches.models import Match
from marketplace.organizations.models import Organization

METRICS = ("organizations", "active_offers", "active_needs", "matches", "approved_chains")
METRIC_TITLES_RU = {
    "organizations": "Организации на платформе",
    "active_offers": "Активные предложения",
    "active_needs": "Активные потребности",
    "matches": "Подходящие совпадения",
    "approved_chains": "Утверждённые цепочки кооперации",
}
PUBLISHED = (ListingStatus.ACTIVE, ListingStatus.CLOSED, ListingStatus.ARCHIVED)


@dataclass(frozen=True)
class KpiValue:
    metric: str
    title: str
    value: float
    target: float | None
    progress: float | None  # value / target


@dataclass(frozen=True)
class KpiMonth:
    """New in a month, and the organizations registered by its end."""

    month: str
    organizations: int
    organizations_total: int
    offers: int
    needs: int
    approved_chains: int


@dataclass(frozen=True)
class KpiReport:
    scope: str
    scope_name: str
    year: int
    values: tuple[KpiValue, ...]
    median_hours_to_first_match: float | None
    needs_with_match: int
    months: tuple[KpiMonth, ...] = field(default=())

    def value(self, metric: str) -> KpiValue:
        return next(v for v in self.values if v.metric == metric)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KpiReport:
        return cls(**{**data, "values": tuple(KpiValue(**v) for v in data["values"]),
                      "months": tuple(KpiMonth(**m) for m in data["months"])})


# ---------------------------------------------------------------------------------------------------- targets

def set_kpi_target(region_code: str | None, metric: str, year: int, target: float,
                   set_by_id: int | None = None) -> KpiTarget:
    """Create or change the target of ``metric`` for a region (None: the whole country) and a year."""
    errors = []
    if metric not in METRICS:
        errors.append(FieldError("metric", f"неизвестный показатель; есть: {', '.join(METRICS)}"))
    if not 2000 <= year <= 2100:
        errors.append(FieldError("year", "год вне диапазона 2000–2100"))
    if target is None or target <= 0:
        errors.append(FieldError("target", "цель должна быть больше нуля"))
    if errors:
        raise ValidationFailed(errors)
    row = db.session.scalar(select(KpiTarget).where(
        KpiTarget.region_code.is_(None) if region_code is None else KpiTarget.region_code == region_code,
        KpiTarget.metric == metric, KpiTarget.year == year))
    if row is None:
        row = KpiTarget(region_code=region_code, metric=metric, year=year)
        db.session.add(row)
    row.target = float(target)
    row.set_by_id = set_by_id
    db.session.flush()
    return row


def _targets(year: int, geography: Geography) -> dict[str, dict[str, float]]:
    """``{scope code: {metric: target}}`` for the year, districts summed from their regions."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for region_code, metric, target in db.session.execute(
            select(KpiTarget.region_code, KpiTarget.metric, KpiTarget.target).where(KpiTarget.year == year)):
        if region_code is None:
            out[COUNTRY][metric] = target
            continue
        out[region_code][metric] = target
        district = geography.region_district.get(region_code)
        if district:
            out[district][metric] = out[district].get(metric, 0.0) + target
    return out


# ---------------------------------------------------------------------------------------------------- SQL

def _counts_by_region(scope: Scope | None) -> dict[str, dict[str | None, int]]:
    """Each metric counted per region in SQL."""
    def where(query, column):
        if scope is not None and (cond := region_filter(column, scope)) is not None:
            return query.where(cond)
        return query

    out: dict[str, dict[str | None, int]] = {}
    out["organizations"] = dict(db.session.execute(where(
        select(Organization.region_code, func.count()).where(Organization.archived.is_(False))
        .group_by(Organization.region_code), Organization.region_code)).all())
    sides = db.session.execute(where(
        select(Listing.region_code, Listing.side, func.count()).where(Listing.status == ListingStatus.ACTIVE)
        .group_by(Listing.region_code, Listing.side), Listing.region_code)).all()
    out["active_offers"] = {r: n for r, side, n in sides if side == Side.OFFER}
    out["active_needs"] = {r: n for r, side, n in sides if side == Side.NEED}
    out["matches"] = dict(db.session.execute(where(
        select(Listing.region_code, func.count()).select_from(Match).join(Listing, Listing.id == Match.need_id)
        .where(Match.acceptable.is_(True)).group_by(Listing.region_code), Listing.region_code)).all())
    out["approved_chains"] = dict(db.session.execute(where(
        select(ChainRequest.delivery_region, func.count()).select_from(CooperationChain)
        .join(ChainRequest, ChainRequest.id == CooperationChain.request_id)
        .where(CooperationChain.status == ChainStatus.APPROVED).group_by(ChainRequest.delivery_region),
        ChainRequest.delivery_region)).all())
    return out


def _delay_histogram(scope: Scope | None) -> list[tuple[str | None, int, int]]:
    """(region, whole hours from posting to the first acceptable match, needs) in SQL."""
    first = (select(Listing.region_code.label("region_code"), Listing.created_at.label("posted"),
                    func.min(Match.created_at).label("first"))
             .select_from(Listing).join(Match, Match.need_id == Listing.id)
             .where(Match.acceptable.is_(True), Listing.side == Side.NEED, Listing.status.in_(PUBLISHED))
             .group_by(Listing.id, Listing.region_code, Listing.created_at))
    if scope is not None and (cond := region_filter(Listing.region_code, scope)) is not None:
        first = first.where(cond)
    f = first.subquery()
    delay = hours_between(f.c.first, f.c.posted)
    # + 1e-6: julianday arithmetic puts exactly 5 hours at 4.99999…
    hours = floor_int(case((delay < 0, 0.0), else_=delay + 1e-6))
    return [(r, int(h), int(n)) for r, h, n in db.session.execute(
        select(f.c.region_code, hours.label("h"), func.count()).group_by(f.c.region_code, hours)).all()]


def _monthly(scope: Scope | None) -> dict[str, list[tuple[str | None, str, int]]]:
    """New organizations, offers, needs and approved chains per (region, month) in SQL."""
    def grouped(region_col, time_col, *where):
        y, m = year_month(time_col)
        q = select(region_col, y, m, func.count()).where(*where).group_by(region_col, y, m)
        if scope is not None and (cond := region_filter(region_col, scope)) is not None:
            q = q.where(cond)
        return [(r, month_key(yy, mm), int(n)) for r, yy, mm, n in db.session.execute(q).all()]

    return {
        "organizations": grouped(Organization.region_code, Organization.created_at, Organization.archived.is_(False)),
        "offers": grouped(Listing.region_code, Listing.created_at, Listing.side == Side.OFFER,
                          Listing.status.in_(PUBLISHED)),
        "needs": grouped(Listing.region_code, Listing.created_at, Listing.side == Side.NEED,
                         Listing.status.in_(PUBLISHED)),
        "approved_chains": [
            (r, month_key(yy, mm), int(n)) for r, yy, mm, n in db.session.execute(
                _chains_by_month(scope)).all()],
    }


def _chains_by_month(scope: Scope | None):
    decided = func.coalesce(CooperationChain.decided_at, CooperationChain.created_at)
    y, m = year_month(decided)
    q = (select(ChainRequest.delivery_region, y, m, func.count()).select_from(CooperationChain)
         .join(ChainRequest, ChainRequest.id == CooperationChain.request_id)
         .where(CooperationChain.status == ChainStatus.APPROVED).group_by(ChainRequest.delivery_region, y, m))
    if scope is not None and (cond := region_filter(ChainRequest.delivery_region, scope)) is not None:
        q = q.where(cond)
    return q


# ---------------------------------------------------------------------------------------------------- reports

def median_of_histogram(histogram: Mapping[int, int]) -> float | None:
    """The median of values given as ``{value: how many}``.

    >>> median_of_histogram({2: 1, 5: 1, 30: 2})
    17.5
    """
    n = sum(histogram.values())
    if not n:
        return None
    wanted = sorted({(n - 1) // 2, n // 2})
    found: list[int] = []
    seen = 0
    for value in sorted(histogram):
        count = histogram[value]
        while wanted and wanted[0] < seen + count:
            found.append(value)
            wanted.pop(0)
        seen += count
    return sum(found) / len(found) if len(found) == 2 else float(found[0])


def _build(scope: Scope, year: int, counts: Mapping[str, Mapping[str | None, int]],
           histogram: Mapping[int, int], monthly: Mapping[str, Mapping[str, int]],
           targets: Mapping[str, float]) -> KpiReport:
    values = []
    for metric in METRICS:
        value = sum(n for region, n in counts[metric].items() if scope.kind == "country" or region in scope.regions)
        target = targets.get(metric)
        values.append(KpiValue(metric, METRIC_TITLES_RU[metric], float(value), target,
                               value / target if target else None))
    months = month_range(set().union(*(m.keys() for m in monthly.values())))
    running = 0
    rows = []
    for month in months:
        running += monthly["organizations"].get(month, 0)
        rows.append(KpiMonth(month, monthly["organizations"].get(month, 0), running, monthly["offers"].get(month, 0),
                             monthly["needs"].get(month, 0), monthly["approved_chains"].get(month, 0)))
    return KpiReport(scope=scope.code, scope_name=scope.name, year=year, values=tuple(values),
                     median_hours_to_first_match=median_of_histogram(histogram),
                     needs_with_match=sum(histogram.values()), months=tuple(rows))


def _roll_up(geography: Geography, rows: Iterable[tuple[str | None, Any, int]]) -> dict[str, dict[Any, int]]:
    out: dict[str, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
    for region, key, n in rows:
        for code in geography.scopes_of(region):
            out[code][key] += n
    return out


def all_kpi_reports(geography: Geography, scopes: Iterable[Scope], year: int | None = None,
                    *, only: Scope | None = None) -> dict[str, KpiReport]:
    """KPIs of every scope from a handful of grouped queries."""
    year = year or datetime.now(UTC).year
    counts = _counts_by_region(only)
    histograms = _roll_up(geography, _delay_histogram(only))
    monthly = {name: _roll_up(geography, rows) for name, rows in _monthly(only).items()}
    targets = _targets(year, geography)
    return {s.code: _build(s, year, counts, histograms.get(s.code, {}),
                           {name: m.get(s.code, {}) for name, m in monthly.items()}, targets.get(s.code, {}))
            for s in scopes}


def with_current_targets(report: KpiReport, geography: Geography | None = None) -> KpiReport:
    """The cached report with the targets as they are now (a coordinator may have changed one since the refresh)."""
    targets = _targets(report.year, geography or Geography.load()).get(report.scope, {})
    values = tuple(KpiValue(v.metric, v.title, v.value, targets.get(v.metric),
                            v.value / targets[v.metric] if targets.get(v.metric) else None) for v in report.values)
    return KpiReport(**{**asdict(report), "values": values, "months": report.months})


def kpis(scope: Scope, year: int | None = None) -> KpiReport:
    """The KPIs of one scope, computed now."""
    return all_kpi_reports(Geography.load(), [scope], year, only=scope)[scope.code]
