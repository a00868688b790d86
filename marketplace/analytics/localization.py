"""Localization: how much of a region's demand is met by suppliers of each procurement tier, month by month.

*Matched value*: every published need (not a draft, not hidden) with at least one acceptable match counts with its
budget — or, when it has none, its quantity × the price of the offer of its best match — in the tier of its best
acceptable match (the nearest tier, then the highest score). Months are those of the need's creation.

*Awarded value*: every awarded tender lot counts with the awarded amount (or the lot's budget) in the tier of the
winning supplier relative to the lot's delivery region, in the month of the award (see ``awards.py``).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from marketplace.analytics import awards
from marketplace.analytics.scope import (
    TIERS,
    Geography,
    Scope,
    ValueCell,
    money,
    month_key,
    month_range,
    region_filter,
    tier_rank,
    year_month,
)
from marketplace.extensions import db
from marketplace.listings.models import Listing, ListingStatus, Side
from marketplace.matches.models import Match

COUNTED_NEED_STATUSES = (ListingStatus.ACTIVE, ListingStatus.CLOSED, ListingStatus.ARCHIVED)


@dataclass(frozen=True)
class TierShare:
    tier: str
    value: float
    count: int
    share: float  # of the series' (or the month's) total value; 0 when the total is 0


@dataclass(frozen=True)
class MonthShares:
    month: str  # "2026-11"
    total: float
    tiers: tuple[TierShare, ...]


@dataclass(frozen=True)
class LocalizationSeries:
    basis: str  # "matched" | "awarded"
    total: float
    count: int
    without_value: int  # needs (lots) counted in no share: no budget and no quantity × price
    tiers: tuple[TierShare, ...] = field(default=())
    months: tuple[MonthShares, ...] = field(default=())

    def share(self, tier: str) -> float:
        return next((t.share for t in self.tiers if t.tier == tier), 0.0)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LocalizationSeries:
        return cls(basis=data["basis"], total=data["total"], count=data["count"], without_value=data["without_value"],
                   tiers=tuple(TierShare(**t) for t in data["tiers"]),
                   months=tuple(MonthShares(m["month"], m["total"], tuple(TierShare(**t) for t in m["tiers"]))
                                for m in data["months"]))


@dataclass(frozen=True)
class LocalizationReport:
    scope: str
    scope_name: str
    matched: LocalizationSeries
    awarded: LocalizationSeries | None  # None until tender awards exist in this deployment
    awards_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LocalizationReport:
        return cls(scope=data["scope"], scope_name=data["scope_name"],
                   matched=LocalizationSeries.from_dict(data["matched"]),
                   awarded=LocalizationSeries.from_dict(data["awarded"]) if data.get("awarded") else None,
                   awards_note=data.get("awards_note"))


def matched_cells(scope: Scope | None) -> list[ValueCell]:
    """Matched value grouped by (delivery region, month of the need, tier of its best acceptable match)."""
    need = aliased(Listing)
    offer = aliased(Listing)
    year, month = year_month(need.created_at)
    value = func.coalesce(need.budget, need.quantity * offer.price)
    ranked = (
        select(need.region_code.label("region_code"), year.label("y"), month.label("m"), Match.tier.label("tier"),
               value.label("value"),
               func.row_number().over(partition_by=Match.need_id,
                                      order_by=(tier_rank(Match.tier), Match.score.desc(), Match.id)).label("rn"))
        .select_from(Match)
        .join(need, need.id == Match.need_id)
        .join(offer, offer.id == Match.offer_id)
        .where(Match.acceptable.is_(True), need.side == Side.NEED, need.status.in_(COUNTED_NEED_STATUSES))
    )
    if scope is not None and (cond := region_filter(need.region_code, scope)) is not None:
        ranked = ranked.where(cond)
    r = ranked.subquery()
    rows = db.session.execute(
        select(r.c.region_code, r.c.y, r.c.m, r.c.tier, func.sum(r.c.value), func.count(), func.count(r.c.value))
        .where(r.c.rn == 1).group_by(r.c.region_code, r.c.y, r.c.m, r.c.tier)).all()
    return [ValueCell(row[0], month_key(row[1], row[2]), row[3], money(row[4]), int(row[5]), int(row[5] - row[6]))
            for row in rows]


def series(basis: str, cells: Iterable[ValueCell]) -> LocalizationSeries:
    """Shares by tier over the whole period and for each month; the shares of a non-empty series sum to 1."""
    by_tier: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    by_month: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0]))
    without_value = 0
    for cell in cells:
        without_value += cell.without_value
        for bucket in (by_tier[cell.tier], by_month[cell.month][cell.tier]):
            bucket[0] += cell.value
            bucket[1] += cell.count - cell.without_value

    def shares(acc: Mapping[str, list[float]]) -> tuple[float, tuple[TierShare, ...]]:
        total = sum(v for v, _ in acc.values())
        ordered = [t for t in TIERS if t in acc] + sorted(t for t in acc if t not in TIERS)
        return total, tuple(TierShare(t, round(acc[t][0], 2), int(acc[t][1]), acc[t][0] / total if total else 0.0)
                            for t in ordered)

    total, tiers = shares(by_tier)
    months = []
    for month in month_range(by_month):
        m_total, m_tiers = shares(by_month.get(month, {}))
        months.append(MonthShares(month, round(m_total, 2), m_tiers))
    return LocalizationSeries(basis=basis, total=round(total, 2), count=int(sum(c for _, c in by_tier.values())),
                              without_value=without_value, tiers=tiers, months=tuple(months))


def localization(scope: Scope) -> LocalizationReport:
    """Matched (and, when tender awards exist, awarded) value of one scope by tier and month, computed now."""
    award_cells = awards.award_cells(scope)
    return LocalizationReport(
        scope=scope.code, scope_name=scope.name, matched=series("matched", matched_cells(scope)),
        awarded=None if award_cells is None else series("awarded", award_cells),
        awards_note=_awards_note(award_cells))


def all_localization_reports(geography: Geography, scopes: Iterable[Scope]) -> dict[str, LocalizationReport]:
    """Every scope from one SQL pass per basis."""
    scopes = list(scopes)
    matched = _split(geography, matched_cells(None))
    award_cells = awards.award_cells(None)
    awarded = None if award_cells is None else _split(geography, award_cells)
    return {s.code: LocalizationReport(
        scope=s.code, scope_name=s.name, matched=series("matched", matched.get(s.code, ())),
        awarded=None if awarded is None else series("awarded", awarded.get(s.code, ())),
        awards_note=_awards_note(None if awarded is None else awarded.get(s.code, []))) for s in scopes}


def _awards_note(cells: list[ValueCell] | None) -> str | None:
    if cells is None:
        return awards.UNAVAILABLE
    return None if cells else awards.NONE_YET


def _split(geography: Geography, cells: Iterable[ValueCell]) -> dict[str, list[ValueCell]]:
    out: dict[str, list[ValueCell]] = defaultdict(list)
    for cell in cells:
        for code in geography.scopes_of(cell.region_code):
            out[code].append(cell)
    return out
