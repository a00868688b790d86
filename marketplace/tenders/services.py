"""Tender operations: create and edit a draft with its lots, publish, close at the deadline, cancel; suppliers'
responses; awarding lots.

Every function validates, changes the session, ``flush()``es, writes the audit trail (and, for lots, which are
listings, the search outbox) and returns the object; the caller commits. Problems raise
:class:`~marketplace.core.validation.ValidationFailed` with one message per field; a forbidden transition raises
:class:`TenderStateError` (a ``ValidationFailed`` on the field ``status``), which an API may answer with 409.

Lifecycle: draft → published → closed (at the submission deadline) → awarded (every lot awarded or closed without
an award); draft, published and closed tenders may be cancelled.

Values arrive raw (form strings, JSON values) or typed (``Decimal``, ``datetime``); naive date-times are read in
the time zone of the buyer's region (Moscow time when it has none).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from marketplace.communities.models import Community, MemberStatus
from marketplace.core.audit import record_audit, record_outbox
from marketplace.core.validation import FieldError, FieldParser, ValidationFailed
from marketplace.extensions import db
from marketplace.listings.fields import DbReference, parse_codes, parse_place
from marketplace.listings.models import ListingCode, ListingStatus, Side, TenderLot
from marketplace.organizations.models import Organization
from marketplace.tenders.access import can_take_part, response_refusals, responses_sealed
from marketplace.tenders.models import (
    LotAward,
    ResponseStatus,
    Tender,
    TenderResponse,
    TenderStatus,
    TenderVisibility,
)

log = logging.getLogger(__name__)

MOSCOW = timezone(timedelta(hours=3))
STATUS_TITLES_RU = {
    TenderStatus.DRAFT: "черновик",
    TenderStatus.PUBLISHED: "приём предложений",
    TenderStatus.CLOSED: "приём завершён, подведение итогов",
    TenderStatus.AWARDED: "итоги подведены",
    TenderStatus.CANCELLED: "отменён",
}
_UNSET: Any = object()


class TenderStateError(ValidationFailed):
    """The operation is not allowed in the tender's (or lot's) current state."""

    def __init__(self, message: str):
        super().__init__([FieldError("status", message)])


# Time ------------------------------------------------------------------------------------------

def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive date-times: they were stored in UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def organization_tz(organization: Organization | None) -> tzinfo:
    """The organization's time zone from its region ("UTC+10"), Moscow time otherwise."""
    label = organization.region.timezone if organization is not None and organization.region is not None else None
    match = re.fullmatch(r"UTC([+-])(\d{1,2})(?::?(\d{2}))?", label or "")
    if not match:
        return MOSCOW
    sign = 1 if match.group(1) == "+" else -1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0)))


def parse_moment(p: FieldParser, field: str, value: object, tz: tzinfo, *, required: bool = False) -> datetime | None:
    """A date-time in UTC from a ``datetime`` (naive ones are in ``tz``), a ``date`` (the end of that day) or text."""
    if isinstance(value, datetime):
        return (value.replace(tzinfo=tz) if value.tzinfo is None else value).astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59), tz).astimezone(UTC)
    text = str(value).strip() if value is not None else ""
    if not text:
        if required:
            p.error(field, "обязательное поле")
        return None
    for fmt in ("%d.%m.%Y %H:%M", "%d.%m.%Y"):
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if fmt == "%d.%m.%Y":
            parsed = parsed.replace(hour=23, minute=59)
        return parsed.replace(tzinfo=tz).astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        p.error(field, f"дата и время не распознаны: {text!r} (ожидается ГГГГ-ММ-ДД ЧЧ:ММ)")
        return None
    if len(text) == 10:  # a bare date: the end of that day
        parsed = parsed.replace(hour=23, minute=59)
    return (parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed).astimezone(UTC)


def deadline_passed(tender: Tender, now: datetime | None = None) -> bool:
    deadline = as_utc(tender.submission_deadline)
    return deadline is not None and deadline <= (now or utcnow())


