"""Matching in the marketplace: listings as the engine's plain data, the engine's results stored as ``Match`` rows,
and the people on both sides told about new ones.

The engine (``matching.matcher.Matcher``) is plain Python; this module gives it a database-backed lookup, the
platform's procurement policy (overridable per need), and keeps ``matches`` in step:

* :func:`refresh_listing` recomputes the counterparts of one listing (a need's offers, or an offer's needs) and
  upserts the rows, keeping a row's status (a buyer's "contacted" survives a recomputation);
* a row records the engine's score, tier, distance and explanation and whether the match is *acceptable*
  (constraints hold, the score reaches the threshold, the tier is allowed); which rows a page shows is the policy's
  choice at read time (:func:`ranked_matches`), so the strict default and the weighted exploration read the same
  rows;
* a new acceptable row notifies the other side once (an in-app notification; e-mail through the
  ``notifications.email`` job when SMTP is configured).

Services flush; the caller (a view, a job, a command) commits.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from typing import Any

from flask import current_app
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import selectinload

from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.geo.models import Region
from marketplace.geo.services import country_lists, region_centres, region_districts
from marketplace.listings.models import Capability, Listing, ListingKind, ListingStatus, Product, Side, TenderLot
from marketplace.matches.models import Match, MatchRun, MatchStatus
from marketplace.matches.readings import reference_fingerprint, with_readings
from matching.acceptability import AcceptabilityRule
from matching.geo import ProcurementTier
from matching.matcher import ListingSpec, Matcher, MatchResult
from matching.policy import MODES, ProcurementPolicy

log = logging.getLogger(__name__)

STORED_PER_LISTING = 30  # rows kept per listing and run: enough for every tier's page
POLICY_KEYS = ("mode", "allow_excluded", "threshold")


class MatchInputError(ValueError):
    """A policy setting or a match status that cannot be used; ``field`` names it."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


# The engine's view of a listing ---------------------------------------------------------------

def _number(value: Any) -> float | None:
    return float(value) if value is not None else None


def listing_specs(listings: Sequence[Listing], *, districts: Mapping[str, str] | None = None,
                  centres: Mapping[str, tuple[float | None, float | None]] | None = None) -> list[ListingSpec]:
    """The engine's plain view of ``listings``: text with the names of the codes, place, amounts and dates.

    The place is the most precise one known: the listing's own coordinates, its town, its organization's
    coordinates or town, and at last the centre of its region.
    """
    from marketplace.indexing.services import _code_names, listing_text

    districts = region_districts() if districts is None else districts
    centres = region_centres() if centres is None else centres
    names = _code_names(listings)
    out = []
    for x in listings:
        org = x.organization
        lat, lon = x.lat, x.lon
        for source in (x.town, org, org.town if org is not None else None):
            if lat is None and source is not None and getattr(source, "lat", None) is not None:
                lat, lon = source.lat, source.lon
        region = x.region_code or (org.region_code if org is not None else None)
        if lat is None and region:
            lat, lon = centres.get(region, (None, None))
        text = listing_text(x, names)
        quantity = _number(x.quantity)
        if isinstance(x, Product) and x.stock is not None:
            quantity = _number(x.stock)
        capacity = _number(x.capacity_per_month) if isinstance(x, Capability) else None
        unit = x.unit
        if isinstance(x, Capability) and x.capacity_unit:
            unit = x.capacity_unit
        out.append(ListingSpec(
            id=x.id, side=x.side.value, kind=x.kind.value, title=x.title,
            description=text[len(x.title):].lstrip(". "), external_id=x.external_id,
            okpd2=tuple(x.okpd2_codes), okved2=tuple(x.okved2_codes), region=region,
            district=districts.get(region or ""), country=x.country_code or "RU", lat=lat, lon=lon,
            organization_id=x.organization_id, organization_name=org.name if org is not None else "",
            quantity=quantity, unit=unit, capacity=capacity, lead_time_days=x.lead_time_days,
            deadline=x.ends_on if x.side == Side.NEED else None,
            certifications=frozenset(x.certifications or ()), status=x.status.value,
            operations=tuple(x.operation_ids), parameters=dict(x.parameters or {})))
    return out


