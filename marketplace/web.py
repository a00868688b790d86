"""Registers the web layer in a fixed order: extensions, request hooks, template helpers, blueprints, error pages."""
from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, render_template, request

# Content Security Policy: everything from our own origin; inline styles for the small style attributes that
# templates use. Inline <script> blocks need the per-request nonce: <script nonce="{{ csp_nonce() }}">.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'nonce-{nonce}'; "
       "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'")


def csp_nonce() -> str:
    """The nonce of this response's Content-Security-Policy, for inline scripts."""
    import secrets

    from flask import g

    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def init_app(app: Flask) -> None:
    _init_ids_and_proxy(app)
    _init_extensions(app)
    _init_hooks(app)
    _init_templates(app)
    _register_blueprints(app)
    _init_error_pages(app)


MAX_ID = 2**31 - 1
# 0 … 2147483647 (leading zeros allowed, as ``int`` allows them), digit by digit.
INT32_PATTERN = (r"0*(?:\d{1,9}|1\d{9}|20\d{8}|21[0-3]\d{7}|214[0-6]\d{6}|2147[0-3]\d{5}|21474[0-7]\d{4}"
                 r"|214748[0-2]\d{3}|2147483[0-5]\d{2}|21474836[0-3]\d|214748364[0-7])")


def _init_ids_and_proxy(app: Flask) -> None:
    """``<int:…>`` in every route is a 32-bit id: a larger number is a 404 (not a database overflow, and not a 405
    from another rule); behind a trusted reverse proxy (``COSMOS_TRUSTED_PROXIES=N``) the client's address, scheme
    and host come from the last N proxies' X-Forwarded-* headers (off by default: the headers are forgeable)."""
    from werkzeug.routing import IntegerConverter

    class IdConverter(IntegerConverter):
        def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                     max: int | None = None, signed: bool = False) -> None:
            super().__init__(map, fixed_digits=fixed_digits, min=min, max=MAX_ID if max is None else max,
                             signed=signed)
            if self.max == MAX_ID and not fixed_digits and not signed:
                # werkzeug checks the method before the converter's range: with ``\d+`` a PATCH of a too-large id
                # matched the GET rule's pattern and answered 405. The pattern itself stops at 2³¹−1.
                self.regex = INT32_PATTERN

    app.url_map.converters["int"] = IdConverter
    proxies = int(app.config.get("COSMOS_TRUSTED_PROXIES") or 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies,  # type: ignore
                                x_port=proxies, x_prefix=proxies)


def _init_extensions(app: Flask) -> None:
    from marketplace.accounts.services import load_user
    from marketplace.extensions import babel, babel_locale_selector, csrf, limiter, login_manager

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    csrf.init_app(app)
    babel.init_app(app, default_locale=app.config.get("BABEL_DEFAULT_LOCALE", "ru"),
                   default_timezone=app.config.get("BABEL_DEFAULT_TIMEZONE", "UTC"),
                   locale_selector=babel_locale_selector)
    limiter.init_app(app)


def _init_hooks(app: Flask) -> None:
    from flask_babel import refresh

    @app.before_request
    def fresh_locale() -> None:
        # Flask-Babel caches the locale on ``g``; where an application context outlives one request (tests, jobs
        # that render), pick it again for each request.
        refresh()

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if app.config.get("COSMOS_HSTS_SECONDS"):
            response.headers.setdefault("Strict-Transport-Security",
                                        f"max-age={int(app.config['COSMOS_HSTS_SECONDS'])}; includeSubDomains")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", CSP.format(nonce=csp_nonce()))
        if request.args.get("lang") in ("ru", "en") and request.cookies.get("lang") != request.args["lang"]:
            response.set_cookie("lang", request.args["lang"], max_age=365 * 24 * 3600, samesite="Lax",
                                httponly=True, secure=app.config.get("SESSION_COOKIE_SECURE", False))
        return response


def vendor_file_exists(relative: str) -> bool:
    """Whether ``npm run build`` put ``static/vendor/<relative>`` in place (it is not in the repository)."""
    import os

    from flask import current_app

    return os.path.isfile(os.path.join(current_app.static_folder or "", "vendor", relative))


def _init_templates(app: Flask) -> None:
    from flask_babel import get_locale
    from flask_wtf.csrf import generate_csrf

    from marketplace.core import formats

    formats.init_app(app)  # |date, |money, |number, |score, |label … (one set for every template)

    @app.context_processor
    def layout_helpers() -> dict[str, Any]:
        from flask_login import current_user

        from marketplace.core import permissions

        return {
            "csrf_token": generate_csrf,
            "csp_nonce": csp_nonce,
            "nav_url": nav_url,
            "current_locale": str(get_locale() or "ru"),
            # Bootstrap and htmx are copied from node_modules by `npm run build`; pages work without them.
            "vendor_available": vendor_file_exists("bootstrap/bootstrap.min.css"),
            "htmx_available": vendor_file_exists("htmx/htmx.min.js"),
            "current_organization": permissions.current_organization(current_user),
            "perm": permissions,
            "matching_pending": _matching_pending,
        }


