"""Cooperation chains on the marketplace: requests, building them from the marketplace's offers, the coordinator's
review (approve, reject, swap a supplier, comment) and who may see what.

Services validate, change the session, ``flush()`` and write the audit trail; the caller commits and then hands
follow-up work to the workers (:func:`enqueue_build`, :func:`send_notifications`). Errors a user can fix are
:class:`~marketplace.core.validation.ValidationFailed` naming the field (for a chain request: the path the engine
names, e.g. ``stages[2].after``).
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from flask import abort, current_app
from flask_login import current_user
from sqlalchemy import Select, String, cast, false, or_, select
from sqlalchemy.orm import selectinload

from marketplace.chains.candidates import StageCandidates, find_candidates, region_places
from marketplace.chains.models import ChainEvent, ChainRequest, ChainRequestStatus, ChainStatus, CooperationChain
from marketplace.core.audit import record_audit
from marketplace.core.models import utcnow
from marketplace.core.permissions import actor, is_coordinator_for, is_member, organization_ids
from marketplace.core.validation import FieldError, ValidationFailed
from marketplace.extensions import db
from marketplace.geo.services import country_lists
from marketplace.listings.models import NEED_KINDS, Listing
from matching import chains as engine
from matching.geo import Place

log = logging.getLogger(__name__)

DEFAULT_ALTERNATIVES = 3
POOL_SIZE = 30  # acceptable offers kept per stage for the coordinator's swap
TEMPLATE_MATCH = 0.5  # cosine of a need's text and a template's item from which the template is suggested

Report = Callable[[], None]


class ChainStateError(ValidationFailed):
    """The action is not possible in the current state (a decided chain, a request with an approved chain)."""

    def __init__(self, message: str):
        super().__init__([FieldError("status", message)])


# Reference data the engine needs (the countries' lists: marketplace.geo.services.country_lists) ----------------

TRANSPORT_FIELDS = ("cost_per_tonne_km", "km_per_day", "handling_days", "detour_factor")


def transport_model() -> engine.TransportModel:
    """Leg pricing and timing from the ``CHAIN_TRANSPORT`` setting (a mapping of ``TransportModel`` fields:
    ``cost_per_tonne_km``, ``km_per_day``, ``handling_days``, ``detour_factor``); the engine's defaults else."""
    configured = current_app.config.get("CHAIN_TRANSPORT") or {}
    unknown = sorted(set(configured) - set(TRANSPORT_FIELDS))
    if unknown:
        raise ValueError(f"CHAIN_TRANSPORT: unknown fields {', '.join(unknown)}; known: {', '.join(TRANSPORT_FIELDS)}")
    return engine.TransportModel(**{key: float(value) for key, value in configured.items()})


def parse_request(data: Mapping[str, Any], places: Mapping[str, Place] | None = None) -> engine.ChainRequest:
    """Validate the JSON form of a chain request against the subjects of the Federation; ``ValidationFailed``
    names the field (``stages[1].okved2[0]``)."""
    try:
        request = engine.ChainRequest.from_dict(data, resolve_region=places if places is not None
                                                else region_places())
    except engine.ChainRequestError as exc:
        raise ValidationFailed([FieldError(exc.path or "request", exc.problem)]) from None
    if not request.delivery_region.region or request.delivery_region.country != "RU":
        raise ValidationFailed([FieldError("delivery_region", "нужен код субъекта РФ (например, 27)")])
    if request.delivery_region.lat is None or request.delivery_region.lon is None:
        raise ValidationFailed([FieldError("delivery_region", "нет координат места поставки")])
    from marketplace.operations.catalogue import get_catalogue

    catalogue = get_catalogue()
    unknown = [FieldError(f"stages[{i}].operations[{j}]", f"нет такой операции в каталоге: {op}")
               for i, stage in enumerate(request.stages) for j, op in enumerate(stage.operations)
               if op not in catalogue]
    if unknown:
        raise ValidationFailed(unknown)
    return request


def engine_request(row: ChainRequest) -> engine.ChainRequest:
    """The stored request as the engine's value (the spec holds the delivery place in full)."""
    return engine.ChainRequest.from_dict(row.spec)


