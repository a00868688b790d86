"""The cache: heavy aggregates computed by ``analytics.refresh`` and stored in ``analytics_snapshots``.

One row per (kind, scope): kinds are ``gaps`` (every gap level), ``localization``, ``kpis`` and ``network``;
scopes are the 89 region codes, the 8 federal districts and "RU". Pages read these rows only.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from marketplace.analytics.gaps import GapReport, all_gap_reports
from marketplace.analytics.kpis import KpiReport, all_kpi_reports
from marketplace.analytics.localization import LocalizationReport, all_localization_reports
from marketplace.analytics.models import AnalyticsSnapshot
from marketplace.analytics.network import NetworkReport, all_network_reports
from marketplace.analytics.scope import Geography, Scope
from marketplace.core.models import utcnow
from marketplace.extensions import db

log = logging.getLogger(__name__)
KINDS = ("gaps", "localization", "kpis", "network")


@dataclass(frozen=True)
class RefreshReport:
    scopes: int
    rows: int
    seconds: dict[str, float]


@dataclass(frozen=True)
class Cached:
    """What a page shows: the report and when it was computed."""

    computed_at: datetime
    report: Any


def _store(kind: str, scope: str, data: dict[str, Any], now: datetime) -> None:
    row = db.session.scalar(select(AnalyticsSnapshot).where(AnalyticsSnapshot.kind == kind,
                                                            AnalyticsSnapshot.scope == scope))
    if row is None:
        db.session.add(AnalyticsSnapshot(kind=kind, scope=scope, data=data, computed_at=now))
    else:
        row.data = data
        row.computed_at = now


def refresh(scope_codes: list[str] | None = None, *, year: int | None = None) -> RefreshReport:
    """Recompute every kind for the given scopes (all 98 when None) and store them; flushes, the caller commits."""
    geography = Geography.load()
    scopes: list[Scope] = ([geography.scope(c) for c in scope_codes] if scope_codes
                           else geography.all_scopes())
    seconds: dict[str, float] = {}
    now = utcnow()
    rows = 0

    def timed(kind: str, compute):
        start = time.perf_counter()
        result = compute()
        seconds[kind] = round(time.perf_counter() - start, 3)
        return result

    gaps = timed("gaps", lambda: all_gap_reports(geography, scopes))
    gaps_by_operation = timed("gaps_by_operation", lambda: all_gap_reports(geography, scopes, by="operation"))
    localization = timed("localization", lambda: all_localization_reports(geography, scopes))
    kpis = timed("kpis", lambda: all_kpi_reports(geography, scopes, year))
    network = timed("network", lambda: all_network_reports(geography, scopes))
    start = time.perf_counter()
    for scope in scopes:
        _store("gaps", scope.code, {**{level: r.to_dict() for level, r in gaps[scope.code].items()},
                                    **{_by_operation(level): r.to_dict()
                                       for level, r in gaps_by_operation[scope.code].items()}}, now)
        _store("localization", scope.code, localization[scope.code].to_dict(), now)
        _store("kpis", scope.code, kpis[scope.code].to_dict(), now)
        _store("network", scope.code, network[scope.code].to_dict(), now)
        rows += 4
    db.session.flush()
    seconds["store"] = round(time.perf_counter() - start, 3)
    log.info("analytics refreshed for %d scopes in %s", len(scopes), seconds)
    return RefreshReport(len(scopes), rows, seconds)


def _read(kind: str, scope: str) -> AnalyticsSnapshot | None:
    return db.session.scalar(select(AnalyticsSnapshot).where(AnalyticsSnapshot.kind == kind,
                                                             AnalyticsSnapshot.scope == scope))


def _by_operation(level: str) -> str:
    return f"operation:{level}"


def cached_gaps(scope: str, level: str, by: str = "class") -> Cached | None:
    """The stored gaps of one level, by ОКПД2 class or (``by="operation"``) by the needs' operations."""
    row = _read("gaps", scope)
    key = _by_operation(level) if by == "operation" else level
    if row is None or key not in row.data:
        return None
    return Cached(row.computed_at, GapReport.from_dict(row.data[key]))


def cached_localization(scope: str) -> Cached | None:
    row = _read("localization", scope)
    return None if row is None else Cached(row.computed_at, LocalizationReport.from_dict(row.data))


def cached_kpis(scope: str) -> Cached | None:
    row = _read("kpis", scope)
    return None if row is None else Cached(row.computed_at, KpiReport.from_dict(row.data))


def cached_network(scope: str) -> Cached | None:
    row = _read("network", scope)
    return None if row is None else Cached(row.computed_at, NetworkReport.from_dict(row.data))