def _load(ids: Iterable[int]) -> list[Listing]:
    ids = list(ids)
    if not ids:
        return []
    return list(db.session.scalars(select(Listing).where(Listing.id.in_(ids)).options(
        selectinload(Listing.codes), selectinload(Listing.organization), selectinload(Listing.town),
        selectinload(Listing.operation_links))))


class DatabaseLookup:
    """The engine's :class:`~matching.matcher.ListingLookup` over the database (the index may lag behind it), with
    the acceptability rule's stored readings (:mod:`marketplace.matches.readings`); ``store_readings``: the missing
    ones are made and written in the caller's transaction (a match job), else only read."""

    def __init__(self, *, rule: AcceptabilityRule | None = None, store_readings: bool = False) -> None:
        self._districts = region_districts()
        self._centres = region_centres()
        self._rule, self._store = rule, store_readings

    def get_many(self, ids: Iterable[int]) -> dict[int, ListingSpec]:
        listings = _load(ids)
        specs = listing_specs(listings, districts=self._districts, centres=self._centres)
        # What is no longer active in the database is not a candidate, whatever the index still says.
        specs = [s for s in specs if s.status == ListingStatus.ACTIVE.value]
        if self._rule is not None:
            specs = with_readings(specs, self._rule, store=self._store)
        return {s.id: s for s in specs}

    def spec(self, listing: Listing) -> ListingSpec:
        return listing_specs([listing], districts=self._districts, centres=self._centres)[0]


# Policy ---------------------------------------------------------------------------------------

def platform_policy() -> ProcurementPolicy:
    """The platform's policy from the settings: strict (the charter) unless ``COSMOS_MATCH_MODE`` says otherwise."""
    cfg = current_app.config
    return ProcurementPolicy(mode=cfg.get("MATCH_MODE", "strict"),
                             allow_excluded=bool(cfg.get("MATCH_ALLOW_EXCLUDED", False)),
                             threshold=float(cfg.get("MATCH_THRESHOLD", 0.35)),
                             show_lower_tiers=False)


def parse_policy(data: Mapping[str, Any] | None, base: ProcurementPolicy | None = None) -> ProcurementPolicy:
    """``base`` with the overrides in ``data`` (``mode``, ``allow_excluded``, ``threshold``); errors name the field."""
    policy = base or platform_policy()
    if not data:
        return policy
    changes: dict[str, Any] = {}
    mode = data.get("mode")
    if mode not in (None, ""):
        if mode not in MODES:
            raise MatchInputError("mode", f"ожидается одно из: {', '.join(MODES)}")
        changes["mode"] = mode
    allow = data.get("allow_excluded")
    if allow not in (None, ""):
        if isinstance(allow, str):
            if allow.lower() not in {"true", "false", "1", "0", "yes", "no"}:
                raise MatchInputError("allow_excluded", "ожидается true или false")
            allow = allow.lower() in {"true", "1", "yes"}
        if not isinstance(allow, bool):
            raise MatchInputError("allow_excluded", "ожидается true или false")
        changes["allow_excluded"] = allow
    threshold = data.get("threshold")
    if threshold not in (None, ""):
        try:
            value = float(threshold)
        except (TypeError, ValueError):
            raise MatchInputError("threshold", "ожидается число от 0 до 1") from None
        if not 0.0 <= value <= 1.0:
            raise MatchInputError("threshold", "ожидается число от 0 до 1")
        changes["threshold"] = value
    unknown = sorted(set(data) - set(POLICY_KEYS))
    if unknown:
        raise MatchInputError(unknown[0], "неизвестный параметр политики")
    return ProcurementPolicy(**{**policy.__dict__, **changes})


