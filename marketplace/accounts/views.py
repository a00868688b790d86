"""Registration, e-mail confirmation, login and logout, password reset."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from marketplace.accounts import services
from marketplace.core.validation import ValidationFailed
from marketplace.extensions import db, limiter
from marketplace.geo.models import Region

bp = Blueprint("accounts", __name__, url_prefix="/account")

LOGIN_LIMIT = "10 per minute; 50 per hour"


def _login_key() -> str:
    """Login attempts count per client address and e-mail, so one attacker cannot lock everybody out."""
    from flask_limiter.util import get_remote_address

    return f"login:{get_remote_address()}:{services.normalize_email(request.form.get('email'))}"


def _login_ip_key() -> str:
    """Per client address, whatever the e-mail: password spraying across many accounts is slowed."""
    from flask_limiter.util import get_remote_address

    return f"login-ip:{get_remote_address()}"


def _login_account_key() -> str:
    """Per account, whatever the address: guessing one password from many addresses is slowed."""
    return f"login-account:{services.normalize_email(request.form.get('email'))}"


def _config_limit(name: str, default: str) -> Any:
    from flask import current_app

    return lambda: current_app.config.get(name) or default


def _safe_next(target: str | None) -> str | None:
    """Only our own pages (Flask-Login passes an absolute URL of this host): an open redirect would turn the login
    page into a phishing aid."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc != request.host:
            return None
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def region_choices() -> list[tuple[str, str]]:
    """Subjects of the Federation for a select: (code, "code — name"), by name."""
    from sqlalchemy import select

    return [(r.code, f"{r.code} — {r.name}") for r in db.session.scalars(select(Region).order_by(Region.name))]


@bp.route("/register", methods=["GET", "POST"])
def register() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("listings.mine"))
    values: dict[str, Any] = {"role": "manufacturer", "organization": "new", "kind": "manufacturer"}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            user = services.register_user(values)
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.as_dict()
        else:
            services.send_confirmation(user)
            login_user(user)
            flash("Регистрация завершена. Мы отправили письмо со ссылкой для подтверждения адреса.", "success")
            return redirect(url_for("listings.mine") if user.memberships else url_for("organizations.new"))
        values.pop("password", None)
        values.pop("password_confirm", None)
    return render_template("accounts/register.html", values=values, errors=errors, regions=region_choices())


@bp.get("/privacy")
def privacy() -> Any:
    """The policy of processing personal data the registration form asks consent to (152-ФЗ, art. 18.1)."""
    return render_template("accounts/privacy.html", operator=current_app.config.get("OPERATOR_NAME") or "")


@bp.get("/confirm/<token>")
def confirm_email(token: str) -> Any:
    try:
        user = services.confirm_email(token)
        db.session.commit()
    except services.TokenInvalid as exc:
        db.session.rollback()
        flash(f"Не удалось подтвердить адрес: {exc}. Запросите новую ссылку.", "danger")
        return redirect(url_for("accounts.resend_confirmation") if current_user.is_authenticated
                        else url_for("accounts.login"))
    flash("Адрес электронной почты подтверждён.", "success")
    if current_user.is_authenticated and current_user.id == user.id:
        return redirect(url_for("listings.mine"))
    return redirect(url_for("accounts.login"))


@bp.route("/confirm", methods=["GET", "POST"])
@login_required
def resend_confirmation() -> Any:
    if current_user.is_confirmed:
        flash("Адрес уже подтверждён.", "info")
        return redirect(url_for("listings.mine"))
    if request.method == "POST":
        services.send_confirmation(current_user)
        flash(f"Письмо со ссылкой отправлено на {current_user.email}.", "success")
        return redirect(url_for("accounts.resend_confirmation"))
    return render_template("accounts/confirm.html")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, key_func=_login_key, methods=["POST"])
@limiter.limit(_config_limit("LOGIN_LIMIT_IP", "20 per minute;200 per hour"), key_func=_login_ip_key,
               methods=["POST"])
@limiter.limit(_config_limit("LOGIN_LIMIT_ACCOUNT", "30 per minute;200 per hour"), key_func=_login_account_key,
               methods=["POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")) or url_for("listings.mine"))
    values = {"email": request.form.get("email", "")}
    error = None
    if request.method == "POST":
        user = services.authenticate(request.form.get("email"), request.form.get("password"))
        if user is None:
            db.session.rollback()
            error = "Неверный адрес или пароль."
        else:
            db.session.commit()
            login_user(user, remember=request.form.get("remember") == "on")
            flash(f"Здравствуйте, {user.full_name}!", "success")
            return redirect(_safe_next(request.args.get("next")) or url_for("listings.mine"))
    return render_template("accounts/login.html", values=values, error=error), (401 if error else 200)


@bp.post("/logout")
def logout() -> Any:
    logout_user()
    flash("Вы вышли из системы.", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit("5 per minute; 20 per hour", methods=["POST"])
def forgot_password() -> Any:
    if request.method == "POST":
        services.request_password_reset(request.form.get("email"))
        db.session.commit()
        flash("Если такой адрес зарегистрирован, мы отправили на него ссылку для восстановления пароля.", "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    errors: dict[str, list[str]] = {}
    try:
        services.user_for_reset_token(token)
    except services.TokenInvalid as exc:
        flash(f"Ссылка для восстановления не работает: {exc}. Запросите новую.", "danger")
        return redirect(url_for("accounts.forgot_password"))
    if request.method == "POST":
        try:
            services.reset_password(token, request.form.get("password"), request.form.get("password_confirm"))
            db.session.commit()
        except services.TokenInvalid as exc:
            db.session.rollback()
            flash(f"Ссылка для восстановления не работает: {exc}. Запросите новую.", "danger")
            return redirect(url_for("accounts.forgot_password"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.as_dict()
        else:
            logout_user()
            flash("Пароль изменён. Войдите с новым паролем.", "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", errors=errors, token=token)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            user = services.change_password(current_user, request.form.get("current_password"),
                                            request.form.get("password"), request.form.get("password_confirm"))
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.as_dict()
        else:
            login_user(user)  # the session id includes the password fingerprint: renew this session
            generate_csrf()
            flash("Пароль изменён.", "success")
            return redirect(url_for("listings.mine"))
    return render_template("accounts/password.html", errors=errors)
