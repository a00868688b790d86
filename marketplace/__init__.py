"""Космос: the Flask application. ``create_app()`` builds it; nothing happens at import time."""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: settings from the environment, then ``config`` applied last."""
    instance_path = os.environ.get("COSMOS_INSTANCE_PATH") or os.path.join(os.getcwd(), "instance")
    app = Flask(__name__, instance_path=os.path.abspath(instance_path), instance_relative_config=True)

    from marketplace.config import load_settings

    app.config.update(load_settings(app.instance_path))
    if config:
        app.config.update(config)
    if app.testing and "JOBS_IN_BACKGROUND" not in (config or {}):
        app.config["JOBS_IN_BACKGROUND"] = False  # a test sees the work done when its request returns
    os.makedirs(app.instance_path, exist_ok=True)
    logging.basicConfig(level=app.config["COSMOS_LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    from marketplace.extensions import db, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"))
    _configure_sqlite(app)

    import marketplace.models  # noqa: F401  (registers every model on the metadata)
    from marketplace import web

    web.init_app(app)
    from marketplace.core import pagecache

    pagecache.init_app(app)
    from marketplace.indexing.views import bp as search_bp

    app.register_blueprint(search_bp)  # the search page; the menu links it as "search.index"
    app.register_blueprint(__import__("marketplace.operations.views", fromlist=["bp"]).bp)  # /operations
    from marketplace.commands import register

    register(app.cli)
    return app


def _configure_sqlite(app: Flask) -> None:
    """Make SQLite behave like a real database: foreign keys on, WAL for readers beside one writer, and
    transactions that SQLAlchemy controls (pysqlite's own implicit BEGIN breaks SAVEPOINTs)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    from marketplace.extensions import db

    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    from marketplace.core import sqlite

    with app.app_context():
        engine = db.engine
        event.listen(engine, "connect", _on_connect)
        # A deferred transaction that read and then writes after another connection committed fails at once with
        # «database is locked» (SQLITE_BUSY_SNAPSHOT: the busy timeout does not help). What may write — a POST,
        # a job, a command — takes the write lock, in turn, when it begins; a page view reads.
        sqlite.install(engine, _reads_only)


def _reads_only() -> bool:
    from flask import has_request_context, request

    return has_request_context() and request.method in ("GET", "HEAD", "OPTIONS")