def policy_for(listing: Listing) -> ProcurementPolicy:
    """The platform policy with the need's own overrides (``attributes["match_policy"]``)."""
    overrides = (listing.attributes or {}).get("match_policy") if listing.side == Side.NEED else None
    try:
        return parse_policy(overrides if isinstance(overrides, Mapping) else None)
    except MatchInputError:
        log.warning("listing %s has an unusable match policy %r; using the platform's", listing.id, overrides)
        return platform_policy()


def set_need_policy(listing: Listing, data: Mapping[str, Any] | None) -> ProcurementPolicy:
    """Store a need's own policy (``None`` or ``{}``: back to the platform's); raises :class:`MatchInputError`."""
    if listing.side != Side.NEED:
        raise MatchInputError("listing", "политика задаётся только для потребности")
    policy = parse_policy(data)
    attributes = dict(listing.attributes or {})
    if data:
        attributes["match_policy"] = {k: getattr(policy, k) for k in POLICY_KEYS if k in data}
    else:
        attributes.pop("match_policy", None)
    listing.attributes = attributes
    db.session.flush()
    return policy


# Running the engine ---------------------------------------------------------------------------

def matcher(policy: ProcurementPolicy | None = None, *, today: date | None = None,
            store_readings: bool = False) -> Matcher:
    """The engine over the application's encoder and search backend, reading candidates from the database."""
    from marketplace.indexing.services import get_backend, get_encoder

    encoder = get_encoder()
    backend = get_backend()
    classifier = None
    if current_app.config.get("MATCH_INFER_CODES", True):
        from marketplace.classifiers.suggest import get_classifier

        classifier = get_classifier("okpd2")
    rule = acceptability_rule()
    return Matcher(encoder, backend, policy or platform_policy(), DatabaseLookup(rule=rule,
                                                                                 store_readings=store_readings),
                   countries=country_lists(), candidates=int(current_app.config.get("MATCH_CANDIDATES", 100)),
                   today=today, classifier=classifier, rule=rule)


@lru_cache(maxsize=1)
def acceptability_rule() -> AcceptabilityRule:
    """The one acceptability rule of the platform (matching, chains, analytics), over the shipped catalogue; its
    readings of listings are memoised across requests."""
    from marketplace.classifiers.suggest import goods_vocabulary
    from marketplace.operations.catalogue import get_catalogue

    return AcceptabilityRule(get_catalogue(), goods=goods_vocabulary(), fingerprint=reference_fingerprint())


def match_spec(spec: ListingSpec, *, policy: ProcurementPolicy | None = None, top: int = 10,
               today: date | None = None) -> MatchResult:
    """Counterparts for a listing that need not be stored (``cosmos match --text``, the API's ad-hoc match), as
    ``policy`` shows them (strict: only the nearest tier with an acceptable match)."""
    engine = matcher(policy, today=today)
    return engine.match_need(spec, top=top) if spec.side == "need" else engine.match_offer(spec, top=top)


def ad_hoc_need(text: str, region: str | None, *, kind: str = "purchase_request", okpd2: Sequence[str] = (),
                okved2: Sequence[str] = (), quantity: float | None = None, unit: str | None = None,
                deadline: date | None = None, certifications: Sequence[str] = ()) -> ListingSpec:
    """A need described by text and a delivery region, not stored (id 0)."""
    place = db.session.get(Region, region) if region else None
    return ListingSpec(id=0, side="need", kind=kind, title=text, region=region,
                       district=place.district_code if place else None, lat=place.lat if place else None,
                       lon=place.lon if place else None, okpd2=tuple(okpd2),
                       okved2=tuple(okved2), quantity=quantity, unit=unit, deadline=deadline,
                       certifications=frozenset(certifications))


@dataclass
class RefreshReport:
    listing_id: int
    stored: int = 0
    new: list[int] = field(default_factory=list)  # ids of rows that became acceptable in this run
    removed: int = 0
    active_tier: str | None = None
    chain_suggested: bool = False