# Creating requests ----------------------------------------------------------------------------------------------

def create_request(data: Mapping[str, Any], *, user: Any = None, organization_id: int | None = None,
                   need_id: int | None = None, template: str | None = None) -> ChainRequest:
    """A pending chain request from its JSON form (a form, the API, a template filled in)."""
    request = parse_request(data)
    row = ChainRequest(
        organization_id=organization_id, created_by_id=actor(user), need_id=need_id, template=template,
        item=request.item[:300], quantity=Decimal(str(request.quantity)),
        unit_weight_kg=Decimal(str(request.unit_weight_kg)), delivery_region=request.delivery_region.region,
        deadline_days=int(math.ceil(request.deadline_days)), spec=request.to_dict(),
        status=ChainRequestStatus.PENDING, progress=0.0, message="Ожидает построения цепочки.")
    db.session.add(row)
    db.session.flush()
    record_audit("chain_request.create", "chain_request", row.id,
                 {"item": row.item, "delivery_region": row.delivery_region, "template": template,
                  "need_id": need_id, "stages": [s.id for s in request.stages]}, user_id=actor(user))
    return row


def template_request_dict(name: str, *, quantity: Any, delivery_region: Any, deadline_days: Any = None,
                          unit_weight_kg: Any = None, item: str | None = None) -> dict[str, Any]:
    """The JSON form of a request from template ``name`` (``ValidationFailed`` on ``template`` if unknown)."""
    try:
        tpl = engine.load_template(name)
    except KeyError:
        raise ValidationFailed([FieldError("template", "нет такого шаблона")]) from None
    return tpl.request_dict(quantity=quantity, delivery_region=delivery_region, deadline_days=deadline_days,
                            unit_weight_kg=unit_weight_kg, item=item)


def create_from_template(name: str, *, quantity: Any, delivery_region: Any, deadline_days: Any = None,
                         unit_weight_kg: Any = None, item: str | None = None, stages: Any = None, user: Any = None,
                         organization_id: int | None = None, need_id: int | None = None) -> ChainRequest:
    """A pending chain request from a bundled route template (``engine.template_names()``); ``stages``, when
    given, replace the template's route (as on the request form)."""
    data = template_request_dict(name, quantity=quantity, delivery_region=delivery_region,
                                 deadline_days=deadline_days, unit_weight_kg=unit_weight_kg, item=item)
    if stages is not None:
        data["stages"] = stages
    return create_request(data, user=user, organization_id=organization_id, need_id=need_id, template=name)


TEMPLATE_FIELDS = ("quantity", "delivery_region", "deadline_days", "unit_weight_kg", "item", "stages")


def create_from_json(data: Mapping[str, Any], *, user: Any = None,
                     organization_id: int | None = None) -> ChainRequest:
    """A pending request from the API's JSON: the engine's form (as for ``cosmos chains build FILE.json``), or
    ``template`` with the buyer's part (``quantity``, ``delivery_region``; optionally ``deadline_days``,
    ``unit_weight_kg``, ``item`` and ``stages`` replacing the template's route). A coordinator may only ask for
    delivery to a region they coordinate. ``ValidationFailed`` names the field; nothing stays in the session."""
    values = dict(data)
    name = values.pop("template", None)
    if name is None:
        row = create_request(values, user=user, organization_id=organization_id)
    else:
        extra = sorted(set(values) - set(TEMPLATE_FIELDS))
        if extra:
            raise ValidationFailed([FieldError(key, "не задаётся вместе с шаблоном (template)") for key in extra])
        row = create_from_template(name, user=user, organization_id=organization_id,
                                   **{key: values.get(key) for key in TEMPLATE_FIELDS})
    check_delivery_region(user, row.delivery_region)
    return row


