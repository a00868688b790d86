"""Pages of the matching engine: a listing's matches grouped by tier with their reasons, and a supplier's feed."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace.core import permissions
from marketplace.extensions import db
from marketplace.listings.models import NEED_KINDS, OFFER_KINDS, Listing, Side
from marketplace.matches import lists, services
from marketplace.matches.models import Match
from matching.geo import ProcurementTier

bp = Blueprint("matches", __name__)

SIGNAL_TITLES_RU = {"semantic": "сходство текста", "codes": "совпадение кодов", "distance": "близость"}
CONSTRAINT_TITLES_RU = {"relevance": "вид работ", "quantity": "объём", "deadline": "срок",
                        "certifications": "сертификаты", "operation": "операция", "product": "товар",
                        "materials": "материал", "thickness": "толщина", "tolerance_it": "точность",
                        "roughness_ra_um": "шероховатость", "batch": "партия", "max_length_mm": "длина",
                        "max_width_mm": "ширина", "max_height_mm": "высота", "max_diameter_mm": "диаметр",
                        "max_mass_kg": "масса"}


can_see_matches = services.can_see_matches


def matches_context(listing: Listing, mode: str | None = None) -> dict[str, Any]:
    """What the matches partial shows for ``listing`` (a need's offers by tier, or an offer's needs): one page of
    them, sorted and filtered by the query string (``lists``)."""
    run = services.last_run(listing.id)
    context: dict[str, Any] = {"listing": listing, "run": run, "tiers": ProcurementTier,
                               "signal_titles": SIGNAL_TITLES_RU, "constraint_titles": CONSTRAINT_TITLES_RU,
                               "tier_choices": lists.TIER_CHOICES}
    if listing.side == Side.NEED:
        try:
            policy = services.parse_policy({"mode": mode} if mode else None, base=services.policy_for(listing))
        except services.MatchInputError:
            policy = services.policy_for(listing)
        found = lists.need_matches_page(listing, policy, request.args)
        context.update(ranked=found.ranked, page=found.page, tier_totals=found.tier_totals, list_args=found.args,
                       sorts=lists.NEED_SORTS, kinds=lists.kind_choices(sorted(OFFER_KINDS)), policy=policy,
                       chain_request=_chain_request(listing))
    else:
        page, args = lists.offer_needs_page(listing, current_user, request.args)
        context.update(needs=page.items, page=page, list_args=args, sorts=lists.FEED_SORTS,
                       kinds=lists.kind_choices(sorted(NEED_KINDS)))
    return context


def _chain_request(listing: Listing):
    from marketplace.chains.models import ChainRequest

    return db.session.scalar(select(ChainRequest).where(ChainRequest.need_id == listing.id)
                             .order_by(ChainRequest.id.desc()).limit(1))


@bp.get("/listings/<int:listing_id>/matches")
@login_required
def listing_matches(listing_id: int) -> Any:
    listing = permissions.listing_or_404(listing_id)
    if not can_see_matches(current_user, listing):
        abort(404)
    mode = request.args.get("mode")
    if mode not in (None, "strict", "weighted"):
        return render_template("_macros/error_page.html", code=400, title=_("Неверный параметр"),
                               message=_("Параметр mode: ожидается strict или weighted.")), 400
    return render_template("matches/listing.html", **matches_context(listing, mode))


@bp.post("/listings/<int:listing_id>/matches/refresh")
@login_required
def refresh(listing_id: int) -> Any:
    listing = permissions.listing_or_404(listing_id, edit=True)
    from workers import queue

    db.session.commit()
    handle = queue.enqueue("matching.refresh", listing.id)
    if handle.status == "finished":
        flash("Подбор обновлён.", "success")
    elif handle.status in ("queued", "deferred"):
        flash("Подбор поставлен в очередь, обновите страницу через минуту.", "info")
    else:
        flash("Подбор не удался, попробуйте позже.", "danger")
    return redirect(url_for("matches.listing_matches", listing_id=listing.id))


@bp.post("/matches/<int:match_id>/status")
@login_required
def set_status(match_id: int) -> Any:
    row = db.session.get(Match, match_id)
    if row is None:
        abort(404)
    side = services.match_side(current_user, row)
    if side is None:
        abort(404)
    try:
        services.set_match_status(row, request.form.get("status", ""))
    except services.MatchInputError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
    target = request.form.get("next") or ""
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("matches.feed") if side == "offer" else \
            url_for("matches.listing_matches", listing_id=row.need_id)
    return redirect(target)


@bp.get("/my/feed")
@login_required
def feed() -> str:
    org = permissions.current_organization(current_user)
    if org is None:
        page, args = None, lists.read_args(request.args, sorts=lists.FEED_SORTS, kinds=sorted(NEED_KINDS))
    else:
        page, args = lists.feed_page(org.id, request.args)
    return render_template("matches/feed.html", organization=org, rows=page.items if page else [], page=page,
                           list_args=args, sorts=lists.FEED_SORTS, kinds=lists.kind_choices(sorted(NEED_KINDS)),
                           tier_choices=lists.TIER_CHOICES, tiers=ProcurementTier)
