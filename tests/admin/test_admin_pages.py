"""/admin: only administrators (others 404, anonymous to the login page), CSRF on every form, every change audited."""
from __future__ import annotations

import pytest

from marketplace.accounts.models import UserRole
from marketplace.core.models import AuditLog
from tests.web.conftest import form_token, login, page_text, submit

PAGES = ["/admin/", "/admin/users", "/admin/organizations", "/admin/audit"]


@pytest.mark.parametrize("role", [UserRole.MANUFACTURER, UserRole.BUYER, UserRole.COORDINATOR])
def test_only_admins_reach_admin_pages(client, factories, role):
    victim = factories.user()
    login(client, factories.user(role=role, regions=["27"] if role == UserRole.COORDINATOR else None))
    for url in PAGES:
        assert client.get(url).status_code == 404, url
    token = form_token(client, "/account/password")  # a valid token: the refusal is the role's, not CSRF's
    assert client.post(f"/admin/users/{victim.id}/block", data={"csrf_token": token}).status_code == 404
    assert victim.is_active


def test_anonymous_goes_to_login(client, db):
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_search_and_filters(client, factories):
    admin = factories.user(role=UserRole.ADMIN)
    buyer = factories.user(role=UserRole.BUYER)
    buyer.full_name = "Иван Закупкин"
    other = factories.user(role=UserRole.MANUFACTURER)
    login(client, admin)
    page = page_text(client.get("/admin/users?q=закупкин"))
    assert buyer.email in page and other.email not in page and "Найдено: 1" in page
    page = page_text(client.get("/admin/users?role=manufacturer"))
    assert other.email in page and buyer.email not in page
    assert 'href="/admin/users"' in page_text(client.get("/"))  # the menu links the admin pages


def test_block_unblock_and_reset_end_sessions_and_are_audited(client, db, factories, app):
    admin = factories.user(role=UserRole.ADMIN)
    user = factories.user()
    old_hash = user.password_hash
    login(client, admin)
    response = submit(client, "/admin/users", action=f"/admin/users/{user.id}/block")
    assert response.status_code == 302 and not user.is_active
    response = submit(client, "/admin/users", action=f"/admin/users/{user.id}/unblock")
    assert response.status_code == 302 and user.is_active
    response = submit(client, "/admin/users", action=f"/admin/users/{user.id}/reset")
    assert response.status_code == 302 and user.password_hash != old_hash
    actions = [a for (a,) in db.session.query(AuditLog.action).filter_by(entity_type="user", entity_id=str(user.id))]
    assert {"admin.block", "admin.unblock", "admin.reset_password"} <= set(actions)
    page = page_text(client.get(f"/admin/audit?entity_type=user&entity_id={user.id}&action=admin."))
    assert "admin.block" in page and "admin.reset_password" in page and "Записей: 3" in page


def test_admin_cannot_block_or_demote_themselves(client, factories):
    admin = factories.user(role=UserRole.ADMIN)
    login(client, admin)
    response = submit(client, "/admin/users", action=f"/admin/users/{admin.id}/block", follow=True)
    assert "нельзя заблокировать собственную" in page_text(response) and admin.is_active
    response = submit(client, "/admin/users", {"role": "buyer"}, action=f"/admin/users/{admin.id}/role", follow=True)
    assert "нельзя снять с себя роль" in page_text(response) and admin.role == UserRole.ADMIN


def test_appoint_coordinator_of_a_district_who_then_acts_only_there(client, db, factories):
    admin = factories.user(role=UserRole.ADMIN)
    user = factories.user()
    login(client, admin)
    response = submit(client, "/admin/users", {"regions": "27, 25"}, action=f"/admin/users/{user.id}/regions")
    assert response.status_code == 302
    assert user.role == UserRole.COORDINATOR and user.region_codes == {"27", "25"}
    response = submit(client, "/admin/users", {"regions": "27 ZZ"}, action=f"/admin/users/{user.id}/regions",
                      follow=True)
    assert "«ZZ»" in page_text(response) and user.region_codes == {"27", "25"}  # nothing half-saved
    inside = factories.organization(region="27")
    outside = factories.organization(region="77")
    login(client, user)
    page = page_text(client.get("/coordinator/organizations"))
    assert inside.name in page and outside.name not in page
    assert client.get("/admin/users").status_code == 404


def test_role_change_validated_and_audited(client, db, factories):
    admin = factories.user(role=UserRole.ADMIN)
    user = factories.user(role=UserRole.COORDINATOR, regions=["27"])
    login(client, admin)
    response = submit(client, "/admin/users", {"role": "king"}, action=f"/admin/users/{user.id}/role", follow=True)
    assert "выберите роль" in page_text(response) and user.role == UserRole.COORDINATOR
    response = submit(client, "/admin/users", {"role": "buyer"}, action=f"/admin/users/{user.id}/role")
    assert response.status_code == 302 and user.role == UserRole.BUYER and user.regions == []
    assert db.session.query(AuditLog).filter_by(action="admin.role", entity_id=str(user.id)).count() == 1


def test_forms_need_the_csrf_token(client, factories):
    login(client, factories.user(role=UserRole.ADMIN))
    user = factories.user()
    response = client.post(f"/admin/users/{user.id}/block", data={})
    assert response.status_code == 400 and user.is_active


def test_verify_and_block_an_organization(client, db, factories):
    admin = factories.user(role=UserRole.ADMIN)
    org = factories.organization(region="27")
    login(client, admin)
    page = page_text(client.get(f"/admin/organizations?q={org.tax_id}"))
    assert f'data-organization-id="{org.id}"' in page and "Найдено: 1" in page
    url = f"/admin/organizations?q={org.tax_id}"
    assert submit(client, url, action=f"/admin/organizations/{org.id}/verify").status_code == 302 and org.verified
    assert submit(client, url, action=f"/admin/organizations/{org.id}/block").status_code == 302 and org.archived
    assert submit(client, url, action=f"/admin/organizations/{org.id}/unblock").status_code == 302
    assert not org.archived
    actions = {a for (a,) in db.session.query(AuditLog.action).filter_by(entity_type="organization",
                                                                         entity_id=str(org.id))}
    assert actions == {"admin.verify", "admin.block", "admin.unblock"}
    assert client.post(f"/admin/organizations/{org.id}/explode", data={}).status_code in (400, 404)
