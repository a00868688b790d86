"""Creating, listing, revoking and checking personal API tokens (services: they flush, the caller commits)."""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from marketplace.accounts.models import User
from marketplace.api.models import ApiToken
from marketplace.core.audit import record_audit
from marketplace.core.models import utcnow
from marketplace.core.validation import FieldParser, ValidationFailed
from marketplace.extensions import db

log = logging.getLogger(__name__)

# Tokens carry this prefix so that secret scanners (and people) recognise them.
TOKEN_PREFIX = "cosmos_"
# ``last_used_at`` is written at most this often, so that reads do not turn every request into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_ACTIVE_TOKENS = 50
LAST_USED_WRITTEN = "cosmos_api_token_last_used_written"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, *, name: object, actor: str | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the token itself, which is not stored and shown only once."""
    p = FieldParser()
    clean_name = p.text("name", name, required=True, max_length=100)
    if p.errors:
        raise ValidationFailed(p.errors)
    active = db.session.scalars(select(ApiToken.id).where(ApiToken.user_id == user.id,
                                                          ApiToken.revoked_at.is_(None))).all()
    if len(active) >= MAX_ACTIVE_TOKENS:
        p.error("name", f"не больше {MAX_ACTIVE_TOKENS} действующих токенов; отзовите ненужные")
        raise ValidationFailed(p.errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=clean_name, token_hash=hash_token(secret), prefix=secret[:12])
    db.session.add(token)
    db.session.flush()
    record_audit("create", "api_token", token.id, {"name": clean_name, "user_id": user.id},
                 user_id=None if actor else user.id, actor=actor)
    log.info("API token %s created for user %s", token.id, user.id)
    return token, secret


def user_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_token(token: ApiToken, *, user: Any = None) -> ApiToken:
    """Revoke the token; it stops working at once. Revoking twice changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
        record_audit("revoke", "api_token", token.id, {"name": token.name}, user_id=getattr(user, "id", None))
    return token


def authenticate(secret: str) -> User | None:
    """The active user of an active token, or None; notes when the token was last used."""
    if not secret or len(secret) > 200:
        return None
    # The user with the token, and their memberships (every permission asks for them) in one more query.
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret))
                              .options(joinedload(ApiToken.user).selectinload(User.memberships)))
    # The lookup is by hash; the constant-time compare guards against a future change to a prefix lookup.
    if token is None or not hmac.compare_digest(token.token_hash, hash_token(secret)) or not token.is_active:
        return None
    user = token.user
    if not user.is_active:
        return None
    now = utcnow()
    last = token.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    if last is None or now - last >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.flush()
        db.session.info[LAST_USED_WRITTEN] = True
    return user


def last_used_written() -> bool:
    """Whether :func:`authenticate` wrote ``last_used_at`` in this transaction (then the caller commits it)."""
    return bool(db.session.info.pop(LAST_USED_WRITTEN, False))
