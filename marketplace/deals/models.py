"""Requests for quotation, the conversation each becomes between a buyer and a supplier, its messages, and the deal
an accepted offer records."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import TimestampMixin, utcnow
from marketplace.extensions import db
from marketplace.geo.models import Region
from marketplace.listings.models import Listing
from marketplace.organizations.models import Organization, str_enum


class RequestSource(enum.StrEnum):
    MATCH = "match"
    LISTING = "listing"
    PRODUCER = "producer"
    CHAIN = "chain"


class ConversationStatus(enum.StrEnum):
    SENT = "sent"
    ANSWERED = "answered"
    OFFER = "offer"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class MessageKind(enum.StrEnum):
    REQUEST = "request"
    TEXT = "text"
    OFFER = "offer"
    ACCEPT = "accept"
    DECLINE = "decline"


class QuoteRequest(TimestampMixin, db.Model):
    """What a buyer asks for (quantity, deadline, delivery region, text), sent to one or several suppliers."""

    __tablename__ = "quote_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    need_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id", ondelete="SET NULL"), index=True)
    source: Mapped[RequestSource] = mapped_column(str_enum(RequestSource, "quote_request_source"), nullable=False)
    chain_id: Mapped[int | None] = mapped_column(ForeignKey("cooperation_chains.id", ondelete="SET NULL"))
    chain_stage: Mapped[str | None] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))
    unit: Mapped[str | None] = mapped_column(String(32))
    deadline: Mapped[date | None] = mapped_column(Date)
    delivery_region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")

    buyer: Mapped[Organization] = relationship(foreign_keys=[buyer_organization_id])
    need: Mapped[Listing | None] = relationship(foreign_keys=[need_id])
    delivery_region: Mapped[Region | None] = relationship()
    conversations: Mapped[list[Conversation]] = relationship(back_populates="request", order_by="Conversation.id")


class Conversation(TimestampMixin, db.Model):
    """One request as seen by one supplier: the two organizations' messages and where they stand."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("quote_requests.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    buyer_organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    supplier_organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id", ondelete="SET NULL"))
    match_id: Mapped[int | None] = mapped_column(ForeignKey("matches.id", ondelete="SET NULL"), index=True)
    status: Mapped[ConversationStatus] = mapped_column(str_enum(ConversationStatus, "conversation_status"),
                                                       nullable=False, default=ConversationStatus.SENT)
    last_message_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)

    request: Mapped[QuoteRequest] = relationship(back_populates="conversations")
    buyer: Mapped[Organization] = relationship(foreign_keys=[buyer_organization_id])
    supplier: Mapped[Organization] = relationship(foreign_keys=[supplier_organization_id])
    offer: Mapped[Listing | None] = relationship(foreign_keys=[offer_id])
    messages: Mapped[list[Message]] = relationship(back_populates="conversation", order_by="Message.id")
    deal: Mapped[Deal | None] = relationship(back_populates="conversation", uselist=False)


class Message(db.Model):
    """A message of a conversation; an offer carries its price, quantity and lead time."""

    __tablename__ = "conversation_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False,
                                                 index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[MessageKind] = mapped_column(str_enum(MessageKind, "message_kind"), nullable=False,
                                              default=MessageKind.TEXT)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    price: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))  # the offer's total, roubles
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))
    lead_time_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class Deal(db.Model):
    """An accepted offer: the analytics count its amount as awarded value by the supplier's tier."""

    __tablename__ = "deals"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False,
                                                 unique=True)
    offer_message_id: Mapped[int | None] = mapped_column(ForeignKey("conversation_messages.id"))
    buyer_organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    supplier_organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False,
                                                          index=True)
    delivery_region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    conversation: Mapped[Conversation] = relationship(back_populates="deal")