def refresh_listing(listing_id: int, *, today: date | None = None) -> RefreshReport:
    """Recompute and store the matches of one listing; safe to repeat (same rows, no second notification)."""
    report = RefreshReport(listing_id)
    listing = db.session.get(Listing, listing_id)
    own_column = Match.need_id if listing is None or listing.side == Side.NEED else Match.offer_id
    if listing is None or listing.status != ListingStatus.ACTIVE:
        # A closed, archived or hidden listing keeps the rows someone acted on, and drops the rest.
        result = db.session.execute(delete(Match).where(own_column == listing_id,
                                                        Match.status.in_((MatchStatus.NEW, MatchStatus.SEEN))))
        report.removed = result.rowcount or 0
        run = db.session.get(MatchRun, listing_id)
        if run is not None:
            db.session.delete(run)
        db.session.flush()
        return report
    policy = policy_for(listing)
    # Stored rows keep every acceptable tier; a page chooses what to show by the policy (ranked_matches).
    engine = matcher(replace(policy, show_lower_tiers=True), today=today, store_readings=True)
    spec = engine.lookup.spec(listing)  # type: ignore[union-attr]
    result = engine.match_need(spec, top=STORED_PER_LISTING) if listing.side == Side.NEED \
        else engine.match_offer(spec, top=STORED_PER_LISTING)
    report.active_tier = result.active_tier.label if result.active_tier is not None else None
    report.chain_suggested = result.chain_suggested
    existing = {(m.need_id, m.offer_id): m for m in db.session.scalars(select(Match).where(own_column == listing.id))}
    now = utcnow()
    kept: set[tuple[int, int]] = set()
    for rank, m in enumerate(result.matches):
        key = (listing.id, m.listing_id) if listing.side == Side.NEED else (m.listing_id, listing.id)
        kept.add(key)
        explanation = {**m.explanation, "policy": policy.mode, "chain_suggested": result.chain_suggested,
                       "inferred_codes": list(result.inferred_codes), "computed_at": now.isoformat()}
        row = existing.get(key)  # whichever direction stored it: the pair is unique
        if row is None:
            row = Match(need_id=key[0], offer_id=key[1], status=MatchStatus.NEW)
            db.session.add(row)
        row.score = float(m.score)
        row.tier = m.tier.label
        row.distance_km = m.distance_km
        row.acceptable = True  # the engine's result holds only matches the policy accepts
        row.rank = rank
        row.explanation = explanation
        report.stored += 1
    stale = [row for key, row in existing.items() if key not in kept and row.status in
             (MatchStatus.NEW, MatchStatus.SEEN)]
    for row in stale:
        db.session.delete(row)
    report.removed = len(stale)
    db.session.flush()
    report.new = [row.id for row in db.session.scalars(select(Match).where(
        own_column == listing.id, Match.notified_at.is_(None), Match.acceptable.is_(True)))]
    run = db.session.get(MatchRun, listing.id) or MatchRun(listing_id=listing.id)
    run.computed_at = now
    run.listing_updated_at = listing.updated_at
    run.stored = report.stored
    run.candidates = result.candidates_considered
    run.active_tier = report.active_tier
    run.chain_suggested = result.chain_suggested
    db.session.add(run)
    db.session.flush()
    return report


# Notifications --------------------------------------------------------------------------------