def check_delivery_region(user: Any, region: Any) -> None:
    """A coordinator requests chains only for delivery to a region they coordinate (admins and other users: any
    region); ``ValidationFailed`` on ``delivery_region``."""
    from marketplace.accounts.models import UserRole
    from marketplace.core.permissions import is_admin

    if getattr(user, "role", None) == UserRole.COORDINATOR and not is_admin(user) \
            and region not in (getattr(user, "region_codes", None) or set()):
        raise ValidationFailed([FieldError("delivery_region", "вы координируете другие регионы")])


def template_choices() -> list[tuple[str, str]]:
    return [(name, engine.load_template(name).title) for name in engine.template_names()]


def suggest_template(need: Listing) -> str | None:
    """The route template that fits a need: by ОКПД2 (the need's code and the template's item share a class and
    group, ``28.13``), else by the text (cosine of the need and the template's item ≥ ``TEMPLATE_MATCH``)."""
    names = engine.template_names()
    templates = [engine.load_template(n) for n in names]
    codes = need.okpd2_codes
    for tpl in templates:
        if tpl.okpd2 and any(c[:5] == tpl.okpd2[:5] for c in codes):
            return tpl.id
    try:
        from marketplace.indexing.services import get_encoder

        encoder = get_encoder()
        need_vec = encoder.encode_queries([f"{need.title}. {need.description}"])[0]
        items = encoder.encode_passages([f"{t.title}. {t.item}" for t in templates])
    except Exception:  # no encoder here: the codes were the only clue
        log.warning("no encoder to match need %s with a chain template", need.id, exc_info=True)
        return None
    scores = [float(v @ need_vec) for v in items]
    best = max(range(len(templates)), key=scores.__getitem__)
    return templates[best].id if scores[best] >= TEMPLATE_MATCH else None


def suggest_chain_for_need(need_id: int, *, template: str | None = None, user: Any = None) -> ChainRequest | None:
    """A chain request for a need (tender lot, missing operation, purchase request) that no single domestic offer
    serves: the route from ``template`` or the one that fits the need, the quantity, the delivery region and the
    deadline from the need. Returns the existing request for the need when there is one, None when no route fits.
    The caller commits and then calls :func:`enqueue_build`."""
    need = db.session.get(Listing, need_id)
    if need is None or need.kind not in NEED_KINDS:
        raise LookupError(f"no need {need_id}")
    existing = db.session.scalar(select(ChainRequest).where(ChainRequest.need_id == need_id)
                                 .order_by(ChainRequest.id.desc()).limit(1))
    if existing is not None:
        return existing
    name = template or suggest_template(need)
    if name is None:
        return None
    tpl = engine.load_template(name)
    region = need.region_code or need.organization.region_code
    if region is None:
        return None
    deadline = tpl.default_deadline_days
    if need.ends_on is not None:
        deadline = max(1, (need.ends_on - date.today()).days)
    quantity = float(need.quantity) if need.quantity is not None and need.quantity > 0 else 1.0
    return create_from_template(name, quantity=quantity, delivery_region=region, deadline_days=deadline,
                                item=need.title[:300], user=user, organization_id=need.organization_id,
                                need_id=need.id)


NO_ROUTE = "chain_request.no_route"  # audit action: a need for which no route template fits (until it changes)


def needs_awaiting_chain(*, limit: int = 50) -> list[int]:
    """Active needs (tender lots, purchase requests, missing operations) whose current match run found no
    acceptable domestic offer (``MatchRun.chain_suggested``), with no chain request yet and not already found to
    fit no route template since their last change; the longest waiting first."""
    from marketplace.core.models import AuditLog
    from marketplace.listings.models import ListingStatus
    from marketplace.matches.models import MatchRun

    has_request = select(ChainRequest.id).where(ChainRequest.need_id == Listing.id).exists()
    no_route = select(AuditLog.id).where(AuditLog.action == NO_ROUTE, AuditLog.entity_type == "listing",
                                         AuditLog.entity_id == cast(Listing.id, String),
                                         AuditLog.at >= Listing.updated_at).exists()
    stmt = (select(Listing.id).join(MatchRun, MatchRun.listing_id == Listing.id)
            .where(MatchRun.chain_suggested.is_(True), MatchRun.listing_updated_at >= Listing.updated_at,
                   Listing.kind.in_(NEED_KINDS), Listing.status == ListingStatus.ACTIVE, ~has_request, ~no_route)
            .order_by(MatchRun.computed_at, Listing.id).limit(limit))
    return list(db.session.scalars(stmt))


