"""Issue 15, sessions and bad input: the production cookie and HSTS settings, login limits per account and per
address (spraying is slowed), the trusted-proxy setting, database timeouts answered 503, surrogates, deep JSON and
out-of-range ids answered 4xx in the API's format."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from marketplace.config import load_settings, normalize_database_url
from tests.web.test_accounts import PASSWORD, make_user

PROD = {"DATABASE_URL": "postgresql://cosmos@db/cosmos", "SECRET_KEY": "s" * 32}


def _app(database_url: str, **config: Any):
    from marketplace import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "test-secret-key",
                       "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
                       "SQLALCHEMY_ENGINE_OPTIONS": {}, "REDIS_URL": None, "WTF_CSRF_ENABLED": False,
                       "RATELIMIT_ENABLED": False, **config})


def _dispose(app) -> None:
    from marketplace.extensions import db, limiter

    if app.config.get("RATELIMIT_ENABLED"):
        limiter.reset()
    limiter.enabled = False  # the extension object is shared: leave it as the test app expects
    with app.app_context():
        db.engines[None].dispose()


# Settings -------------------------------------------------------------------------------------------------------

def test_production_settings_secure_the_remember_cookie_and_send_hsts(tmp_path):
    prod = load_settings(tmp_path, PROD)
    assert prod["REMEMBER_COOKIE_SECURE"] is True and prod["SESSION_COOKIE_SECURE"] is True
    assert prod["COSMOS_HSTS_SECONDS"] >= 180 * 24 * 3600
    assert prod["COSMOS_TRUSTED_PROXIES"] == 0  # off unless the operator says how many proxies there are
    embedded = load_settings(tmp_path, {})
    assert embedded["REMEMBER_COOKIE_SECURE"] is False and embedded["COSMOS_HSTS_SECONDS"] == 0
    assert load_settings(tmp_path, {**PROD, "COSMOS_TRUSTED_PROXIES": "2"})["COSMOS_TRUSTED_PROXIES"] == 2


def test_database_timeouts_are_engine_options_settable_by_env(tmp_path):
    options = load_settings(tmp_path, PROD)["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["connect_args"] == {"connect_timeout": 5, "options": "-c statement_timeout=15000"}
    custom = load_settings(tmp_path, {**PROD, "COSMOS_DB_CONNECT_TIMEOUT": "2",
                                      "COSMOS_DB_STATEMENT_TIMEOUT_MS": "500"})["SQLALCHEMY_ENGINE_OPTIONS"]
    assert custom["connect_args"] == {"connect_timeout": 2, "options": "-c statement_timeout=500"}


def test_statement_timeout_stops_a_slow_query(database_url, tmp_path):
    if not database_url.startswith("postgres"):
        pytest.skip("PostgreSQL's statement_timeout")
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    url = normalize_database_url(database_url)
    options = load_settings(tmp_path, {"DATABASE_URL": url, "SECRET_KEY": "x",
                                       "COSMOS_DB_STATEMENT_TIMEOUT_MS": "200"})["SQLALCHEMY_ENGINE_OPTIONS"]
    engine = create_engine(url, **options)
    try:
        started = time.monotonic()
        with engine.connect() as conn, pytest.raises(OperationalError):
            conn.execute(text("SELECT pg_sleep(5)"))
        assert time.monotonic() - started < 3
    finally:
        engine.dispose()


def test_hsts_header_when_configured(app, client):
    assert "Strict-Transport-Security" not in client.get("/").headers  # the test app is the embedded kind
    hsts = _app(app.config["SQLALCHEMY_DATABASE_URI"], COSMOS_HSTS_SECONDS=31536000)
    try:
        response = hsts.test_client().get("/account/login")
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    finally:
        _dispose(hsts)


def test_remember_cookie_is_secure_in_production(db, factories, database_url, tmp_path):
    secure = _app(database_url, REMEMBER_COOKIE_SECURE=load_settings(tmp_path, PROD)["REMEMBER_COOKIE_SECURE"])
    try:
        make_user(factories, "remember@zavod.ru", password=PASSWORD)
        db.session.commit()
        response = secure.test_client().post("/account/login", data={"email": "remember@zavod.ru",
                                                                     "password": PASSWORD, "remember": "on"})
        assert response.status_code == 302
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
        assert "Secure" in cookie and "HttpOnly" in cookie
    finally:
        _dispose(secure)


# Login limits ---------------------------------------------------------------------------------------------------

def _limited(database_url: str, **config: Any):
    return _app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                LOGIN_LIMIT_IP="20 per minute", LOGIN_LIMIT_ACCOUNT="30 per minute", **config)


def test_password_spraying_across_emails_is_slowed(db, database_url):
    limited = _limited(database_url)
    try:
        client = limited.test_client()
        codes = [client.post("/account/login", data={"email": f"victim{n}@zavod.ru", "password": "Spring2026!"})
                 .status_code for n in range(21)]
        assert codes[:20] == [401] * 20 and codes[20] == 429
        other = client.post("/account/login", data={"email": "victim1@zavod.ru", "password": "x"},
                            environ_overrides={"REMOTE_ADDR": "10.1.1.1"})
        assert other.status_code == 401  # another address is not locked out
    finally:
        _dispose(limited)


def test_one_account_from_many_addresses_is_slowed(db, database_url):
    limited = _limited(database_url)
    try:
        client = limited.test_client()
        codes = [client.post("/account/login", data={"email": "target@zavod.ru", "password": f"guess {n}"},
                             environ_overrides={"REMOTE_ADDR": f"10.0.{n // 200}.{n % 200 + 1}"}).status_code
                 for n in range(31)]
        assert codes[:30] == [401] * 30 and codes[30] == 429
    finally:
        _dispose(limited)


@pytest.mark.parametrize(("proxies", "spread"), [(0, False), (1, True)])
def test_trusted_proxy_setting(db, database_url, proxies, spread):
    """Off by default: X-Forwarded-For is ignored (a client could forge it), so the spraying limit still holds;
    with COSMOS_TRUSTED_PROXIES=1 each forwarded client has its own count."""
    limited = _limited(database_url, COSMOS_TRUSTED_PROXIES=proxies)
    try:
        client = limited.test_client()
        codes = [client.post("/account/login", data={"email": f"v{n}@zavod.ru", "password": "x"},
                             headers={"X-Forwarded-For": f"192.0.2.{n + 1}"}).status_code for n in range(21)]
        assert (429 in codes) is not spread
    finally:
        _dispose(limited)


# Database outages -----------------------------------------------------------------------------------------------

@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listener that accepts TCP connections and never answers (a hung database)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("kind", ["refused", "hangs"])
def test_database_outage_is_a_503(tmp_path, silent_port, kind):
    """A refused port and a database that accepts but never answers: a 503 within the connect timeout, problem+json
    in the API and the site's own Russian page (no ``db`` fixture: its session would bind the test database)."""
    port = _free_port() if kind == "refused" else silent_port
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/cosmos"
    options = load_settings(tmp_path, {"DATABASE_URL": url, "SECRET_KEY": "x",
                                       "COSMOS_DB_CONNECT_TIMEOUT": "1"})["SQLALCHEMY_ENGINE_OPTIONS"]
    down = _app(url, SQLALCHEMY_ENGINE_OPTIONS=options)
    try:
        client = down.test_client()
        started = time.monotonic()
        api = client.get("/api/v1/listings/1")
        assert time.monotonic() - started < 10
        assert api.status_code == 503 and api.mimetype == "application/problem+json"
        assert api.headers["Retry-After"] and api.get_json()["status"] == 503
        page = client.get("/listings/1")
        assert page.status_code == 503 and page.mimetype == "text/html"
        assert "Сервис временно недоступен" in page.get_data(as_text=True)
        assert "<nav" in page.get_data(as_text=True) or "navbar" in page.get_data(as_text=True)  # the site's layout
    finally:
        _dispose(down)


# Bad JSON and ids -----------------------------------------------------------------------------------------------

def test_lone_surrogate_in_json_is_a_400(client):
    response = client.post("/api/v1/classify", data=b'{"text": "\\ud800x"}', content_type="application/json")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert "text" in response.get_json()["errors"]
    key = client.post("/api/v1/classify", data=b'{"text": "x", "\\udfff": 1}', content_type="application/json")
    assert key.status_code == 400


@pytest.mark.parametrize("depth", [50_000, 100])
def test_deeply_nested_json_is_a_400(client, depth):
    body = "[" * depth + "]" * depth
    response = client.post("/api/v1/classify", data=f'{{"text": {body}}}', content_type="application/json")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE", "POST"])
def test_ids_above_int32_are_404(client, factories, bearer, method):
    user = factories.user()
    response = client.open("/api/v1/listings/2147483648", method=method, headers=bearer(user),
                           json={"title": "x"} if method in ("PATCH", "POST") else None)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
