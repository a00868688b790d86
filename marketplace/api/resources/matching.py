"""The matching engine over the API: ОКПД2/ОКВЭД2 suggestions for a text, a need's matches (and an offer's needs)
with their explanations, an ad-hoc match for a text and a region, a supplier's feed, and a need's own policy.

Who sees what: a listing's matches are its organization's (and the coordinators of its region, and admins); the
feed is the caller's organization's and lists only needs it may see (a closed tender's lot only when invited).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema, fields, validate

from marketplace.api.acting import acting_organization
from marketplace.api.blueprint import api_user, bp
from marketplace.api.openapi import operation
from marketplace.api.problems import Problem, validation_problem
from marketplace.api.schemas import RegionCode, Text
from marketplace.core.permissions import can_edit_listing
from marketplace.extensions import db
from marketplace.geo.models import Region
from marketplace.listings.models import Listing, Side
from marketplace.matches import services
from marketplace.matches.models import Match
from matching.geo import ProcurementTier

TAG = "Подбор и классификация"
ID = "int(max=2147483647)"
NEED_KINDS = ("tender_lot", "missing_operation", "purchase_request")


class CodeSchema(Schema):
    code = fields.String(required=True, metadata={"example": "25.62.10"})
    name = fields.String(required=True)
    score = fields.Float(required=True)


class ClassifyInputSchema(Schema):
    text = Text(required=True, max_length=2000, metadata={"example": "токарная обработка валов"})
    scheme = fields.String(load_default="okpd2", validate=validate.OneOf(("okpd2", "okved2")))
    top = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))


class ClassifyOutputSchema(Schema):
    text = fields.String(required=True)
    scheme = fields.String(required=True)
    codes = fields.List(fields.Nested(CodeSchema), required=True)


class MatchItemSchema(Schema):
    listing_id = fields.Integer(required=True)
    external_id = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    organization = fields.String(allow_none=True)
    organization_id = fields.Integer()
    region = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    tier = fields.String(required=True, metadata={"enum": list(ProcurementTier.labels())})
    score = fields.Float(required=True)
    explanation = fields.Dict(required=True, metadata={
        "description": "tier, tier_title, distance_km, score, signals [{name, value, weight}], "
                       "constraints [{name, held, detail}]"})
    match_id = fields.Integer(allow_none=True)
    status = fields.String(allow_none=True)


class ChainHintSchema(Schema):
    suggested = fields.Boolean(required=True)
    message = fields.String(required=True)


class MatchResultSchema(Schema):
    matches = fields.List(fields.Nested(MatchItemSchema), required=True)
    policy = fields.String(required=True)
    active_tier = fields.String(allow_none=True)
    candidates_considered = fields.Integer()
    inferred_codes = fields.List(fields.String())
    chain = fields.Nested(ChainHintSchema, allow_none=True)


class AdHocMatchSchema(Schema):
    text = Text(required=True, max_length=2000, metadata={"example": "токарная обработка валов"})
    region = RegionCode(required=True, metadata={"description": "Субъект РФ доставки", "example": "27"})
    kind = fields.String(load_default="purchase_request", validate=validate.OneOf(NEED_KINDS))
    okpd2 = fields.List(Text(max_length=20), load_default=list, validate=validate.Length(max=20))
    okved2 = fields.List(Text(max_length=20), load_default=list, validate=validate.Length(max=20))
    quantity = fields.Float(allow_none=True, validate=validate.Range(min=0, max=1e12))
    unit = Text(allow_none=True, max_length=32)
    deadline = fields.Date(allow_none=True)
    top = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))
    mode = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("strict", "weighted")))
    allow_excluded = fields.Boolean(load_default=False)


class PolicyQuery(Schema):
    mode = fields.String(validate=validate.OneOf(("strict", "weighted")),
                         metadata={"description": "strict — по хартии (по умолчанию — политика потребности), "
                                                  "weighted — все уровни со штрафом за дальность."})
    allow_excluded = fields.Boolean(metadata={"description": "Показывать страны из перечня 430-р."})


class PolicySchema(Schema):
    mode = fields.String(validate=validate.OneOf(("strict", "weighted")), allow_none=True)
    allow_excluded = fields.Boolean(allow_none=True)
    threshold = fields.Float(allow_none=True, validate=validate.Range(min=0, max=1))


class PolicyOutputSchema(Schema):
    listing_id = fields.Integer(required=True)
    mode = fields.String(required=True)
    allow_excluded = fields.Boolean(required=True)
    threshold = fields.Float(required=True)


class StatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(("new", "seen", "dismissed", "contacted")))


class StoredMatchesSchema(Schema):
    listing_id = fields.Integer(required=True)
    side = fields.String(required=True)
    policy = fields.String(required=True)
    active_tier = fields.String(allow_none=True)
    chain_suggested = fields.Boolean(required=True)
    hidden_lower_tiers = fields.Integer(required=True)
    computed_at = fields.String(allow_none=True)
    matches = fields.List(fields.Nested(MatchItemSchema), required=True)


class FeedQuery(Schema):
    organization_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class FeedSchema(Schema):
    organization_id = fields.Integer(required=True)
    items = fields.List(fields.Dict(), required=True)


# Helpers ---------------------------------------------------------------------------------------------------------

def _own_listing_or_404(listing_id: int) -> Listing:
    """A listing whose matches the caller may see: its organization's members, its region's coordinators, admins."""
    listing = db.session.get(Listing, listing_id)
    if listing is None or not services.can_see_matches(api_user(), listing):
        raise Problem(404)
    return listing


def _policy_problem(exc: services.MatchInputError) -> Problem:
    return validation_problem({exc.field: [exc.message]})


def _item(row: Match, other: Listing) -> dict[str, Any]:
    return {"listing_id": other.id, "external_id": other.external_id, "title": other.title,
            "kind": other.kind.value, "organization": other.organization.name,
            "organization_id": other.organization_id, "region": other.region_code, "country": other.country_code,
            "tier": row.tier, "score": round(row.score, 4), "explanation": row.explanation, "match_id": row.id,
            "status": row.status.value}


# Routes ----------------------------------------------------------------------------------------------------------

@bp.post("/classify")
@operation("Коды ОКПД2 или ОКВЭД2 для текста", TAG, body=ClassifyInputSchema, response=ClassifyOutputSchema)
def classify(body: dict[str, Any]) -> dict[str, Any]:
    from marketplace.classifiers.suggest import suggest_codes

    codes = suggest_codes(body["text"], body["scheme"], top=body["top"])
    return {"text": body["text"], "scheme": body["scheme"],
            "codes": [{"code": c.code, "name": c.name, "score": round(float(c.score), 4)} for c in codes]}


@bp.post("/match")
@operation("Подбор предложений для текста потребности и региона доставки (без сохранения)", TAG,
           body=AdHocMatchSchema, response=MatchResultSchema,
           description="Как `cosmos match --text … --region …`: предложения по приоритету Хабаровской хартии "
                       "(свой регион → федеральный округ → Россия → ЕАЭС → дружественные страны).")
def match_text(body: dict[str, Any]) -> dict[str, Any]:
    from marketplace.matches.commands import match_payload

    region = body["region"].zfill(2)
    if db.session.get(Region, region) is None:
        raise validation_problem({"region": ["неизвестный субъект РФ"]})
    if body.get("deadline") is not None and body["deadline"] < date.today():
        raise validation_problem({"deadline": ["срок уже прошёл"]})
    try:
        policy = services.parse_policy({"mode": body.get("mode"),
                                        "allow_excluded": True if body.get("allow_excluded") else None})
    except services.MatchInputError as exc:
        raise _policy_problem(exc) from None
    spec = services.ad_hoc_need(body["text"], region, kind=body["kind"], okpd2=body["okpd2"],
                                okved2=body["okved2"], quantity=body.get("quantity"), unit=body.get("unit"),
                                deadline=body.get("deadline"))
    return match_payload(services.match_spec(spec, policy=policy, top=body["top"]), policy=policy)


@bp.get(f"/listings/<{ID}:listing_id>/matches")
@operation("Подобранные контрагенты объявления с объяснениями", TAG, query=PolicyQuery,
           response=StoredMatchesSchema, errors=(404,),
           description="Для потребности — предложения, в порядке политики (по умолчанию — строгий режим хартии: "
                       "только ближайший уровень, где есть подходящие); для предложения — потребности, которым "
                       "оно подходит.")
def listing_matches(listing_id: int, query: dict[str, Any]) -> dict[str, Any]:
    listing = _own_listing_or_404(listing_id)
    run = services.last_run(listing.id)
    if listing.side == Side.NEED:
        try:
            policy = services.parse_policy({k: v for k, v in query.items() if v is not None},
                                           base=services.policy_for(listing))
        except services.MatchInputError as exc:
            raise _policy_problem(exc) from None
        ranked = services.ranked_matches(listing, policy)
        items = [_item(m, m.offer) for m in ranked.matches]
        return {"listing_id": listing.id, "side": "need", "policy": policy.mode,
                "active_tier": ranked.active_tier.label if ranked.active_tier is not None else None,
                "chain_suggested": ranked.chain_suggested, "hidden_lower_tiers": ranked.hidden_lower,
                "computed_at": run.computed_at.isoformat() if run else None, "matches": items}
    items = [_item(m, m.need) for m in services.needs_for_offer(listing, api_user())]
    return {"listing_id": listing.id, "side": "offer", "policy": "strict", "active_tier": None,
            "chain_suggested": False, "hidden_lower_tiers": 0,
            "computed_at": run.computed_at.isoformat() if run else None, "matches": items}


class RefreshAcceptedSchema(Schema):
    listing_id = fields.Integer(required=True)
    job = fields.String(required=True, metadata={
        "enum": ["queued", "finished", "failed", "deferred"],
        "description": "queued — ждёт воркера RQ; finished — выполнено сразу (без Redis); deferred — Redis "
                       "недоступен, подбор выполнит плановое задание; failed — ошибка задания."})
    job_id = fields.String(allow_none=True)
    result = fields.Dict(allow_none=True, metadata={"description": "Итог, если задание уже выполнено."})


@bp.post(f"/listings/<{ID}:listing_id>/matches/refresh")
@operation("Пересчитать подбор для своего объявления", TAG, response=RefreshAcceptedSchema, status=202,
           auth="required", errors=(403, 404),
           description="Задание matching.refresh; результат — GET /listings/{id}/matches.")
def refresh_listing_matches(listing_id: int) -> dict[str, Any]:
    listing = _own_listing_or_404(listing_id)
    if not can_edit_listing(api_user(), listing):
        raise Problem(403, "Пересчитывать подбор может только организация объявления.")
    from workers import queue

    db.session.commit()
    handle = queue.enqueue("matching.refresh", listing.id)
    return {"listing_id": listing.id, "job": handle.status, "job_id": handle.id,
            "result": handle.result if isinstance(handle.result, dict) else None}


@bp.put(f"/listings/<{ID}:listing_id>/match-policy")
@operation("Своя политика подбора для потребности", TAG, body=PolicySchema, response=PolicyOutputSchema,
           auth="required", errors=(403, 404),
           description="Пустое тело — вернуть политику площадки. mode: strict | weighted; allow_excluded — "
                       "допускать страны из перечня 430-р; threshold — порог оценки приемлемого совпадения.")
def put_match_policy(listing_id: int, body: dict[str, Any]) -> dict[str, Any]:
    listing = _own_listing_or_404(listing_id)
    if not can_edit_listing(api_user(), listing):
        raise Problem(403, "Политику задаёт только организация потребности.")
    if listing.side != Side.NEED:
        raise validation_problem({"listing_id": ["политика задаётся только для потребности"]})
    try:
        policy = services.set_need_policy(listing, {k: v for k, v in body.items() if v is not None})
    except services.MatchInputError as exc:
        raise _policy_problem(exc) from None
    db.session.commit()
    from marketplace.listings.services import index_after_commit

    index_after_commit()
    return {"listing_id": listing.id, "mode": policy.mode, "allow_excluded": policy.allow_excluded,
            "threshold": policy.threshold}


@bp.patch(f"/matches/<{ID}:match_id>")
@operation("Отметить совпадение (просмотрено, отклонено, связались)", TAG, body=StatusSchema,
           response=MatchItemSchema, auth="required", errors=(404,))
def patch_match(match_id: int, body: dict[str, Any]) -> dict[str, Any]:
    row = db.session.get(Match, match_id)
    side = services.match_side(api_user(), row) if row is not None else None
    if side is None:
        raise Problem(404)
    services.set_match_status(row, body["status"])
    db.session.commit()
    return _item(row, row.offer if side == "need" else row.need)


@bp.get("/matches/feed")
@operation("Лента поставщика: открытые потребности под его предложения", TAG, query=FeedQuery, response=FeedSchema,
           auth="required", errors=(403,))
def feed(query: dict[str, Any]) -> dict[str, Any]:
    org = acting_organization(query.get("organization_id"))
    rows = services.feed_for_organization(org.id, limit=query["limit"])
    items = [{**_item(m, m.need), "offer_id": m.offer_id, "offer_title": m.offer.title} for m in rows]
    return {"organization_id": org.id, "items": items}