def accepting_responses(tender: Tender, now: datetime | None = None) -> bool:
    return tender.status == TenderStatus.PUBLISHED and not deadline_passed(tender, now)


# Tenders ---------------------------------------------------------------------------------------

def _actor(user: Any) -> int | None:
    return getattr(user, "id", None) if user is not None and getattr(user, "is_authenticated", False) else None


def _require_status(tender: Tender, *allowed: TenderStatus, action: str) -> None:
    if tender.status not in allowed:
        raise TenderStateError(f"нельзя {action}: тендер в статусе «{STATUS_TITLES_RU[tender.status]}»")


def _parse_tender_fields(p: FieldParser, organization: Organization, *, title: object, description: object,
                         visibility: object, submission_deadline: object, invited_organization_ids: object,
                         community_id: object) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if title is not _UNSET:
        out["title"] = p.text("title", title, required=True, max_length=500)
    if description is not _UNSET:
        out["description"] = p.text("description", description, max_length=20000) or ""
    if visibility is not _UNSET:
        choice = p.choice("visibility", visibility, {v.value for v in TenderVisibility}, default="open")
        out["visibility"] = TenderVisibility(choice) if choice else None
    if submission_deadline is not _UNSET:
        out["submission_deadline"] = parse_moment(p, "submission_deadline", submission_deadline,
                                                  organization_tz(organization))
    if invited_organization_ids is not _UNSET:
        ids: list[int] = []
        for raw in invited_organization_ids or ():
            org_id = p.integer("invited_organizations", raw, minimum=1)
            if org_id is not None and org_id not in ids:
                ids.append(org_id)
        orgs = list(db.session.scalars(select(Organization).where(Organization.id.in_(ids),
                                                                  Organization.archived.is_(False)))) if ids else []
        if len(orgs) != len(ids):
            missing = sorted(set(ids) - {o.id for o in orgs})
            p.error("invited_organizations", f"организации не найдены: {', '.join(map(str, missing))}")
        if any(o.id == organization.id for o in orgs):
            p.error("invited_organizations", "нельзя пригласить собственную организацию")
        out["invited_organizations"] = orgs
    if community_id is not _UNSET:
        cid = p.integer("community", community_id, minimum=1)
        community = db.session.get(Community, cid) if cid is not None else None
        # Only a community the buyer belongs to: others (secret ones above all) are not the buyer's to name.
        if cid is not None and (community is None or not any(
                m.organization_id == organization.id and m.status == MemberStatus.ACTIVE for m in community.members)):
            p.error("community", "организация не состоит в этом сообществе")
            community = None
        out["community"] = community
    return out


def create_tender(organization: Organization, *, title: object, description: object = "",
                  visibility: object = "open", submission_deadline: object = None,
                  invited_organization_ids: Iterable[object] = (), community_id: object = None,
                  user: Any = None) -> Tender:
    """A draft tender of ``organization``; lots are added with :func:`add_lot`."""
    p = FieldParser()
    values = _parse_tender_fields(p, organization, title=title, description=description, visibility=visibility,
                                  submission_deadline=submission_deadline,
                                  invited_organization_ids=invited_organization_ids, community_id=community_id)
    if p.errors:
        raise ValidationFailed(p.errors)
    tender = Tender(organization=organization, status=TenderStatus.DRAFT, created_by_id=_actor(user), **values)
    db.session.add(tender)
    db.session.flush()
    record_audit("create", "tender", tender.id, _snapshot(tender), user_id=_actor(user))
    log.info("tender %s created by organization %s", tender.id, organization.id)
    return tender


