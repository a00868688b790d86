"""Organizations: profile, members and invitations. Services validate, change the session, audit and ``flush()``;
the caller commits."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import url_for
from sqlalchemy import func, select

from marketplace.accounts.models import Invitation, Membership, MembershipRole, User
from marketplace.core.audit import record_audit
from marketplace.core.models import utcnow
from marketplace.core.validation import FieldError, FieldParser, ValidationFailed
from marketplace.extensions import db
from marketplace.listings.fields import DbReference, parse_place
from marketplace.organizations.models import Organization, OrganizationKind
from marketplace.organizations.validators import inn_error, ogrn_error

log = logging.getLogger(__name__)

KIND_TITLES_RU = {"manufacturer": "производитель", "buyer": "заказчик", "both": "производитель и заказчик"}
ROLE_TITLES_RU = {"owner": "владелец", "admin": "администратор", "member": "участник"}
PROFILE_FIELDS = ("name", "tax_id", "ogrn", "kind", "region", "town", "address", "description", "website", "email",
                  "phone")
EDITABLE_COLUMNS = ("name", "ogrn", "kind", "region_code", "town_id", "address", "description", "website", "email",
                    "phone", "lat", "lon")


def parse_organization_fields(p: FieldParser, data: Mapping[str, Any], *, default_kind: str | None = None,
                              tax_id_required: bool = True) -> dict[str, Any]:
    """The profile fields of a Russian organization (ИНН with its checksum, ОГРН, name, kind, region and town…)."""
    tax_id = p.text("tax_id", data.get("tax_id"), required=tax_id_required, max_length=12)
    if tax_id:
        problem = inn_error(tax_id)
        if problem:
            p.error("tax_id", problem)
    ogrn = p.text("ogrn", data.get("ogrn"), max_length=15)
    if ogrn:
        problem = ogrn_error(ogrn)
        if problem:
            p.error("ogrn", problem)
    name = p.text("name", data.get("name"), required=True, max_length=300)
    kind = p.choice("kind", data.get("kind"), {k.value for k in OrganizationKind}, required=True, default=default_kind)
    region, town_id, lat, lon = parse_place(p, data, DbReference(), "RU", required_region=True)
    from marketplace.organizations.contacts import parse_email, parse_phone, parse_website

    email = parse_email(p, "email", data.get("email"))
    website = parse_website(p, "website", data.get("website"))
    return {"tax_id": tax_id, "ogrn": ogrn, "name": name, "kind": kind, "region_code": region, "town_id": town_id,
            "lat": lat, "lon": lon, "address": p.text("address", data.get("address"), max_length=1000),
            "description": p.text("description", data.get("description"), max_length=10000), "website": website,
            "email": email, "phone": parse_phone(p, "phone", data.get("phone"))}


TAX_ID_TAKEN = ("организация с этим ИНН уже зарегистрирована; попросите её владельца или администратора прислать вам "
                "приглашение")


def organization_by_tax_id(tax_id: str, country_code: str = "RU") -> Organization | None:
    return db.session.scalar(select(Organization).where(Organization.country_code == country_code,
                                                        Organization.tax_id == tax_id))


def create_organization(data: Mapping[str, Any], user: User) -> Organization:
    """Create a Russian organization from raw profile fields (or already parsed ones) with ``user`` as its owner."""
    values = dict(data)
    if "region_code" not in values:  # raw form data
        p = FieldParser()
        values = parse_organization_fields(p, data)
        if p.errors:
            raise ValidationFailed(p.errors)
    if organization_by_tax_id(values["tax_id"]) is not None:
        raise ValidationFailed([FieldError("tax_id", TAX_ID_TAKEN)])
    org = Organization(country_code="RU", tax_id=values["tax_id"], kind=OrganizationKind(values["kind"]),
                       verified=False, archived=False, **{c: values[c] for c in EDITABLE_COLUMNS if c != "kind"})
    db.session.add(org)
    db.session.flush()
    db.session.add(Membership(user_id=user.id, organization_id=org.id, role=MembershipRole.OWNER))
    db.session.flush()
    db.session.refresh(user, ["memberships"])
    record_audit("create", "organization", org.id, {c: values[c] for c in ("tax_id", "name", "kind", "region_code")},
                 user_id=user.id)
    log.info("organization %s created by user %s", org.id, user.id)
    return org


def update_organization(org: Organization, data: Mapping[str, Any], user: User) -> Organization:
    """Change the profile; the ИНН is the organization's identity and is not changed here. A changed profile of a
    verified organization stays verified (the coordinator sees the change in the audit trail)."""
    p = FieldParser()
    values = parse_organization_fields(p, {**organization_record(org), **dict(data), "tax_id": org.tax_id})
    if p.errors:
        raise ValidationFailed(p.errors)
    values["kind"] = OrganizationKind(values["kind"])
    changes: dict[str, Any] = {}
    for column in EDITABLE_COLUMNS:
        before = getattr(org, column)
        if before != values[column]:
            changes[column] = [before, values[column]]
            setattr(org, column, values[column])
    if changes:
        record_audit("update", "organization", org.id, changes, user_id=user.id)
    db.session.flush()
    return org


def organization_record(org: Organization) -> dict[str, Any]:
    """The profile as raw form values."""
    return {"name": org.name, "tax_id": org.tax_id, "ogrn": org.ogrn or "", "kind": org.kind.value,
            "region": org.region_code or "", "town": org.town.name if org.town else "", "address": org.address or "",
            "description": org.description or "", "website": org.website or "", "email": org.email or "",
            "phone": org.phone or ""}


def members(org: Organization) -> list[Membership]:
    return list(db.session.scalars(select(Membership).where(Membership.organization_id == org.id)
                                   .join(User).order_by(Membership.role, User.full_name)))


def open_invitations(org: Organization) -> list[Invitation]:
    now = utcnow()
    return [i for i in db.session.scalars(select(Invitation).where(
        Invitation.organization_id == org.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .order_by(Invitation.created_at.desc())) if _aware(i.expires_at) > now]


def invite(org: Organization, email: object, role: object, by: User) -> tuple[Invitation, str]:
    """Invite someone by e-mail; returns the invitation and its link (also e-mailed, or logged without SMTP)."""
    from marketplace.accounts.services import INVITE_MAX_AGE, _parse_email, make_token, send_account_email

    p = FieldParser()
    address = _parse_email(p, "email", email)
    role_value = p.choice("role", role, {MembershipRole.ADMIN.value, MembershipRole.MEMBER.value},
                          default=MembershipRole.MEMBER.value)
    if address and db.session.scalar(select(Membership.id).join(User).where(
            Membership.organization_id == org.id, func.lower(User.email) == address)):
        p.error("email", "этот пользователь уже состоит в организации")
    if p.errors:
        raise ValidationFailed(p.errors)
    assert address and role_value
    invitation = Invitation(organization_id=org.id, email=address, role=MembershipRole(role_value),
                            invited_by_id=by.id, expires_at=utcnow() + timedelta(seconds=INVITE_MAX_AGE))
    db.session.add(invitation)
    db.session.flush()
    record_audit("invite", "organization", org.id, {"email": address, "role": role_value, "invitation": invitation.id},
                 user_id=by.id)
    link = url_for("organizations.accept_invitation", token=make_token("invite", {"inv": invitation.id}),
                   _external=True)
    send_account_email(address, f"Космос: приглашение в организацию «{org.name}»",
                       f"{by.full_name} приглашает вас в организацию «{org.name}» на платформе Космос.\n"
                       f"Принять приглашение: {link}\n", link=link)
    return invitation, link


def invitation_from_token(token: str) -> Invitation:
    from marketplace.accounts.services import INVITE_MAX_AGE, TokenInvalid, read_token

    payload = read_token("invite", token, INVITE_MAX_AGE)
    invitation = db.session.get(Invitation, payload.get("inv"))
    if invitation is None or not invitation.is_open:
        raise TokenInvalid("приглашение недействительно, отозвано или уже принято")
    return invitation


def accept_invitation(token: str, user: User) -> Membership:
    """The invited person (logged in with the invited address) joins the organization with the invited role."""
    from marketplace.accounts.services import TokenInvalid, add_membership

    invitation = invitation_from_token(token)
    if invitation.email.lower() != user.email.lower():
        raise TokenInvalid(f"приглашение отправлено на другой адрес ({invitation.email})")
    membership = add_membership(user, invitation.organization_id, invitation.role,
                                by=db.session.get(User, invitation.invited_by_id) if invitation.invited_by_id else None)
    invitation.accepted_at = utcnow()
    invitation.accepted_by_id = user.id
    if user.email_confirmed_at is None:  # the link came through the mailbox
        user.email_confirmed_at = utcnow()
    record_audit("accept_invitation", "organization", invitation.organization_id,
                 {"invitation": invitation.id, "role": invitation.role.value}, user_id=user.id)
    db.session.flush()
    return membership


def revoke_invitation(invitation: Invitation, by: User) -> Invitation:
    if invitation.revoked_at is None and invitation.accepted_at is None:
        invitation.revoked_at = utcnow()
        record_audit("revoke_invitation", "organization", invitation.organization_id,
                     {"invitation": invitation.id, "email": invitation.email}, user_id=by.id)
        db.session.flush()
    return invitation


def change_member_role(membership: Membership, role: object, by: User) -> Membership:
    p = FieldParser()
    value = p.choice("role", role, {r.value for r in MembershipRole}, required=True)
    if p.errors:
        raise ValidationFailed(p.errors)
    new = MembershipRole(value)
    from marketplace.core.permissions import is_admin, membership_role

    if (MembershipRole.OWNER in (new, membership.role) and new != membership.role and not is_admin(by)
            and membership_role(by, membership.organization_id) != MembershipRole.OWNER):
        raise ValidationFailed([FieldError("role", "назначать и снимать владельцев может только владелец")])
    if membership.role == MembershipRole.OWNER and new != MembershipRole.OWNER and _owners(membership) <= 1:
        raise ValidationFailed([FieldError("role", "в организации должен остаться хотя бы один владелец")])
    if new != membership.role:
        record_audit("update", "membership", membership.id, {"role": [membership.role.value, new.value]},
                     user_id=by.id)
        membership.role = new
        db.session.flush()
    return membership


def remove_member(membership: Membership, by: User) -> None:
    if membership.role == MembershipRole.OWNER and _owners(membership) <= 1:
        raise ValidationFailed([FieldError("role", "нельзя удалить единственного владельца")])
    record_audit("delete", "membership", membership.id,
                 {"user_id": membership.user_id, "organization_id": membership.organization_id}, user_id=by.id)
    db.session.delete(membership)
    db.session.flush()


def _owners(membership: Membership) -> int:
    return db.session.scalar(select(func.count(Membership.id)).where(
        Membership.organization_id == membership.organization_id, Membership.role == MembershipRole.OWNER)) or 0


def _aware(value: Any) -> Any:
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)
