"""Public pages rendered once per process and served to anonymous visitors until the data they show changes.

A page is kept under its path, query string and locale, with the *versions* of the scopes it depends on: ``all``,
``orgs`` (any organization), ``listings`` (any listing), ``org:<id>`` (the organization, its listings, contacts and
documents), ``listing:<id>`` and ``search`` (what the index has: bumped when the drain marks outbox rows done). A
commit bumps the versions of what it changed (the session's ``after_flush`` collects them, ``after_commit`` bumps),
so the next request of a page that shows it renders it again: in Redis when ``REDIS_URL`` is set (every process of
the site, the workers and the command line share them), in this process otherwise. A kept page also expires after
``COSMOS_PAGE_CACHE_SECONDS`` (60), for changes made outside the ORM (raw SQL, ``cosmos refdata load``).

Only anonymous visitors with an empty session get or fill a kept page: a signed-in user, a session holding a flash
message or a CSRF token, or a page that wrote into the session is always rendered for that request alone, so no one's
private data is ever kept. The CSP nonce of a kept page is replaced by a fresh one on each answer.
"""
from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Flask, current_app, g, has_app_context, request, session

log = logging.getLogger(__name__)

SCOPE_ALL = "all"
# Tables no anonymous page shows: their changes invalidate nothing. Any other table without its own rule below
# invalidates every kept page (``all``), so a new table is safe before anyone thinks of it.
IGNORED_TABLES = frozenset({
    "audit_log", "api_tokens", "notifications", "notification_preferences", "matches", "match_runs",
    "quote_requests", "conversations", "conversation_messages", "deals", "analytics_snapshots", "kpi_targets",
    "organization_invitations", "chain_requests", "cooperation_chains", "chain_events",
})
NONCE_PLACEHOLDER = "cosmos-page-cache-nonce-" + secrets.token_hex(8)
MAX_PAGES = 512
MAX_PAGE_BYTES = 2_000_000


@dataclass(frozen=True)
class KeptPage:
    stored_at: float
    scopes: tuple[str, ...]
    versions: tuple[int, ...]
    body: str


class LocalVersions:
    """Versions in this process (no Redis): right for one process, as the embedded mode runs."""

    def __init__(self) -> None:
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self, scopes: Iterable[str]) -> tuple[int, ...] | None:
        return tuple(self._versions.get(s, 0) for s in scopes)

    def bump(self, scopes: Iterable[str]) -> None:
        with self._lock:
            for s in scopes:
                self._versions[s] = self._versions.get(s, 0) + 1


class RedisVersions:
    """Versions in Redis, shared by every process; when Redis does not answer, nothing is served from memory."""

    PREFIX = "cosmos:page-version:"

    def __init__(self, url: str) -> None:
        from workers.queue import redis_connection

        self._redis = redis_connection(url)

    def get(self, scopes: Iterable[str]) -> tuple[int, ...] | None:
        try:
            values = self._redis.mget([self.PREFIX + s for s in scopes])
        except Exception as exc:  # noqa: BLE001 - Redis down: render, keep nothing
            log.warning("page versions unavailable: %s", exc)
            return None
        return tuple(int(v or 0) for v in values)

    def bump(self, scopes: Iterable[str]) -> None:
        try:
            pipe = self._redis.pipeline(transaction=False)
            for s in scopes:
                pipe.incr(self.PREFIX + s)
            pipe.execute()
        except Exception as exc:  # noqa: BLE001 - the change is committed; pages expire after the TTL
            log.warning("page versions not bumped (%s): %s", ", ".join(scopes), exc)


class PageCache:
    def __init__(self, app: Flask) -> None:
        url = app.config.get("REDIS_URL")
        self.versions: LocalVersions | RedisVersions = RedisVersions(url) if url else LocalVersions()
        self.seconds = float(app.config.get("COSMOS_PAGE_CACHE_SECONDS", 60))
        self.pages: OrderedDict[tuple[Any, ...], KeptPage] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> KeptPage | None:
        with self._lock:
            page = self.pages.get(key)
            if page is not None:
                self.pages.move_to_end(key)
        return page

    def put(self, key: tuple[Any, ...], page: KeptPage) -> None:
        with self._lock:
            self.pages[key] = page
            self.pages.move_to_end(key)
            while len(self.pages) > MAX_PAGES:
                self.pages.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self.pages.clear()


def init_app(app: Flask) -> None:
    """Keep pages unless ``COSMOS_PAGE_CACHE`` is off (tests turn it on where they test it)."""
    app.config.setdefault("COSMOS_PAGE_CACHE", not app.testing and app.config.get("COSMOS_PAGE_CACHE_SECONDS", 60) > 0)
    app.extensions["cosmos_page_cache"] = PageCache(app)
    _listen_to_sessions()


def page_cache(app: Flask | None = None) -> PageCache | None:
    return (app or current_app).extensions.get("cosmos_page_cache")


# Which scopes a commit changed --------------------------------------------------------------------------------