def update_tender(tender: Tender, *, title: object = _UNSET, description: object = _UNSET,
                  visibility: object = _UNSET, submission_deadline: object = _UNSET,
                  invited_organization_ids: object = _UNSET, community_id: object = _UNSET,
                  user: Any = None) -> Tender:
    """Change a draft; fields left out keep their values."""
    _require_status(tender, TenderStatus.DRAFT, action="изменить опубликованный тендер")
    p = FieldParser()
    values = _parse_tender_fields(p, tender.organization, title=title, description=description,
                                  visibility=visibility, submission_deadline=submission_deadline,
                                  invited_organization_ids=invited_organization_ids, community_id=community_id)
    if p.errors:
        raise ValidationFailed(p.errors)
    before = _snapshot(tender)
    for name, value in values.items():
        setattr(tender, name, value)
    db.session.flush()
    changes = {k: [before[k], v] for k, v in _snapshot(tender).items() if before.get(k) != v}
    if changes:
        record_audit("update", "tender", tender.id, changes, user_id=_actor(user))
    return tender


def publish_tender(tender: Tender, *, user: Any = None, now: datetime | None = None) -> Tender:
    """Open the draft for responses: it needs at least one lot and a submission deadline in the future."""
    now = now or utcnow()
    _require_status(tender, TenderStatus.DRAFT, action="опубликовать")
    errors: list[FieldError] = []
    if not tender.lots:
        errors.append(FieldError("lots", "добавьте хотя бы один лот"))
    deadline = as_utc(tender.submission_deadline)
    if deadline is None:
        errors.append(FieldError("submission_deadline", "укажите срок подачи предложений"))
    elif deadline <= now:
        errors.append(FieldError("submission_deadline", "срок подачи предложений должен быть в будущем"))
    if tender.visibility == TenderVisibility.CLOSED and not tender.invited_organizations and tender.community is None:
        errors.append(FieldError("invited_organizations",
                                 "закрытому тендеру нужны приглашённые организации или сообщество"))
    if errors:
        raise ValidationFailed(errors)
    tender.status = TenderStatus.PUBLISHED
    tender.published_at = now
    for lot in tender.lots:
        lot.status = ListingStatus.ACTIVE
        record_outbox("listing", lot.id, "upsert")
    db.session.flush()
    record_audit("publish", "tender", tender.id, {"status": ["draft", "published"]}, user_id=_actor(user))
    return tender


def close_tender(tender: Tender, *, user: Any = None, now: datetime | None = None) -> Tender:
    """Stop taking responses once the submission deadline has passed; the buyer then awards the lots."""
    now = now or utcnow()
    _require_status(tender, TenderStatus.PUBLISHED, action="завершить приём предложений")
    if not deadline_passed(tender, now):
        raise TenderStateError("приём предложений завершается в срок подачи, он ещё не наступил")
    tender.status = TenderStatus.CLOSED
    tender.closed_at = now
    for lot in tender.lots:
        if lot.status == ListingStatus.ACTIVE:
            lot.status = ListingStatus.CLOSED
        record_outbox("listing", lot.id, "upsert")
    db.session.flush()
    record_audit("close", "tender", tender.id, {"status": ["published", "closed"]}, user_id=_actor(user),
                 actor=None if user else "job:tenders.close_expired")
    return tender


def close_expired_tenders(now: datetime | None = None) -> list[int]:
    """Close every published tender whose submission deadline has passed; returns their ids (safe to repeat)."""
    now = now or utcnow()
    due = db.session.scalars(select(Tender).where(Tender.status == TenderStatus.PUBLISHED,
                                                  Tender.submission_deadline.is_not(None),
                                                  Tender.submission_deadline <= now)).all()
    closed = []
    for tender in due:
        if deadline_passed(tender, now):  # the SQL comparison is only a pre-filter for naive SQLite values
            close_tender(tender, now=now)
            closed.append(tender.id)
    return closed


