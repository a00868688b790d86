"""Accounts: registration with an organization, e-mail confirmation, login and logout, password reset, CSRF, the login
rate limit, security headers and the language switch."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from marketplace.accounts import services
from marketplace.accounts.models import MembershipRole, User, UserRole
from marketplace.core.models import AuditLog, utcnow
from marketplace.organizations.models import Organization
from tests.web.conftest import form_token, login, page_text, submit

PASSWORD = "correct horse battery"


def make_user(factories, email: str, **fields):
    """A user with a chosen address (the factory numbers addresses itself)."""
    user = factories.user(**fields)
    user.email = email
    factories.db.session.flush()
    return user


def registration(factories, **overrides):
    data = {"email": "ivanov@zavod.ru", "full_name": "Иванов Иван Иванович", "password": "Станки 2026 года",
            "password_confirm": "Станки 2026 года", "role": "manufacturer", "organization": "new",
            "tax_id": factories.inn("27"), "name": "ООО «Амурский станкозавод»", "kind": "manufacturer",
            "region": "27", "town": "Хабаровск", "consent": "1"}
    data.update(overrides)
    return data


def path(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)


def test_registration_creates_user_and_owned_organization_and_logs_the_confirmation_link(client, db, factories,
                                                                                          mail_log):
    response = submit(client, "/account/register", registration(factories))
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "ivanov@zavod.ru"))
    assert user is not None and user.role == UserRole.MANUFACTURER and not user.is_confirmed
    assert user.password_hash.startswith("scrypt:") and "Станки" not in user.password_hash
    [membership] = user.memberships
    assert membership.role == MembershipRole.OWNER
    org = db.session.get(Organization, membership.organization_id)
    assert org.name == "ООО «Амурский станкозавод»" and org.region_code == "27" and org.town.name == "Хабаровск"
    actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.user_id == user.id)))
    assert {"register", "create"} <= actions
    [link] = mail_log()
    assert "/account/confirm/" in link
    # Logged in but unconfirmed: the banner says so.
    page = page_text(client.get("/my/offers"))
    assert "Подтвердите адрес электронной почты" in page

    assert client.get(path(link)).status_code == 302
    db.session.refresh(user)
    assert user.is_confirmed
    assert "Подтвердите адрес электронной почты" not in page_text(client.get("/my/offers"))


def test_registration_errors_are_shown_next_to_fields_and_input_is_kept(client, db, factories):
    response = submit(client, "/account/register", registration(
        factories, email="петров@", password="12345", password_confirm="12345", tax_id="2700000001",
        name="ООО «Мой завод»", region="99"))
    assert response.status_code == 200
    page = page_text(response)
    for field in ("email", "password", "tax_id", "region"):
        assert re.search(rf'data-field="{field}"', page), field
    assert "неверная контрольная сумма ИНН" in page and "пароль слабый" in page
    assert 'value="ООО «Мой завод»"' in page.replace("&#34;", '"').replace("&laquo;", "«") or "Мой завод" in page
    assert 'value="2700000001"' in page  # the input is kept ...
    assert "12345" not in page  # ... but never the password
    assert db.session.scalar(select(User).where(User.full_name == "Иванов Иван Иванович")) is None


def test_registration_refuses_a_taken_email_and_a_taken_inn(client, db, factories):
    existing = factories.organization(region="27")
    make_user(factories, "taken@zavod.ru")
    db.session.commit()  # to the test's savepoint: the view's rollback after the refusal keeps it
    response = submit(client, "/account/register", registration(factories, email="taken@zavod.ru",
                                                                tax_id=existing.tax_id))
    page = page_text(response)
    assert "пользователь с таким адресом уже зарегистрирован" in page  # both problems at once
    assert "организация с этим ИНН уже зарегистрирована" in page
    response = submit(client, "/account/register", registration(factories, email="new@zavod.ru",
                                                                tax_id=existing.tax_id))
    assert "организация с этим ИНН уже зарегистрирована" in page_text(response)
    assert db.session.scalar(select(User).where(User.email == "new@zavod.ru")) is None  # nothing half-saved


def test_registration_without_organization_leads_to_creating_one(client, db, factories):
    response = submit(client, "/account/register", registration(factories, organization="later", role="buyer",
                                                                tax_id="", name="", region=""))
    assert response.status_code == 302 and response.headers["Location"].endswith("/organizations/new")
    user = db.session.scalar(select(User).where(User.email == "ivanov@zavod.ru"))
    assert user.role == UserRole.BUYER and user.memberships == []
    # Pages that need an organization send the user to create one.
    assert client.get("/my/offers").headers["Location"].endswith("/organizations/new")


def test_confirmation_link_that_is_forged_or_expired_does_nothing(client, db, factories, monkeypatch):
    user = factories.user()
    db.session.commit()  # to the test's savepoint: the view's rollback keeps it
    assert client.get("/account/confirm/not-a-token").status_code == 302
    token = services.confirmation_token(user)
    monkeypatch.setattr(services, "CONFIRM_MAX_AGE", -1)
    assert client.get(f"/account/confirm/{token}").status_code == 302
    db.session.refresh(user)
    assert not user.is_confirmed
    with pytest.raises(services.TokenInvalid) as excinfo:
        services.confirm_email(token)
    assert excinfo.value.expired


def test_login_and_logout(client, db, factories):
    user = make_user(factories, "login@zavod.ru", password=PASSWORD)
    login(client, None)
    response = submit(client, "/account/login", {"email": "LOGIN@zavod.ru ", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/my/offers").status_code in (200, 302)
    with client.session_transaction() as session:
        assert session["_user_id"] == user.get_id()
    db.session.refresh(user)
    assert user.last_login_at is not None
    token = form_token(client, "/account/password")
    response = client.post("/account/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/my/offers").status_code == 302  # to the login page again
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_wrong_password_and_unknown_user_get_the_same_answer(client, factories):
    make_user(factories, "known@zavod.ru", password=PASSWORD)
    wrong = submit(client, "/account/login", {"email": "known@zavod.ru", "password": "wrong password 1"})
    unknown = submit(client, "/account/login", {"email": "nobody@zavod.ru", "password": "wrong password 1"})
    assert wrong.status_code == unknown.status_code == 401
    assert "Неверный адрес или пароль" in page_text(wrong) and "Неверный адрес или пароль" in page_text(unknown)
    assert 'value="known@zavod.ru"' in page_text(wrong)


def test_anonymous_user_is_sent_to_login_with_a_russian_message_and_back(client, factories):
    response = client.get("/my/needs?org=1")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    login_url = response.headers["Location"]
    page = page_text(client.get(login_url))
    assert "Войдите, чтобы открыть эту страницу" in page
    make_user(factories, "back@zavod.ru", password=PASSWORD)
    token = form_token(client, login_url)
    response = client.post(login_url, data={"csrf_token": token, "email": "back@zavod.ru", "password": PASSWORD})
    assert response.headers["Location"] == "/my/needs?org=1"


def test_login_never_redirects_to_another_site(client, factories):
    make_user(factories, "safe@zavod.ru", password=PASSWORD)
    token = form_token(client, "/account/login")
    for target in ("https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        response = client.post("/account/login", query_string={"next": target}, data={
            "csrf_token": token, "email": "safe@zavod.ru", "password": PASSWORD})
        assert response.status_code == 302 and response.headers["Location"] == "/my/offers", target
        login(client, None)
        token = form_token(client, "/account/login")


def test_password_reset_by_emailed_link_works_once_and_ends_other_sessions(client, db, factories, mail_log):
    user = make_user(factories, "reset@zavod.ru", password=PASSWORD)
    old_session_id = user.get_id()
    response = submit(client, "/account/forgot", {"email": "reset@zavod.ru"})
    assert response.status_code == 302
    unknown = submit(client, "/account/forgot", {"email": "nobody@zavod.ru"})
    assert unknown.status_code == 302  # the same answer: addresses are not disclosed
    [link] = mail_log()
    reset_path = path(link)
    weak = submit(client, reset_path, {"password": "short", "password_confirm": "short"})
    assert weak.status_code == 200 and "пароль слабый" in page_text(weak)
    mismatch = submit(client, reset_path, {"password": "новый пароль 2026", "password_confirm": "другой 2026!"})
    assert "пароли не совпадают" in page_text(mismatch)
    done = submit(client, reset_path, {"password": "новый пароль 2026", "password_confirm": "новый пароль 2026"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/account/login")
    db.session.refresh(user)
    assert services.authenticate("reset@zavod.ru", "новый пароль 2026") is not None
    assert services.load_user(old_session_id) is None  # the old session is over
    again = client.get(reset_path)
    assert again.status_code == 302 and again.headers["Location"].endswith("/account/forgot")


def test_post_without_csrf_token_is_rejected(client, db, factories):
    response = client.post("/account/register", data=registration(factories))
    assert response.status_code == 400
    assert db.session.scalar(select(User).where(User.email == "ivanov@zavod.ru")) is None
    user = factories.user(password=PASSWORD)
    login(client, None)
    response = client.post("/account/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_password_strength_rules():
    assert services.password_problems("Станки 2026 года") == []
    assert services.password_problems("short1")
    assert services.password_problems("onlyletterslong")
    assert services.password_problems("1111111111")
    assert services.password_problems("ivanov@zavod.ru", email="ivanov@zavod.ru")


def test_login_is_rate_limited_per_address_and_email(app, db, factories, database_url):
    """The limiter is off in the shared test app; this test builds an app with it on."""
    from marketplace import create_app
    from marketplace.config import normalize_database_url
    from marketplace.extensions import limiter

    limited = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key",
                          "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
                          "SQLALCHEMY_ENGINE_OPTIONS": {}, "REDIS_URL": None, "WTF_CSRF_ENABLED": False,
                          "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://"})
    try:
        make_user(factories, "limited@zavod.ru", password=PASSWORD)
        db.session.commit()
        client = limited.test_client()
        codes = [client.post("/account/login", data={"email": "limited@zavod.ru", "password": "wrong password 1"})
                 .status_code for _ in range(11)]
        assert codes[:10] == [401] * 10 and codes[10] == 429
        # Even the right password waits now; another e-mail from the same address is not locked out.
        assert client.post("/account/login", data={"email": "limited@zavod.ru",
                                                    "password": PASSWORD}).status_code == 429
        assert client.post("/account/login", data={"email": "other@zavod.ru",
                                                    "password": "wrong password 1"}).status_code == 401
        assert client.get("/account/login").status_code == 200  # only POSTs count
    finally:
        limiter.reset()
        limiter.enabled = False  # the extension object is shared: leave it as the test app expects
        with limited.app_context():
            db.engines[None].dispose()


def test_security_headers(client):
    response = client.get("/account/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self' 'nonce-" in csp


def test_language_switch_is_remembered(client):
    assert '<html lang="ru">' in page_text(client.get("/account/login"))
    response = client.get("/account/login?lang=en")
    assert '<html lang="en">' in page_text(response)
    assert "Forgot your password?" in page_text(response)  # the English catalogue
    assert "lang=en" in response.headers.get("Set-Cookie", "")
    assert '<html lang="en">' in page_text(client.get("/account/login"))  # from the cookie
    client.delete_cookie("lang")
    assert '<html lang="en">' in page_text(client.get("/account/login", headers={"Accept-Language": "en-GB,en"}))
    assert '<html lang="ru">' in page_text(client.get("/account/login", headers={"Accept-Language": "de"}))


def test_unconfirmed_user_cannot_publish_but_can_save_a_draft(client, db, factories, enqueued):
    org = factories.organization(region="27")
    user = factories.user(organization=org)
    login(client, user)
    data = {"title": "Токарная обработка", "okved2": "25.62", "action": "publish"}
    response = submit(client, "/my/listings/new/capability", data)
    assert response.status_code == 422 and "подтвердите адрес электронной почты" in page_text(response)
    response = submit(client, "/my/listings/new/capability", {**data, "action": "draft"})
    assert response.status_code == 302
    user.email_confirmed_at = utcnow()
    login(client, user)
    listing_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    response = submit(client, f"/listings/{listing_id}", action=f"/my/listings/{listing_id}/publish")
    assert response.status_code == 302
    assert page_text(client.get(f"/listings/{listing_id}")).count("опубликовано") >= 1


@pytest.mark.parametrize("built", [True, False])
def test_layout_works_with_and_without_the_vendor_files(client, monkeypatch, built):
    from marketplace import web

    monkeypatch.setattr(web, "vendor_file_exists", lambda relative: built)
    page = page_text(client.get("/account/login"))
    assert ("vendor/bootstrap/bootstrap.min.css" in page) is built
    assert ("no-vendor" in page) is not built
    assert "css/app.css" in page and "js/app.js" in page and "Витрина" in page


def test_registration_asks_the_152_fz_consent_and_keeps_its_time(client, db, factories):
    from marketplace.accounts.models import User
    from marketplace.core.models import AuditLog

    form = client.get("/account/register").get_data(as_text=True)
    assert 'name="consent"' in form and "/account/privacy" in form
    assert "152-ФЗ" in client.get("/account/privacy").get_data(as_text=True)
    data = registration(factories, email="noconsent@zavod.ru")
    data.pop("consent")
    response = submit(client, "/account/register", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "нужно согласие на обработку персональных данных" in page
    assert 'value="noconsent@zavod.ru"' in page  # the input is kept for correction
    assert db.session.query(User).filter_by(email="noconsent@zavod.ru").count() == 0  # nothing half-saved
    submit(client, "/account/register", registration(factories, email="consent@zavod.ru"))
    user = db.session.query(User).filter_by(email="consent@zavod.ru").one()
    assert user.personal_data_consent_at is not None
    audit = db.session.query(AuditLog).filter_by(entity_type="user", entity_id=str(user.id), action="register").one()
    assert "personal_data_consent_at" in audit.changes
