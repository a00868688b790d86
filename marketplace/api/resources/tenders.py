"""Tenders with lots, suppliers' responses and awards, over ``marketplace.tenders.services`` and the visibility
rules of ``marketplace.tenders.access`` (a closed tender and its responses are seen only by the buyer and the
invited suppliers; a response by its author and the buyer)."""
from __future__ import annotations

from typing import Any

from marshmallow import fields, validate
from sqlalchemy import Select, select

from marketplace.api.acting import acting_organization
from marketplace.api.blueprint import api_user, bp
from marketplace.api.openapi import PageQuery, operation, text_contains
from marketplace.api.problems import Problem
from marketplace.api.schemas import (
    AwardSchema,
    CancelSchema,
    CloseLotSchema,
    LotAwardSchema,
    LotInputSchema,
    LotSchema,
    ResponseCountSchema,
    ResponseCreateSchema,
    ResponseInputSchema,
    TenderCreateSchema,
    TenderResponseSchema,
    TenderSchema,
    TenderUpdateSchema,
    Text,
)
from marketplace.core.permissions import is_member, organization_ids
from marketplace.core.validation import FieldError, ValidationFailed
from marketplace.extensions import db
from marketplace.listings.models import Listing, TenderLot
from marketplace.tenders import access
from marketplace.tenders import services as tender_services
from marketplace.tenders.models import LotAward, Tender, TenderResponse, TenderStatus, TenderVisibility

TAG = "Тендеры"
RESPONSES_TAG = "Предложения по лотам"
ID = "int(max=2147483647)"


class TenderQuery(PageQuery):
    status = fields.String(validate=validate.OneOf([s.value for s in TenderStatus]))
    visibility = fields.String(validate=validate.OneOf([v.value for v in TenderVisibility]))
    organization = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                                  metadata={"description": "Id организации-заказчика."})
    region = Text(max_length=2, metadata={"description": "Есть лот с поставкой в этот субъект РФ."})
    q = Text(max_length=200, metadata={"description": "Часть названия."})
    sort = fields.String(load_default="-created_at",
                         validate=validate.OneOf(["-created_at", "created_at", "submission_deadline"]))


def _tender(tender_id: int, *, manage: bool = False) -> Tender:
    return access.tender_or_404(tender_id, manage=manage, user=api_user())


def _managed(tender_id: int) -> Tender:
    """The caller's own tender: 404 when they may not see it, 403 when they see it but are not the buyer."""
    tender = _tender(tender_id)
    if not access.can_manage_tender(api_user(), tender):
        raise Problem(403, "Это может только заказчик тендера.")
    return tender


def _lot(tender: Tender, lot_id: int) -> TenderLot:
    return access.lot_or_404(tender, lot_id)


@bp.get("/tenders")
@operation("Тендеры, видимые вызывающему", TAG, query=TenderQuery, response=TenderSchema, paginated=True)
def tenders(query: dict[str, Any]) -> Select[Any]:
    stmt = access.visible_tenders_query(api_user())
    if query.get("status"):
        stmt = stmt.where(Tender.status == query["status"])
    if query.get("visibility"):
        stmt = stmt.where(Tender.visibility == query["visibility"])
    if query.get("organization"):
        stmt = stmt.where(Tender.organization_id == query["organization"])
    if query.get("region"):
        stmt = stmt.where(Tender.id.in_(select(Listing.__table__.c.tender_id)
                                        .where(Listing.region_code == query["region"])))
    if query.get("q"):
        stmt = stmt.where(text_contains(Tender.title, query["q"]))
    order = {"-created_at": (Tender.created_at.desc(), Tender.id.desc()),
             "created_at": (Tender.created_at, Tender.id),
             "submission_deadline": (Tender.submission_deadline, Tender.id)}[query["sort"]]
    return stmt.order_by(*order)


@bp.get(f"/tenders/<{ID}:tender_id>")
@operation("Тендер с лотами", TAG, response=TenderSchema)
def tender(tender_id: int) -> Tender:
    return _tender(tender_id)


@bp.post("/tenders")
@operation("Создать черновик тендера", TAG, body=TenderCreateSchema, response=TenderSchema, status=201,
           auth="required", errors=(403,))
def create_tender(body: dict[str, Any]) -> Tender:
    data = dict(body)
    organization = acting_organization(data.pop("organization_id", None))
    created = tender_services.create_tender(organization, user=api_user(), **data)
    db.session.commit()
    return created