def cancel_tender(tender: Tender, *, reason: object, user: Any = None, now: datetime | None = None) -> Tender:
    _require_status(tender, TenderStatus.DRAFT, TenderStatus.PUBLISHED, TenderStatus.CLOSED, action="отменить")
    p = FieldParser()
    text = p.text("reason", reason, required=True, max_length=5000)
    if p.errors:
        raise ValidationFailed(p.errors)
    previous = tender.status
    tender.status = TenderStatus.CANCELLED
    tender.cancelled_at = now or utcnow()
    tender.cancel_reason = text
    for lot in tender.lots:
        if lot.status in (ListingStatus.ACTIVE, ListingStatus.DRAFT):
            lot.status = ListingStatus.CLOSED
        record_outbox("listing", lot.id, "upsert")
    db.session.flush()
    record_audit("cancel", "tender", tender.id, {"status": [previous.value, "cancelled"], "reason": text},
                 user_id=_actor(user))
    return tender


def _snapshot(tender: Tender) -> dict[str, Any]:
    return {"title": tender.title, "description": tender.description, "visibility": tender.visibility.value,
            "submission_deadline": as_utc(tender.submission_deadline).isoformat()
            if tender.submission_deadline else None,
            "invited_organizations": sorted(o.id for o in tender.invited_organizations),
            "community_id": tender.community.id if tender.community else None}


# Lots ------------------------------------------------------------------------------------------

# The scale of the Money and Quantity columns: more digits would be rounded away when stored (0,001 ₽ would become 0).
PRICE_PLACES, QUANTITY_PLACES = 2, 3
_PLACES_RU = {2: "двух", 3: "трёх"}


def _within_scale(p: FieldParser, field: str, value: Decimal | None, places: int) -> Decimal | None:
    if value is not None and value != value.quantize(Decimal(1).scaleb(-places)):
        p.error(field, f"не больше {_PLACES_RU[places]} знаков после запятой")
        return None
    return value


LOT_FIELDS = ("title", "description", "okpd2", "quantity", "unit", "region", "town", "delivery_deadline", "budget")


def _parse_lot(tender: Tender, *, title: object, description: object, okpd2: object, quantity: object,
               unit: object, region: object, town: object, delivery_deadline: object,
               budget: object) -> dict[str, Any]:
    p = FieldParser()
    ref = DbReference()
    out: dict[str, Any] = {
        "title": p.text("title", title, required=True, max_length=500),
        "description": p.text("description", description, max_length=20000) or "",
        "quantity": _within_scale(p, "quantity", p.decimal("quantity", quantity, required=True, allow_zero=False),
                                  QUANTITY_PLACES),
        "unit": p.text("unit", unit, required=True, max_length=32),
        "budget": _within_scale(p, "budget", p.decimal("budget", budget, allow_zero=False), PRICE_PLACES),
        "ends_on": p.date("delivery_deadline", delivery_deadline, required=True),
    }
    codes = parse_codes(p, "okpd2", okpd2, ref)
    if not codes and not any(e.field == "okpd2" for e in p.errors):
        p.error("okpd2", "укажите хотя бы один код ОКПД2")
    out["codes"] = codes
    region_code, town_id, lat, lon = parse_place(p, {"region": region, "town": town}, ref, "RU",
                                                 required_region=True)
    out.update(region_code=region_code, town_id=town_id, lat=lat, lon=lon)
    deadline = as_utc(tender.submission_deadline)
    if out["ends_on"] and deadline and out["ends_on"] < deadline.date():
        p.error("delivery_deadline", "срок поставки не может быть раньше срока подачи предложений")
    if p.errors:
        raise ValidationFailed(p.errors)
    return out


def _apply_lot(lot: TenderLot, values: dict[str, Any]) -> None:
    codes = values.pop("codes")
    for name, value in values.items():
        setattr(lot, name, value)
    if lot.okpd2_codes != codes:
        lot.codes = [ListingCode(scheme="okpd2", code=c, position=i) for i, c in enumerate(codes)]


