"""Requests for quotation, conversations, messages and deals (``marketplace.deals``), and one's notifications.

A conversation is seen by the buyer's and the supplier's members (and, read-only, a coordinator of the delivery
region when the request came from a public need); to anyone else it does not exist (404). Writes need a token;
an action of the other side is 403, one the status does not allow 409."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import Select, select

from marketplace.api.acting import acting_organization
from marketplace.api.blueprint import api_user, bp
from marketplace.api.openapi import PageQuery, operation
from marketplace.api.problems import Problem
from marketplace.api.resources.contacts import NOT_BLANK, Patterned
from marketplace.api.schemas import Day, Id, Number, Text, money
from marketplace.core.permissions import can_edit_listing, can_view_listing, organization_ids
from marketplace.core.validation import FieldError, ValidationFailed
from marketplace.deals import access, services
from marketplace.deals.models import Conversation, ConversationStatus, Message, QuoteRequest, RequestSource
from marketplace.extensions import db
from marketplace.listings.models import Listing, Side
from marketplace.notifications import services as notifications
from marketplace.notifications.models import Notification
from marketplace.organizations.models import Organization

TAG = "Запросы предложений"
# A positive amount below 10¹⁵, as the services accept; said in the document through the metadata (apispec would
# write a Range's bounds of a Decimal field as strings, which OpenAPI refuses).
POSITIVE_RANGE = {"minimum": 0, "exclusiveMinimum": True, "maximum": 10**15, "exclusiveMaximum": True}


def POSITIVE(value: Any) -> None:  # noqa: N802 - used like the validate.* validators
    if not 0 < value < 10**15:
        raise ValidationError("больше нуля и меньше 10¹⁵")
NOTES_TAG = "Уведомления"
ID = "int(max=2147483647)"
STATUSES = [s.value for s in ConversationStatus]


class MessageSchema(Schema):
    id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    author_id = fields.Integer(allow_none=True)
    kind = fields.String(required=True, metadata={"enum": ["request", "text", "offer", "accept", "decline"]})
    body = fields.String(required=True)
    price = money(description="Цена предложения за весь объём, ₽.")
    quantity = money()
    lead_time_days = fields.Integer(allow_none=True)
    created_at = fields.DateTime(required=True)


class DealSchema(Schema):
    id = fields.Integer(required=True)
    conversation_id = fields.Integer(required=True)
    buyer_organization_id = fields.Integer(required=True)
    supplier_organization_id = fields.Integer(required=True)
    delivery_region_code = fields.String(allow_none=True)
    amount = money()
    decided_at = fields.DateTime(required=True)


class ConversationSchema(Schema):
    id = fields.Integer(required=True)
    request_id = fields.Integer(required=True)
    title = fields.Function(lambda c: c.request.title, metadata={"type": "string"})
    buyer_organization_id = fields.Integer(required=True)
    supplier_organization_id = fields.Integer(required=True)
    offer_id = fields.Integer(allow_none=True)
    match_id = fields.Integer(allow_none=True)
    status = fields.String(required=True, metadata={"enum": STATUSES})
    last_message_at = fields.DateTime(required=True)
    deal = fields.Nested(DealSchema, allow_none=True)


class ConversationDetailSchema(ConversationSchema):
    quantity = fields.Function(lambda c: None if c.request.quantity is None else str(c.request.quantity),
                               metadata={"type": "string", "nullable": True})
    unit = fields.Function(lambda c: c.request.unit, metadata={"type": "string", "nullable": True})
    deadline = fields.Function(lambda c: c.request.deadline.isoformat() if c.request.deadline else None,
                               metadata={"type": "string", "format": "date", "nullable": True})
    delivery_region = fields.Function(lambda c: c.request.delivery_region_code, metadata={"type": "string"})
    need_id = fields.Function(lambda c: c.request.need_id, metadata={"type": "integer", "nullable": True})
    messages = fields.List(fields.Nested(MessageSchema), required=True)


class QuoteRequestSchema(Schema):
    id = fields.Integer(required=True)
    buyer_organization_id = fields.Integer(required=True)
    need_id = fields.Integer(allow_none=True)
    source = fields.String(required=True)
    title = fields.String(required=True)
    conversations = fields.List(fields.Nested(ConversationSchema), required=True)


class SupplierInput(Schema):
    organization_id = Id(metadata={"description": "Организация-поставщик (или offer_id)."})
    offer_id = Id(metadata={"description": "Предложение поставщика."})


class QuoteRequestInput(Schema):
    title = Patterned(NOT_BLANK, "обязательное поле", max_length=300, required=True)
    quantity = Number(allow_none=True, validate=POSITIVE, metadata=POSITIVE_RANGE)
    unit = Text(max_length=32, allow_none=True)
    deadline = Day(allow_none=True)
    delivery_region = Text(max_length=2, required=True, metadata={"description": "Код субъекта РФ."})
    text = Patterned(NOT_BLANK, "обязательное поле", max_length=10000, required=True)
    need_id = Id(metadata={"description": "Своя потребность: совпадения с ней отмечаются «связались»."})
    organization_id = Id(metadata={"description": "От имени какой своей организации; по умолчанию — вашей."})
    suppliers = fields.List(fields.Nested(SupplierInput), required=True, validate=validate.Length(min=1, max=20))


class MessageInput(Schema):
    body = Patterned(NOT_BLANK, "обязательное поле", max_length=10000, required=True)


class OfferInput(Schema):
    price = Number(required=True, validate=POSITIVE,
                   metadata={"description": "Цена за весь объём, ₽.", **POSITIVE_RANGE})
    quantity = Number(allow_none=True, validate=POSITIVE, metadata=POSITIVE_RANGE)
    lead_time_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=3650))
    body = Text(max_length=10000, allow_none=True)


class AcceptInput(Schema):
    offer_message_id = Id(metadata={"description": "Какое предложение принимается (защита от замены)."})


class DeclineInput(Schema):
    reason = Text(max_length=2000, allow_none=True)


class ConversationQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(STATUSES))
    role = fields.String(validate=validate.OneOf(["buyer", "supplier"]),
                         metadata={"description": "buyer — исходящие запросы, supplier — входящие."})


class NotificationSchema(Schema):
    id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    link = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    read_at = fields.DateTime(allow_none=True)


class NotificationQuery(PageQuery):
    unread = fields.Boolean(metadata={"description": "Только непрочитанные."})


def _conversation(conversation_id: int) -> Conversation:
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None or not access.can_view_conversation(api_user(), conversation):
        raise Problem(404)
    return conversation


def _run(action: Any) -> Any:
    try:
        return action()
    except services.NotYourSide as exc:
        db.session.rollback()
        raise Problem(403, exc.errors[0].message) from None
    except services.ConversationStateError as exc:
        db.session.rollback()
        raise Problem(409, exc.errors[0].message, errors=exc.as_dict(),
                      type_="urn:cosmos:problem:state-conflict") from None


def _done(result: Any) -> Any:
    db.session.commit()
    services.email_after_commit()
    return result


@bp.get("/conversations")
@operation("Мои запросы предложений и переписка", TAG, query=ConversationQuery, response=ConversationSchema,
           paginated=True)
def conversations(query: dict[str, Any]) -> Select[Any]:
    stmt = access.visible_conversations(api_user())
    if query.get("status"):
        stmt = stmt.where(Conversation.status == query["status"])
    mine = organization_ids(api_user()) or {-1}
    if query.get("role") == "buyer":
        stmt = stmt.where(Conversation.buyer_organization_id.in_(mine))
    elif query.get("role") == "supplier":
        stmt = stmt.where(Conversation.supplier_organization_id.in_(mine))
    return stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())


@bp.post("/quote-requests")
@operation("Запросить предложение у одного или нескольких поставщиков", TAG, body=QuoteRequestInput,
           response=QuoteRequestSchema, status=201, auth="required", errors=(403,),
           description="Каждый поставщик получает отдельную переписку; ошибки — по полям, ничего не сохраняется.")
def create_quote_request(body: dict[str, Any]) -> QuoteRequest:
    user = api_user()
    buyer = acting_organization(body.pop("organization_id", None))
    need = None
    if body.get("need_id"):
        need = db.session.get(Listing, body["need_id"])
        if need is None or need.side != Side.NEED or not can_edit_listing(user, need):
            raise ValidationFailed([FieldError("need_id", "нет такой вашей потребности")])
    targets, errors = [], []
    for i, item in enumerate(body["suppliers"]):
        offer = db.session.get(Listing, item["offer_id"]) if item.get("offer_id") else None
        if item.get("offer_id") and (offer is None or offer.side != Side.OFFER or not can_view_listing(user, offer)):
            errors.append(FieldError(f"suppliers[{i}].offer_id", "нет такого предложения"))
            continue
        org_id = item.get("organization_id") or (offer.organization_id if offer else None)
        if org_id is None or (offer is not None and offer.organization_id != org_id):
            errors.append(FieldError(f"suppliers[{i}]", "укажите organization_id или offer_id этой организации"))
            continue
        org = db.session.get(Organization, org_id)
        if org is None or org.archived:
            errors.append(FieldError(f"suppliers[{i}].organization_id", "нет такой организации"))
            continue
        match_id = None
        if need is not None and offer is not None:
            from marketplace.matches.models import Match

            match_id = db.session.scalar(select(Match.id).where(Match.need_id == need.id,
                                                                Match.offer_id == offer.id))
        targets.append(services.Target(org_id, offer.id if offer else None, match_id))
    if errors:
        raise ValidationFailed(errors)
    data = {**body, "deadline": body.get("deadline").isoformat() if body.get("deadline") else None}
    source = RequestSource.MATCH if need is not None else RequestSource.LISTING
    request = services.send_request(buyer, user, data, targets, source=source, need=need)
    return _done(request)


@bp.get(f"/conversations/<{ID}:conversation_id>")
@operation("Переписка с сообщениями и сделкой", TAG, response=ConversationDetailSchema)
def conversation(conversation_id: int) -> Conversation:
    return _conversation(conversation_id)


@bp.post(f"/conversations/<{ID}:conversation_id>/messages")
@operation("Написать сообщение", TAG, body=MessageInput, response=MessageSchema, status=201, auth="required",
           errors=(403, 409))
def post_message(conversation_id: int, body: dict[str, Any]) -> Message:
    c = _conversation(conversation_id)
    return _done(_run(lambda: services.post_message(c, api_user(), body["body"])))


@bp.post(f"/conversations/<{ID}:conversation_id>/offer")
@operation("Предложение поставщика: цена, количество, срок", TAG, body=OfferInput, response=MessageSchema,
           status=201, auth="required", errors=(403, 409))
def make_offer(conversation_id: int, body: dict[str, Any]) -> Message:
    c = _conversation(conversation_id)
    return _done(_run(lambda: services.make_offer(c, api_user(), body)))


@bp.post(f"/conversations/<{ID}:conversation_id>/accept")
@operation("Принять предложение (заказчик): записывается сделка", TAG, body=AcceptInput, response=DealSchema,
           auth="required", errors=(403, 409))
def accept(conversation_id: int, body: dict[str, Any]) -> Any:
    c = _conversation(conversation_id)
    return _done(_run(lambda: services.accept_offer(c, api_user(), offer_message_id=body.get("offer_message_id"))))


@bp.post(f"/conversations/<{ID}:conversation_id>/decline")
@operation("Закрыть переписку без сделки (любая сторона)", TAG, body=DeclineInput, response=ConversationSchema,
           auth="required", errors=(403, 409))
def decline(conversation_id: int, body: dict[str, Any]) -> Conversation:
    c = _conversation(conversation_id)
    return _done(_run(lambda: services.decline(c, api_user(), body.get("reason"))))


@bp.get("/notifications")
@operation("Мои уведомления, новые первыми", NOTES_TAG, query=NotificationQuery, response=NotificationSchema,
           paginated=True, auth="required")
def notification_list(query: dict[str, Any]) -> Select[Any]:
    stmt = notifications.notifications_query(api_user())
    if query.get("unread"):
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt


@bp.post(f"/notifications/<{ID}:notification_id>/read")
@operation("Отметить уведомление прочитанным", NOTES_TAG, response=NotificationSchema, auth="required")
def notification_read(notification_id: int) -> Notification:
    note = db.session.get(Notification, notification_id)
    if note is None or note.organization_id not in organization_ids(api_user()):
        raise Problem(404)
    notifications.mark_read(note)
    db.session.commit()
    return note