def notify_new_matches(match_ids: Sequence[int]) -> list[int]:
    """Tell both sides about new matches once each; returns the notification ids to e-mail (after commit).

    The supplier hears of a need only when it may see the need (a closed tender's lot: only when invited).
    """
    from marketplace.notifications.services import notify

    note_ids: list[int] = []
    rows = list(db.session.scalars(select(Match).where(Match.id.in_(list(match_ids)),
                                                       Match.notified_at.is_(None))))
    by_need: dict[int, list[Match]] = {}
    for row in rows:
        by_need.setdefault(row.need_id, []).append(row)
    for group in by_need.values():
        need = group[0].need
        visible = [row for row in group if need_visible_to(need, row.offer.organization_id)]
        for row in visible:
            offer = row.offer
            note = notify(offer.organization_id, "match_need",
                          f"Потребность под ваше предложение: {need.title}"[:300],
                          body=f"«{offer.title}» подходит под «{need.title}» ({_tier_title(row.tier)}, "
                               f"оценка {row.score:.2f}).",
                          link=f"/listings/{need.id}", payload={"match_id": row.id, "need_id": need.id,
                                                                "offer_id": offer.id},
                          dedup_key=f"match:{row.id}:offer")
            if note is not None:
                note_ids.append(note.id)
        best = min(group, key=lambda r: (ProcurementTier.from_label(r.tier), -r.score))
        note = notify(need.organization_id, "match_offer",
                      f"Найдены поставщики: {need.title}"[:300],
                      body=f"Новых подходящих предложений: {len(group)}; лучшее — «{best.offer.title}» "
                           f"({best.offer.organization.name}, {_tier_title(best.tier)}).",
                      link=f"/listings/{need.id}#matches",
                      payload={"need_id": need.id, "match_ids": sorted(r.id for r in group)},
                      dedup_key=f"matches:{need.id}:{min(r.id for r in group)}:{len(group)}")
        if note is not None:
            note_ids.append(note.id)
    now = utcnow()
    for row in rows:
        row.notified_at = now
    db.session.flush()
    return note_ids


def email_after_commit(note_ids: Sequence[int]) -> None:
    """Queue the e-mail of each notification (``notifications.email``); call after the commit."""
    if not note_ids or not current_app.config.get("SMTP_URL"):
        return
    from workers.queue import enqueue_quietly

    for note_id in note_ids:
        enqueue_quietly("notifications.email", note_id)


def _tier_title(label: str) -> str:
    try:
        return ProcurementTier.from_label(label).title_ru
    except ValueError:
        return label


def need_visible_to(need: Listing, organization_id: int) -> bool:
    """May ``organization_id`` see the need (and so hear of it)? A closed tender's lot only when invited."""
    if need.status != ListingStatus.ACTIVE:
        return False
    if isinstance(need, TenderLot) and need.tender is not None:
        from marketplace.tenders.access import can_take_part

        return can_take_part(organization_id, need.tender)
    return True


# Reading stored matches -----------------------------------------------------------------------

@dataclass(frozen=True)
class TierGroup:
    tier: ProcurementTier
    matches: tuple[Match, ...]


@dataclass(frozen=True)
class RankedMatches:
    """The stored matches of a need as a policy shows them."""

    policy: ProcurementPolicy
    matches: tuple[Match, ...]
    active_tier: ProcurementTier | None
    chain_suggested: bool
    hidden_lower: int  # acceptable matches of farther tiers that strict mode does not show

    @property
    def groups(self) -> list[TierGroup]:
        out: dict[ProcurementTier, list[Match]] = {}
        for m in self.matches:
            out.setdefault(ProcurementTier.from_label(m.tier), []).append(m)
        return [TierGroup(t, tuple(v)) for t, v in sorted(out.items())]


@dataclass(frozen=True)
class _Stored:
    """A stored row as the policy reads a candidate (its constraints held when it was stored)."""

    row: Match
    score: float
    tier: ProcurementTier
    constraints_hold: bool = True


