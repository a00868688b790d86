import pytest

from marketplace.config import ConfigError, load_settings, normalize_database_url


def test_embedded_defaults_need_no_environment(tmp_path):
    settings = load_settings(tmp_path, env={})
    assert settings["COSMOS_EMBEDDED"] is True
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'cosmos.sqlite3'}"
    assert settings["REDIS_URL"] is None  # jobs inline
    assert settings["SEARCH_URL"] == f"embedded://{tmp_path / 'search'}"
    assert settings["EMBEDDING_MODEL"] == "builtin"
    # a per-installation secret is generated once and reused, never taken from the repository
    assert settings["SECRET_KEY"] == load_settings(tmp_path, env={})["SECRET_KEY"]
    assert len(settings["SECRET_KEY"]) == 64


def test_production_values_come_from_the_environment(tmp_path):
    env = {"DATABASE_URL": "postgresql://cosmos@db/cosmos", "SECRET_KEY": "s3cret", "REDIS_URL": "redis://r:6379/0",
           "ELASTICSEARCH_URL": "http://es:9200", "EMBEDDING_MODEL": "intfloat/multilingual-e5-small"}
    settings = load_settings(tmp_path, env=env)
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://cosmos@db/cosmos"
    assert settings["COSMOS_EMBEDDED"] is False
    assert settings["REDIS_URL"] == "redis://r:6379/0"
    assert settings["SEARCH_URL"] == "http://es:9200"
    assert settings["EMBEDDING_MODEL"] == "intfloat/multilingual-e5-small"
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://r:6379/0"


def test_secret_key_is_required_outside_the_embedded_mode(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings(tmp_path, env={"DATABASE_URL": "postgresql://db/cosmos"})


def test_malformed_integer_setting_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="COSMOS_MAX_UPLOAD_BYTES"):
        load_settings(tmp_path, env={"COSMOS_MAX_UPLOAD_BYTES": "lots"})


@pytest.mark.parametrize("url,expected", [
    ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
    ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
    ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_database_urls_use_psycopg3(url, expected):
    assert normalize_database_url(url) == expected


def test_config_mapping_is_applied_last(app):
    from marketplace import create_app

    other = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "EMBEDDING_MODEL": "x"})
    assert other.config["EMBEDDING_MODEL"] == "x"


def test_the_site_keeps_working_and_limiting_while_redis_is_down(app, tmp_path):
    """Rate limits live in Redis in production; with Redis gone they fall back to memory instead of failing.

    Run in a child process: Flask-Limiter's ``Limiter`` is one object per process, and this app's settings must
    not leak into the session's app.
    """
    import json
    import os
    import subprocess
    import sys

    script = """
import json, sys
from marketplace import create_app
app = create_app({"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": sys.argv[1], "SQLALCHEMY_ENGINE_OPTIONS": {},
                  "REDIS_URL": "redis://127.0.0.1:1/0", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",
                  "RATELIMIT_ENABLED": True})
client = app.test_client()
statuses = [client.get("/classifiers/okpd2/search?q=25.62").status_code for _ in range(121)]
print(json.dumps({"first": statuses[0], "ok": statuses.count(200), "limited": statuses.count(429)}))
"""
    env = {**os.environ, "COSMOS_INSTANCE_PATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script, app.config["SQLALCHEMY_DATABASE_URI"]], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"first": 200, "ok": 120, "limited": 1}  # served, and the 120-per-minute limit still holds


def test_approximate_search_is_a_setting_and_a_bad_probe_names_the_variable(tmp_path):
    settings = load_settings(tmp_path, env={})
    assert settings["SEARCH_APPROXIMATE"] is False and settings["SEARCH_PROBE"] == 0.05
    settings = load_settings(tmp_path, env={"COSMOS_SEARCH_APPROXIMATE": "1", "COSMOS_SEARCH_PROBE": "0.1"})
    assert settings["SEARCH_APPROXIMATE"] is True and settings["SEARCH_PROBE"] == 0.1
    with pytest.raises(ConfigError, match="COSMOS_SEARCH_PROBE"):
        load_settings(tmp_path, env={"COSMOS_SEARCH_PROBE": "2"})


def test_the_embedded_backend_opens_approximate_when_the_setting_asks(app, tmp_path, monkeypatch):
    import importlib.util

    from marketplace.indexing.services import _open_backend
    from search.base import BackendUnavailable

    monkeypatch.setitem(app.config, "SEARCH_URL", f"embedded://{tmp_path / 'search'}")
    monkeypatch.setitem(app.config, "SEARCH_APPROXIMATE", True)
    monkeypatch.setitem(app.config, "SEARCH_PROBE", 0.2)
    with app.app_context():
        if importlib.util.find_spec("faiss") is None:  # the [ann] extra is not installed: a clear refusal
            with pytest.raises(BackendUnavailable, match="faiss"):
                _open_backend()
            return
        backend = _open_backend()
        try:
            assert backend._vectors.approximate is True and backend._vectors.probe == 0.2
        finally:
            backend.close()
        monkeypatch.setitem(app.config, "SEARCH_APPROXIMATE", False)
        backend = _open_backend()
        try:
            assert backend._vectors.approximate is False
        finally:
            backend.close()
