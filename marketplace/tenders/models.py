"""Tenders: a buyer's procurement with lots (each lot is a need listing), suppliers' responses and lot awards."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

# Imported here (not only for typing) so that the metadata sees the communities slice with the tenders.
from marketplace.communities.models import Community
from marketplace.core.models import TimestampMixin, utcnow
from marketplace.extensions import db
from marketplace.listings.models import Money, Quantity, TenderLot
from marketplace.organizations.models import Organization, str_enum


class TenderStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"  # the submission deadline has passed; the buyer awards lots
    AWARDED = "awarded"  # every lot is awarded or closed without an award
    CANCELLED = "cancelled"


class TenderVisibility(enum.StrEnum):
    OPEN = "open"  # to every supplier
    CLOSED = "closed"  # to invited organizations (and the members of the tender's community) only


tender_invitations = Table(
    "tender_invitations",
    db.metadata,
    Column("tender_id", ForeignKey("tenders.id", ondelete="CASCADE"), primary_key=True),
    Column("organization_id", ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True),
)


class Tender(TimestampMixin, db.Model):
    __tablename__ = "tenders"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    external_id: Mapped[str | None] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[TenderStatus] = mapped_column(str_enum(TenderStatus, "tender_status"), nullable=False,
                                                 default=TenderStatus.DRAFT, index=True)
    visibility: Mapped[TenderVisibility] = mapped_column(str_enum(TenderVisibility, "tender_visibility"),
                                                         nullable=False, default=TenderVisibility.OPEN)
    submission_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    awarded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # A closed tender is also open to the active members of this community.
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organization: Mapped[Organization] = relationship()
    community: Mapped[Community | None] = relationship()
    invited_organizations: Mapped[list[Organization]] = relationship(secondary=tender_invitations,
                                                                     order_by="Organization.name")
    lots: Mapped[list[TenderLot]] = relationship(back_populates="tender", order_by="TenderLot.lot_number",
                                                 foreign_keys="TenderLot.tender_id")

    __table_args__ = (db.UniqueConstraint("organization_id", "external_id"),)

    def __repr__(self) -> str:
        return f"<Tender {self.id} {self.status.value} {self.title[:40]!r}>"


class ResponseStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    AWARDED = "awarded"
    NOT_AWARDED = "not_awarded"


class TenderResponse(TimestampMixin, db.Model):
    """A supplier organization's offer on one lot: unit price, quantity, lead time and a comment."""

    __tablename__ = "tender_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), nullable=False, index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    price: Mapped[Decimal] = mapped_column(Money, nullable=False)  # per unit, in the lot's currency
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    lead_time_days: Mapped[int] = mapped_column(Integer, nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[ResponseStatus] = mapped_column(str_enum(ResponseStatus, "tender_response_status"),
                                                   nullable=False, default=ResponseStatus.SUBMITTED)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    lot: Mapped[TenderLot] = relationship()
    organization: Mapped[Organization] = relationship()

    __table_args__ = (UniqueConstraint("lot_id", "organization_id"),)

    @property
    def total(self) -> Decimal:
        return self.price * self.quantity


class LotAward(db.Model):
    """The buyer's decision on a lot: the winning response, or none (the lot is closed without an award)."""

    __tablename__ = "tender_lot_awards"

    lot_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), nullable=False, index=True)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("tender_responses.id"))
    supplier_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    amount: Mapped[Decimal | None] = mapped_column(Money)  # price × quantity of the winning response
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    lot: Mapped[TenderLot] = relationship()
    response: Mapped[TenderResponse | None] = relationship()
    supplier: Mapped[Organization | None] = relationship()

    @property
    def awarded(self) -> bool:
        return self.response_id is not None


class TenderQuestion(TimestampMixin, db.Model):
    """A supplier's question on a tender and the buyer's answer, shown to everyone who may see the tender (the
    asking organization is not shown to the others: a question must not reveal a competitor)."""

    __tablename__ = "tender_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), nullable=False, index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"))
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    question: Mapped[str] = mapped_column(Text, nullable=False)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    tender: Mapped[Tender] = relationship()