@bp.patch(f"/tenders/<{ID}:tender_id>")
@operation("Изменить черновик тендера", TAG, body=TenderUpdateSchema, response=TenderSchema, auth="required",
           errors=(403, 409))
def update_tender(tender_id: int, body: dict[str, Any]) -> Tender:
    tender = _managed(tender_id)
    tender_services.update_tender(tender, user=api_user(), **body)
    db.session.commit()
    return tender


@bp.post(f"/tenders/<{ID}:tender_id>/publish")
@operation("Опубликовать тендер", TAG, response=TenderSchema, auth="required", errors=(403, 409, 422))
def publish_tender(tender_id: int) -> Tender:
    tender = _managed(tender_id)
    tender_services.publish_tender(tender, user=api_user())
    db.session.commit()
    return tender


@bp.post(f"/tenders/<{ID}:tender_id>/cancel")
@operation("Отменить тендер", TAG, body=CancelSchema, response=TenderSchema, auth="required", errors=(403, 409))
def cancel_tender(tender_id: int, body: dict[str, Any]) -> Tender:
    tender = _managed(tender_id)
    tender_services.cancel_tender(tender, reason=body["reason"], user=api_user())
    db.session.commit()
    return tender


@bp.post(f"/tenders/<{ID}:tender_id>/lots")
@operation("Добавить лот в черновик", TAG, body=LotInputSchema, response=LotSchema, status=201, auth="required",
           errors=(403, 409))
def add_lot(tender_id: int, body: dict[str, Any]) -> TenderLot:
    tender = _managed(tender_id)
    lot = tender_services.add_lot(tender, user=api_user(), **body)
    db.session.commit()
    return lot


@bp.get(f"/tenders/<{ID}:tender_id>/lots/<{ID}:lot_id>")
@operation("Лот тендера", TAG, response=LotSchema)
def lot(tender_id: int, lot_id: int) -> TenderLot:
    return _lot(_tender(tender_id), lot_id)


@bp.put(f"/tenders/<{ID}:tender_id>/lots/<{ID}:lot_id>")
@operation("Заменить поля лота черновика", TAG, body=LotInputSchema, response=LotSchema, auth="required",
           errors=(403, 409))
def update_lot(tender_id: int, lot_id: int, body: dict[str, Any]) -> TenderLot:
    lot = _lot(_managed(tender_id), lot_id)
    tender_services.update_lot(lot, user=api_user(), **body)
    db.session.commit()
    return lot


@bp.delete(f"/tenders/<{ID}:tender_id>/lots/<{ID}:lot_id>")
@operation("Удалить лот черновика", TAG, status=204, auth="required", errors=(403, 409))
def remove_lot(tender_id: int, lot_id: int) -> None:
    lot = _lot(_managed(tender_id), lot_id)
    tender_services.remove_lot(lot, user=api_user())
    db.session.commit()


# Responses ---------------------------------------------------------------------------------------------------------

@bp.get(f"/tenders/<{ID}:tender_id>/lots/<{ID}:lot_id>/responses")
@operation("Предложения по лоту: поставщику — свои, заказчику — все (дешёвые первыми) после срока подачи; до него "
           "409 (предложения запечатаны)", RESPONSES_TAG, errors=(409,),
           query=PageQuery, response=TenderResponseSchema, paginated=True)
def lot_responses(tender_id: int, lot_id: int, query: dict[str, Any]) -> Select[Any]:
    user = api_user()
    tender = _tender(tender_id)
    lot = _lot(tender, lot_id)
    stmt = (select(TenderResponse).where(TenderResponse.lot_id == lot.id)
            .order_by(TenderResponse.price, TenderResponse.lead_time_days, TenderResponse.id))
    if access.can_manage_tender(user, tender) and access.responses_sealed(tender):
        raise Problem(409, f"Предложения запечатаны до срока подачи ({tender.submission_deadline:%Y-%m-%d %H:%M} "
                           f"UTC): подано {tender_services.response_count(lot)}. Сколько их — "
                           f"GET /api/v1/tenders/{tender.id}/responses/count.")
    if not access.can_manage_tender(user, tender) or access.responses_sealed(tender):
        stmt = stmt.where(TenderResponse.organization_id.in_(organization_ids(user) or {0}))
    return stmt


@bp.get(f"/tenders/<{ID}:tender_id>/responses/count")
@operation("Сколько предложений подано по каждому лоту (заказчику, и пока они запечатаны)", RESPONSES_TAG,
           response=ResponseCountSchema, auth="required", errors=(403,))