def scopes_of(obj: Any, owners: dict[int, int] | None = None) -> set[str]:
    """The scopes whose pages show ``obj`` (a new, changed or deleted ORM object); ``owners``: listing id →
    organization id of the listings flushed with it (a new listing is not in the identity map yet)."""
    table = getattr(obj, "__tablename__", None)
    if table in IGNORED_TABLES:
        return set()
    if table == "outbox":  # the index changes when the drain has applied a row, not when the row is written
        return {"search"} if obj.processed_at is not None else set()
    if table == "organizations":
        return {"orgs", f"org:{obj.id}"}
    if table == "listings":
        out = {"listings", f"listing:{obj.id}"}
        from sqlalchemy import inspect

        history = inspect(obj).attrs.organization_id.history
        out |= {f"org:{i}" for i in (*history.added, *history.unchanged, *history.deleted) if i is not None}
        return out
    out: set[str] = set()
    org_id = getattr(obj, "organization_id", None)
    if org_id is not None:
        out.add(f"org:{org_id}")
    listing_id = getattr(obj, "listing_id", None)
    if table == "documents" and getattr(obj, "owner_kind", None) == "listing":
        listing_id = obj.owner_id
    if listing_id is not None:
        out |= {"listings", f"listing:{listing_id}"}
        owner = (owners or {}).get(listing_id) or _listing_in_session(listing_id)
        out.add(f"org:{owner}" if owner is not None else SCOPE_ALL)
    return out or {SCOPE_ALL}


def _listing_in_session(listing_id: int) -> int | None:
    from sqlalchemy.orm.util import identity_key

    from marketplace.extensions import db
    from marketplace.listings.models import Listing

    listing = db.session.identity_map.get(identity_key(Listing, listing_id))
    return listing.organization_id if listing is not None else None


_listening = False


def _listen_to_sessions() -> None:
    global _listening
    if _listening:
        return
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "do_orm_execute", _orm_execute)
    _listening = True


def _changed(session: Any) -> set[str]:
    return session.info.setdefault("cosmos_changed_scopes", set())


def _after_flush(session: Any, _context: Any) -> None:
    changed = _changed(session)
    objects = (*session.new, *session.dirty, *session.deleted)
    owners = {obj.id: obj.organization_id for obj in objects
              if getattr(obj, "__tablename__", None) == "listings" and obj.organization_id is not None}
    for obj in objects:
        changed |= scopes_of(obj, owners)


def _orm_execute(state: Any) -> None:
    """A bulk ``update()``/``delete()``/``insert()`` through the session changes rows the unit of work never sees."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    tables = {getattr(t, "name", None) for t in getattr(state.statement, "_from_objects", ())}
    table = getattr(getattr(state.statement, "table", None), "name", None)
    tables = ({table} if table else tables) - {None}
    if tables and tables <= IGNORED_TABLES:
        return
    _changed(state.session).add("search" if tables == {"outbox"} else SCOPE_ALL)


def _after_commit(session: Any) -> None:
    changed = session.info.pop("cosmos_changed_scopes", None)
    if not changed or not has_app_context():
        return
    cache = page_cache()
    if cache is not None:
        cache.versions.bump(sorted(changed))


# Serving kept pages ----------------------------------------------------------------------------------------------

def depends_on(*scopes: str) -> None:
    """The page being rendered shows these scopes too (learned while rendering, e.g. a listing's organization)."""
    extra = g.get("page_cache_scopes")
    if extra is not None:
        extra.extend(s for s in scopes if s not in extra)


def _cacheable_request() -> bool:
    from flask_login import current_user

    if not current_app.config.get("COSMOS_PAGE_CACHE") or request.method != "GET":
        return False
    if session:  # a flash, a CSRF token, a login: this visitor's own page
        return False
    return not current_user.is_authenticated


def _answer(body: str) -> Any:
    nonce = secrets.token_urlsafe(16)
    g.csp_nonce = nonce  # the Content-Security-Policy header of this answer names it
    return current_app.response_class(body.replace(NONCE_PLACEHOLDER, nonce), mimetype="text/html")


def public_page(scopes: Callable[..., Iterable[str]]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Serve the view's page from memory to anonymous visitors while the versions of ``scopes(**view_args)`` (plus
    ``all`` and what the view adds with :func:`depends_on`) are those it was rendered at."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(**kwargs: Any) -> Any:
            cache = page_cache()
            if cache is None or not _cacheable_request():
                return view(**kwargs)
            from flask_babel import get_locale

            from marketplace.web import _matching_pending

            key = (request.endpoint, request.full_path, str(get_locale()), _matching_pending(),
                   current_app.config.get("CONTACTS_PUBLIC"))
            kept = cache.get(key)
            if (kept is not None and time.monotonic() - kept.stored_at < cache.seconds
                    and cache.versions.get(kept.scopes) == kept.versions):
                return _answer(kept.body)
            base = (SCOPE_ALL, *scopes(**kwargs))
            before = cache.versions.get(base)
            if before is None:
                return view(**kwargs)
            g.page_cache_scopes = list(base)
            g.csp_nonce = NONCE_PLACEHOLDER
            started = time.monotonic()
            try:
                result = view(**kwargs)
            finally:
                all_scopes = tuple(g.pop("page_cache_scopes", ()))
                g.pop("csp_nonce", None)  # an error page rendered after this gets a nonce of its own
            if isinstance(result, tuple) and result and isinstance(result[0], str):
                return (_answer(result[0]), *result[1:])  # an error answer (400, 503): never kept
            if not isinstance(result, str):
                return result
            if not session.modified and not session and len(result) < MAX_PAGE_BYTES:
                # The versions of the scopes known before rendering were read before it; those learned while
                # rendering are read now. A commit in between changes them, and the next request renders again.
                now = cache.versions.get(all_scopes)
                if now is not None and now[:len(base)] == before:
                    cache.put(key, KeptPage(started, all_scopes, now, result))
            return _answer(result)

        return wrapper

    return decorate
