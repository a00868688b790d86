"""Shared fixtures: ``app`` (one schema per run, built by the Alembic revisions), ``db`` (each test inside a
transaction rolled back at the end), ``client`` and factories.

The database is SQLite by default; ``COSMOS_TEST_DATABASE_URL`` runs the suite on PostgreSQL and
``COSMOS_TEST_REDIS_URL`` enables the tests that need Redis. With ``COSMOS_REQUIRE_SERVICES=1`` a missing
service fails the run instead of skipping.
"""
from __future__ import annotations

import os

import pytest
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import text
from sqlalchemy.orm import scoped_session, sessionmaker

from tests.fixtures.factories import Factories

REQUIRE_SERVICES = os.environ.get("COSMOS_REQUIRE_SERVICES") == "1"
TEST_DATABASE_URL = os.environ.get("COSMOS_TEST_DATABASE_URL") or ""
TEST_REDIS_URL = os.environ.get("COSMOS_TEST_REDIS_URL") or ""


def pytest_configure(config: pytest.Config) -> None:
    if REQUIRE_SERVICES:
        missing = [name for name, value in (("COSMOS_TEST_DATABASE_URL", TEST_DATABASE_URL),
                                             ("COSMOS_TEST_REDIS_URL", TEST_REDIS_URL)) if not value]
        if missing:
            raise pytest.UsageError(f"COSMOS_REQUIRE_SERVICES=1 but {', '.join(missing)} is not set")


def service_missing(reason: str) -> None:
    """Skip, or fail when the run requires real services."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("instance"))


@pytest.fixture(scope="session")
def database_url(instance_path: str) -> str:
    return TEST_DATABASE_URL or f"sqlite:///{instance_path}/test.sqlite3"


@pytest.fixture(scope="session")
def app(instance_path: str, database_url: str):
    """The application with an upgraded, reference-loaded schema, shared by the whole run."""
    os.environ["COSMOS_INSTANCE_PATH"] = instance_path
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.config import normalize_database_url
    from marketplace.extensions import db
    from marketplace.refdata.loader import load_reference_data

    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "SEARCH_URL": f"embedded://{instance_path}/search",
        "REDIS_URL": None,
        "WTF_CSRF_ENABLED": True,
        "RATELIMIT_ENABLED": False,
    })
    with app.app_context():
        if database_url.startswith("postgres"):
            with db.engine.begin() as conn:  # a throwaway database: start from an empty schema
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(revision="heads")  # "heads": a second head fails test_single_alembic_head, not every test
        load_reference_data()
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def db(app):
    """The Flask-SQLAlchemy handle with its session bound to a connection whose transaction is rolled back."""
    from marketplace.extensions import db as _db

    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        original = _db.session
        # A plain Session honours ``bind`` (Flask-SQLAlchemy's own picks the engine); every app context of the
        # test — a request, a CLI command, an inline job — shares the one connection and its outer transaction.
        factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        _db.session = scoped_session(factory, scopefunc=_app_ctx_id)
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original
            if transaction.is_active:
                transaction.rollback()
            connection.close()


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def runner(app, db):
    return app.test_cli_runner()


@pytest.fixture
def factories(db) -> Factories:
    return Factories(db)


@pytest.fixture
def redis_url() -> str:
    if not TEST_REDIS_URL:
        service_missing("COSMOS_TEST_REDIS_URL is not set")
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        service_missing(f"Redis at {TEST_REDIS_URL} does not answer: {exc}")
    finally:
        client.close()
    return TEST_REDIS_URL


@pytest.fixture(autouse=True)
def _restore_search_url(request: pytest.FixtureRequest):
    """Tests that point ``SEARCH_URL`` at an index of their own get the run's index back afterwards, so a later
    test (the API fuzzing, a page) never opens a leftover index built with another encoder."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    url = app.config["SEARCH_URL"]
    yield
    if app.config["SEARCH_URL"] != url:
        from marketplace.indexing.services import close_search

        with app.app_context():
            close_search(keep_encoder=True)
        app.config["SEARCH_URL"] = url


class Inbox:
    """Messages a real SMTP server (aiosmtpd) received: (recipients, raw message)."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free local port: ``(smtp_url, inbox)``."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield f"smtp://127.0.0.1:{port}", inbox
    controller.stop()


@pytest.fixture
def bearer(db):
    """``bearer(user)`` → headers with a fresh personal token of ``user``."""

    from marketplace.api.tokens import create_token

    def make(user) -> dict[str, str]:
        _, secret = create_token(user, name="tests")
        db.session.flush()
        return {"Authorization": f"Bearer {secret}"}

    return make
