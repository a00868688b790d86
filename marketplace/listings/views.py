"""The organization's own offers ("Мои предложения") and needs ("Мои потребности"): list, create, edit, publish,
archive and renew; and a listing's public page."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace.accounts.views import region_choices
from marketplace.core import pagecache, permissions
from marketplace.core.validation import ValidationFailed
from marketplace.extensions import db
from marketplace.listings import services
from marketplace.listings.forms import (
    NEED_FORM_KINDS,
    OFFER_FORM_KINDS,
    STATUS_TITLES_RU,
    form_fields,
    kind_title,
    parameter_fields,
)
from marketplace.listings.models import KIND_TITLES_RU, ListingKind, ListingStatus, Side
from marketplace.listings.operations_fields import current_catalogue, parameters_in_words

bp = Blueprint("listings", __name__)


def _organization():
    """The organization the user acts for: ``?org=<id>`` among their own, else their first."""
    wanted = request.values.get("org", type=int)
    if wanted is not None:
        return permissions.organization_or_404(wanted, user=current_user) if permissions.is_member(
            current_user, wanted) else abort(404)
    return permissions.current_organization(current_user)


def _list_page(side: Side) -> str:
    org = _organization()
    assert org is not None
    listings = services.organization_listings(org.id, side=side)
    return render_template("listings/mine.html", side=side, organization=org, listings=listings,
                           kinds=OFFER_FORM_KINDS if side == Side.OFFER else NEED_FORM_KINDS,
                           kind_titles=KIND_TITLES_RU, status_titles=STATUS_TITLES_RU)


@bp.get("/my/offers")
@permissions.organization_required
def mine() -> str:
    return _list_page(Side.OFFER)


@bp.get("/my/needs")
@permissions.organization_required
def needs() -> str:
    return _list_page(Side.NEED)


def _kind_or_404(kind: str) -> ListingKind:
    try:
        value = ListingKind(kind)
    except ValueError:
        abort(404)
    if value not in services.EDITABLE_KINDS:
        abort(404)
    return value


def _operations_context(kind: ListingKind, values: dict[str, Any]) -> dict[str, Any]:
    """The picker's state: the chosen operations (with their parameter keys), the chosen materials, the operations
    recognised in the title and description, and which parameter inputs the chosen operations use."""
    catalogue = current_catalogue()
    raw = values.get("operations") or ""
    ids = raw if isinstance(raw, list) else [i for i in str(raw).replace(",", ";").replace(" ", ";").split(";") if i]
    chosen = [catalogue.get(i) for i in ids if i in catalogue]
    used = {k for op in chosen for k in op.parameters}  # type: ignore[union-attr]
    used = {"material_ids" if k == "materials" else k for k in used}
    mats = [m.strip() for m in str(values.get("material_ids") or "").split(";") if m.strip()]
    text = " ".join(str(values.get(k) or "") for k in ("title", "description")).strip()
    suggested = [r for r in catalogue.recognize(text, top=5) if r.operation_id not in ids] if text else []
    return {"chosen_operations": chosen, "used_parameters": used,
            "chosen_materials": [(m, catalogue.materials.title(m)) for m in mats],
            "suggested_operations": [(r, catalogue.get(r.operation_id)) for r in suggested],
            "parameter_fields": parameter_fields(kind.side)}


def _render_form(kind: ListingKind, values: dict[str, Any], errors: dict[str, list[str]], *, listing=None,
                 organization=None, status: int = 200) -> tuple[str, int]:
    return render_template("listings/form.html", kind=kind, kind_title=kind_title(kind), fields=form_fields(kind),
                           values=values, errors=errors, listing=listing, organization=organization,
                           regions=region_choices(), **_operations_context(kind, values)), status


def _brief(op: Any) -> dict[str, Any]:
    catalogue = current_catalogue()
    return {"id": op.id, "name": op.name, "path": " › ".join(o.name for o in catalogue.path(op.id)[:-1]),
            "parameters": ["material_ids" if k == "materials" else k for k in op.parameters]}


@bp.get("/my/listings/operations/search")
@login_required
def operations_search() -> Any:
    """The picker's search-as-you-type over the catalogue (names, synonyms, abbreviations)."""
    q = (request.args.get("q") or "").strip()[:200]
    found = current_catalogue().search(q, limit=15) if q else []
    return jsonify([_brief(op) for op in found])


@bp.get("/my/listings/operations/suggest")
@login_required
def operations_suggest() -> Any:
    """Operations recognised in a listing's title and description, surest first."""
    from matching.parameters import extract_parameters

    text = (request.args.get("text") or "").strip()[:4000]
    catalogue = current_catalogue()
    found = catalogue.recognize(text, top=5) if text else []
    return jsonify({"operations": [{**_brief(catalogue.get(r.operation_id)), "confidence": round(r.confidence, 3),
                                    "matched": r.matched} for r in found],
                    "parameters": extract_parameters(text, catalogue.materials) if text else {}})


