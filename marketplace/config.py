"""Settings, read in one place: environment variables parsed once into the config mapping.

Unset variables give the embedded default (SQLite, inline jobs, embedded search index and the
built-in encoder under ``instance/``); production sets ``DATABASE_URL``, ``REDIS_URL``,
``ELASTICSEARCH_URL``, ``EMBEDDING_MODEL`` and ``SECRET_KEY``.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def normalize_database_url(url: str) -> str:
    """Route ``postgres://`` and ``postgresql://`` URLs through psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_settings(instance_path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> dict[str, object]:
    """Return the config mapping for ``env`` (``os.environ`` by default)."""
    env = os.environ if env is None else env
    instance = Path(instance_path)
    database_url = env.get("DATABASE_URL") or ""
    embedded = not database_url
    if embedded:
        database_url = f"sqlite:///{instance / 'cosmos.sqlite3'}"
    database_url = normalize_database_url(database_url)

    secret_key = env.get("SECRET_KEY") or ""
    if not secret_key:
        if not embedded and not _bool(env.get("COSMOS_ALLOW_EPHEMERAL_SECRET")):
            raise ConfigError("SECRET_KEY must be set when DATABASE_URL points at a production database")
        secret_key = _embedded_secret(instance)

    search_url = env.get("ELASTICSEARCH_URL") or f"embedded://{instance / 'search'}"
    settings: dict[str, object] = {
        "SECRET_KEY": secret_key,
        "COSMOS_EMBEDDED": embedded,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(env, database_url),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "SEARCH_URL": search_url,
        "SEARCH_INDEX_PREFIX": env.get("COSMOS_SEARCH_INDEX_PREFIX", "cosmos"),
        # The embedded index's approximate option for large corpora (an inverted file over segments of 50,000 rows
        # or more; faiss-cpu, `pip install .[ann]`): broad vector queries probe this share of its lists. Exact by
        # default; docs/search.md gives the recall and the speed it buys.
        "SEARCH_APPROXIMATE": _bool(env.get("COSMOS_SEARCH_APPROXIMATE")),
        "SEARCH_PROBE": _float(env, "COSMOS_SEARCH_PROBE", 0.05, 0.001, 1.0),
        "EMBEDDING_MODEL": env.get("EMBEDDING_MODEL") or "builtin",
        "ENCODER_PATH": str(instance / "encoder"),
        "SMTP_URL": env.get("SMTP_URL") or None,
        "MAIL_SENDER": env.get("MAIL_SENDER", "Космос <noreply@cosmos.local>"),
        # What anonymous visitors see of an organization's contacts: none | website (and address) | all.
        "CONTACTS_PUBLIC": _choice(env, "COSMOS_CONTACTS_PUBLIC", ("none", "website", "all"), "none"),
        # The hour (local time, BABEL_DEFAULT_TIMEZONE) at which the daily notification digest goes out.
        "NOTIFICATION_DIGEST_HOUR": _int(env, "COSMOS_DIGEST_HOUR", 8),
        # The operator of personal data named in the processing policy (/account/privacy): the body that runs the
        # platform, e.g. «Министерство промышленности Хабаровского края».
        "OPERATOR_NAME": env.get("COSMOS_OPERATOR_NAME", ""),
        # The site's address for links in e-mail sent by jobs (no request to take it from).
        "PUBLIC_URL": (env.get("COSMOS_PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": not embedded and not _bool(env.get("COSMOS_INSECURE_COOKIES")),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": not embedded and not _bool(env.get("COSMOS_INSECURE_COOKIES")),
        # Strict-Transport-Security in production (0 turns it off, e.g. while TLS is being set up).
        "COSMOS_HSTS_SECONDS": _int(env, "COSMOS_HSTS_SECONDS", 0 if embedded else 365 * 24 * 3600),
        # How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host (werkzeug ProxyFix); 0: none
        # trusted, the socket's address is the client's (the headers of a direct client are forgeable).
        "COSMOS_TRUSTED_PROXIES": _int(env, "COSMOS_TRUSTED_PROXIES", 0),
        # Login limits: per account (whatever the address) and per address (whatever the e-mail: spraying).
        "LOGIN_LIMIT_ACCOUNT": env.get("COSMOS_LOGIN_LIMIT_ACCOUNT") or "30 per minute;200 per hour",
        "LOGIN_LIMIT_IP": env.get("COSMOS_LOGIN_LIMIT_IP") or "20 per minute;200 per hour",
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": _int(env, "COSMOS_MAX_UPLOAD_BYTES", 16 * 1024 * 1024),
        # Documents: a folder (default instance/documents) or s3://bucket/prefix; one file at most this big
        # (below MAX_CONTENT_LENGTH, so that the form's other fields still arrive).
        "DOCUMENTS_STORAGE_URL": env.get("COSMOS_DOCUMENTS_URL") or str(instance / "documents"),
        "DOCUMENTS_S3_ENDPOINT_URL": env.get("COSMOS_S3_ENDPOINT_URL") or None,
        "DOCUMENTS_MAX_BYTES": _int(env, "COSMOS_DOCUMENTS_MAX_BYTES", 15 * 1024 * 1024),
        "RATELIMIT_STORAGE_URI": env.get("REDIS_URL") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis down must not take the site down: count in this process's memory until it returns.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "BABEL_DEFAULT_LOCALE": "ru",
        "BABEL_DEFAULT_TIMEZONE": env.get("COSMOS_TIMEZONE", "Asia/Vladivostok"),
        "COSMOS_DEFAULT_REGION": env.get("COSMOS_DEFAULT_REGION", "27"),
        "COSMOS_LOG_LEVEL": env.get("COSMOS_LOG_LEVEL", "INFO"),
        # The matching engine: the platform's procurement policy (a need may set its own) and how much work a
        # web request does inline when jobs run inline.
        "MATCH_MODE": _choice(env, "COSMOS_MATCH_MODE", ("strict", "weighted"), "strict"),
        "MATCH_THRESHOLD": _float(env, "COSMOS_MATCH_THRESHOLD", 0.35, 0.0, 1.0),
        "MATCH_ALLOW_EXCLUDED": _bool(env.get("COSMOS_MATCH_ALLOW_EXCLUDED")),
        "MATCH_CANDIDATES": _int(env, "COSMOS_MATCH_CANDIDATES", 100),
        "MATCH_INFER_CODES": _bool(env.get("COSMOS_MATCH_INFER_CODES"), default=True),
        "MATCH_AFTER_COMMIT": _bool(env.get("COSMOS_MATCH_AFTER_COMMIT"), default=True),
        "MATCH_INLINE_LIMIT": _int(env, "COSMOS_MATCH_INLINE_LIMIT", 20),
        "MATCH_SUGGEST_CHAINS": _bool(env.get("COSMOS_MATCH_SUGGEST_CHAINS"), default=True),
        # Without Redis, a request's follow-up work (indexing, matching) runs on one background thread of the
        # process, not inside the request (``workers.background``); tests run it inline unless they ask.
        "JOBS_IN_BACKGROUND": _bool(env.get("COSMOS_JOBS_IN_BACKGROUND"), default=True),
        # Public pages kept in memory for anonymous visitors until what they show changes (core.pagecache), and
        # at most this long; 0 turns it off.
        "COSMOS_PAGE_CACHE_SECONDS": _int(env, "COSMOS_PAGE_CACHE_SECONDS", 60),
    }
    return settings


def _engine_options(env: Mapping[str, str], database_url: str) -> dict[str, object]:
    """PostgreSQL: a connect timeout and a statement timeout (a database that accepts but never answers costs a
    request seconds, then a 503, not gunicorn's 30 s kill), both settable by environment variables."""
    if database_url.startswith("sqlite"):
        return {}
    connect = _int(env, "COSMOS_DB_CONNECT_TIMEOUT", 5)
    statement_ms = _int(env, "COSMOS_DB_STATEMENT_TIMEOUT_MS", 15000)
    options: dict[str, object] = {"pool_pre_ping": True, "pool_timeout": _int(env, "COSMOS_DB_POOL_TIMEOUT", 10)}
    if database_url.startswith("postgresql"):
        connect_args: dict[str, object] = {"connect_timeout": connect}
        if statement_ms:
            connect_args["options"] = f"-c statement_timeout={statement_ms}"
        options["connect_args"] = connect_args
    return options


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value:g}")
    return value


def _embedded_secret(instance: Path) -> str:
    """A per-installation secret for the embedded mode, kept in ``instance/`` (never in the repository)."""
    path = instance / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        instance.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key