def suggest_chains_for_unserved_needs(*, limit: int = 50) -> list[ChainRequest]:
    """A pending chain request for each of :func:`needs_awaiting_chain` that a route template fits; the others
    are noted in the audit trail (``chain_request.no_route``) and not tried again until the need changes. The
    caller commits and then calls :func:`enqueue_build` for each request returned."""
    created: list[ChainRequest] = []
    for need_id in needs_awaiting_chain(limit=limit):
        try:
            row = suggest_chain_for_need(need_id)
        except ValidationFailed as exc:  # e.g. a delivery region without coordinates
            record_audit(NO_ROUTE, "listing", need_id, {"error": str(exc)[:500]}, actor="job:chains.suggest")
            continue
        if row is None:
            record_audit(NO_ROUTE, "listing", need_id, {}, actor="job:chains.suggest")
        else:
            created.append(row)
    db.session.flush()
    if created:
        log.info("suggested chain requests %s for needs without a domestic offer", [r.id for r in created])
    return created


def can_rebuild(user: Any, row: ChainRequest) -> bool:
    """The request's reviewers and its author may ask for a new build."""
    return can_review(user, row) or (row.created_by_id is not None and getattr(user, "is_authenticated", False)
                                     and getattr(user, "id", None) == row.created_by_id)


def reset_for_rebuild(row: ChainRequest, *, user: Any = None) -> ChainRequest:
    """Mark a request pending again before :func:`enqueue_build`; a request with an approved chain is not rebuilt
    (:class:`ChainStateError`)."""
    if any(c.status == ChainStatus.APPROVED for c in row.chains):
        raise ChainStateError("цепочка по этому запросу уже утверждена")
    row.status, row.progress, row.message = ChainRequestStatus.PENDING, 0.0, "Ожидает построения цепочки."
    record_audit("chain_request.rebuild", "chain_request", row.id, {}, user_id=actor(user))
    db.session.flush()
    return row


def enqueue_build(row: ChainRequest | int, *, alternatives: int = DEFAULT_ALTERNATIVES) -> Any:
    """Hand a committed request to the ``chains.build`` job (inline in the embedded mode); returns the handle."""
    from workers import queue

    request_id = row if isinstance(row, int) else row.id
    handle = queue.enqueue("chains.build", request_id, alternatives=alternatives)
    if handle.id and handle.status == "queued":
        stored = db.session.get(ChainRequest, request_id)
        if stored is not None and stored.job_id != handle.id:
            stored.job_id = handle.id
            db.session.commit()
    return handle


# Building -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BuildOutcome:
    request: ChainRequest
    result: engine.ChainBuildResult
    candidates: dict[str, StageCandidates]


