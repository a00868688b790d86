"""``cosmos users``: create-admin, grant-coordinator, list; bad arguments are refused naming the argument."""
from __future__ import annotations

from werkzeug.security import check_password_hash

from marketplace.accounts.models import UserRole
from marketplace.accounts.services import user_by_email
from marketplace.core.models import AuditLog
from marketplace.geo.models import FederalDistrict


def test_create_admin_creates_a_confirmed_admin_and_audits(runner, db):
    result = runner.invoke(args=["users", "create-admin", "Boss@Example.ru", "--password", "Секрет-пароль-2026"])
    assert result.exit_code == 0, result.output
    user = user_by_email("boss@example.ru")
    assert user is not None and user.role == UserRole.ADMIN and user.is_confirmed
    assert check_password_hash(user.password_hash, "Секрет-пароль-2026")
    assert db.session.query(AuditLog).filter_by(action="admin.create_admin", entity_id=str(user.id)).count() == 1


def test_create_admin_refuses_a_bad_email_and_a_weak_password(runner, db):
    result = runner.invoke(args=["users", "create-admin", "not-an-email", "--password", "Секрет-пароль-2026"])
    assert result.exit_code == 2 and "EMAIL" in result.output and "not-an-email" in result.output
    result = runner.invoke(args=["users", "create-admin", "new@example.ru", "--password", "123"])
    assert result.exit_code == 2 and "--password" in result.output and "не короче" in result.output
    assert user_by_email("new@example.ru") is None


def test_create_admin_promotes_an_existing_account(runner, factories):
    user = factories.user(role=UserRole.BUYER)
    result = runner.invoke(args=["users", "create-admin", user.email, "--password", "unused"])
    assert result.exit_code == 0, result.output
    assert "Назначен администратором" in result.output
    assert user_by_email(user.email).role == UserRole.ADMIN


def test_grant_coordinator_by_region_and_district(runner, db, factories):
    user = factories.user(role=UserRole.MANUFACTURER)
    result = runner.invoke(args=["users", "grant-coordinator", user.email, "27"])
    assert result.exit_code == 0, result.output
    assert user.role == UserRole.COORDINATOR and user.region_codes == {"27"}
    district = db.session.get(FederalDistrict, "FEFD")
    result = runner.invoke(args=["users", "grant-coordinator", user.email, "fefd"])
    assert result.exit_code == 0, result.output
    assert user.region_codes == {r.code for r in district.regions} and "27" in user.region_codes
    result = runner.invoke(args=["users", "grant-coordinator", "--replace", user.email, "25"])
    assert result.exit_code == 0 and user.region_codes == {"25"}
    actions = db.session.query(AuditLog).filter_by(action="admin.grant_coordinator", entity_id=str(user.id)).count()
    assert actions == 3


def test_grant_coordinator_errors_name_the_argument(runner, factories):
    user = factories.user(role=UserRole.MANUFACTURER)
    result = runner.invoke(args=["users", "grant-coordinator", user.email, "27", "XX"])
    assert result.exit_code == 2 and "REGION" in result.output and "«XX»" in result.output
    assert user.region_codes == set() and user.role == UserRole.MANUFACTURER  # nothing half-saved
    result = runner.invoke(args=["users", "grant-coordinator", user.email])
    assert result.exit_code == 2 and "REGION" in result.output
    result = runner.invoke(args=["users", "grant-coordinator", "nobody@example.ru", "27"])
    assert result.exit_code == 2 and "EMAIL" in result.output and "nobody@example.ru" in result.output


def test_list_filters_by_role_and_search(runner, factories):
    coordinator = factories.user(role=UserRole.COORDINATOR, regions=["27"])
    buyer = factories.user(role=UserRole.BUYER)
    result = runner.invoke(args=["users", "list", "--role", "coordinator"])
    assert result.exit_code == 0
    assert coordinator.email in result.output and buyer.email not in result.output and "регионы: 27" in result.output
    result = runner.invoke(args=["users", "list", "--search", buyer.email.upper()])
    assert buyer.email in result.output and coordinator.email not in result.output and "Всего: 1" in result.output
    result = runner.invoke(args=["users", "list", "--role", "king"])
    assert result.exit_code == 2 and "--role" in result.output
