"""An organization's profile, its members and invitations; creating an organization after registration."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace.accounts.models import Invitation, Membership
from marketplace.accounts.services import TokenInvalid
from marketplace.accounts.views import region_choices
from marketplace.core import permissions
from marketplace.core.validation import ValidationFailed
from marketplace.extensions import db
from marketplace.organizations import services

bp = Blueprint("organizations", __name__, url_prefix="/organizations")


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    values: dict[str, Any] = {"kind": "buyer" if current_user.role == "buyer" else "manufacturer"}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            org = services.create_organization(values, current_user)
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.as_dict()
        else:
            flash(f"Организация «{org.name}» создана.", "success")
            return redirect(url_for("organizations.show", organization_id=org.id))
    return render_template("organizations/form.html", values=values, errors=errors, regions=region_choices(),
                           organization=None), (422 if errors else 200)


@bp.get("/<int:organization_id>")
@login_required
def show(organization_id: int) -> str:
    org = permissions.organization_or_404(organization_id)
    manage = permissions.can_edit_organization(current_user, org)
    member = permissions.is_member(current_user, org)
    return render_template("organizations/show.html", organization=org, manage=manage, member=member,
                           members=services.members(org) if member else [],
                           invitations=services.open_invitations(org) if manage else [],
                           kind_titles=services.KIND_TITLES_RU, role_titles=services.ROLE_TITLES_RU)


@bp.route("/<int:organization_id>/edit", methods=["GET", "POST"])
@login_required
def edit(organization_id: int) -> Any:
    org = permissions.organization_or_404(organization_id, edit=True)
    values = services.organization_record(org)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {**values, **request.form.to_dict()}
        try:
            services.update_organization(org, request.form.to_dict(), current_user)
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.as_dict()
            org = permissions.organization_or_404(organization_id, edit=True)
        else:
            flash("Профиль сохранён.", "success")
            return redirect(url_for("organizations.show", organization_id=org.id))
    return render_template("organizations/form.html", values=values, errors=errors, regions=region_choices(),
                           organization=org), (422 if errors else 200)


@bp.post("/<int:organization_id>/invitations")
@login_required
def invite(organization_id: int) -> Any:
    org = permissions.organization_or_404(organization_id, edit=True)
    try:
        invitation, _link = services.invite(org, request.form.get("email"), request.form.get("role"), current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        for messages in exc.as_dict().values():
            for message in messages:
                flash(f"Приглашение не отправлено: {message}", "danger")
    else:
        flash(f"Приглашение отправлено на {invitation.email}.", "success")
    return redirect(url_for("organizations.show", organization_id=organization_id))


@bp.post("/<int:organization_id>/invitations/<int:invitation_id>/revoke")
@login_required
def revoke(organization_id: int, invitation_id: int) -> Any:
    org = permissions.organization_or_404(organization_id, edit=True)
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.organization_id != org.id:
        abort(404)
    services.revoke_invitation(invitation, current_user)
    db.session.commit()
    flash("Приглашение отозвано.", "info")
    return redirect(url_for("organizations.show", organization_id=org.id))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@login_required
def accept_invitation(token: str) -> Any:
    try:
        invitation = services.invitation_from_token(token)
    except TokenInvalid as exc:
        flash(f"Приглашение не действует: {exc}.", "danger")
        return redirect(url_for("showcase.index"))
    if request.method == "POST":
        try:
            services.accept_invitation(token, current_user)
            db.session.commit()
        except TokenInvalid as exc:
            db.session.rollback()
            flash(f"Приглашение не действует: {exc}.", "danger")
            return redirect(url_for("showcase.index"))
        flash(f"Вы присоединились к организации «{invitation.organization.name}».", "success")
        return redirect(url_for("organizations.show", organization_id=invitation.organization_id))
    return render_template("organizations/accept.html", invitation=invitation, token=token,
                           role_titles=services.ROLE_TITLES_RU)


def _membership_or_404(org_id: int, membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.organization_id != org_id:
        abort(404)
    return membership


@bp.post("/<int:organization_id>/members/<int:membership_id>/role")
@login_required
def member_role(organization_id: int, membership_id: int) -> Any:
    org = permissions.organization_or_404(organization_id, edit=True)
    membership = _membership_or_404(org.id, membership_id)
    try:
        services.change_member_role(membership, request.form.get("role"), current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        flash("; ".join(m for ms in exc.as_dict().values() for m in ms), "danger")
    return redirect(url_for("organizations.show", organization_id=org.id))


@bp.post("/<int:organization_id>/members/<int:membership_id>/remove")
@login_required
def member_remove(organization_id: int, membership_id: int) -> Any:
    org = permissions.organization_or_404(organization_id, edit=True)
    membership = _membership_or_404(org.id, membership_id)
    try:
        services.remove_member(membership, current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        flash("; ".join(m for ms in exc.as_dict().values() for m in ms), "danger")
    return redirect(url_for("organizations.show", organization_id=org.id))


def persons_from_form(form: Any) -> list[dict[str, str]]:
    """Contact persons from the rows ``contacts-<i>-<field>`` of the contacts form, in row order."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        parts = key.split("-")
        if len(parts) == 3 and parts[0] == "contacts" and parts[1].isdigit():
            rows.setdefault(int(parts[1]), {})[parts[2]] = value
    return [rows[i] for i in sorted(rows)]


@bp.route("/<int:organization_id>/contacts", methods=["GET", "POST"])
@login_required
def contacts(organization_id: int) -> Any:
    """Every member of the organization edits its contacts (phone, e-mail, website, address, contact persons)."""
    from marketplace.organizations import contacts as contact_services

    org = permissions.organization_or_404(organization_id)
    if not permissions.is_member(current_user, org):
        abort(404)
    values = contact_services.contacts_record(org)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {**request.form.to_dict(), "contacts": persons_from_form(request.form)}
        try:
            contact_services.update_contacts(org, values, current_user)
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.as_dict()
            org = permissions.organization_or_404(organization_id)
        else:
            flash("Контакты сохранены.", "success")
            return redirect(url_for("organizations.show", organization_id=org.id))
    persons = list(values.get("contacts") or [])
    persons += [{} for _ in range(max(2, 3 - len(persons)))]
    return render_template("organizations/contacts.html", organization=org, values=values, errors=errors,
                           persons=persons[:contact_services.MAX_PERSONS + 2]), (422 if errors else 200)


@bp.app_template_global("contact_card")
def contact_card_global(organization: Any) -> Any:
    """``contact_card(org)`` in templates: the contacts the current user may see."""
    from marketplace.organizations.contacts import contact_card

    return contact_card(current_user, organization)