def build(request_id: int, *, alternatives: int = DEFAULT_ALTERNATIVES, report: Report | None = None,
          transport: engine.TransportModel | None = None) -> BuildOutcome:
    """Find candidates for every stage, build the best chain and up to ``alternatives`` others, store them.

    ``status``, ``progress`` and ``message`` change as it goes; ``report()`` is called after each change (the job
    commits there, so the page sees the progress). Suggested chains of an earlier build are replaced; approved or
    rejected ones stay. A request with an approved chain is not rebuilt (``ValidationFailed`` on ``status``).
    """
    row = db.session.get(ChainRequest, request_id)
    if row is None:
        raise LookupError(f"no chain request {request_id}")
    if any(c.status == ChainStatus.APPROVED for c in row.chains):
        raise ChainStateError("цепочка по этому запросу уже утверждена")
    report = report or db.session.flush

    def step(progress: float, message: str, status: ChainRequestStatus = ChainRequestStatus.BUILDING) -> None:
        row.status, row.progress, row.message = status, round(progress, 3), message
        db.session.flush()
        report()

    request = engine_request(row)
    step(0.02, "Поиск исполнителей по этапам…")

    def found(i: int, n: int, stage: engine.Stage) -> None:
        step(0.05 + 0.75 * i / n, f"Исполнители найдены для {i} из {n} этапов (последний: «{stage.text[:80]}»).")

    candidates = find_candidates(request, progress=found)
    step(0.85, "Построение цепочек…")
    result = engine.build_chains(request, {s: c.candidates for s, c in candidates.items()}, k=alternatives,
                                 transport=transport or transport_model(), countries=country_lists())
    for chain in [c for c in row.chains if c.status == ChainStatus.SUGGESTED]:
        row.chains.remove(chain)
    db.session.flush()
    next_rank = max((c.rank for c in row.chains), default=-1) + 1
    for chain in result.chains:
        stored = CooperationChain(rank=next_rank + chain.rank, status=ChainStatus.SUGGESTED,
                                  **chain_columns(chain))
        row.chains.append(stored)
        db.session.flush()
        stored.events.append(ChainEvent(kind="built", text=_built_text(chain)))
    row.outcome = {
        "decisions": [d.to_dict() for d in result.decisions],
        "infeasible_reasons": [r.to_dict() for r in result.infeasible_reasons],
        "exact": result.exact,
        "stages": {s: c.to_dict() for s, c in candidates.items()},
        "pool": {s: [c.to_dict() for c in _pool(request, c.candidates)] for s, c in candidates.items()},
    }
    if result.chains:
        best = result.chains[0]
        step(1.0, f"Построено цепочек: {len(result.chains)}. Лучшая — {best.total_cost:,.0f} ₽, "
                  f"{best.lead_time_days:.0f} дн.".replace(",", " "), ChainRequestStatus.BUILT)
    else:
        step(1.0, "Цепочку построить нельзя: " + "; ".join(r.message for r in result.infeasible_reasons),
             ChainRequestStatus.INFEASIBLE)
    record_audit("chain_request.build", "chain_request", row.id,
                 {"status": row.status.value, "chains": len(result.chains),
                  "reasons": [r.constraint for r in result.infeasible_reasons]}, actor="job:chains.build")
    db.session.flush()
    return BuildOutcome(row, result, candidates)


def mark_failed(request_id: int, error: str) -> None:
    """Record that a build crashed (the job calls it after a rollback)."""
    row = db.session.get(ChainRequest, request_id)
    if row is None:
        return
    row.status = ChainRequestStatus.FAILED
    row.message = f"Ошибка построения: {error}"[:2000]
    record_audit("chain_request.build_failed", "chain_request", row.id, {"error": error[:500]},
                 actor="job:chains.build")
    db.session.flush()


def chain_columns(chain: engine.Chain) -> dict[str, Any]:
    """The stored columns of a built or recomputed chain; ``result`` also keeps each stage's candidate so that a
    later swap can recompute the chain exactly."""
    result = chain.to_dict()
    result["candidates"] = {a.stage: a.candidate.to_dict() for a in chain.assignments}
    return {"total_cost": chain.total_cost, "lead_time_days": chain.lead_time_days,
            "distance_km": chain.distance_km, "localization": dict(chain.localization), "result": result}


def _built_text(chain: engine.Chain) -> str:
    return (f"Предложена движком: {chain.total_cost:,.0f} ₽, {chain.lead_time_days:.0f} дн., "
            f"{chain.distance_km:,.0f} км.").replace(",", " ")


def _pool(request: engine.ChainRequest, candidates: tuple[engine.StageCandidate, ...]) -> list:
    """The acceptable offers of a stage, nearest tier first, then cheapest: what a coordinator may swap in."""
    from matching.geo import procurement_tier

    delivery = request.delivery_region
    ok = [c for c in candidates if c.acceptable and c.place.lat is not None]
    ok.sort(key=lambda c: (procurement_tier(c.place, delivery), c.price_per_unit, -c.score, c.listing_id))
    return ok[:POOL_SIZE]


