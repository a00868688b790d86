"""The long lists of matches on pages: a need's suppliers, an offer's needs and a supplier's feed, in pages, with
their sorting and filters read from the query string.

A bad value of a list's parameter (``sort``, ``tier``, ``kind``) is never an error page: the list falls back to its
default, like the tender list, and says which parameter it ignored and why (``ListArgs.notices``).

Strict mode keeps the charter: its rows stay ordered by tier first (the nearest tier with an acceptable supplier at
the top), a sort orders only within a tier, and a page is a run of that order, so paging never moves a farther tier
above a nearer one. A filter by tier exists only in the exploration mode (all tiers), where the buyer asked to see
them all; in strict mode the charter chooses the tier.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import aliased, selectinload

from marketplace.core.labels import label
from marketplace.core.paging import PageOf, paginate_list
from marketplace.extensions import db
from marketplace.listings.models import NEED_KINDS, OFFER_KINDS, Listing, ListingKind, ListingStatus
from marketplace.matches import services
from marketplace.matches.models import Match, MatchStatus
from matching.geo import ProcurementTier
from matching.policy import ProcurementPolicy

MATCHES_PER_PAGE = 20
FEED_PER_PAGE = 25
FEED_MAX_ROWS = 5000  # an organization's feed is read whole (visibility is checked per need), up to this many

NEED_SORTS = {"score": _l("по оценке"), "distance": _l("по расстоянию")}
FEED_SORTS = {"score": _l("по оценке"), "deadline": _l("по сроку"), "distance": _l("по расстоянию"),
              "date": _l("сначала новые")}
TIER_CHOICES = tuple(t.label for t in ProcurementTier)


@dataclass(frozen=True)
class ListArgs:
    """A list's sorting and filters as read from the query string, and what was ignored."""

    sort: str
    tier: str | None = None
    kind: ListingKind | None = None
    notices: tuple[str, ...] = ()


def read_args(args: Mapping[str, Any], *, sorts: Mapping[str, Any], kinds: Sequence[ListingKind],
              tier_allowed: bool = True) -> ListArgs:
    """``sort``, ``tier`` and ``kind`` from ``args``; an unknown value is left at the default with a notice."""
    notices: list[str] = []
    default = next(iter(sorts))
    sort = (args.get("sort") or "").strip() or default
    if sort not in sorts:
        notices.append(_("Параметр sort: неизвестное значение «%(value)s», показано %(default)s.",
                         value=sort, default=sorts[default]))
        sort = default
    tier = (args.get("tier") or "").strip() or None
    if tier is not None and tier not in TIER_CHOICES:
        notices.append(_("Параметр tier: неизвестный уровень «%(value)s», показаны все уровни.", value=tier))
        tier = None
    elif tier is not None and not tier_allowed:
        notices.append(_("Параметр tier: в строгом режиме уровень выбирает хартия — ближайший, где есть "
                         "подходящие; выбрать уровень можно, показав все уровни."))
        tier = None
    kind_arg = (args.get("kind") or "").strip() or None
    kind = None
    if kind_arg is not None:
        if kind_arg in {k.value for k in kinds}:
            kind = ListingKind(kind_arg)
        else:
            notices.append(_("Параметр kind: неизвестный вид «%(value)s», показаны все виды.", value=kind_arg))
    return ListArgs(sort, tier, kind, tuple(notices))


def kind_choices(kinds: Sequence[ListingKind]) -> list[tuple[str, Any]]:
    return sorted(((k.value, label(k)) for k in kinds), key=lambda kv: str(kv[1]))


def _far(value: float | None) -> float:
    return float("inf") if value is None else value


def _distance(m: Match) -> float | None:
    return m.distance_km if m.distance_km is not None else (m.explanation or {}).get("distance_km")


# A need's suppliers --------------------------------------------------------------------------------

@dataclass(frozen=True)
class NeedMatchesPage:
    ranked: services.RankedMatches  # this page's rows only (``ranked.groups`` groups them by tier)
    page: PageOf
    tier_totals: dict[str, int]  # rows of each tier in the whole list, not only on this page
    args: ListArgs


