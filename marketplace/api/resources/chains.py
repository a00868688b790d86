"""Cooperation chains over ``marketplace.chains.services``: route templates, chain requests (built by the
``chains.build`` job), the chains the builder suggested and the coordinator's review of them.

Who may do what is the web's (``marketplace.chains.views``): anyone with a token asks for a chain (a coordinator
only for delivery to a region they coordinate); a request and its chains are seen by the coordinators of the
delivery region, the requesting organization's members, the author and the participants of an approved chain;
the coordinators of the delivery region (and admins) approve, reject, swap a supplier and comment. A request or a
chain the caller may not see is a 404; one they see but may not act on is a 403.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Response, url_for
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import Select

from marketplace.accounts.models import UserRole
from marketplace.api.acting import acting_organization
from marketplace.api.blueprint import api_user, bp
from marketplace.api.openapi import PageQuery, json_response, operation
from marketplace.api.problems import STATE_TYPE, Problem
from marketplace.api.schemas import Id, Text
from marketplace.chains import services
from marketplace.chains.models import ChainEvent, ChainRequest, ChainRequestStatus, ChainStatus, CooperationChain
from marketplace.core.permissions import current_organization, is_admin
from marketplace.extensions import db
from matching import chains as engine
from matching.geo import ProcurementTier

TAG = "Цепочки кооперации"
ID = "int(max=2147483647)"
RUNNING = (ChainRequestStatus.PENDING, ChainRequestStatus.BUILDING)
MAX_AMOUNT = 1e12  # quantities and weights are stored as NUMERIC(18, 3)


def rubles(*, attribute: str | None = None, **metadata: Any) -> fields.Decimal:
    """Money the builder computed (a float) as a string with kopecks: ``"152300.00"``."""
    return fields.Decimal(places=2, as_string=True, allow_none=True, attribute=attribute,
                          metadata={"type": "string", "format": "decimal", "nullable": True, **metadata})


def amount(**metadata: Any) -> fields.Decimal:
    return fields.Decimal(as_string=True, metadata={"type": "string", "format": "decimal", **metadata})


# Output ------------------------------------------------------------------------------------------------------------

class StageSchema(Schema):
    id = fields.String(required=True, metadata={"example": "casting"})
    text = fields.String(required=True, metadata={"example": "Литьё корпуса насоса из серого чугуна"})
    okved2 = fields.List(fields.String(), required=True)
    okpd2 = fields.List(fields.String(), required=True)
    after = fields.List(fields.String(), required=True, metadata={"description": "Этапы, чей результат нужен."})
    certifications_required = fields.List(fields.String(), required=True)
    min_capacity = fields.Float(allow_none=True)


class ChainTemplateSchema(Schema):
    name = fields.String(attribute="id", required=True, metadata={"example": "pump_unit"})
    title = fields.String(required=True)
    item = fields.String(required=True)
    okpd2 = fields.String(allow_none=True)
    unit_weight_kg = fields.Float(required=True)
    deadline_days = fields.Float(attribute="default_deadline_days", allow_none=True)
    stages = fields.List(fields.Nested(StageSchema), required=True)


class ChainTemplateListSchema(Schema):
    items = fields.List(fields.Nested(ChainTemplateSchema), required=True)


class AssignmentSchema(Schema):
    stage = fields.String(required=True)
    listing_id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    organization = fields.String(required=True)
    region = fields.String(allow_none=True)
    tier = fields.String(required=True, metadata={"enum": list(ProcurementTier.labels())})
    price_per_unit = rubles()
    production_cost = rubles()
    lead_time_days = fields.Float(required=True)
    start_day = fields.Float(required=True)
    finish_day = fields.Float(required=True)


class LegSchema(Schema):
    from_stage = fields.String(data_key="from", attribute="from", required=True)
    to_stage = fields.String(data_key="to", attribute="to", required=True,
                             metadata={"description": "Следующий этап или delivery (к заказчику)."})
    km = fields.Float(required=True)
    days = fields.Float(required=True)
    cost = rubles()


class ChainEventSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": "built, approved, rejected, swapped, comment"})
    text = fields.String(required=True)
    user_id = fields.Integer(allow_none=True)
    user_name = fields.Function(lambda e: e.user.full_name if e.user else None,
                                metadata={"type": "string", "nullable": True})
    created_at = fields.DateTime(required=True)


class ChainSummarySchema(Schema):
    id = fields.Integer(required=True)
    request_id = fields.Integer(required=True)
    rank = fields.Integer(required=True, metadata={"description": "0 — лучшая цепочка."})
    status = fields.String(required=True, metadata={"description": "suggested, approved, rejected"})
    item = fields.Function(lambda c: c.request.item, metadata={"type": "string"})
    delivery_region = fields.Function(lambda c: c.request.delivery_region, metadata={"type": "string"})
    total_cost = rubles()
    lead_time_days = fields.Float(required=True)
    distance_km = fields.Float(required=True)
    localization = fields.Dict(keys=fields.String(), values=fields.Float(), required=True,
                               metadata={"description": "Доля стоимости производства по уровням поставщиков."})
    feasible = fields.Function(lambda c: not c.result.get("violations"), metadata={"type": "boolean"})
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class ChainSchema(ChainSummarySchema):
    production_cost = rubles(attribute="result.production_cost")
    transport_cost = rubles(attribute="result.transport_cost")
    assignments = fields.List(fields.Nested(AssignmentSchema), attribute="result.assignments", required=True)
    legs = fields.List(fields.Nested(LegSchema), attribute="result.legs", required=True)
    explanations = fields.List(fields.String(), attribute="result.explanations", required=True,
                               metadata={"description": "Где и почему цепочка выходит за регион и округ."})
    violations = fields.List(fields.String(), attribute="result.violations", required=True,
                             metadata={"description": "После замены исполнителя: deadline, capacity, tier, …"})
    reason = fields.String(allow_none=True, metadata={"description": "Причина отклонения или комментарий."})
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    history = fields.List(fields.Nested(ChainEventSchema), attribute="events", required=True)


class ChainRequestSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"description": "pending, building, built, infeasible, failed"})
    progress = fields.Float(required=True, metadata={"description": "0…1"})
    message = fields.String(allow_none=True)
    done = fields.Function(lambda r: r.status not in RUNNING, metadata={"type": "boolean"})
    job_id = fields.String(allow_none=True)
    template = fields.String(allow_none=True)
    item = fields.String(required=True)
    title = fields.Function(lambda r: r.spec.get("title"), metadata={"type": "string", "nullable": True})
    quantity = amount()
    unit_weight_kg = amount()
    delivery_region = fields.String(required=True)
    deadline_days = fields.Float(attribute="spec.deadline_days", required=True)
    organization_id = fields.Integer(allow_none=True)
    created_by_id = fields.Integer(allow_none=True)
    need_id = fields.Integer(allow_none=True)
    stages = fields.List(fields.Nested(StageSchema), attribute="spec.stages", required=True)
    chains = fields.List(fields.Nested(ChainSummarySchema), required=True)
    infeasible_reasons = fields.Function(lambda r: (r.outcome or {}).get("infeasible_reasons") or [],
                                         metadata={"type": "array", "items": {"type": "object"},
                                                   "description": "{constraint, stage, message}, когда цепочки нет."})
    decisions = fields.Function(lambda r: (r.outcome or {}).get("decisions") or [],
                                metadata={"type": "array", "items": {"type": "object"},
                                          "description": "По этапам: допущенный уровень и почему ближние "
                                                         "исполнители отклонены."})
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class JobSchema(Schema):
    name = fields.String(required=True, metadata={"example": "chains.build"})
    id = fields.String(allow_none=True)
    status = fields.String(required=True, metadata={"description": "queued (RQ), finished или failed (без Redis "
                                                                   "задание выполняется сразу), deferred"})
    error = fields.String(allow_none=True)


class ChainRequestAcceptedSchema(ChainRequestSchema):
    job = fields.Nested(JobSchema, required=True)


class CandidateSchema(Schema):
    listing_id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    organization = fields.String(required=True)
    region = fields.Function(lambda c: c["place"].get("region"), metadata={"type": "string", "nullable": True})
    tier = fields.String(required=True)
    price_per_unit = rubles()
    lead_time_days = fields.Float(allow_none=True)
    capacity_per_month = fields.Float(allow_none=True)
    certifications = fields.List(fields.String(), required=True)
    score = fields.Float(required=True)


class StageOptionsSchema(Schema):
    stage = fields.String(required=True)
    text = fields.String(required=True)
    current_listing_id = fields.Integer(allow_none=True)
    alternatives = fields.List(fields.Nested(CandidateSchema), required=True)


class SwapOptionsSchema(Schema):
    items = fields.List(fields.Nested(StageOptionsSchema), required=True)


# Input -------------------------------------------------------------------------------------------------------------

def _number(**kwargs: Any) -> fields.Float:
    return fields.Float(allow_nan=False, validate=validate.Range(max=MAX_AMOUNT), **kwargs)


class StageInputSchema(Schema):
    id = Text(max_length=64, required=True)
    text = Text(max_length=2000, required=True)
    okved2 = fields.List(Text(max_length=20), validate=validate.Length(max=50))
    okpd2 = fields.List(Text(max_length=20), validate=validate.Length(max=50))
    after = fields.List(Text(max_length=64), validate=validate.Length(max=50))
    certifications_required = fields.List(Text(max_length=200), validate=validate.Length(max=50))
    min_capacity = _number(allow_none=True)


class ChainRequestCreateSchema(Schema):
    """A chain request as for ``cosmos chains build FILE.json``, or a template with the buyer's part."""

    template = Text(max_length=64, metadata={"description": "Шаблон маршрута (GET /chains/templates); тогда нужны "
                                                            "только quantity и delivery_region."})
    item = Text(max_length=300, metadata={"example": "Насосный агрегат"})
    title = Text(max_length=300)
    okpd2 = Text(max_length=20, metadata={"description": "Код ОКПД2 изделия."})
    quantity = _number(metadata={"example": 10})
    unit_weight_kg = _number()
    delivery_region = Text(max_length=3, metadata={"description": "Код субъекта РФ, «27».", "example": "27"})
    deadline_days = fields.Float(allow_nan=False, validate=validate.Range(max=3650))
    stages = fields.List(fields.Nested(StageInputSchema), validate=validate.Length(max=50),
                         metadata={"description": "Маршрут — ациклический граф: after перечисляет этапы, чей "
                                                  "результат нужен этапу."})
    organization_id = Id(metadata={"description": "От имени какой организации; по умолчанию — вашей (если есть)."})
    alternatives = fields.Integer(strict=True, load_default=services.DEFAULT_ALTERNATIVES,
                                  validate=validate.Range(min=0, max=10),
                                  metadata={"description": "Сколько альтернатив к лучшей цепочке."})

    def load(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        """Errors are named by the engine's paths (``stages[1].after[0]``), as the service names its own."""
        try:
            return super().load(data, *args, **kwargs)
        except ValidationError as exc:
            raise ValidationError(_paths(exc.messages)) from None


def _paths(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    if not isinstance(messages, dict):
        return {prefix or "_schema": [str(m) for m in messages] if isinstance(messages, list) else [str(messages)]}
    out: dict[str, list[str]] = {}
    for key, sub in messages.items():
        path = f"{prefix}[{key}]" if isinstance(key, int) else f"{prefix}.{key}" if prefix else str(key)
        for name, texts in _paths(sub, path).items():
            out.setdefault(name, []).extend(texts)
    return out


class ApproveSchema(Schema):
    comment = Text(max_length=4000, allow_none=True)


class RejectSchema(Schema):
    reason = Text(max_length=2000, required=True)


class SwapSchema(Schema):
    stage = Text(max_length=64, required=True, metadata={"description": "Id этапа."})
    listing_id = Id(required=True, metadata={"description": "Предложение из GET /chains/{id}/alternatives."})


class CommentSchema(Schema):
    text = Text(max_length=4000, required=True)


class ReviewQueueQuery(PageQuery):
    status = fields.String(load_default="suggested", validate=validate.OneOf(["suggested", "approved", "rejected",
                                                                              "all"]))
    region = Text(max_length=3, metadata={"description": "Код субъекта РФ (из ваших)."})


# Helpers -----------------------------------------------------------------------------------------------------------

@contextmanager
def _state_conflicts() -> Iterator[None]:
    """A decided chain or a request with an approved chain: 409, as elsewhere in the API."""
    try:
        yield
    except services.ChainStateError as exc:
        db.session.rollback()
        raise Problem(409, exc.errors[0].message, errors=exc.as_dict(), type_=STATE_TYPE) from None


def _request(request_id: int) -> ChainRequest:
    return services.request_or_404(request_id, user=api_user())


def _chain(chain_id: int) -> CooperationChain:
    return services.chain_or_404(chain_id, user=api_user())


def _reviewed(chain_id: int) -> CooperationChain:
    """A chain the caller reviews: 404 when they may not see it, 403 when they see it but do not coordinate the
    delivery region."""
    chain = _chain(chain_id)
    if not services.can_review(api_user(), chain.request):
        raise Problem(403, "Это может только координатор региона поставки.")
    return chain


def _accepted(row_id: int, alternatives: int) -> Response:
    """Hand the committed request to the build job; 202 with the request and the job's status."""
    handle = services.enqueue_build(row_id, alternatives=alternatives)
    db.session.expire_all()  # an inline build has committed the request's new state
    row = db.session.get(ChainRequest, row_id)
    body = ChainRequestSchema().dump(row)
    body["job"] = JobSchema().dump({"name": handle.name, "id": handle.id, "status": handle.status,
                                    "error": handle.error})
    location = url_for("api.chain_request", request_id=row_id)
    return json_response(body, status=202, headers={"Location": location})


# Templates and requests --------------------------------------------------------------------------------------------

@bp.get("/chains/templates")
@operation("Шаблоны маршрутов: насосный агрегат, сварная металлоконструкция, …", TAG,
           response=ChainTemplateListSchema)
def chain_templates() -> dict[str, Any]:
    return {"items": [engine.load_template(name) for name in engine.template_names()]}


@bp.get("/chains/requests")
@operation("Мои запросы цепочек (моих организаций и мои)", TAG, query=PageQuery, response=ChainRequestSchema,
           paginated=True, auth="required")
def chain_requests(query: dict[str, Any]) -> Select[Any]:
    return services.my_requests_query(api_user())


@bp.post("/chains/requests")
@operation("Запросить цепочку кооперации: построение идёт заданием chains.build", TAG,
           body=ChainRequestCreateSchema, response=ChainRequestAcceptedSchema, status=202, auth="required",
           errors=(403,), description="Тело — как у `cosmos chains build FILE.json` (item, quantity, unit_weight_kg, "
                                      "delivery_region, deadline_days, stages) или template + quantity + "
                                      "delivery_region. Ошибки названы путём поля: `stages[2].after`, `stages`, "
                                      "`delivery_region`. Ход построения — GET /chains/requests/{id}.")
def create_chain_request(body: dict[str, Any]) -> Response:
    user = api_user()
    data = dict(body)
    alternatives = data.pop("alternatives")
    organization_id = data.pop("organization_id", None)
    organization = acting_organization(organization_id) if organization_id is not None \
        else current_organization(user)
    row = services.create_from_json(data, user=user, organization_id=organization.id if organization else None)
    db.session.commit()
    return _accepted(row.id, alternatives)


@bp.get(f"/chains/requests/<{ID}:request_id>")
@operation("Запрос цепочки: статус, ход построения, цепочки", TAG, response=ChainRequestSchema)
def chain_request(request_id: int) -> ChainRequest:
    return _request(request_id)


@bp.post(f"/chains/requests/<{ID}:request_id>/rebuild")
@operation("Построить цепочки заново (координатор региона или автор запроса)", TAG,
           response=ChainRequestAcceptedSchema, status=202, auth="required", errors=(403, 409))
def rebuild_chain_request(request_id: int) -> Response:
    user = api_user()
    row = _request(request_id)
    if not services.can_rebuild(user, row):
        raise Problem(403, "Перестроить может координатор региона поставки или автор запроса.")
    with _state_conflicts():
        services.reset_for_rebuild(row, user=user)
    db.session.commit()
    return _accepted(row.id, services.DEFAULT_ALTERNATIVES)


# Chains and their review -------------------------------------------------------------------------------------------

@bp.get(f"/chains/<{ID}:chain_id>")
@operation("Цепочка: стоимость, срок, км, локализация, исполнители, плечи, объяснения, история", TAG,
           response=ChainSchema)
def chain(chain_id: int) -> CooperationChain:
    return _chain(chain_id)


@bp.get(f"/chains/<{ID}:chain_id>/alternatives")
@operation("Кем можно заменить исполнителя этапа (координатор региона поставки)", TAG, response=SwapOptionsSchema,
           errors=(403,))
def chain_alternatives(chain_id: int) -> dict[str, Any]:
    chain = _reviewed(chain_id)
    if chain.status != ChainStatus.SUGGESTED:
        return {"items": []}
    return {"items": services.swap_options(chain.request, chain)}


@bp.post(f"/chains/<{ID}:chain_id>/approve")
@operation("Утвердить цепочку: остальные варианты отклоняются, участники получают уведомление", TAG,
           body=ApproveSchema, response=ChainSchema, auth="required", errors=(403, 409))
def approve_chain(chain_id: int, body: dict[str, Any]) -> CooperationChain:
    chain = _reviewed(chain_id)
    with _state_conflicts():
        notes = services.approve(chain, user=api_user(), comment=body.get("comment"))
    db.session.commit()
    services.send_notifications(notes)
    return chain


@bp.post(f"/chains/<{ID}:chain_id>/reject")
@operation("Отклонить цепочку с причиной", TAG, body=RejectSchema, response=ChainSchema, auth="required",
           errors=(403, 409))
def reject_chain(chain_id: int, body: dict[str, Any]) -> CooperationChain:
    chain = _reviewed(chain_id)
    with _state_conflicts():
        services.reject(chain, user=api_user(), reason=body["reason"])
    db.session.commit()
    return chain


@bp.post(f"/chains/<{ID}:chain_id>/swap")
@operation("Заменить исполнителя этапа: цепочка пересчитывается, violations называют нарушения", TAG,
           body=SwapSchema, response=ChainSchema, auth="required", errors=(403, 409))
def swap_chain_supplier(chain_id: int, body: dict[str, Any]) -> CooperationChain:
    chain = _reviewed(chain_id)
    with _state_conflicts():
        services.swap(chain, user=api_user(), stage_id=body["stage"], listing_id=body["listing_id"])
    db.session.commit()
    return chain


@bp.post(f"/chains/<{ID}:chain_id>/comments")
@operation("Комментарий к цепочке", TAG, body=CommentSchema, response=ChainEventSchema, status=201,
           auth="required", errors=(403,))
def comment_chain(chain_id: int, body: dict[str, Any]) -> ChainEvent:
    chain = _reviewed(chain_id)
    event = services.comment(chain, user=api_user(), text=body["text"])
    db.session.commit()
    return event


@bp.get("/coordinator/chains")
@operation("Очередь координатора: цепочки с поставкой в его регионы", TAG, query=ReviewQueueQuery,
           response=ChainSummarySchema, paginated=True, auth="required", errors=(403,))
def review_queue(query: dict[str, Any]) -> Select[Any]:
    user = api_user()
    if not is_admin(user) and getattr(user, "role", None) != UserRole.COORDINATOR:
        raise Problem(403, "Только для координаторов и администраторов.")
    status = None if query["status"] == "all" else query["status"]
    return services.review_chains_query(user, status=status, region=query.get("region"))
