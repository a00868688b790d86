"""Errors of ``/api/v1`` as ``application/problem+json`` (RFC 9457): ``type``, ``title``, ``status``, ``detail`` and,
for invalid input, ``errors: {field: [messages]}``.

Every error leaves the API in this shape: the service's :class:`ValidationFailed`, invalid query strings and bodies,
``abort()`` from shared helpers, werkzeug's own errors (413, 405, routing 404 under ``/api/v1``) and unexpected
exceptions (500, logged).
"""
from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from flask import Response, request
from werkzeug.exceptions import HTTPException

from marketplace.core.validation import ValidationFailed

log = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"
VALIDATION_TYPE = "urn:cosmos:problem:validation"
STATE_TYPE = "urn:cosmos:problem:state-conflict"

DETAILS_RU = {
    400: "Запрос не разобран.",
    401: "Нужен токен API: заголовок Authorization: Bearer <токен>.",
    403: "Недостаточно прав для этого действия.",
    404: "Объект не найден.",
    405: "Метод не поддерживается для этого адреса.",
    406: "Ответ бывает только в формате JSON.",
    409: "Действие невозможно в текущем состоянии объекта.",
    413: "Запрос слишком большой.",
    415: "Тело запроса должно быть JSON (Content-Type: application/json).",
    422: "Данные не прошли проверку.",
    429: "Слишком много запросов; повторите позже.",
    500: "Внутренняя ошибка сервера.",
}
# Headers of werkzeug's exceptions that an API client needs (its Content-Type is HTML and is dropped).
_PASSED_HEADERS = {"allow", "retry-after", "www-authenticate"}


class Problem(HTTPException):
    """An API error with a problem type and field errors; raise it from views and helpers."""

    def __init__(self, status: int, detail: str | None = None, *, errors: dict[str, list[str]] | None = None,
                 type_: str = "about:blank", headers: dict[str, str] | None = None):
        super().__init__(description=detail or DETAILS_RU.get(status))
        self.code = status
        self.errors = errors
        self.type = type_
        self.extra_headers = headers or {}


def problem_response(status: int, detail: str | None = None, *, errors: dict[str, list[str]] | None = None,
                     type_: str = "about:blank", headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"type": type_, "title": _title(status), "status": status,
                            "detail": detail or DETAILS_RU.get(status) or _title(status)}
    if request:
        body["instance"] = request.path
    if errors is not None:
        body["errors"] = errors
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MIMETYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401 and "WWW-Authenticate" not in response.headers:
        response.headers["WWW-Authenticate"] = 'Bearer realm="cosmos"'
    return response


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def validation_problem(errors: dict[str, list[str]], *, status: int = 422, detail: str | None = None) -> Problem:
    return Problem(status, detail or DETAILS_RU[422], errors=errors, type_=VALIDATION_TYPE)


def handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    if isinstance(exc, Problem):
        return problem_response(status, exc.description, errors=exc.errors, type_=exc.type,
                                headers=exc.extra_headers)
    # werkzeug's generic English description is replaced by ours; a specific one (abort(404, "…")) is kept.
    generic = exc.description == type(exc).description
    detail = DETAILS_RU.get(status) if generic else exc.description
    headers = {k: v for k, v in exc.get_headers() if k.lower() in _PASSED_HEADERS}
    if getattr(exc, "retry_after", None) and "Retry-After" not in headers:  # flask-limiter's RateLimitExceeded
        headers["Retry-After"] = str(exc.retry_after)
    return problem_response(status, detail, headers=headers)


def handle_validation_failed(exc: ValidationFailed) -> Response:
    from marketplace.extensions import db
    from marketplace.tenders.services import TenderStateError

    db.session.rollback()  # a service that refuses has saved nothing; drop whatever the request had pending

    if isinstance(exc, TenderStateError):
        return problem_response(409, str(exc.errors[0].message) if exc.errors else None, errors=exc.as_dict(),
                                type_=STATE_TYPE)
    return problem_response(422, DETAILS_RU[422], errors=exc.as_dict(), type_=VALIDATION_TYPE)


def handle_unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):  # Flask routes these here only when no closer handler exists
        return handle_http_exception(exc)
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from marketplace.extensions import db

    if isinstance(exc, OperationalError | PoolTimeout):  # refused, timed out, statement_timeout: try again later
        log.warning("database unavailable in %s %s: %s", request.method, request.path, exc)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection is gone; the answer matters, not the rollback
            pass
        return problem_response(503, "База данных не отвечает, повторите запрос позже.",
                                headers={"Retry-After": "30"})
    log.exception("unhandled error in %s %s", request.method, request.path)
    db.session.rollback()
    return problem_response(500)