def stored_chain(row: ChainRequest, chain: CooperationChain) -> engine.Chain:
    """The engine's ``Chain`` for a stored one (re-evaluated from the stored candidates)."""
    request = engine_request(row)
    chosen = {stage: engine.StageCandidate.from_dict(c) for stage, c in chain.result["candidates"].items()}
    evaluated = engine.evaluate_chain(request, chosen, transport=transport_model(), countries=country_lists())
    return replace(evaluated, rank=chain.rank)


def alternatives_for(row: ChainRequest, chain: CooperationChain, stage_id: str) -> list[dict[str, Any]]:
    """The offers a coordinator may put on ``stage_id`` instead of the current one (from the last build)."""
    current = (chain.result.get("candidates") or {}).get(stage_id, {}).get("listing_id")
    pool = ((row.outcome or {}).get("pool") or {}).get(stage_id, [])
    return [c for c in pool if c["listing_id"] != current]


def swap_options(row: ChainRequest, chain: CooperationChain) -> list[dict[str, Any]]:
    """Per stage (in route order): its text, the offer now on it and the offers a coordinator may swap in, each
    with its tier relative to the delivery region."""
    from matching.geo import procurement_tier

    request = engine_request(row)
    countries = country_lists()
    current = chain.result.get("candidates") or {}
    out = []
    for stage in request.stages:
        options = []
        for raw in alternatives_for(row, chain, stage.id):
            candidate = engine.StageCandidate.from_dict(raw)
            options.append({**raw, "tier": procurement_tier(candidate.place, request.delivery_region, countries).label})
        out.append({"stage": stage.id, "text": stage.text,
                    "current_listing_id": (current.get(stage.id) or {}).get("listing_id"), "alternatives": options})
    return out


# The coordinator's review ---------------------------------------------------------------------------------------

def _event(chain: CooperationChain, kind: str, text: str, user: Any) -> ChainEvent:
    event = ChainEvent(chain_id=chain.id, kind=kind, text=text, user_id=actor(user))
    chain.events.append(event)
    return event


def _require_suggested(chain: CooperationChain) -> None:
    if chain.status != ChainStatus.SUGGESTED:
        raise ChainStateError("решение по этой цепочке уже принято")


def approve(chain: CooperationChain, *, user: Any, comment: str | None = None) -> list[int]:
    """Approve a suggested chain: the request's other suggested chains are rejected, every participant
    organization is notified; returns the notification ids (e-mail them with :func:`send_notifications` after
    the commit)."""
    from marketplace.notifications.services import notify

    _require_suggested(chain)
    now = utcnow()
    chain.status, chain.decided_by_id, chain.decided_at = ChainStatus.APPROVED, actor(user), now
    chain.reason = (comment or "").strip() or None
    _event(chain, "approved", chain.reason or "Цепочка утверждена.", user)
    row = chain.request
    for other in row.chains:
        if other is not chain and other.status == ChainStatus.SUGGESTED:
            other.status, other.decided_by_id, other.decided_at = ChainStatus.REJECTED, actor(user), now
            other.reason = f"Утверждена другая цепочка (№{chain.rank + 1})."
            _event(other, "rejected", other.reason, user)
    notified: list[int] = []
    by_org: dict[int, list[str]] = {}
    stage_text = {s["id"]: s["text"] for s in row.spec.get("stages", [])}
    for a in chain.result.get("assignments", []):
        by_org.setdefault(int(a["organization_id"]), []).append(stage_text.get(a["stage"], a["stage"]))
    for org_id, stages in by_org.items():
        note = notify(org_id, "chain_approved", f"Вы включены в цепочку кооперации: {row.item}"[:300],
                      body="Координатор утвердил цепочку кооперации. Ваши этапы: " + "; ".join(stages) + ".",
                      link=f"/chains/chains/{chain.id}",
                      payload={"chain_id": chain.id, "request_id": row.id, "stages": stages},
                      dedup_key=f"chain-approved:{chain.id}:{org_id}")
        if note is not None:
            notified.append(note.id)
    record_audit("chain.approve", "cooperation_chain", chain.id,
                 {"request_id": row.id, "organizations": sorted(by_org), "comment": chain.reason},
                 user_id=actor(user))
    db.session.flush()
    return notified


