"""Organization profile, members and invitations; who may see and change them."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from marketplace.accounts.models import Invitation, Membership, MembershipRole, UserRole
from marketplace.core.models import AuditLog, utcnow
from marketplace.organizations.models import Organization
from marketplace.organizations.validators import make_ogrn
from tests.web.conftest import login, page_text, submit


def owner_of(factories, **org_fields):
    org = factories.organization(**{"region": "27", **org_fields})
    return org, factories.user(organization=org, email_confirmed_at=utcnow())


def test_create_organization_after_registration(client, db, factories):
    user = factories.user(role=UserRole.BUYER)
    login(client, user)
    tax_id = factories.inn("25")
    response = submit(client, "/organizations/new", {"tax_id": tax_id, "name": "АО «Приморский заказчик»",
                                                     "kind": "buyer", "region": "25", "town": "Владивосток"})
    assert response.status_code == 302
    org = db.session.scalar(select(Organization).where(Organization.tax_id == tax_id))
    assert org.region_code == "25" and org.town.name == "Владивосток"
    membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert membership.organization_id == org.id and membership.role == MembershipRole.OWNER


def test_profile_edit_validates_ogrn_and_town_and_keeps_input(client, db, factories):
    org, owner = owner_of(factories, name="ООО «Старое имя»")
    login(client, owner)
    url = f"/organizations/{org.id}/edit"
    response = submit(client, url, {"name": "ООО «Новое имя»", "ogrn": "1027700132194", "kind": "both",
                                    "region": "27", "town": "Атлантида"})
    assert response.status_code == 422
    page = page_text(response)
    assert 'data-field="ogrn"' in page and "контрольная сумма ОГРН" in page
    assert 'data-field="town"' in page and "Атлантида" in page and "Новое имя" in page
    db.session.refresh(org)
    assert org.name == "ООО «Старое имя»"

    ogrn = make_ogrn("102270013219")
    response = submit(client, url, {"name": "ООО «Новое имя»", "ogrn": ogrn, "kind": "both", "region": "27",
                                    "town": "Комсомольск-на-Амуре", "tax_id": "0000000000"})
    assert response.status_code == 302
    db.session.refresh(org)
    assert org.name == "ООО «Новое имя»" and org.ogrn == ogrn and org.town.name == "Комсомольск-на-Амуре"
    assert org.tax_id != "0000000000"  # the ИНН is the organization's identity
    entry = db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "organization",
                                                      AuditLog.entity_id == str(org.id),
                                                      AuditLog.action == "update")).one()
    assert entry.changes["name"] == ["ООО «Старое имя»", "ООО «Новое имя»"] and entry.user_id == owner.id


def test_invitation_flow(client, db, factories, mail_log):
    org, owner = owner_of(factories, name="ООО «Команда»")
    login(client, owner)
    page = page_text(client.get(f"/organizations/{org.id}"))
    assert "Пригласить" in page
    response = submit(client, f"/organizations/{org.id}", {"email": "Новый@Zavod.ru", "role": "admin"},
                      action=f"/organizations/{org.id}/invitations")
    assert response.status_code == 302
    invitation = db.session.scalar(select(Invitation).where(Invitation.organization_id == org.id))
    assert invitation.email == "новый@zavod.ru" and invitation.role == MembershipRole.ADMIN
    [link] = mail_log()
    accept_path = re.sub(r"^https?://[^/]+", "", link)

    # Someone else cannot use it.
    stranger = factories.user(email_confirmed_at=utcnow())
    login(client, stranger)
    response = submit(client, accept_path)
    assert response.status_code == 302
    assert db.session.scalar(select(Membership).where(Membership.user_id == stranger.id)) is None

    invitee = factories.user()
    invitee.email = "новый@zavod.ru"
    login(client, invitee)
    assert "ООО «Команда»" in page_text(client.get(accept_path)).replace("&#34;", '"')
    response = submit(client, accept_path)
    assert response.status_code == 302
    membership = db.session.scalar(select(Membership).where(Membership.user_id == invitee.id))
    assert membership.organization_id == org.id and membership.role == MembershipRole.ADMIN
    db.session.refresh(invitee)
    assert invitee.is_confirmed  # the link came through the mailbox
    # Used once.
    response = client.get(accept_path)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_roles_and_the_last_owner(client, db, factories):
    org, owner = owner_of(factories)
    member = factories.user()
    db.session.add(Membership(user=member, organization=org, role=MembershipRole.MEMBER))
    db.session.flush()
    # A plain member sees the members but may not manage them.
    login(client, member)
    page = page_text(client.get(f"/organizations/{org.id}"))
    assert owner.email in page and "Пригласить" not in page
    assert client.get(f"/organizations/{org.id}/edit").status_code == 404

    login(client, owner)
    own = db.session.scalar(select(Membership).where(Membership.user_id == owner.id))
    response = submit(client, f"/organizations/{org.id}", {"role": "member"},
                      action=f"/organizations/{org.id}/members/{own.id}/role")
    assert response.status_code == 302
    db.session.refresh(own)
    assert own.role == MembershipRole.OWNER  # the last owner stays
    theirs = db.session.scalar(select(Membership).where(Membership.user_id == member.id))
    submit(client, f"/organizations/{org.id}", {}, action=f"/organizations/{org.id}/members/{theirs.id}/remove")
    assert db.session.scalar(select(Membership).where(Membership.user_id == member.id)) is None


@pytest.mark.parametrize("visitor,expected", [("anonymous", "login"), ("owner", 200), ("other", 404),
                                              ("coordinator", 404), ("admin", 200)])
def test_edit_page_matrix(client, factories, visitor, expected):
    org, owner = owner_of(factories)
    _other_org, other = owner_of(factories)
    users = {"anonymous": None, "owner": owner, "other": other,
             "coordinator": factories.user(role=UserRole.COORDINATOR, regions=["27"]),
             "admin": factories.user(role=UserRole.ADMIN)}
    login(client, users[visitor])
    response = client.get(f"/organizations/{org.id}/edit")
    if expected == "login":
        assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    else:
        assert response.status_code == expected


def test_another_organization_cannot_invite_or_revoke(client, db, factories):
    org, owner = owner_of(factories)
    _other_org, other = owner_of(factories)
    invitation = Invitation(organization_id=org.id, email="x@zavod.ru", role=MembershipRole.MEMBER,
                            invited_by_id=owner.id, expires_at=utcnow())
    db.session.add(invitation)
    db.session.flush()
    login(client, other)
    token_page = "/account/password"
    response = submit(client, token_page, {"email": "spy@zavod.ru"}, action=f"/organizations/{org.id}/invitations")
    assert response.status_code == 404
    response = submit(client, token_page, {}, action=f"/organizations/{org.id}/invitations/{invitation.id}/revoke")
    assert response.status_code == 404
    assert db.session.scalar(select(Invitation).where(Invitation.email == "spy@zavod.ru")) is None


def test_only_an_owner_grants_or_takes_ownership(client, db, factories):
    org, owner = owner_of(factories)
    admin = factories.user()
    db.session.add(Membership(user=admin, organization=org, role=MembershipRole.ADMIN))
    db.session.flush()
    own = db.session.scalar(select(Membership).where(Membership.user_id == admin.id))
    login(client, admin)
    response = submit(client, f"/organizations/{org.id}", {"role": "owner"},
                      action=f"/organizations/{org.id}/members/{own.id}/role")
    assert response.status_code == 302
    db.session.refresh(own)
    assert own.role == MembershipRole.ADMIN
    login(client, owner)
    submit(client, f"/organizations/{org.id}", {"role": "owner"}, action=f"/organizations/{org.id}/members/{own.id}/role")
    db.session.refresh(own)
    assert own.role == MembershipRole.OWNER