@bp.get("/my/listings/materials/search")
@login_required
def materials_search() -> Any:
    """Materials of the list whose name, synonym or grade starts with the typed words."""
    q = (request.args.get("q") or "").strip().lower().replace("ё", "е")[:100]
    out = []
    if q:
        for m in current_catalogue().materials.materials.values():
            texts = [m.name.lower(), *m.synonyms, *(g.lower() for g in m.grades)]
            if any(t.replace("ё", "е").startswith(q) or f" {q}" in t.replace("ё", "е") for t in texts):
                out.append({"id": m.id, "name": m.name, "grades": list(m.grades[:8])})
            if len(out) >= 20:
                break
    return jsonify(out)


@bp.route("/my/listings/new/<kind>", methods=["GET", "POST"])
@permissions.organization_required
def create(kind: str) -> Any:
    listing_kind = _kind_or_404(kind)
    org = _organization()
    assert org is not None
    if not permissions.can_create_listing(current_user, org):
        abort(404)
    if request.method == "GET":
        return _render_form(listing_kind, {"currency": "RUB"}, {}, organization=org)
    data = request.form.to_dict()
    data["status"] = "draft" if request.form.get("action") == "draft" else "active"
    data.pop("action", None)
    data.pop("org", None)
    try:
        listing = services.create_listing(listing_kind, org, data, current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_form(listing_kind, data, exc.as_dict(), organization=org, status=422)
    services.index_after_commit()
    flash("Черновик сохранён." if listing.status == ListingStatus.DRAFT else "Опубликовано.", "success")
    return redirect(url_for("listings.detail", listing_id=listing.id))


@bp.get("/listings/<int:listing_id>")
@pagecache.public_page(lambda listing_id: [f"listing:{listing_id}"])
def detail(listing_id: int) -> str:
    listing = permissions.listing_or_404(listing_id)
    pagecache.depends_on(f"org:{listing.organization_id}")  # its name, contacts and documents on the page
    from marketplace.matches.views import can_see_matches, matches_context

    matches = matches_context(listing) if can_see_matches(current_user, listing) else {}
    matches.pop("listing", None)
    catalogue = current_catalogue()
    return render_template("listings/detail.html", listing=listing, show_matches=bool(matches), **matches,
                           fields=form_fields(listing.kind)
                           if listing.kind in services.EDITABLE_KINDS else (),
                           record=services.listing_record(listing), kind_title=KIND_TITLES_RU[listing.kind],
                           status_titles=STATUS_TITLES_RU, hidden_reason=services.hidden_reason(listing),
                           operations=[(i, catalogue.get(i)) for i in listing.operation_ids],
                           parameters_text=parameters_in_words(listing.parameters, listing.side, catalogue),
                           can_edit=permissions.can_edit_listing(current_user, listing))


@bp.route("/my/listings/<int:listing_id>/edit", methods=["GET", "POST"])
@login_required
def edit(listing_id: int) -> Any:
    listing = permissions.listing_or_404(listing_id, edit=True)
    if listing.kind not in services.EDITABLE_KINDS:  # tender lots are edited on the tender's pages
        abort(404)
    if request.method == "GET":
        return _render_form(listing.kind, services.listing_record(listing), {}, listing=listing,
                            organization=listing.organization)
    data = request.form.to_dict()
    action = data.pop("action", None)
    if action == "publish":
        data["status"] = "active"
    try:
        services.update_listing(listing, data, current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        listing = permissions.listing_or_404(listing_id, edit=True)
        return _render_form(listing.kind, data, exc.as_dict(), listing=listing, organization=listing.organization,
                            status=422)
    services.index_after_commit()
    flash("Изменения сохранены.", "success")
    return redirect(url_for("listings.detail", listing_id=listing.id))


def _back(listing) -> str:
    return url_for("listings.mine" if listing.side == Side.OFFER else "listings.needs")


@bp.post("/my/listings/<int:listing_id>/archive")
@login_required
def archive(listing_id: int) -> Any:
    listing = permissions.listing_or_404(listing_id, edit=True)
    services.archive_listing(listing, current_user)
    db.session.commit()
    services.index_after_commit()
    flash(f"«{listing.title}» перенесено в архив.", "success")
    return redirect(_back(listing))


@bp.post("/my/listings/<int:listing_id>/renew")
@login_required
def renew(listing_id: int) -> Any:
    listing = permissions.listing_or_404(listing_id, edit=True)
    try:
        services.renew_listing(listing, request.form.get("until", ""), current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        for message in [m for messages in exc.as_dict().values() for m in messages]:
            flash(f"Не удалось продлить: {message}", "danger")
        return redirect(url_for("listings.detail", listing_id=listing_id))
    services.index_after_commit()
    flash(f"«{listing.title}» продлено до {listing.ends_on.strftime('%d.%m.%Y')}.", "success")
    return redirect(_back(listing))


@bp.post("/my/listings/<int:listing_id>/publish")
@login_required
def publish(listing_id: int) -> Any:
    listing = permissions.listing_or_404(listing_id, edit=True)
    try:
        services.publish_listing(listing, current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        for message in [m for messages in exc.as_dict().values() for m in messages]:
            flash(f"Не удалось опубликовать: {message}", "danger")
        return redirect(url_for("listings.detail", listing_id=listing_id))
    services.index_after_commit()
    flash(f"«{listing.title}» опубликовано.", "success")
    return redirect(_back(listing))