def need_matches_page(need: Listing, policy: ProcurementPolicy, args: Mapping[str, Any], *,
                      per_page: int | None = None) -> NeedMatchesPage:
    """A need's suppliers as ``policy`` ranks them, sorted and filtered by ``args``, one page of them."""
    list_args = read_args(args, sorts=NEED_SORTS, kinds=sorted(OFFER_KINDS), tier_allowed=policy.mode != "strict")
    ranked = services.ranked_matches(need, policy, offer_kind=list_args.kind)
    rows = list(ranked.matches)
    if list_args.tier is not None:
        rows = [m for m in rows if m.tier == list_args.tier]
    if list_args.sort == "distance":
        tier_first = policy.mode == "strict"
        rows.sort(key=lambda m: (ProcurementTier.from_label(m.tier) if tier_first else 0, _far(_distance(m)),
                                 -m.score))
    totals: dict[str, int] = {}
    for m in rows:
        totals[m.tier] = totals.get(m.tier, 0) + 1
    page = paginate_list(rows, args.get("page"), per_page=per_page or MATCHES_PER_PAGE)
    return NeedMatchesPage(replace(ranked, matches=tuple(page.items)), page, totals, list_args)


# An offer's needs and a supplier's feed -------------------------------------------------------------

def _feed_order(sort: str) -> Callable[[Match], Any]:
    if sort == "deadline":
        return lambda m: (m.need.ends_on is None, m.need.ends_on or 0, -m.score)
    if sort == "distance":
        return lambda m: (_far(_distance(m)), -m.score)
    if sort == "date":
        return lambda m: (-m.need.created_at.timestamp(), -m.score)
    return lambda m: (-m.score, m.id)


def offer_needs_page(offer: Listing, viewer: Any, args: Mapping[str, Any], *,
                     per_page: int | None = None) -> tuple[PageOf, ListArgs]:
    """The needs an offer serves (those its organization and ``viewer`` may see), sorted, filtered, one page."""
    list_args = read_args(args, sorts=FEED_SORTS, kinds=sorted(NEED_KINDS))
    rows = [m for m in services.needs_for_offer(offer, viewer)
            if (list_args.tier is None or m.tier == list_args.tier)
            and (list_args.kind is None or m.need.kind == list_args.kind)]
    rows.sort(key=_feed_order(list_args.sort))
    return paginate_list(rows, args.get("page"), per_page=per_page or FEED_PER_PAGE), list_args


def feed_page(organization_id: int, args: Mapping[str, Any], *, per_page: int | None = None) -> tuple[PageOf, ListArgs]:
    """Open needs that fit the organization's active offers (only those it may see), not dismissed, sorted and
    filtered by ``args`` (``sort``: score, deadline, distance, date; ``tier``; ``kind`` of the need), one page."""
    list_args = read_args(args, sorts=FEED_SORTS, kinds=sorted(NEED_KINDS))
    offer, need = aliased(Listing), aliased(Listing)
    stmt = (select(Match).join(offer, offer.id == Match.offer_id).join(need, need.id == Match.need_id)
            .where(offer.organization_id == organization_id, offer.status == ListingStatus.ACTIVE,
                   need.status == ListingStatus.ACTIVE, Match.acceptable.is_(True),
                   Match.status != MatchStatus.DISMISSED)
            .options(selectinload(Match.need).selectinload(Listing.organization), selectinload(Match.offer)))
    if list_args.tier is not None:
        stmt = stmt.where(Match.tier == list_args.tier)
    if list_args.kind is not None:
        stmt = stmt.where(need.kind == list_args.kind)
    rows = list(db.session.scalars(stmt.order_by(Match.score.desc(), Match.id).limit(FEED_MAX_ROWS)))
    rows = [m for m in rows if services.need_visible_to(m.need, organization_id)]
    rows.sort(key=_feed_order(list_args.sort))
    return paginate_list(rows, args.get("page"), per_page=per_page or FEED_PER_PAGE), list_args
