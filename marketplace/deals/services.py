"""Requests for quotation and their conversations. Services validate, change the session, audit, notify the other
side and ``flush()``; the caller commits and then e-mails the notifications (:func:`email_after_commit`).

Status of a conversation: sent → answered (the supplier wrote) → offer (the supplier named a price) → accepted (the
buyer took the offer: a :class:`Deal`) or declined (either side). A new offer replaces the previous one while the
conversation is open; an accepted or declined conversation takes no more messages (:class:`ConversationStateError`,
409 in the API). A request made from a match marks the match «связались»; its page shows the conversation's status.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from marketplace.core.audit import record_audit
from marketplace.core.models import utcnow
from marketplace.core.permissions import actor, can_view_listing
from marketplace.core.validation import FieldError, FieldParser, ValidationFailed
from marketplace.deals.access import BUYER, SUPPLIER, conversation_role
from marketplace.deals.models import (
    Conversation,
    ConversationStatus,
    Deal,
    Message,
    MessageKind,
    QuoteRequest,
    RequestSource,
)
from marketplace.extensions import db
from marketplace.geo.models import Region
from marketplace.listings.models import Listing, Side
from marketplace.organizations.models import Organization

log = logging.getLogger(__name__)

MAX_SUPPLIERS = 20
OPEN = frozenset({ConversationStatus.SENT, ConversationStatus.ANSWERED, ConversationStatus.OFFER})
STATUS_TITLES_RU = {"sent": "запрос отправлен", "answered": "поставщик ответил", "offer": "получено предложение",
                    "accepted": "предложение принято", "declined": "отклонено"}


class ConversationStateError(ValidationFailed):
    """The action is not possible in the conversation's current status (409 in the API)."""

    def __init__(self, message: str):
        super().__init__([FieldError("status", message)])


class NotYourSide(ConversationStateError):
    """The caller sees the conversation but the action belongs to the other side (403 in the API)."""


@dataclass(frozen=True)
class Target:
    """One supplier a request goes to: its organization and, when known, its offer and the match it came from."""

    organization_id: int
    offer_id: int | None = None
    match_id: int | None = None


def parse_request_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    p = FieldParser()
    values = {"title": p.text("title", data.get("title"), required=True, max_length=300),
              "quantity": p.decimal("quantity", data.get("quantity"), allow_zero=False),
              "unit": p.text("unit", data.get("unit"), max_length=32),
              "deadline": p.date("deadline", data.get("deadline")),
              "delivery_region_code": p.text("delivery_region", data.get("delivery_region"), required=True,
                                             max_length=2),
              "text": p.text("text", data.get("text"), required=True, max_length=10000)}
    if values["deadline"] and values["deadline"] < date.today():
        p.error("deadline", "срок уже прошёл")
    region = values["delivery_region_code"]
    if region and db.session.get(Region, region) is None:
        p.error("delivery_region", f"нет субъекта РФ с кодом {region!r}")
    if p.errors:
        raise ValidationFailed(p.errors)
    return values


def send_request(buyer: Organization, user: Any, data: Mapping[str, Any], targets: Sequence[Target], *,
                 source: RequestSource | str = RequestSource.LISTING, need: Listing | None = None,
                 chain_id: int | None = None, chain_stage: str | None = None) -> QuoteRequest:
    """Send a request for quotation to every target: one conversation per supplier; all or nothing."""
    errors: list[FieldError] = []
    try:
        values = parse_request_fields(data)
    except ValidationFailed as exc:
        errors += exc.errors
        values = {}
    unique: dict[int, Target] = {}
    for t in targets:
        unique.setdefault(t.organization_id, t)
    if not unique:
        errors.append(FieldError("suppliers", "выберите хотя бы одного поставщика"))
    elif len(unique) > MAX_SUPPLIERS:
        errors.append(FieldError("suppliers", f"не больше {MAX_SUPPLIERS} поставщиков в одном запросе"))
    for org_id in unique:
        org = db.session.get(Organization, org_id)
        if org is None or org.archived:
            errors.append(FieldError("suppliers", f"нет такого поставщика (№{org_id})"))
        elif org_id == buyer.id:
            errors.append(FieldError("suppliers", "нельзя запросить предложение у своей организации"))
    if need is not None and need.organization_id != buyer.id:
        errors.append(FieldError("need_id", "это потребность другой организации"))
    if errors:
        raise ValidationFailed(errors)
    request = QuoteRequest(buyer_organization_id=buyer.id, created_by_id=actor(user), need_id=need.id if need else None,
                           source=RequestSource(source), chain_id=chain_id, chain_stage=chain_stage, **values)
    db.session.add(request)
    db.session.flush()
    now = utcnow()
    for target in unique.values():
        conversation = Conversation(request_id=request.id, buyer_organization_id=buyer.id,
                                    supplier_organization_id=target.organization_id, offer_id=target.offer_id,
                                    match_id=target.match_id, status=ConversationStatus.SENT, last_message_at=now)
        db.session.add(conversation)
        db.session.flush()
        db.session.add(Message(conversation_id=conversation.id, organization_id=buyer.id, author_id=actor(user),
                               kind=MessageKind.REQUEST, body=values["text"], quantity=values["quantity"],
                               created_at=now))
        _mark_match_contacted(target.match_id)
        _notify(conversation, target.organization_id, "deal_request",
                f"Запрос предложения: {request.title}", f"{buyer.name} просит предложение: {values['text'][:300]}")
    record_audit("deal.request", "quote_request", request.id,
                 {"suppliers": sorted(unique), "source": request.source.value, "need_id": request.need_id,
                  "quantity": values["quantity"], "deadline": values["deadline"],
                  "delivery_region": values["delivery_region_code"]}, user_id=actor(user))
    db.session.flush()
    log.info("quote request %s sent by organization %s to %s", request.id, buyer.id, sorted(unique))
    return request


