"""Candidates per stage: the capability offers that can do one operation of a chain, as ``StageCandidate`` values.

For each stage the search index is asked three ways (hybrid text + vector, active capability offers only): with the
stage's ОКВЭД2 prefixes, with its ОКПД2 prefixes, and without codes (for offers that carry no code of that
scheme); the database adds offers whose codes start with the stage's prefixes, so an offer the index has not caught
up with yet is not lost. Every listing is then loaded from the database (the index may be stale) and judged.

The acceptance rule:

* **agreement** — the platform's one acceptability rule (:mod:`matching.acceptability`, as in matching): the
  stage's operation (its ``operations``, or the ones the catalogue reads from its text) must be the offer's or be
  covered by it, and the parameters the offer gives must hold for what the stage's text says (material, size…).
  A hot-dip galvanizing stage is not given to a powder-coating shop, although both are ОКВЭД2 25.61. When the
  catalogue names no operation for the stage, the codes and the text decide as follows;
* **relevance** — when the stage names ОКВЭД2/ОКПД2 codes, an offer with a code under one of them is relevant;
  its score is ``0.6 + 0.4 × cosine`` (the text only orders such offers). An offer that has codes of that scheme,
  none of them under the stage's, is dropped. An offer without codes of the stage's schemes (or any offer, for a
  stage without codes) is judged by the text alone: score = cosine of the stage text and the offer, kept from
  ``TEXT_FLOOR`` and acceptable from ``TEXT_ACCEPT``.
* **price and lead time must be known**: the builder prices and schedules the chain with them. An offer without a
  price or a lead time is passed to the builder as *not acceptable* (price/lead time 0), so the explanation of a
  stage that leaves the region counts it among the nearer offers that were rejected, and the stage's notes say
  how many offers lacked a price or a lead time.
* **certifications and capacity** (the stage's ``certifications_required``, ``min_capacity`` and the lot size) are
  *not* folded into ``acceptable``: the builder checks exactly the same rule and names the reason in its
  explanations («2 без нужной мощности»), which a plain "not acceptable" would hide.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from marketplace.extensions import db
from marketplace.geo.models import Region
from marketplace.listings.models import Capability, ListingCode, ListingKind, ListingStatus
from marketplace.matches.services import acceptability_rule
from matching.chains import ChainRequest, Stage, StageCandidate
from matching.geo import Place
from matching.matcher import ListingSpec

log = logging.getLogger(__name__)

SEARCH_LIMIT = 500  # per query and stage, as deep as the builder is measured for
CODE_BASE = 0.6  # the score of an offer whose code is under the stage's codes, before the text's share
TEXT_ACCEPT = 0.5  # cosine from which an offer without the stage's codes is acceptable on its text alone
TEXT_FLOOR = 0.3  # cosine below which such an offer is not even shown to the builder
ACCEPT_SCORE = CODE_BASE  # score from which a candidate is acceptable (code match, or text ≥ TEXT_ACCEPT)

Progress = Callable[[int, int, Stage], None]


@dataclass(frozen=True)
class StageCandidates:
    """What was found for one stage: the candidates for the builder and counts for the page."""

    stage: str
    candidates: tuple[StageCandidate, ...]
    found: int = 0  # offers judged relevant to the stage (passed to the builder)
    looked_at: int = 0  # search hits and code matches loaded from the database
    acceptable: int = 0
    no_price: int = 0
    no_lead_time: int = 0
    low_score: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "found": self.found, "looked_at": self.looked_at,
                "acceptable": self.acceptable, "no_price": self.no_price, "no_lead_time": self.no_lead_time,
                "low_score": self.low_score, "notes": list(self.notes)}


def region_places() -> dict[str, Place]:
    """Subject code → its centre as a ``Place`` with the federal district (the builder's region resolver)."""
    rows = db.session.execute(select(Region.code, Region.district_code, Region.lat, Region.lon))
    return {code: Place(region=code, district=district, lat=lat, lon=lon) for code, district, lat, lon in rows}


def find_candidates(request: ChainRequest, *, limit: int = SEARCH_LIMIT, progress: Progress | None = None,
                    places: dict[str, Place] | None = None) -> dict[str, StageCandidates]:
    """Candidates for every stage of ``request``, in stage order; ``progress(i, n, stage)`` after each stage."""
    from marketplace.indexing.services import get_backend, get_encoder

    encoder = get_encoder()  # first: opening the backend asks for the encoder's dimension
    backend = get_backend()
    places = places if places is not None else region_places()
    vectors = encoder.encode_queries([stage_query_text(s) for s in request.stages])
    out: dict[str, StageCandidates] = {}
    n = len(request.stages)
    for i, (stage, vector) in enumerate(zip(request.stages, vectors, strict=True)):
        out[stage.id] = stage_candidates(stage, vector, backend=backend, encoder=encoder, places=places, limit=limit)
        if progress is not None:
            progress(i + 1, n, stage)
    return out


def stage_query_text(stage: Stage) -> str:
    return stage.text


def stage_candidates(stage: Stage, vector: Any, *, backend: Any, encoder: Any, places: dict[str, Place],
                     limit: int = SEARCH_LIMIT) -> StageCandidates:
    """Search, load and judge the offers for one stage."""
    from search import Filters, Query

    base = {"side": "offer", "kinds": (ListingKind.CAPABILITY.value,), "statuses": (ListingStatus.ACTIVE.value,)}
    cosine: dict[int, float] = {}
    searches = [Filters(**base)]
    if stage.okved2:
        searches.append(Filters(**base, okved2=stage.okved2))
    if stage.okpd2:
        searches.append(Filters(**base, okpd2=stage.okpd2))
    for filters in searches:
        result = backend.search(Query(text=stage.text, vector=vector, filters=filters, k=limit))
        for hit in result.hits:
            score = hit.vector_score if hit.vector_score is not None else 0.0
            cosine[hit.id] = max(cosine.get(hit.id, -1.0), float(score))
    code_ids = _ids_by_code_prefix(stage, limit)
    listings = _load_offers(set(cosine) | code_ids)
    missing = [listing for listing in listings if listing.id not in cosine]
    if missing:  # found in the database only: the index has not caught up with them yet
        passages = encoder.encode_passages([f"{x.title}. {x.description}" for x in missing])
        for listing, passage in zip(missing, passages, strict=True):
            cosine[listing.id] = float(passage @ vector)
    return judge(stage, listings, cosine, places)


def judge(stage: Stage, listings: Iterable[Capability], cosine: dict[int, float],
          places: dict[str, Place]) -> StageCandidates:
    """Turn loaded offers into candidates by the module's acceptance rule."""
    candidates: list[StageCandidate] = []
    looked_at = acceptable = no_price = no_lead = low = 0
    rule = acceptability_rule()
    need = stage_spec(stage)
    for listing in listings:
        looked_at += 1
        agreement = rule.checks(need, offer_spec(listing))
        if any(c.held is False for c in agreement):
            low += 1
            continue
        score = relevance(stage, listing, cosine.get(listing.id, 0.0))
        if agreement and score is None:  # the operation agrees although the codes differ: the text orders it
            score = round(CODE_BASE + (1.0 - CODE_BASE) * max(0.0, min(1.0, cosine.get(listing.id, 0.0))), 4)
        if score is None:
            low += 1
            continue
        price_known = listing.price is not None
        lead_known = listing.lead_time_days is not None
        ok = score >= ACCEPT_SCORE and price_known and lead_known
        no_price += not price_known
        no_lead += not lead_known
        candidates.append(to_candidate(listing, places, score=score, acceptable=ok))
        acceptable += ok
    notes = []
    if no_price:
        notes.append(f"{no_price} предлож. без цены: переданы построителю как неподходящие (цена нужна для расчёта).")
    if no_lead:
        notes.append(f"{no_lead} предлож. без срока выполнения: переданы построителю как неподходящие.")
    if not candidates:
        notes.append("Подходящих предложений производственных операций не найдено.")
    candidates.sort(key=lambda c: (-c.score, c.price_per_unit, c.listing_id))
    return StageCandidates(stage=stage.id, candidates=tuple(candidates), found=len(candidates),
                           looked_at=looked_at, acceptable=acceptable,
                           no_price=no_price, no_lead_time=no_lead, low_score=low, notes=tuple(notes))


def stage_spec(stage: Stage) -> ListingSpec:
    """A stage as the acceptability rule reads a need: a missing operation with the stage's text and codes."""
    return ListingSpec(id=0, side="need", kind="missing_operation", title=stage.text, okved2=stage.okved2,
                       okpd2=stage.okpd2, operations=stage.operations)


def offer_spec(listing: Capability) -> ListingSpec:
    return ListingSpec(id=listing.id, side="offer", kind=listing.kind.value, title=listing.title,
                       description=listing.description or "", okpd2=tuple(listing.okpd2_codes),
                       okved2=tuple(listing.okved2_codes), operations=tuple(listing.operation_ids),
                       parameters=dict(listing.parameters or {}))


def relevance(stage: Stage, listing: Capability, cosine: float) -> float | None:
    """The candidate's score in [0, 1], or None when the offer is not for this stage at all (see the module)."""
    cos = min(1.0, max(0.0, cosine if math.isfinite(cosine) else 0.0))
    checked = False
    for scheme, prefixes in (("okved2", stage.okved2), ("okpd2", stage.okpd2)):
        if not prefixes:
            continue
        codes = listing.codes_of(scheme)
        if any(_under(code, prefix) for code in codes for prefix in prefixes):
            return round(CODE_BASE + (1.0 - CODE_BASE) * cos, 4)
        checked = checked or bool(codes)
    if checked:
        return None  # coded, but for something else
    if cos < TEXT_FLOOR:
        return None
    # text alone: TEXT_ACCEPT maps onto ACCEPT_SCORE so one threshold reads both cases
    return round(cos * ACCEPT_SCORE / TEXT_ACCEPT if cos < TEXT_ACCEPT else
                 ACCEPT_SCORE + (cos - TEXT_ACCEPT) * (1.0 - ACCEPT_SCORE) / (1.0 - TEXT_ACCEPT), 4)


def _under(code: str, prefix: str) -> bool:
    return code == prefix or code.startswith(prefix + ".") or (len(prefix) > 2 and code.startswith(prefix))


def to_candidate(listing: Capability, places: dict[str, Place], *, score: float, acceptable: bool) -> StageCandidate:
    """A ``StageCandidate`` from a capability offer: its place (the listing's, else the organization's, else the
    subject's centre), price per unit, lead time, monthly capacity and certifications."""
    return StageCandidate(
        listing_id=str(listing.id),
        organization_id=str(listing.organization_id),
        organization=listing.organization.name,
        place=listing_place(listing, places),
        price_per_unit=float(listing.price) if listing.price is not None else 0.0,
        lead_time_days=float(listing.lead_time_days) if listing.lead_time_days is not None else 0.0,
        capacity_per_month=float(listing.capacity_per_month) if listing.capacity_per_month is not None else None,
        certifications=tuple(str(c) for c in (listing.certifications or ())),
        score=score,
        acceptable=acceptable,
    )


def listing_place(listing: Capability, places: dict[str, Place]) -> Place:
    org = listing.organization
    country = listing.country_code or org.country_code or "RU"
    region = listing.region_code or (org.region_code if country == org.country_code else None)
    centre = places.get(region or "")
    lat, lon = listing.lat, listing.lon
    if lat is None or lon is None:
        lat, lon = (org.lat, org.lon) if org.lat is not None and org.lon is not None else (
            (centre.lat, centre.lon) if centre else (None, None))
    return Place(country=country, region=region if country == "RU" else None,
                 district=centre.district if centre and country == "RU" else None, lat=lat, lon=lon)


def _ids_by_code_prefix(stage: Stage, limit: int) -> set[int]:
    conditions = []
    for scheme, prefixes in (("okved2", stage.okved2), ("okpd2", stage.okpd2)):
        for prefix in prefixes:
            conditions.append((ListingCode.scheme == scheme) & or_(ListingCode.code == prefix,
                                                                   ListingCode.code.like(prefix + ".%")))
    if not conditions:
        return set()
    stmt = (select(Capability.id).join(ListingCode, ListingCode.listing_id == Capability.id)
            .where(or_(*conditions), Capability.status == ListingStatus.ACTIVE).distinct().limit(limit))
    return set(db.session.scalars(stmt))


def _load_offers(ids: Iterable[int]) -> Sequence[Capability]:
    ids = sorted(ids)
    if not ids:
        return []
    stmt = (select(Capability).where(Capability.id.in_(ids), Capability.status == ListingStatus.ACTIVE)
            .options(selectinload(Capability.codes), selectinload(Capability.organization),
                     selectinload(Capability.operation_links))
            .order_by(Capability.id))
    return [x for x in db.session.scalars(stmt) if not x.organization.archived]
