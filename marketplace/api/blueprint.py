"""The ``/api/v1`` blueprint: who is calling (token or browser session), errors as problem+json, and the routing
errors under ``/api/v1`` (unknown path, wrong method) answered in the same shape."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from flask.blueprints import BlueprintSetupState
from flask_login import AnonymousUserMixin
from werkzeug.exceptions import HTTPException

from marketplace.api.openapi import API_PREFIX
from marketplace.api.problems import (
    Problem,
    handle_http_exception,
    handle_unexpected,
    handle_validation_failed,
    problem_response,
)
from marketplace.core.validation import ValidationFailed

bp = Blueprint("api", __name__, url_prefix=API_PREFIX, cli_group="api")

bp.register_error_handler(ValidationFailed, handle_validation_failed)
bp.register_error_handler(HTTPException, handle_http_exception)
bp.register_error_handler(Exception, handle_unexpected)
# Flask prefers a handler registered for the status code, even the app's, to one registered for the class: name the
# codes here so that the web's error pages (HTML) never answer inside the API.
for _code in (400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 429, 500):
    bp.register_error_handler(_code, handle_http_exception)


@bp.record_once
def _on_register(state: BlueprintSetupState) -> None:
    from marketplace.extensions import csrf

    # The API takes no CSRF token: writes need a bearer token, which a browser never sends by itself.
    csrf.exempt(bp)
    state.app.extensions["cosmos_api"] = {"spec": None}


@bp.before_app_request
def _routing_errors_as_problems() -> Response | None:
    """A path under /api/v1 that matches no route (or not with this method) gets a problem, not an HTML page."""
    exc = request.routing_exception
    if exc is None or not _is_api_path(request.path):
        return None
    if isinstance(exc, HTTPException) and (exc.code or 500) >= 400:
        return handle_http_exception(exc)
    return None


def _is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


@bp.before_request
def _authenticate() -> None:
    """``Authorization: Bearer <token>`` identifies an integration; without it, the browser's session (for reads)
    or nobody. A header that is present but wrong is refused rather than silently ignored."""
    from marketplace.api.tokens import authenticate, last_used_written
    from marketplace.extensions import db

    header = request.headers.get("Authorization")
    user: Any = None
    g.api_token_auth = False
    if header is not None:
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise Problem(401, "Ожидается заголовок Authorization: Bearer <токен>.")
        user = authenticate(credentials.strip())
        if user is None:
            raise Problem(401, "Токен недействителен или отозван.")
        if last_used_written():  # at most once a minute: a commit expires the user just loaded
            db.session.commit()
        g.api_token_auth = True
    else:
        user = _session_user(current_app)
    # Flask-Login's current_user then answers with the token's user in the shared helpers (``*_or_404``).
    g._login_user = user if user is not None else AnonymousUserMixin()
    g.api_user = g._login_user


def _session_user(app: Flask) -> Any:
    if not hasattr(app, "login_manager"):
        return None
    from flask_login import current_user

    user = current_user._get_current_object()
    return user if getattr(user, "is_authenticated", False) else None


def api_user() -> Any:
    """The caller: a ``User`` or Flask-Login's anonymous user."""
    return g.get("api_user") or AnonymousUserMixin()


__all__ = ["api_user", "bp", "problem_response"]
