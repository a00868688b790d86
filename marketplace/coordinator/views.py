"""The coordinator's desk: the regions in scope, their organizations (verification), open needs and listing
moderation. Coordinators see their regions (``User.regions``), admins all; objects elsewhere are 404."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from marketplace.accounts.models import UserRole
from marketplace.coordinator import services
from marketplace.coordinator.forms import CoordinatorActionForm, HideForm
from marketplace.core.paging import paginate
from marketplace.core.permissions import roles_required
from marketplace.core.validation import ValidationFailed
from marketplace.extensions import db
from marketplace.listings.forms import STATUS_TITLES_RU
from marketplace.listings.models import KIND_TITLES_RU, ListingStatus
from marketplace.listings.services import index_after_commit
from marketplace.tenders.forms import apply_errors, raw

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")

Page = str | WerkzeugResponse


def _region_arg() -> str | None:
    return (request.args.get("region") or "").strip() or None


@bp.get("/")
@roles_required(UserRole.COORDINATOR)
def index() -> Page:
    regions = services.scope_region_list(current_user)
    return render_template("coordinator/index.html", regions=regions,
                           counts=services.region_counts(current_user))


@bp.get("/organizations")
@roles_required(UserRole.COORDINATOR)
def organizations() -> Page:
    region = _region_arg()
    unverified = request.args.get("unverified") == "1"
    page = paginate(services.organizations_query(current_user, region=region, unverified_only=unverified),
                    request.args.get("page"))
    return render_template("coordinator/organizations.html", region=region, unverified=unverified,
                           regions=services.scope_region_list(current_user), page=page,
                           organizations=page.items, action_form=CoordinatorActionForm())


@bp.post("/organizations/<int:organization_id>/verify")
@roles_required(UserRole.COORDINATOR)
def verify(organization_id: int) -> Page:
    org = services.organization_in_scope_or_404(organization_id)
    verified = request.form.get("verified", "1") == "1"
    form = CoordinatorActionForm()
    if form.validate_on_submit():
        services.verify_organization(org, user=current_user, verified=verified)
        db.session.commit()
        flash(_("Организация «%(name)s» отмечена как проверенная.", name=org.name) if verified
              else _("Отметка о проверке снята: %(name)s.", name=org.name), "success")
    else:
        flash(_("Форма устарела: отправьте её ещё раз."), "danger")
    return redirect(url_for("coordinator.organizations", region=org.region_code))


@bp.get("/needs")
@roles_required(UserRole.COORDINATOR)
def needs() -> Page:
    region = _region_arg()
    page = paginate(services.open_needs_query(current_user, region=region), request.args.get("page"))
    return render_template("coordinator/needs.html", region=region, regions=services.scope_region_list(current_user),
                           needs=page.items, page=page, kind_titles=KIND_TITLES_RU)


@bp.get("/listings")
@roles_required(UserRole.COORDINATOR)
def listings() -> Page:
    region = _region_arg()
    status_arg = request.args.get("status") or ""
    status = ListingStatus(status_arg) if status_arg in {s.value for s in ListingStatus} else None
    page = paginate(services.listings_query(current_user, region=region, status=status), request.args.get("page"))
    return render_template("coordinator/listings.html", region=region, status=status,
                           regions=services.scope_region_list(current_user), listings=page.items, page=page,
                           kind_titles=KIND_TITLES_RU, status_titles=STATUS_TITLES_RU,
                           action_form=CoordinatorActionForm())


@bp.route("/listings/<int:listing_id>/hide", methods=["GET", "POST"])
@roles_required(UserRole.COORDINATOR)
def hide(listing_id: int) -> Page:
    listing = services.listing_in_scope_or_404(listing_id)
    form = HideForm()
    if form.validate_on_submit():
        try:
            services.hide_listing(listing, reason=raw(form, "reason"), user=current_user)
        except ValidationFailed as exc:
            db.session.rollback()
            for message in apply_errors(form, exc):
                flash(message, "danger")
        else:
            db.session.commit()
            index_after_commit()
            flash(_("Объявление скрыто."), "success")
            return redirect(url_for("coordinator.listings", region=listing.region_code))
    return render_template("coordinator/hide.html", listing=listing, form=form, kind_titles=KIND_TITLES_RU)


@bp.post("/listings/<int:listing_id>/unhide")
@roles_required(UserRole.COORDINATOR)
def unhide(listing_id: int) -> Page:
    listing = services.listing_in_scope_or_404(listing_id)
    form = CoordinatorActionForm()
    if form.validate_on_submit():
        try:
            services.unhide_listing(listing, user=current_user)
        except ValidationFailed as exc:
            db.session.rollback()
            for field_error in exc.errors:
                flash(field_error.message, "danger")
        else:
            db.session.commit()
            index_after_commit()
            flash(_("Объявление снова видно."), "success")
    return redirect(url_for("coordinator.listings", region=listing.region_code))
