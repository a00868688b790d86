"""Community pages: the list, a community with its members, joining and leaving, the owner's approvals and
invitations, and the showcase of the members' offers. Secret communities are 404 for outsiders."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import SelectChoice

from marketplace.communities import services
from marketplace.communities.forms import CommunityForm, InviteForm, OrganizationActionForm
from marketplace.communities.models import Community, MemberStatus
from marketplace.core.permissions import can_edit_organization, organization_ids
from marketplace.core.validation import FieldError, ValidationFailed
from marketplace.extensions import db
from marketplace.geo.models import Region
from marketplace.listings.models import KIND_TITLES_RU
from marketplace.organizations.models import Organization
from marketplace.tenders.forms import apply_errors, raw

bp = Blueprint("communities", __name__, url_prefix="/communities")

Page = str | WerkzeugResponse


def _my_organizations(manage_only: bool = False) -> list[Organization]:
    ids = organization_ids(current_user)
    orgs = list(db.session.scalars(select(Organization).where(Organization.id.in_(ids))
                                   .order_by(Organization.name))) if ids else []
    return [o for o in orgs if can_edit_organization(current_user, o)] if manage_only else orgs


@bp.get("/")
def index() -> Page:
    communities = list(db.session.scalars(services.visible_communities_query(current_user)))
    mine_ids = organization_ids(current_user)
    status = {}
    for community in communities:
        for m in community.members:
            if m.organization_id in mine_ids:
                status[community.id] = m.status.value
    return render_template("communities/index.html", communities=communities, status=status,
                           kinds=services.KIND_TITLES_RU, accesses=services.ACCESS_TITLES_RU)


def _form_choices(form: CommunityForm, owners: list[Organization]) -> None:
    form.owner_id.choices = [SelectChoice(str(o.id), o.name) for o in owners]
    form.region.choices = [SelectChoice("", _("— без региона —"))] + [
        SelectChoice(r.code, r.name) for r in db.session.scalars(select(Region).order_by(Region.name))]


def _values(form: CommunityForm) -> dict[str, Any]:
    return {name: raw(form, name) for name in ("name", "kind", "access", "description", "region")}


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Page:
    owners = _my_organizations(manage_only=True)
    if not owners:
        flash(_("Создать сообщество может владелец или администратор организации."), "warning")
        return redirect(url_for("communities.index"))
    form = CommunityForm()
    _form_choices(form, owners)
    if form.validate_on_submit():
        owner = next((o for o in owners if o.id == form.owner_id.data), None)
        try:
            if owner is None:
                raise ValidationFailed([FieldError("owner_id", _("выберите организацию"))])
            community = services.create_community(owner, user=current_user, **_values(form))
        except ValidationFailed as exc:
            db.session.rollback()
            for message in apply_errors(form, exc):
                flash(message, "danger")
        else:
            db.session.commit()
            flash(_("Сообщество создано."), "success")
            return redirect(url_for("communities.show", community_id=community.id))
    return render_template("communities/form.html", form=form, community=None)


@bp.route("/<int:community_id>/edit", methods=["GET", "POST"])
@login_required
def edit(community_id: int) -> Page:
    community = services.community_or_404(community_id, manage=True)
    form = CommunityForm(obj=None if request.method == "POST" else community)
    _form_choices(form, [community.owner])
    if request.method == "GET":
        form.kind.data, form.access.data = community.kind.value, community.access.value
        form.region.data = community.region_code or ""
    if form.validate_on_submit():
        try:
            services.update_community(community, user=current_user, **_values(form))
        except ValidationFailed as exc:
            db.session.rollback()
            for message in apply_errors(form, exc):
                flash(message, "danger")
        else:
            db.session.commit()
            flash(_("Сообщество сохранено."), "success")
            return redirect(url_for("communities.show", community_id=community.id))
    return render_template("communities/form.html", form=form, community=community)


@bp.get("/<int:community_id>")
def show(community_id: int) -> Page:
    community = services.community_or_404(community_id)
    mine = _my_organizations()
    memberships = {m.organization_id: m for m in community.members}
    return render_template("communities/show.html", community=community, members=services.active_members(community),
                           pending=services.pending_members(community) if services.can_manage_community(
                               current_user, community) else [],
                           manage=services.can_manage_community(current_user, community),
                           mine=mine, memberships=memberships, action_form=OrganizationActionForm(),
                           invite_form=InviteForm(), kinds=services.KIND_TITLES_RU,
                           accesses=services.ACCESS_TITLES_RU, MemberStatus=MemberStatus)


@bp.get("/<int:community_id>/showcase")
def showcase(community_id: int) -> Page:
    community = services.community_or_404(community_id)
    return render_template("communities/showcase.html", community=community, offers=services.member_offers(community),
                           kind_titles=KIND_TITLES_RU)


def _act(community: Community, operation: Any, done: str) -> WerkzeugResponse:
    form = OrganizationActionForm()
    if not form.validate_on_submit():
        flash(_("Форма устарела: отправьте её ещё раз."), "danger")
    else:
        try:
            operation()
        except ValidationFailed as exc:
            db.session.rollback()
            for field_error in exc.errors:
                flash(field_error.message, "danger")
        else:
            db.session.commit()
            flash(done, "success")
    if services.can_view_community(current_user, community):
        return redirect(url_for("communities.show", community_id=community.id))
    return redirect(url_for("communities.index"))


def _own_organization() -> Organization:
    """The organization the user acts for: one of theirs, named in the form."""
    org_id = request.form.get("organization_id", type=int)
    if org_id is None or org_id not in organization_ids(current_user):
        abort(404)
    return db.session.get(Organization, org_id)


def _member_organization(community: Community) -> Organization:
    org_id = request.form.get("organization_id", type=int)
    if org_id is None or services.membership(community, org_id) is None:
        abort(404)
    return db.session.get(Organization, org_id)


@bp.post("/<int:community_id>/join")
@login_required
def join(community_id: int) -> Page:
    community = services.community_or_404(community_id)
    org = _own_organization()
    return _act(community, lambda: services.join_community(community, org, user=current_user),
                _("Готово: %(org)s — участник или подал(а) заявку.", org=org.name))


@bp.post("/<int:community_id>/leave")
@login_required
def leave(community_id: int) -> Page:
    community = services.community_or_404(community_id)
    org = _own_organization()
    return _act(community, lambda: services.remove_member(community, org, user=current_user),
                _("Организация вышла из сообщества."))


@bp.post("/<int:community_id>/approve")
@login_required
def approve(community_id: int) -> Page:
    community = services.community_or_404(community_id, manage=True)
    org = _member_organization(community)
    return _act(community, lambda: services.approve_member(community, org, user=current_user),
                _("Заявка одобрена."))


@bp.post("/<int:community_id>/remove")
@login_required
def remove(community_id: int) -> Page:
    community = services.community_or_404(community_id, manage=True)
    org = _member_organization(community)
    return _act(community, lambda: services.remove_member(community, org, user=current_user),
                _("Организация исключена."))


@bp.post("/<int:community_id>/invite")
@login_required
def invite(community_id: int) -> Page:
    community = services.community_or_404(community_id, manage=True)
    form = InviteForm()
    if not form.validate_on_submit():
        flash(_("Форма устарела: отправьте её ещё раз."), "danger")
        return redirect(url_for("communities.show", community_id=community.id))
    tax_id = (raw(form, "tax_id") or "").strip()
    org = db.session.scalar(select(Organization).where(Organization.tax_id == tax_id,
                                                       Organization.archived.is_(False))) if tax_id else None
    if org is None:
        flash(_("Организация с ИНН %(tax_id)s не найдена.", tax_id=tax_id or "—"), "danger")
        return redirect(url_for("communities.show", community_id=community.id))
    try:
        services.invite_organization(community, org, user=current_user)
    except ValidationFailed as exc:
        db.session.rollback()
        for field_error in exc.errors:
            flash(field_error.message, "danger")
    else:
        db.session.commit()
        flash(_("Приглашение отправлено: %(org)s.", org=org.name), "success")
    return redirect(url_for("communities.show", community_id=community.id))