def response_counts(tender_id: int) -> dict[str, Any]:
    tender = _managed(tender_id)
    return {"tender_id": tender.id, "sealed": access.responses_sealed(tender),
            "opens_at": tender.submission_deadline,
            "lots": [{"lot_id": lot.id, "lot_number": lot.lot_number,
                      "responses": tender_services.response_count(lot)} for lot in tender.lots]}


@bp.post(f"/tenders/<{ID}:tender_id>/lots/<{ID}:lot_id>/responses")
@operation("Подать предложение по лоту", RESPONSES_TAG, body=ResponseCreateSchema, response=TenderResponseSchema,
           status=201, auth="required", errors=(403, 409))
def submit_response(tender_id: int, lot_id: int, body: dict[str, Any]) -> TenderResponse:
    user = api_user()
    tender = _tender(tender_id)
    lot = _lot(tender, lot_id)
    data = dict(body)
    organization_id = data.pop("organization_id", None)
    candidates = access.responding_organizations(user, tender)
    if organization_id is None:
        if not candidates:
            raise Problem(403, "Ни одна ваша организация не может отвечать на этот тендер.")
        organization = candidates[0]
    else:
        organization = acting_organization(organization_id)
    response = tender_services.submit_response(lot, organization, user=user, **data)
    db.session.commit()
    return response


@bp.get("/responses")
@operation("Предложения моих организаций", RESPONSES_TAG, query=PageQuery, response=TenderResponseSchema,
           paginated=True, auth="required")
def my_responses(query: dict[str, Any]) -> Select[Any]:
    ids = organization_ids(api_user())
    return (select(TenderResponse).where(TenderResponse.organization_id.in_(ids or {0}))
            .order_by(TenderResponse.created_at.desc(), TenderResponse.id.desc()))


@bp.get(f"/responses/<{ID}:response_id>")
@operation("Предложение (автору; заказчику — после срока подачи)", RESPONSES_TAG, response=TenderResponseSchema)
def response(response_id: int) -> TenderResponse:
    return access.response_or_404(response_id, user=api_user())


@bp.put(f"/responses/<{ID}:response_id>")
@operation("Изменить своё предложение, пока идёт приём", RESPONSES_TAG, body=ResponseInputSchema,
           response=TenderResponseSchema, auth="required", errors=(403, 409))
def update_response(response_id: int, body: dict[str, Any]) -> TenderResponse:
    user = api_user()
    found = access.response_or_404(response_id, user=user)
    if not is_member(user, found.organization_id):
        raise Problem(403, "Изменять предложение может только его автор.")
    tender_services.update_response(found, user=user, **body)
    db.session.commit()
    return found


# Awards ------------------------------------------------------------------------------------------------------------

@bp.post(f"/tenders/<{ID}:tender_id>/lots/<{ID}:lot_id>/award")
@operation("Присудить лот предложению (заказчик, после срока подачи)", TAG, body=AwardSchema,
           response=LotAwardSchema, auth="required", errors=(403, 409))
def award_lot(tender_id: int, lot_id: int, body: dict[str, Any]) -> LotAward:
    lot = _lot(_managed(tender_id), lot_id)
    chosen = db.session.get(TenderResponse, body["response_id"])
    if chosen is None or chosen.lot_id != lot.id:
        raise ValidationFailed([FieldError("response_id", "нет такого предложения по этому лоту")])
    award = tender_services.award_lot(lot, chosen, user=api_user())
    db.session.commit()
    return award


@bp.post(f"/tenders/<{ID}:tender_id>/lots/<{ID}:lot_id>/close")
@operation("Закрыть лот без присуждения (заказчик)", TAG, body=CloseLotSchema, response=LotAwardSchema,
           auth="required", errors=(403, 409))
def close_lot(tender_id: int, lot_id: int, body: dict[str, Any]) -> LotAward:
    lot = _lot(_managed(tender_id), lot_id)
    award = tender_services.close_lot_without_award(lot, reason=body["reason"], user=api_user())
    db.session.commit()
    return award


@bp.get(f"/tenders/<{ID}:tender_id>/lots/<{ID}:lot_id>/award")
@operation("Итог по лоту (видим тем, кто видит тендер)", TAG, response=LotAwardSchema)
def lot_award(tender_id: int, lot_id: int) -> LotAward:
    found = tender_services.lot_award(_lot(_tender(tender_id), lot_id))
    if found is None:
        raise Problem(404, "По лоту итогов ещё нет.")
    return found