def _matching_pending() -> bool:
    from workers.background import matching_pending

    return matching_pending()


def nav_url(endpoint: str, **values: Any) -> str | None:
    """The URL of ``endpoint``, or None while the slice that serves it is not registered (the menu hides it)."""
    from flask import current_app, url_for

    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def _register_blueprints(app: Flask) -> None:
    from marketplace.accounts.views import bp as accounts_bp
    from marketplace.classifiers.views import bp as classifiers_bp
    from marketplace.listings.views import bp as listings_bp
    from marketplace.organizations.views import bp as organizations_bp
    from marketplace.showcase.views import bp as showcase_bp

    app.register_blueprint(showcase_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(organizations_bp)
    app.register_blueprint(listings_bp)
    app.register_blueprint(classifiers_bp)

    # --- Blueprints of the other slices (tenders, communities, coordinator, analytics: B; API: C) -------------
    app.register_blueprint(__import__("marketplace.analytics.views", fromlist=["bp"]).bp)
    app.register_blueprint(__import__("marketplace.tenders.views", fromlist=["bp"]).bp)
    app.register_blueprint(__import__("marketplace.communities.views", fromlist=["bp"]).bp)
    app.register_blueprint(__import__("marketplace.coordinator.views", fromlist=["bp"]).bp)
    app.register_blueprint(__import__("marketplace.api.views", fromlist=["bp"]).bp)
    app.register_blueprint(__import__("marketplace.chains.views", fromlist=["bp"]).bp)
    app.register_blueprint(__import__("marketplace.matches.views", fromlist=["bp"]).bp)
    app.register_blueprint(__import__("marketplace.admin.views", fromlist=["bp"]).bp)
    app.register_blueprint(__import__("marketplace.accounts.tokens_page", fromlist=["bp"]).bp)
    app.register_blueprint(__import__("marketplace.api_docs", fromlist=["bp"]).bp)
    __import__("marketplace.documents.views", fromlist=["init_app"]).init_app(app)  # /documents, storage
    app.register_blueprint(__import__("marketplace.deals.views", fromlist=["bp"]).bp)
    app.register_blueprint(__import__("marketplace.notifications.views", fromlist=["bp"]).bp)
    # --- end of other slices -------------------------------------------------------------------------------------


def _init_error_pages(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    def page(code: int, title: str, message: str) -> tuple[str, int]:
        if request.path.startswith("/api/"):
            return {"status": code, "title": title, "detail": message}, code  # type: ignore[return-value]
        return render_template("_macros/error_page.html", code=code, title=title, message=message), code

    @app.errorhandler(403)
    def forbidden(_exc: Exception) -> tuple[str, int]:
        return page(403, "Доступ запрещён", "У вас нет прав на это действие.")

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> tuple[str, int]:
        return page(404, "Страница не найдена", "Такой страницы нет или она вам недоступна.")

    @app.errorhandler(500)
    def server_error(_exc: Exception) -> Any:
        from marketplace.extensions import db

        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the page matters more than the rollback
            pass
        if request.path.startswith("/api/"):
            return app.response_class(
                json.dumps({"type": "about:blank", "status": 500, "title": "Внутренняя ошибка",
                            "detail": "Запрос не выполнен; повторите его позже."}, ensure_ascii=False),
                status=500, mimetype="application/problem+json")
        return page(500, "Что-то пошло не так",
                    "Запрос не выполнен, изменения не сохранены. Вернитесь назад: введённые данные остались в форме "
                    "браузера, отправьте её ещё раз через минуту.")

    @app.errorhandler(429)
    def too_many(_exc: Exception) -> tuple[str, int]:
        return page(429, "Слишком много попыток", "Подождите немного и попробуйте снова.")

    from sqlalchemy.exc import OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)
    def database_unavailable(_exc: Exception) -> Any:
        from marketplace.extensions import db

        app.logger.warning("database unavailable: %s", _exc)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection is gone; the answer matters, not the rollback
            pass
        if request.path.startswith("/api/"):
            response = app.response_class(
                json.dumps({"type": "about:blank", "status": 503, "title": "Сервис временно недоступен",
                            "detail": "База данных не отвечает, повторите запрос позже."}, ensure_ascii=False),
                status=503, mimetype="application/problem+json")
        else:
            body, _code = page(503, "Сервис временно недоступен",
                               "База данных не отвечает. Повторите попытку через минуту.")
            response = app.response_class(body, status=503, mimetype="text/html")
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError) -> tuple[str, int]:
        return page(400, "Форма устарела", "Обновите страницу и отправьте форму ещё раз.")
