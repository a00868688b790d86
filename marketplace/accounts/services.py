"""Accounts: registration, e-mail confirmation, login, password reset, signed tokens and outgoing account e-mail.

Services validate with ``FieldParser`` (``ValidationFailed`` names each bad field), change the session, write the
audit trail and ``flush()``; the caller commits. Tokens are signed with the app's ``SECRET_KEY`` (itsdangerous),
carry a purpose (salt) and expire; the password-reset token also carries a fingerprint of the current password hash,
so it works once.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace.accounts.models import Membership, MembershipRole, User, UserRole, session_fingerprint
from marketplace.core.audit import record_audit
from marketplace.core.models import utcnow
from marketplace.core.validation import FieldParser, ValidationFailed
from marketplace.extensions import db

log = logging.getLogger(__name__)

# Marker of account e-mail written to the log when SMTP is not configured (the link is in the same line).
MAIL_LOG_MARKER = "[cosmos-mail]"
CONFIRM_MAX_AGE = 3 * 24 * 3600
RESET_MAX_AGE = 2 * 3600
INVITE_MAX_AGE = 14 * 24 * 3600
MIN_PASSWORD_LENGTH = 10
SELF_SERVICE_ROLES = {UserRole.MANUFACTURER.value: "производитель", UserRole.BUYER.value: "заказчик"}
_DUMMY_HASH: str | None = None


class TokenInvalid(Exception):
    """A token that is malformed, forged, expired or already used; ``expired`` tells which."""

    def __init__(self, message: str, *, expired: bool = False):
        super().__init__(message)
        self.expired = expired


# Tokens ---------------------------------------------------------------------------------------

def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"cosmos.{purpose}")


def make_token(purpose: str, payload: dict[str, Any]) -> str:
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age: int) -> dict[str, Any]:
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenInvalid("срок действия ссылки истёк", expired=True) from None
    except BadSignature:
        raise TokenInvalid("ссылка недействительна") from None
    if not isinstance(payload, dict):
        raise TokenInvalid("ссылка недействительна")
    return payload


def confirmation_token(user: User) -> str:
    return make_token("confirm", {"uid": user.id, "email": user.email})


def reset_token(user: User) -> str:
    return make_token("reset", {"uid": user.id, "pw": session_fingerprint(user.password_hash)})


# Passwords and users --------------------------------------------------------------------------

def normalize_email(value: object) -> str:
    return str(value or "").strip().lower()


def password_problems(password: str, *, email: str | None = None) -> list[str]:
    """Why ``password`` is too weak (empty list: fine): at least 10 characters of at least two kinds (letters,
    digits, other), not the e-mail address."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"не короче {MIN_PASSWORD_LENGTH} символов")
    kinds = sum((any(c.isalpha() for c in password), any(c.isdigit() for c in password),
                 any(not c.isalnum() for c in password)))
    if kinds < 2:
        problems.append("используйте хотя бы два вида символов: буквы, цифры, знаки или пробелы")
    if email and password.strip().lower() in {email.lower(), email.split("@")[0].lower()}:
        problems.append("не должен совпадать с адресом почты")
    if password and len(set(password)) < 4:
        problems.append("слишком простой")
    return problems


def _parse_password(p: FieldParser, field: str, value: object, *, email: str | None = None,
                    confirm: object = None, check_confirm: bool = False) -> str | None:
    password = "" if value is None else str(value)
    if not password:
        p.error(field, "обязательное поле")
        return None
    if len(password) > 256:
        p.error(field, "не длиннее 256 символов")
        return None
    problems = password_problems(password, email=email)
    if problems:
        p.error(field, "пароль слабый: " + "; ".join(problems))
        return None
    if check_confirm and password != ("" if confirm is None else str(confirm)):
        p.error("password_confirm", "пароли не совпадают")
        return None
    return password


def _parse_email(p: FieldParser, field: str, value: object) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    email = normalize_email(value)
    if not email:
        p.error(field, "обязательное поле")
        return None
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        p.error(field, "неверный адрес электронной почты")
        return None
    return email


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalize_email(email)))