def _mark_match_contacted(match_id: int | None) -> None:
    if match_id is None:
        return
    from marketplace.matches.models import Match, MatchStatus

    match = db.session.get(Match, match_id)
    if match is not None and match.status != MatchStatus.CONTACTED:
        match.status = MatchStatus.CONTACTED


def _side(user: Any, conversation: Conversation, *allowed: str) -> str:
    role = conversation_role(user, conversation)
    if role not in allowed:
        who = {BUYER: "заказчик", SUPPLIER: "поставщик"}
        raise NotYourSide("это действие доступно только: " + ", ".join(who[a] for a in allowed))
    return role  # type: ignore[return-value]


def _require_open(conversation: Conversation) -> None:
    if conversation.status not in OPEN:
        raise ConversationStateError(f"переписка закрыта: {STATUS_TITLES_RU[conversation.status.value]}")


def _org_of(role: str, conversation: Conversation) -> int:
    return conversation.buyer_organization_id if role == BUYER else conversation.supplier_organization_id


def _other(role: str, conversation: Conversation) -> int:
    return conversation.supplier_organization_id if role == BUYER else conversation.buyer_organization_id


def post_message(conversation: Conversation, user: Any, body: object) -> Message:
    """A message of either side; the supplier's first answer moves «sent» to «answered»."""
    role = _side(user, conversation, BUYER, SUPPLIER)
    _require_open(conversation)
    p = FieldParser()
    text = p.text("body", body, required=True, max_length=10000)
    if p.errors:
        raise ValidationFailed(p.errors)
    message = _add(conversation, role, user, MessageKind.TEXT, text or "")
    if role == SUPPLIER and conversation.status == ConversationStatus.SENT:
        conversation.status = ConversationStatus.ANSWERED
    _notify(conversation, _other(role, conversation), "deal_message",
            f"Новое сообщение: {conversation.request.title}", (text or "")[:500])
    db.session.flush()
    return message


def make_offer(conversation: Conversation, user: Any, data: Mapping[str, Any]) -> Message:
    """The supplier's offer: total price (roubles), quantity, lead time in days, a comment."""
    role = _side(user, conversation, SUPPLIER)
    _require_open(conversation)
    p = FieldParser()
    price = p.decimal("price", data.get("price"), required=True, allow_zero=False)
    quantity = p.decimal("quantity", data.get("quantity"), allow_zero=False)
    lead = p.integer("lead_time_days", data.get("lead_time_days"), maximum=3650)
    body = p.text("body", data.get("body"), max_length=10000)
    if p.errors:
        raise ValidationFailed(p.errors)
    message = _add(conversation, role, user, MessageKind.OFFER, body or "", price=price,
                   quantity=quantity if quantity is not None else conversation.request.quantity, lead_time_days=lead)
    conversation.status = ConversationStatus.OFFER
    _notify(conversation, conversation.buyer_organization_id, "deal_offer",
            f"Предложение по запросу: {conversation.request.title}",
            f"{conversation.supplier.name}: {decimal_text(price)} ₽" + (f", срок {lead} дн." if lead else ""))
    record_audit("deal.offer", "conversation", conversation.id,
                 {"message_id": message.id, "price": price, "quantity": message.quantity, "lead_time_days": lead},
                 user_id=actor(user))
    db.session.flush()
    return message


