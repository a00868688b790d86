"""Coordinator analytics: KPI targets and cached aggregates computed by scheduled jobs."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.models import utcnow
from marketplace.extensions import db


class KpiTarget(db.Model):
    __tablename__ = "kpi_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))  # None: the whole country
    metric: Mapped[str] = mapped_column(String(64), nullable=False)  # organizations | active_offers | ...
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    target: Mapped[float] = mapped_column(Float, nullable=False)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    __table_args__ = (UniqueConstraint("region_code", "metric", "year"),)


class AnalyticsSnapshot(db.Model):
    """A cached aggregate (gaps, localization, KPIs, network) for a scope, replaced by each scheduled run."""

    __tablename__ = "analytics_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    scope: Mapped[str] = mapped_column(String(16), nullable=False)  # a region code, a district code or "RU"
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    __table_args__ = (UniqueConstraint("kind", "scope"),)