def add_lot(tender: Tender, *, title: object, quantity: object, unit: object, region: object,
            delivery_deadline: object, okpd2: object = (), description: object = "", town: object = None,
            budget: object = None, user: Any = None) -> TenderLot:
    """A new lot of a draft tender: a need listing numbered after the last lot, delivered to ``region``."""
    _require_status(tender, TenderStatus.DRAFT, action="добавить лот")
    values = _parse_lot(tender, title=title, description=description, okpd2=okpd2, quantity=quantity, unit=unit,
                        region=region, town=town, delivery_deadline=delivery_deadline, budget=budget)
    number = max((lot.lot_number or 0 for lot in tender.lots), default=0) + 1
    lot = TenderLot(tender=tender, lot_number=number, organization_id=tender.organization_id, side=Side.NEED,
                    status=ListingStatus.DRAFT, country_code="RU", currency="RUB", created_by_id=_actor(user))
    _apply_lot(lot, values)
    db.session.add(lot)
    db.session.flush()
    record_outbox("listing", lot.id, "upsert")
    record_audit("create", "listing", lot.id, {"tender_id": tender.id, "lot_number": number, **_lot_snapshot(lot)},
                 user_id=_actor(user))
    return lot


def update_lot(lot: TenderLot, *, title: object, quantity: object, unit: object, region: object,
               delivery_deadline: object, okpd2: object = (), description: object = "", town: object = None,
               budget: object = None, user: Any = None) -> TenderLot:
    """Replace the fields of a lot of a draft tender."""
    tender = lot.tender
    _require_status(tender, TenderStatus.DRAFT, action="изменить лот")
    values = _parse_lot(tender, title=title, description=description, okpd2=okpd2, quantity=quantity, unit=unit,
                        region=region, town=town, delivery_deadline=delivery_deadline, budget=budget)
    before = _lot_snapshot(lot)
    _apply_lot(lot, values)
    db.session.flush()
    after = _lot_snapshot(lot)
    changes = {k: [before[k], v] for k, v in after.items() if before[k] != v}
    if changes:
        record_outbox("listing", lot.id, "upsert")
        record_audit("update", "listing", lot.id, changes, user_id=_actor(user))
    return lot


def remove_lot(lot: TenderLot, *, user: Any = None) -> None:
    """Delete a lot of a draft tender (a draft lot has no responses)."""
    tender = lot.tender
    _require_status(tender, TenderStatus.DRAFT, action="удалить лот")
    lot_id = lot.id
    from marketplace.documents.services import remove_all_for

    remove_all_for("listing", lot_id, user=user)  # the lot's drawings go with it (their files after the commit)
    tender.lots.remove(lot)
    db.session.delete(lot)
    db.session.flush()
    record_outbox("listing", lot_id, "delete")
    record_audit("delete", "listing", lot_id, {"tender_id": tender.id}, user_id=_actor(user))


def _lot_snapshot(lot: TenderLot) -> dict[str, Any]:
    return {"title": lot.title, "description": lot.description, "okpd2": lot.okpd2_codes,
            "quantity": str(lot.quantity) if lot.quantity is not None else None, "unit": lot.unit,
            "region": lot.region_code, "town_id": lot.town_id,
            "delivery_deadline": lot.ends_on.isoformat() if lot.ends_on else None,
            "budget": str(lot.budget) if lot.budget is not None else None}


# Responses ---------------------------------------------------------------------------------------

def _parse_response(*, price: object, quantity: object, lead_time_days: object, comment: object) -> dict[str, Any]:
    p = FieldParser()
    values = {"price": _within_scale(p, "price", p.decimal("price", price, required=True, allow_zero=False),
                                     PRICE_PLACES),
              "quantity": _within_scale(p, "quantity", p.decimal("quantity", quantity, required=True,
                                                                 allow_zero=False), QUANTITY_PLACES),
              "lead_time_days": p.integer("lead_time_days", lead_time_days, required=True, maximum=3650),
              "comment": p.text("comment", comment, max_length=5000) or ""}
    if p.errors:
        raise ValidationFailed(p.errors)
    return values


def _require_accepting(tender: Tender, now: datetime) -> None:
    if tender.status != TenderStatus.PUBLISHED:
        raise TenderStateError(f"тендер не принимает предложения: «{STATUS_TITLES_RU[tender.status]}»")
    if deadline_passed(tender, now):
        raise TenderStateError("срок подачи предложений истёк")