def current_offer(conversation: Conversation) -> Message | None:
    return db.session.scalar(select(Message).where(Message.conversation_id == conversation.id,
                                                   Message.kind == MessageKind.OFFER)
                             .order_by(Message.id.desc()).limit(1))


def accept_offer(conversation: Conversation, user: Any, *, offer_message_id: int | None = None) -> Deal:
    """The buyer accepts the latest offer (naming it guards against accepting one that was replaced meanwhile)."""
    _side(user, conversation, BUYER)
    if conversation.status != ConversationStatus.OFFER:
        raise ConversationStateError("принять можно только полученное предложение")
    offer = current_offer(conversation)
    assert offer is not None
    if offer_message_id is not None and offer_message_id != offer.id:
        raise ConversationStateError("поставщик изменил предложение: посмотрите новое и примите его")
    _add(conversation, BUYER, user, MessageKind.ACCEPT, f"Предложение принято: {decimal_text(offer.price)} ₽")
    conversation.status = ConversationStatus.ACCEPTED
    deal = Deal(conversation_id=conversation.id, offer_message_id=offer.id,
                buyer_organization_id=conversation.buyer_organization_id,
                supplier_organization_id=conversation.supplier_organization_id,
                delivery_region_code=conversation.request.delivery_region_code, amount=offer.price,
                decided_by_id=actor(user))
    db.session.add(deal)
    db.session.flush()
    _notify(conversation, conversation.supplier_organization_id, "deal_accepted",
            f"Ваше предложение принято: {conversation.request.title}",
            f"{conversation.buyer.name} принял предложение на {decimal_text(offer.price)} ₽.")
    record_audit("deal.accept", "conversation", conversation.id, {"deal_id": deal.id, "amount": offer.price},
                 user_id=actor(user))
    db.session.flush()
    return deal


def decline(conversation: Conversation, user: Any, reason: object = None) -> Conversation:
    """Either side closes the conversation without a deal."""
    role = _side(user, conversation, BUYER, SUPPLIER)
    _require_open(conversation)
    p = FieldParser()
    text = p.text("reason", reason, max_length=2000)
    if p.errors:
        raise ValidationFailed(p.errors)
    _add(conversation, role, user, MessageKind.DECLINE, text or "")
    conversation.status = ConversationStatus.DECLINED
    _notify(conversation, _other(role, conversation), "deal_declined",
            f"Переписка закрыта без сделки: {conversation.request.title}", text or "")
    record_audit("deal.decline", "conversation", conversation.id, {"side": role, "reason": text},
                 user_id=actor(user))
    db.session.flush()
    return conversation


def _add(conversation: Conversation, role: str, user: Any, kind: MessageKind, body: str, **extra: Any) -> Message:
    now = utcnow()
    message = Message(conversation_id=conversation.id, organization_id=_org_of(role, conversation),
                      author_id=actor(user), kind=kind, body=body, created_at=now, **extra)
    db.session.add(message)
    conversation.last_message_at = now
    db.session.flush()
    return message


def _notify(conversation: Conversation, organization_id: int, kind: str, title: str, body: str) -> None:
    from marketplace.notifications.services import notify

    note = notify(organization_id, kind, title[:300], body=body, link=f"/deals/{conversation.id}",
                  payload={"conversation_id": conversation.id})
    if note is not None:
        pending_notes().append(note.id)


def pending_notes() -> list[int]:
    """Notifications written in this request or job, to be e-mailed after the commit."""
    from flask import g

    if "deal_notes" not in g:
        g.deal_notes = []
    return g.deal_notes


def email_after_commit() -> None:
    from marketplace.notifications.services import email_after_commit as send

    notes = pending_notes()
    send(list(notes))
    notes.clear()


# Targets from where the buyer starts ------------------------------------------------------------

def offer_target(user: Any, offer: Listing, match_id: int | None = None) -> Target | None:
    if offer.side != Side.OFFER or not can_view_listing(user, offer):
        return None
    return Target(offer.organization_id, offer.id, match_id)


def conversations_for_match(match_id: int) -> list[Conversation]:
    return list(db.session.scalars(select(Conversation).where(Conversation.match_id == match_id)
                                   .order_by(Conversation.id.desc())))


def decimal_text(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = f"{value:,.2f}".replace(",", "\u00a0").replace(".", ",")
    return text.removesuffix(",00")