def reject(chain: CooperationChain, *, user: Any, reason: str | None) -> CooperationChain:
    """Reject a suggested chain; the reason is required."""
    _require_suggested(chain)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed([FieldError("reason", "укажите причину отклонения")])
    chain.status, chain.decided_by_id, chain.decided_at, chain.reason = (
        ChainStatus.REJECTED, actor(user), utcnow(), reason[:2000])
    _event(chain, "rejected", chain.reason, user)
    record_audit("chain.reject", "cooperation_chain", chain.id, {"reason": chain.reason}, user_id=actor(user))
    db.session.flush()
    return chain


def swap(chain: CooperationChain, *, user: Any, stage_id: str | None, listing_id: Any) -> engine.Chain:
    """Put another offer of the last build's pool on a stage; the chain is recomputed and its ``violations`` say
    what the swap breaks (deadline, capacity, a farther tier…). Returns the recomputed chain."""
    _require_suggested(chain)
    row = chain.request
    stages = {s["id"] for s in row.spec.get("stages", [])}
    if not stage_id or stage_id not in stages:
        raise ValidationFailed([FieldError("stage", "нет такого этапа")])
    wanted = str(listing_id or "").strip()
    choice = next((c for c in alternatives_for(row, chain, stage_id) if c["listing_id"] == wanted), None)
    if choice is None:
        raise ValidationFailed([FieldError("listing_id", "выберите исполнителя из предложенных для этого этапа")])
    request = engine_request(row)
    current = stored_chain(row, chain)
    old = current.assignment(stage_id)
    new = engine.recompute(request, current, stage_id, engine.StageCandidate.from_dict(choice),
                           transport=transport_model(), countries=country_lists())
    before = {"total_cost": chain.total_cost, "lead_time_days": chain.lead_time_days,
              "organization": old.organization, "listing_id": old.listing_id}
    for key, value in chain_columns(new).items():
        setattr(chain, key, value)
    text = (f"Этап «{request.stage(stage_id).text}»: {old.organization} → {choice['organization']}. "
            f"Стоимость {before['total_cost']:,.0f} → {new.total_cost:,.0f} ₽, "
            f"срок {before['lead_time_days']:.0f} → {new.lead_time_days:.0f} дн.").replace(",", " ")
    if new.violations:
        text += " Нарушено: " + ", ".join(VIOLATION_RU.get(v, v) for v in new.violations) + "."
    _event(chain, "swapped", text, user)
    record_audit("chain.swap", "cooperation_chain", chain.id,
                 {"stage": stage_id, "before": before, "listing_id": choice["listing_id"],
                  "total_cost": new.total_cost, "violations": list(new.violations)}, user_id=actor(user))
    db.session.flush()
    return new


def comment(chain: CooperationChain, *, user: Any, text: str | None) -> ChainEvent:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed([FieldError("text", "напишите комментарий")])
    event = _event(chain, "comment", text[:4000], user)
    record_audit("chain.comment", "cooperation_chain", chain.id, {"text": text[:200]}, user_id=actor(user))
    db.session.flush()
    return event


def send_notifications(notification_ids: list[int]) -> None:
    """E-mail the notifications (``notifications.email`` job each); call after the commit."""
    from workers import queue

    for note_id in notification_ids:
        try:
            queue.enqueue("notifications.email", note_id)
        except Exception:  # the in-app notification is there; e-mail is best effort
            log.exception("could not enqueue notifications.email for %s", note_id)


VIOLATION_RU = {
    "deadline": "срок поставки",
    "capacity": "мощность",
    "certification": "сертификаты",
    "not_acceptable": "исполнитель не подходит",
    "excluded": "страна из перечня 430-р",
    "no_coordinates": "нет координат",
    "tier": "приоритет закупки (дальше, чем заменённый)",
}


# Who may see and act --------------------------------------------------------------------------------------------

def can_review(user: Any, row: ChainRequest) -> bool:
    """Coordinators of the delivery region (and admins) review the request's chains."""
    return is_coordinator_for(user, row.delivery_region)


