"""The Alembic revisions are the schema: one head, and upgrading an empty database gives exactly the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app


def test_single_alembic_head(app):
    with app.app_context():
        config = current_app.extensions["migrate"].migrate.get_config()
        heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several Alembic heads: {heads}"


def test_upgraded_schema_equals_the_models(db):
    # The session database was built by `upgrade()` from empty (see conftest); compare it with the models.
    connection = db.session.connection()
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    diff = compare_metadata(context, db.metadata)
    assert diff == [], f"migrations and models differ: {diff}"


def test_database_is_at_head(db):
    from alembic.script import ScriptDirectory

    config = current_app.extensions["migrate"].migrate.get_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    context = MigrationContext.configure(db.session.connection())
    assert context.get_current_revision() == head


UPGRADE_AND_COMPARE = """
import json, sys
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from marketplace import create_app
from marketplace.extensions import db
app = create_app({"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": sys.argv[1], "SQLALCHEMY_ENGINE_OPTIONS": {}})
with app.app_context():
    with db.engine.connect() as connection:
        empty = not db.inspect(connection).get_table_names()
    upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
        print(json.dumps({"empty_before": empty, "diff": [repr(d) for d in diff],
                          "revision": context.get_current_revision(),
                          "tables": len(db.inspect(connection).get_table_names())}))
"""


def _upgrade_in_child(url: str, tmp_path) -> dict:
    """Upgrade the database at ``url`` in a child process (its own app and engine) and compare it with the models."""
    import json
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", UPGRADE_AND_COMPARE, url], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COSMOS_INSTANCE_PATH": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _head(app) -> str:
    with app.app_context():
        config = current_app.extensions["migrate"].migrate.get_config()
        return ScriptDirectory.from_config(config).get_current_head()


def test_upgrading_an_empty_sqlite_database_gives_exactly_the_models(app, tmp_path):
    result = _upgrade_in_child(f"sqlite:///{tmp_path / 'empty.sqlite3'}", tmp_path)
    assert result["empty_before"] and result["diff"] == [] and result["revision"] == _head(app)
    assert result["tables"] > 20


def test_upgrading_an_empty_postgresql_database_gives_exactly_the_models(app, database_url, tmp_path):
    """An empty schema of the test PostgreSQL database, first on the search path, stands for an empty database."""
    import uuid

    from sqlalchemy import create_engine, text

    from marketplace.config import normalize_database_url
    from tests.conftest import service_missing

    if not database_url.startswith("postgres"):
        service_missing("COSMOS_TEST_DATABASE_URL is not a PostgreSQL database")
    schema = f"migration_{uuid.uuid4().hex[:8]}"
    base = normalize_database_url(database_url)
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in base else "?"
        result = _upgrade_in_child(f"{base}{separator}options=-csearch_path%3D{schema}", tmp_path)
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
    assert result["empty_before"] and result["diff"] == [] and result["revision"] == _head(app)
    assert result["tables"] > 20