def register_user(data: Mapping[str, Any]) -> User:
    """Create an account from the registration form: email, full_name, password, password_confirm, role
    (manufacturer|buyer), ``consent`` (the 152-ФЗ consent to the processing of personal data, required; its time is
    kept and audited) and ``organization`` = new|later; with "new" the organization's fields (tax_id, name,
    region, town, kind, ogrn) create it with the user as owner. The user starts unconfirmed; send
    :func:`send_confirmation` after the commit."""
    from marketplace.organizations.services import (
        TAX_ID_TAKEN,
        create_organization,
        organization_by_tax_id,
        parse_organization_fields,
    )

    p = FieldParser()
    email = _parse_email(p, "email", data.get("email"))
    if email and user_by_email(email) is not None:
        p.error("email", "пользователь с таким адресом уже зарегистрирован")
    full_name = p.text("full_name", data.get("full_name"), required=True, max_length=200)
    password = _parse_password(p, "password", data.get("password"), email=email, confirm=data.get("password_confirm"),
                               check_confirm="password_confirm" in data)
    role = p.choice("role", data.get("role"), set(SELF_SERVICE_ROLES), required=True)
    consent = str(data.get("consent") or "").strip().lower() in {"1", "on", "true", "yes", "y"}
    if not consent:
        p.error("consent", "нужно согласие на обработку персональных данных")
    org_mode = p.choice("organization", data.get("organization"), {"new", "later"}, default="later")
    org_values = None
    if org_mode == "new":
        org_values = parse_organization_fields(p, data, default_kind="manufacturer" if role != "buyer" else "buyer")
        if org_values["tax_id"] and organization_by_tax_id(org_values["tax_id"]) is not None:
            p.error("tax_id", TAX_ID_TAKEN)
    if p.errors:
        raise ValidationFailed(p.errors)
    assert email and full_name and password and role
    user = User(email=email, full_name=full_name, role=UserRole(role), password_hash=generate_password_hash(password),
                is_active=True, personal_data_consent_at=utcnow())
    db.session.add(user)
    db.session.flush()
    record_audit("register", "user", user.id, {"email": email, "role": role,
                                               "personal_data_consent_at": user.personal_data_consent_at.isoformat()},
                 user_id=user.id)
    if org_values is not None:
        create_organization(org_values, user)
    db.session.flush()
    log.info("user %s registered (%s)", user.id, role)
    return user


def confirm_email(token: str) -> User:
    """Mark the address in a confirmation token as confirmed (again is harmless)."""
    payload = read_token("confirm", token, CONFIRM_MAX_AGE)
    user = db.session.get(User, payload.get("uid"))
    if user is None or user.email != payload.get("email"):
        raise TokenInvalid("ссылка недействительна")
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        record_audit("confirm_email", "user", user.id, {"email": user.email}, user_id=user.id)
        db.session.flush()
    return user


def authenticate(email: object, password: object) -> User | None:
    """The active user with this e-mail and password, or None (the same time is spent either way)."""
    global _DUMMY_HASH
    user = user_by_email(str(email or ""))
    if user is None or not user.is_active:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = generate_password_hash("cosmos-dummy-password")
        check_password_hash(_DUMMY_HASH, str(password or ""))
        return None
    if not check_password_hash(user.password_hash, str(password or "")):
        return None
    user.last_login_at = utcnow()
    db.session.flush()
    return user


def load_user(session_id: str) -> User | None:
    """Flask-Login's user loader: "<id>:<password fingerprint>", so a password change ends other sessions."""
    user_id, _, fingerprint = str(session_id).partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or fingerprint != session_fingerprint(user.password_hash):
        return None
    return user