def can_view(user: Any, row: ChainRequest) -> bool:
    """Reviewers, the requesting organization's members and the author; participants of an approved chain."""
    if can_review(user, row):
        return True
    if row.organization_id is not None and is_member(user, row.organization_id):
        return True
    if row.created_by_id is not None and getattr(user, "is_authenticated", False) \
            and getattr(user, "id", None) == row.created_by_id:
        return True
    mine = {str(i) for i in organization_ids(user)}
    return any(c.status == ChainStatus.APPROVED and mine & {a["organization_id"]
                                                             for a in c.result.get("assignments", [])}
               for c in row.chains)


def request_or_404(request_id: int, *, review: bool = False, user: Any = None) -> ChainRequest:
    user = current_user if user is None else user
    row = db.session.get(ChainRequest, request_id)
    if row is None or not (can_review(user, row) if review else can_view(user, row)):
        abort(404)
    return row


def chain_or_404(chain_id: int, *, review: bool = False, user: Any = None) -> CooperationChain:
    user = current_user if user is None else user
    chain = db.session.get(CooperationChain, chain_id)
    if chain is None or not (can_review(user, chain.request) if review else can_view(user, chain.request)):
        abort(404)
    return chain


def review_chains_query(user: Any, *, status: str | None = "suggested", region: str | None = None) -> Select[Any]:
    """Chains of requests delivered to the regions ``user`` coordinates (all for admins; none for others), newest
    request first, then by rank; ``status``: ``suggested`` (awaiting a decision), ``approved``, ``rejected`` or
    None (all)."""
    from marketplace.core.permissions import is_admin

    stmt = (select(CooperationChain).join(ChainRequest, CooperationChain.request_id == ChainRequest.id)
            .order_by(ChainRequest.id.desc(), CooperationChain.rank, CooperationChain.id))
    if not is_admin(user):
        codes = [code for code in sorted(getattr(user, "region_codes", set()) or ())
                 if is_coordinator_for(user, code)]
        stmt = stmt.where(ChainRequest.delivery_region.in_(codes) if codes else false())
    if region:
        stmt = stmt.where(ChainRequest.delivery_region == region)
    if status:
        stmt = stmt.where(CooperationChain.status == ChainStatus(status))
    return stmt


def review_queue(user: Any, *, status: str | None = "suggested", region: str | None = None) -> list[ChainRequest]:
    """Requests delivered to the regions ``user`` coordinates (all for admins), newest first; ``status``:
    ``suggested`` (a chain awaits a decision), ``approved``, ``infeasible``, ``building`` or None (all)."""
    from marketplace.core.permissions import is_admin

    stmt = select(ChainRequest).options(selectinload(ChainRequest.chains)).order_by(ChainRequest.id.desc())
    if not is_admin(user):
        codes = sorted(getattr(user, "region_codes", set()) or ())
        if not codes:
            return []
        stmt = stmt.where(ChainRequest.delivery_region.in_(codes))
    if region:
        stmt = stmt.where(ChainRequest.delivery_region == region)
    rows = list(db.session.scalars(stmt.limit(500)))
    if status == "suggested":
        return [r for r in rows if any(c.status == ChainStatus.SUGGESTED for c in r.chains)]
    if status == "approved":
        return [r for r in rows if any(c.status == ChainStatus.APPROVED for c in r.chains)]
    if status in ("infeasible", "building", "pending", "failed"):
        return [r for r in rows if r.status.value == status]
    return rows


def my_requests_query(user: Any) -> Select[Any]:
    """Requests of the user's organizations or written by the user, newest first."""
    orgs = organization_ids(user)
    conditions = [ChainRequest.created_by_id == getattr(user, "id", None)]
    if orgs:
        conditions.append(ChainRequest.organization_id.in_(orgs))
    return select(ChainRequest).where(or_(*conditions)).order_by(ChainRequest.id.desc())


def my_requests(user: Any) -> list[ChainRequest]:
    """Requests of the user's organizations or written by the user, newest first (200 at most)."""
    return list(db.session.scalars(my_requests_query(user).limit(200)))