def ranked_matches(need: Listing, policy: ProcurementPolicy | None = None, *,
                   offer_kind: ListingKind | None = None) -> RankedMatches:
    """A need's stored matches, ordered and cut by ``policy`` (default: the need's own) — the same
    :meth:`ProcurementPolicy.apply` the engine uses, over the stored rows of still active offers (of
    ``offer_kind`` only, when given: the nearest tier with an acceptable offer of that kind comes first)."""
    policy = policy or policy_for(need)
    candidates = [_Stored(m, m.score, ProcurementTier.from_label(m.tier)) for m in db.session.scalars(
        select(Match).where(Match.need_id == need.id, Match.acceptable.is_(True))
        .options(selectinload(Match.offer).selectinload(Listing.organization)))
        if m.offer.status == ListingStatus.ACTIVE and (offer_kind is None or m.offer.kind == offer_kind)]
    outcome = policy.apply(candidates)
    every_tier = len(replace(policy, show_lower_tiers=True).apply(candidates).ranked)
    return RankedMatches(policy, tuple(c.row for c in outcome.ranked), outcome.active_tier, outcome.chain_suggested,
                         every_tier - len(outcome.ranked))


def needs_for_offer(offer: Listing, viewer: Any = None) -> list[Match]:
    """The stored needs an offer serves, best first, only those its organization may see — and, given ``viewer``
    (the user reading the list, e.g. a region's coordinator), only those the viewer may see too."""
    from marketplace.core.permissions import can_view_listing

    rows = db.session.scalars(select(Match).where(Match.offer_id == offer.id, Match.acceptable.is_(True))
                              .order_by(Match.score.desc()).options(selectinload(Match.need)))
    return [m for m in rows if need_visible_to(m.need, offer.organization_id)
            and (viewer is None or can_view_listing(viewer, m.need))]


def can_see_matches(user: Any, listing: Listing) -> bool:
    """The listing's organization, the coordinators of its region and admins see its matches."""
    from marketplace.core.permissions import can_edit_listing, can_view_listing, is_coordinator_for

    if not can_view_listing(user, listing):
        return False
    return can_edit_listing(user, listing) or is_coordinator_for(user, listing.region_code)


def match_side(user: Any, match: Match) -> str | None:
    """Which side ``user`` acts for on a match: "need" (the buyer's organization), "offer" (the supplier's, when it
    may see the need) or None (a stranger: the match is a 404 to them)."""
    from marketplace.core.permissions import can_edit_listing

    if can_edit_listing(user, match.need):
        return "need"
    if can_edit_listing(user, match.offer) and need_visible_to(match.need, match.offer.organization_id):
        return "offer"
    return None


def feed_for_organization(organization_id: int, *, limit: int = 100) -> list[Match]:
    """Open needs that fit the organization's active offers, best first, only those it may see."""
    rows = db.session.scalars(
        select(Match).join(Listing, Listing.id == Match.offer_id)
        .where(Listing.organization_id == organization_id, Listing.status == ListingStatus.ACTIVE,
               Match.acceptable.is_(True), Match.status != MatchStatus.DISMISSED)
        .order_by(Match.score.desc()).options(selectinload(Match.need), selectinload(Match.offer))
        .limit(limit * 3))
    out = [m for m in rows if need_visible_to(m.need, organization_id)]
    return out[:limit]


def set_match_status(match: Match, status: str) -> Match:
    try:
        match.status = MatchStatus(status)
    except ValueError:
        raise MatchInputError("status", f"ожидается одно из: {', '.join(s.value for s in MatchStatus)}") from None
    db.session.flush()
    return match


def stale_listing_ids(limit: int = 500, *, side: Side | None = None) -> list[int]:
    """Active listings changed since their matches were last computed, or never computed: needs first, the most
    recently changed first (the listing a user has just saved is matched in the same request)."""
    stmt = (select(Listing.id).outerjoin(MatchRun, MatchRun.listing_id == Listing.id)
            .where(Listing.status == ListingStatus.ACTIVE,
                   or_(MatchRun.listing_id.is_(None), MatchRun.listing_updated_at < Listing.updated_at)))
    if side is not None:
        stmt = stmt.where(Listing.side == side)
    rows = db.session.execute(stmt.order_by(Listing.side, Listing.updated_at.desc(), Listing.id.desc()).limit(limit))
    return [r[0] for r in rows]


def last_run(listing_id: int) -> MatchRun | None:
    return db.session.get(MatchRun, listing_id)
