"""Flask extensions, created without an app; ``create_app`` binds them with ``init_app``."""
from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names keep Alembic revisions identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()


def _rate_limit_key() -> str:
    """Rate limits count per client address; the login limit adds the e-mail (see ``accounts.views``)."""
    from flask_limiter.util import get_remote_address

    return get_remote_address()


def _locale() -> str:
    """``?lang=xx`` (remembered in a cookie by ``web``), then the cookie, then Accept-Language; Russian by default."""
    from flask import request

    supported = ("ru", "en")
    lang = request.args.get("lang") or request.cookies.get("lang")
    if lang in supported:
        return lang
    return request.accept_languages.best_match(supported) or "ru"


login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = "Войдите, чтобы открыть эту страницу."
login_manager.login_message_category = "warning"
login_manager.needs_refresh_message = "Войдите ещё раз, чтобы подтвердить действие."
csrf = CSRFProtect()
babel = Babel()
babel_locale_selector = _locale
# Storage comes from RATELIMIT_STORAGE_URI (Redis in production, memory:// embedded); no default limits:
# each sensitive endpoint declares its own.
limiter = Limiter(_rate_limit_key)
