"""Cooperation chains: a request (item, route of operations) and the chains the builder suggested for it."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import TimestampMixin, utcnow
from marketplace.extensions import db
from marketplace.organizations.models import Organization, str_enum

if TYPE_CHECKING:
    from marketplace.accounts.models import User


class ChainRequestStatus(enum.StrEnum):
    PENDING = "pending"
    BUILDING = "building"
    BUILT = "built"
    INFEASIBLE = "infeasible"
    FAILED = "failed"


class ChainStatus(enum.StrEnum):
    SUGGESTED = "suggested"
    APPROVED = "approved"
    REJECTED = "rejected"


class ChainRequest(TimestampMixin, db.Model):
    __tablename__ = "chain_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    need_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id", ondelete="SET NULL"))
    template: Mapped[str | None] = mapped_column(String(64))
    item: Mapped[str] = mapped_column(String(300), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3), nullable=False)
    unit_weight_kg: Mapped[Decimal] = mapped_column(Numeric(18, 3), nullable=False)
    delivery_region: Mapped[str] = mapped_column(ForeignKey("regions.code"), nullable=False, index=True)
    deadline_days: Mapped[int] = mapped_column(Integer, nullable=False)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)  # the request as given (stages, options)
    status: Mapped[ChainRequestStatus] = mapped_column(str_enum(ChainRequestStatus, "chain_request_status"),
                                                       nullable=False, default=ChainRequestStatus.PENDING)
    progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(64))
    # What the last build found besides the chains: per-stage candidate counts and tier decisions, the reasons
    # when no chain exists, and per stage the acceptable offers a coordinator may swap in (see chains.services).
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    organization: Mapped[Organization | None] = relationship()
    chains: Mapped[list[CooperationChain]] = relationship(back_populates="request", order_by="CooperationChain.rank",
                                                          cascade="all, delete-orphan")


class CooperationChain(TimestampMixin, db.Model):
    __tablename__ = "cooperation_chains"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("chain_requests.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    rank: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[ChainStatus] = mapped_column(str_enum(ChainStatus, "chain_status"), nullable=False,
                                                default=ChainStatus.SUGGESTED, index=True)
    total_cost: Mapped[float] = mapped_column(Float, nullable=False)
    lead_time_days: Mapped[float] = mapped_column(Float, nullable=False)
    distance_km: Mapped[float] = mapped_column(Float, nullable=False)
    localization: Mapped[dict[str, float]] = mapped_column(JSON, nullable=False, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)  # the builder's chain as a dict
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    request: Mapped[ChainRequest] = relationship(back_populates="chains")
    events: Mapped[list[ChainEvent]] = relationship(order_by="ChainEvent.id", cascade="all, delete-orphan")


class ChainEvent(db.Model):
    """A comment or a status change on a chain: its history."""

    __tablename__ = "chain_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("cooperation_chains.id", ondelete="CASCADE"), nullable=False,
                                          index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # comment | approved | rejected | swapped | built
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)

    user: Mapped[User | None] = relationship()
