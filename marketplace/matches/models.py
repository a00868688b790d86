"""Stored matches between a need and an offer, with the engine's explanation."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import TimestampMixin
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.organizations.models import str_enum


class MatchStatus(enum.StrEnum):
    NEW = "new"
    SEEN = "seen"
    DISMISSED = "dismissed"
    CONTACTED = "contacted"


class Match(TimestampMixin, db.Model):
    __tablename__ = "matches"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), nullable=False, index=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), nullable=False, index=True)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    tier: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    distance_km: Mapped[float | None] = mapped_column(Float)
    acceptable: Mapped[bool] = mapped_column(default=True, nullable=False)
    rank: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    status: Mapped[MatchStatus] = mapped_column(str_enum(MatchStatus, "match_status"), nullable=False,
                                                default=MatchStatus.NEW)
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    need: Mapped[Listing] = relationship(foreign_keys=[need_id])
    offer: Mapped[Listing] = relationship(foreign_keys=[offer_id])

    __table_args__ = (UniqueConstraint("need_id", "offer_id"),)


class MatchRun(db.Model):
    """When a listing's matches were last computed, from which version of the listing, and what came out."""

    __tablename__ = "match_runs"

    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    listing_updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    stored: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    candidates: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    active_tier: Mapped[str | None] = mapped_column(String(16))
    chain_suggested: Mapped[bool] = mapped_column(default=False, nullable=False)


class ListingReading(db.Model):
    """The acceptability rule's reading of a listing (operations, head noun, product types, parameters), stored
    once so a match does not read every candidate's text again (:mod:`marketplace.matches.readings`). Derived
    data: ``key`` says what it was made from, and a reading whose key no longer fits is made again."""

    __tablename__ = "listing_readings"

    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
