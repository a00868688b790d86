"""gunicorn settings for the web process (``gunicorn -c gunicorn.conf.py wsgi:app``; gunicorn also reads this file
by itself from the working directory). Every value can be overridden on the command line or by ``GUNICORN_CMD_ARGS``.

gunicorn answers some requests itself, before the application sees them: a request line longer than
``limit_request_line`` (414), too many or too large header fields (431), a malformed request line, method or
header (400), an unsupported transfer coding (501). Its answers are HTML by default; here they are
``application/problem+json`` (RFC 9457) like every other error of ``/api/v1``: gunicorn has no setting for that
body, so its error writer is replaced when this file is loaded (in the master, before the workers fork). It cannot
know the path (the request line may not even have been read), so pages get the same JSON for these few cases.
"""
from __future__ import annotations

import json
import os

from gunicorn import util

bind = os.environ.get("COSMOS_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# A worker stuck longer than this is killed; the database's own timeouts (COSMOS_DB_STATEMENT_TIMEOUT_MS, 15 s)
# answer 503 well before.
timeout = int(os.environ.get("COSMOS_WEB_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# The longest request line gunicorn accepts (its maximum, 8190 bytes; its default 4094 turned long search queries
# into 414), the number of header fields and the size of one.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = os.environ.get("COSMOS_ACCESS_LOG", "-") or None  # "" turns it off
# gunicorn's combined format plus the time taken in milliseconds (%(M)s)
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
errorlog = "-"

# The application is built once, in the master, and the text encoder (seconds to load: a cold worker's first
# search waited for it, 20 s on a busy machine) is loaded there too; the forked workers share both. The search
# index and the database connections are opened by each worker itself (neither survives a fork).
preload_app = os.environ.get("COSMOS_PRELOAD", "1") != "0"


def when_ready(server) -> None:
    if not server.cfg.preload_app:
        return
    app = server.app.wsgi()
    try:
        with app.app_context():
            from marketplace.indexing.services import get_encoder

            get_encoder()
    except Exception as exc:  # a fresh instance may have no encoder yet: the workers load or fit it on first use
        server.log.warning("the encoder is not loaded before the workers start: %s: %s", type(exc).__name__, exc)
    finally:
        from marketplace.extensions import db

        with app.app_context():
            db.engine.dispose()  # no connection of the master's is inherited by a worker


TITLES_RU = {
    400: "Запрос не разобран.",
    403: "Запрос запрещён.",
    414: f"Строка запроса длиннее {limit_request_line} байт.",
    417: "Ожидание (Expect) не поддерживается.",
    431: "Слишком много или слишком длинные заголовки запроса.",
    500: "Внутренняя ошибка сервера.",
    501: "Кодирование передачи не поддерживается.",
}


def problem_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own error answer as problem+json: ``type``, ``title``, ``status``, ``detail`` (gunicorn's
    message, e.g. the limit that was passed)."""
    body = json.dumps({"type": "about:blank", "title": reason, "status": status_int,
                       "detail": TITLES_RU.get(status_int, reason) + (f" ({mesg})" if mesg else "")},
                      ensure_ascii=False).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n").encode("latin1")
    util.write_nonblock(sock, head + body)


util.write_error = problem_error