def submit_response(lot: TenderLot, organization: Organization, *, price: object, quantity: object,
                    lead_time_days: object, comment: object = "", user: Any = None,
                    now: datetime | None = None) -> TenderResponse:
    """``organization``'s offer on ``lot``: one per lot and organization, before the submission deadline."""
    tender = lot.tender
    _require_accepting(tender, now or utcnow())
    if lot.status == ListingStatus.HIDDEN:
        raise TenderStateError("лот скрыт координатором")
    if not can_take_part(organization.id, tender):
        if organization.id == tender.organization_id:
            raise ValidationFailed([FieldError("organization", "нельзя отвечать на собственный тендер")])
        raise ValidationFailed([FieldError("organization", "организация не приглашена к участию")])
    refusals = response_refusals(user, organization, tender)
    if refusals:
        raise ValidationFailed(refusals)
    existing = db.session.scalar(select(TenderResponse).where(TenderResponse.lot_id == lot.id,
                                                              TenderResponse.organization_id == organization.id))
    if existing is not None:
        raise ValidationFailed([FieldError("organization", "организация уже подала предложение по этому лоту; "
                                                           "его можно изменить")])
    values = _parse_response(price=price, quantity=quantity, lead_time_days=lead_time_days, comment=comment)
    response = TenderResponse(lot=lot, organization=organization, created_by_id=_actor(user), **values)
    db.session.add(response)
    db.session.flush()
    record_audit("create", "tender_response", response.id,
                 {"lot_id": lot.id, "organization_id": organization.id, **_response_snapshot(response)},
                 user_id=_actor(user))
    return response


def update_response(response: TenderResponse, *, price: object, quantity: object, lead_time_days: object,
                    comment: object = "", user: Any = None, now: datetime | None = None) -> TenderResponse:
    """Change a response while the tender still takes responses."""
    _require_accepting(response.lot.tender, now or utcnow())
    values = _parse_response(price=price, quantity=quantity, lead_time_days=lead_time_days, comment=comment)
    before = _response_snapshot(response)
    for name, value in values.items():
        setattr(response, name, value)
    db.session.flush()
    changes = {k: [before[k], v] for k, v in _response_snapshot(response).items() if before[k] != v}
    if changes:
        record_audit("update", "tender_response", response.id, changes, user_id=_actor(user))
    return response


def _response_snapshot(response: TenderResponse) -> dict[str, Any]:
    return {"price": str(response.price), "quantity": str(response.quantity),
            "lead_time_days": response.lead_time_days, "comment": response.comment}


def response_count(lot: TenderLot) -> int:
    """How many responses a lot has: what the buyer may know while they are sealed."""
    return db.session.scalar(select(func.count()).select_from(TenderResponse)
                             .where(TenderResponse.lot_id == lot.id)) or 0


def opened_responses(lot: TenderLot, now: datetime | None = None) -> list[TenderResponse] | None:
    """The lot's responses for the buyer once the deadline has passed; ``None`` while they are sealed."""
    return None if responses_sealed(lot.tender, now) else lot_responses(lot)


def lot_responses(lot: TenderLot) -> list[TenderResponse]:
    """The lot's responses, cheapest unit price first, then the shortest lead time — for code that has checked
    the seal (:func:`opened_responses` for the buyer's pages)."""
    return list(db.session.scalars(select(TenderResponse).where(TenderResponse.lot_id == lot.id)
                                   .order_by(TenderResponse.price, TenderResponse.lead_time_days,
                                             TenderResponse.id)))


def organization_response(lot: TenderLot, organization_id: int) -> TenderResponse | None:
    return db.session.scalar(select(TenderResponse).where(TenderResponse.lot_id == lot.id,
                                                          TenderResponse.organization_id == organization_id))


def lot_award(lot: TenderLot) -> LotAward | None:
    return db.session.get(LotAward, lot.id)


# Awards ----------------------------------------------------------------------------------------

