"""Whom a request may go to, from where the buyer starts: a match (and the need's other matches), a need, an
offer, a producer page, a chain stage. The form offers exactly these suppliers and the post may pick only among
them, so a forged form cannot reach an organization the buyer could not see."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from marketplace.core.permissions import can_edit_listing, can_view_listing, can_view_organization, is_member
from marketplace.core.validation import FieldError, ValidationFailed
from marketplace.deals.models import RequestSource
from marketplace.deals.services import Target
from marketplace.extensions import db
from marketplace.listings.models import Listing, Side
from marketplace.organizations.models import Organization

MAX_CANDIDATES = 15


@dataclass(frozen=True)
class Candidate:
    organization: Organization
    offer: Listing | None = None
    match_id: int | None = None
    checked: bool = False
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.organization.id}:{self.offer.id if self.offer else 0}:{self.match_id or 0}"


@dataclass
class Found:
    candidates: list[Candidate]
    source: RequestSource
    defaults: dict[str, Any] = field(default_factory=dict)
    need: Listing | None = None
    chain_id: int | None = None
    chain_stage: str | None = None


def _int(value: Any) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None


def _need_defaults(need: Listing, buyer: Organization) -> dict[str, Any]:
    return {"title": need.title, "quantity": "" if need.quantity is None else f"{need.quantity.normalize():f}",
            "unit": need.unit or "", "deadline": need.ends_on.isoformat() if need.ends_on else "",
            "delivery_region": need.region_code or buyer.region_code or "",
            "text": f"Здравствуйте! Просим прислать предложение: {need.title}."
                    + (f"\n{need.description}" if need.description else "")}


def _match_candidates(user: Any, need: Listing, checked_match: int | None) -> list[Candidate]:
    from marketplace.matches.models import Match

    rows = db.session.scalars(select(Match).where(Match.need_id == need.id, Match.acceptable.is_(True))
                              .order_by(Match.rank, Match.score.desc()).limit(MAX_CANDIDATES * 2))
    out: list[Candidate] = []
    seen: set[int] = set()
    for row in rows:
        offer = row.offer
        if offer.organization_id in seen or offer.organization_id == need.organization_id:
            continue
        if not can_view_listing(user, offer) or offer.organization.archived:
            continue
        seen.add(offer.organization_id)
        out.append(Candidate(offer.organization, offer, row.id, checked=row.id == checked_match,
                             note=f"{offer.title} · {_tier_title(row.tier)}"))
    out.sort(key=lambda c: not c.checked)
    return out[:MAX_CANDIDATES]


def _tier_title(label: str) -> str:
    from matching.geo import ProcurementTier

    try:
        return ProcurementTier.from_label(label).title_ru
    except (KeyError, ValueError):
        return label


def candidates_for(user: Any, buyer: Organization, origin: Mapping[str, Any]) -> Found:
    """The suppliers and the form's defaults for ``origin`` (``match``, ``need``, ``offer``, ``organization`` or
    ``chain`` + ``stage``); LookupError when the origin is missing or not the user's to use (a 404)."""
    from marketplace.matches.models import Match
    from marketplace.matches.services import match_side

    defaults = {"delivery_region": buyer.region_code or ""}
    if (match_id := _int(origin.get("match"))) is not None:
        row = db.session.get(Match, match_id)
        if row is None or match_side(user, row) != "need":
            raise LookupError("match")
        return Found(_match_candidates(user, row.need, row.id), RequestSource.MATCH,
                     _need_defaults(row.need, buyer), need=row.need)
    if (need_id := _int(origin.get("need"))) is not None:
        need = db.session.get(Listing, need_id)
        if need is None or need.side != Side.NEED or not can_edit_listing(user, need):
            raise LookupError("need")
        return Found(_match_candidates(user, need, None), RequestSource.MATCH, _need_defaults(need, buyer), need=need)
    if (offer_id := _int(origin.get("offer"))) is not None:
        offer = db.session.get(Listing, offer_id)
        if offer is None or offer.side != Side.OFFER or not can_view_listing(user, offer):
            raise LookupError("offer")
        defaults.update(title=offer.title, text=f"Здравствуйте! Интересует ваше предложение «{offer.title}». "
                                                "Просим прислать цену и срок.")
        return Found([Candidate(offer.organization, offer, checked=True, note=offer.title)], RequestSource.LISTING,
                     defaults)
    if (org_id := _int(origin.get("organization"))) is not None:
        org = db.session.get(Organization, org_id)
        if org is None or not can_view_organization(user, org) or org.archived:
            raise LookupError("organization")
        defaults.update(text="Здравствуйте! Просим прислать предложение.")
        return Found([Candidate(org, checked=True)], RequestSource.PRODUCER, defaults)
    if (chain_id := _int(origin.get("chain"))) is not None:
        return _chain_candidates(user, buyer, chain_id, str(origin.get("stage") or ""))
    raise LookupError("origin")


def _chain_candidates(user: Any, buyer: Organization, chain_id: int, stage: str) -> Found:
    from marketplace.chains.models import CooperationChain

    chain = db.session.get(CooperationChain, chain_id)
    row = chain.request if chain is not None else None
    if row is None or row.organization_id is None or not is_member(user, row.organization_id):
        raise LookupError("chain")
    texts = {s["id"]: s.get("text", s["id"]) for s in row.spec.get("stages", [])}
    picked = [a for a in (chain.result or {}).get("assignments", []) if a.get("stage") == stage]
    if not picked:
        raise LookupError("stage")
    offer = db.session.get(Listing, int(picked[0]["listing_id"]))
    if offer is None or not can_view_listing(user, offer):
        raise LookupError("offer")
    title = f"{row.item}: {texts.get(stage, stage)}"
    defaults = {"title": title[:300], "quantity": f"{row.quantity.normalize():f}", "unit": "шт",
                "delivery_region": row.delivery_region,
                "text": f"Здравствуйте! Просим предложение на этап цепочки кооперации «{texts.get(stage, stage)}» "
                        f"для изделия «{row.item}»."}
    need = db.session.get(Listing, row.need_id) if row.need_id else None
    return Found([Candidate(offer.organization, offer, checked=True, note=offer.title)], RequestSource.CHAIN,
                 defaults, need=need if need is not None and need.organization_id == buyer.id else None,
                 chain_id=chain.id, chain_stage=stage)


def parse_targets(user: Any, keys: Iterable[str], candidates: list[Candidate]) -> list[Target]:
    """The checked suppliers; a key that is not among the offered candidates is refused."""
    offered = {c.key: c for c in candidates}
    targets, errors = [], []
    for key in keys:
        candidate = offered.get(key)
        if candidate is None:
            errors.append(FieldError("suppliers", "этого поставщика нельзя выбрать здесь"))
            continue
        targets.append(Target(candidate.organization.id, candidate.offer.id if candidate.offer else None,
                              candidate.match_id))
    if errors:
        raise ValidationFailed(errors)
    return targets  # none chosen: send_request names «suppliers» together with the other fields