def request_password_reset(email: object) -> User | None:
    """Send a reset link when an active account has this address; the page says the same either way."""
    user = user_by_email(str(email or ""))
    if user is None or not user.is_active:
        log.info("password reset asked for an unknown address")
        return None
    link = url_for("accounts.reset_password", token=reset_token(user), _external=True)
    send_account_email(user.email, "Космос: восстановление пароля",
                       f"Чтобы задать новый пароль, откройте ссылку (действует 2 часа):\n{link}\n\n"
                       "Если вы не запрашивали восстановление, просто проигнорируйте это письмо.", link=link)
    return user


def user_for_reset_token(token: str) -> User:
    """The user a reset token is for; raises TokenInvalid when it is forged, expired or already used."""
    payload = read_token("reset", token, RESET_MAX_AGE)
    user = db.session.get(User, payload.get("uid"))
    if user is None or not user.is_active or payload.get("pw") != session_fingerprint(user.password_hash):
        raise TokenInvalid("ссылка недействительна или уже использована")
    return user


def reset_password(token: str, password: object, confirm: object = None) -> User:
    """Set a new password from a reset token; the token stops working once the password changes."""
    user = user_for_reset_token(token)
    p = FieldParser()
    new = _parse_password(p, "password", password, email=user.email, confirm=confirm, check_confirm=confirm is not None)
    if p.errors:
        raise ValidationFailed(p.errors)
    assert new is not None
    user.password_hash = generate_password_hash(new)
    if user.email_confirmed_at is None:  # the link reached the mailbox: the address is confirmed too
        user.email_confirmed_at = utcnow()
    record_audit("reset_password", "user", user.id, {}, user_id=user.id)
    db.session.flush()
    return user


def change_password(user: User, current: object, new: object, confirm: object = None) -> User:
    p = FieldParser()
    if not check_password_hash(user.password_hash, str(current or "")):
        p.error("current_password", "неверный пароль")
    password = _parse_password(p, "password", new, email=user.email, confirm=confirm, check_confirm=confirm is not None)
    if p.errors:
        raise ValidationFailed(p.errors)
    assert password is not None
    user.password_hash = generate_password_hash(password)
    record_audit("change_password", "user", user.id, {}, user_id=user.id)
    db.session.flush()
    return user


def add_membership(user: User, organization_id: int, role: MembershipRole, *, by: User | None = None) -> Membership:
    existing = db.session.scalar(select(Membership).where(Membership.user_id == user.id,
                                                          Membership.organization_id == organization_id))
    if existing is not None:
        return existing
    membership = Membership(user_id=user.id, organization_id=organization_id, role=role)
    db.session.add(membership)
    db.session.flush()
    db.session.refresh(user, ["memberships"])
    record_audit("create", "membership", membership.id,
                 {"user_id": user.id, "organization_id": organization_id, "role": role.value},
                 user_id=by.id if by else user.id)
    return membership


# Outgoing account e-mail ----------------------------------------------------------------------

def send_confirmation(user: User) -> str:
    """E-mail the confirmation link; returns the link (the view shows nothing of it)."""
    link = url_for("accounts.confirm_email", token=confirmation_token(user), _external=True)
    send_account_email(user.email, "Космос: подтвердите адрес электронной почты",
                       f"Здравствуйте, {user.full_name}!\n\nПодтвердите адрес, открыв ссылку (действует 3 дня):\n"
                       f"{link}\n", link=link)
    return link


def send_account_email(to: str, subject: str, body: str, *, link: str | None = None) -> bool:
    """Send through SMTP when ``SMTP_URL`` is set; otherwise write the message and its link to the log with
    :data:`MAIL_LOG_MARKER` (the embedded mode and tests read links from there)."""
    if not current_app.config.get("SMTP_URL"):
        log.warning("%s SMTP_URL is not set; e-mail not sent. to=%s subject=%r link=%s", MAIL_LOG_MARKER, to,
                    subject, link or "-")
        return False
    from marketplace.notifications.services import send_email

    try:
        return send_email([to], subject, body)
    except Exception:  # the account change stands; the user can ask for the link again
        log.exception("%s sending e-mail to %s failed", MAIL_LOG_MARKER, to)
        return False