def _require_undecided(lot: TenderLot) -> Tender:
    tender = lot.tender
    if tender.status == TenderStatus.PUBLISHED:
        if not deadline_passed(tender):
            raise TenderStateError("итоги подводятся после срока подачи предложений")
        close_tender(tender)  # the periodic job has not come round yet
    _require_status(tender, TenderStatus.CLOSED, action="подвести итоги")
    if lot_award(lot) is not None:
        raise TenderStateError(f"по лоту № {lot.lot_number} итоги уже подведены")
    return tender


def award_lot(lot: TenderLot, response: TenderResponse, *, user: Any = None,
              now: datetime | None = None) -> LotAward:
    """Make ``response`` the winner of ``lot`` (the tender must be closed); the other responses lose."""
    tender = _require_undecided(lot)
    if response.lot_id != lot.id:
        raise ValidationFailed([FieldError("response", "предложение относится к другому лоту")])
    award = LotAward(lot_id=lot.id, tender_id=tender.id, response_id=response.id,
                     supplier_organization_id=response.organization_id, amount=response.total,
                     decided_at=now or utcnow(), decided_by_id=_actor(user))
    db.session.add(award)
    for other in lot_responses(lot):
        other.status = ResponseStatus.AWARDED if other.id == response.id else ResponseStatus.NOT_AWARDED
    record_outbox("listing", lot.id, "upsert")
    record_audit("award", "listing", lot.id, {"tender_id": tender.id, "response_id": response.id,
                                              "supplier_organization_id": response.organization_id,
                                              "amount": str(award.amount)}, user_id=_actor(user))
    db.session.flush()
    _finish_if_decided(tender, user, now)
    return award


def close_lot_without_award(lot: TenderLot, *, reason: object, user: Any = None,
                            now: datetime | None = None) -> LotAward:
    """Decide a lot with no winner (no suitable offers); every response on it loses."""
    tender = _require_undecided(lot)
    p = FieldParser()
    text = p.text("reason", reason, required=True, max_length=5000)
    if p.errors:
        raise ValidationFailed(p.errors)
    award = LotAward(lot_id=lot.id, tender_id=tender.id, reason=text, decided_at=now or utcnow(),
                     decided_by_id=_actor(user))
    db.session.add(award)
    for other in lot_responses(lot):
        other.status = ResponseStatus.NOT_AWARDED
    record_outbox("listing", lot.id, "upsert")
    record_audit("close_no_award", "listing", lot.id, {"tender_id": tender.id, "reason": text},
                 user_id=_actor(user))
    db.session.flush()
    _finish_if_decided(tender, user, now)
    return award


def _finish_if_decided(tender: Tender, user: Any, now: datetime | None) -> None:
    decided = set(db.session.scalars(select(LotAward.lot_id).where(LotAward.tender_id == tender.id)))
    if all(lot.id in decided for lot in tender.lots):
        tender.status = TenderStatus.AWARDED
        tender.awarded_at = now or utcnow()
        db.session.flush()
        record_audit("award", "tender", tender.id, {"status": ["closed", "awarded"]}, user_id=_actor(user))


def awarded_lots() -> list[LotAward]:
    """Every lot awarded to a supplier (for analytics: buyer, supplier, amount, date)."""
    return list(db.session.scalars(select(LotAward).where(LotAward.response_id.is_not(None))
                                   .order_by(LotAward.decided_at)))


def tender_summary(tender: Tender) -> dict[str, Decimal | int]:
    """Counts for the tender page: lots, responses, decided lots and the awarded amount."""
    lot_ids = [lot.id for lot in tender.lots]
    responses = db.session.scalars(select(TenderResponse.id).where(TenderResponse.lot_id.in_(lot_ids))).all() \
        if lot_ids else []
    awards = db.session.scalars(select(LotAward).where(LotAward.tender_id == tender.id)).all()
    return {"lots": len(lot_ids), "responses": len(responses), "decided": len(awards),
            "awarded_amount": sum((a.amount or Decimal(0) for a in awards), Decimal(0))}
