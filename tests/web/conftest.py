"""Helpers for page tests: log a user in, read the CSRF token from a form page, post a form with it.

CSRF protection is on in the test app, so every POST goes through :func:`submit` (or carries :func:`form_token`).
"""
from __future__ import annotations

import re
from typing import Any

import pytest

_TOKEN = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


def login(client: Any, user: Any) -> None:
    """Put ``user`` in the client's session (``None``: log out). Commits the test's setup to its savepoint first, so a
    view that rolls back a refused change keeps it, and drops the user Flask-Login cached on ``g`` (the test's
    requests share its application context)."""

    from marketplace.extensions import db

    db.session.commit()
    _forget_request_state()
    with client.session_transaction() as session:
        session.clear()
        if user is not None:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True


def _forget_request_state() -> None:
    """The test's requests share its application context, so ``g`` outlives a request here as it never does in a
    server: drop what Flask-Login and Flask-WTF cache there (the user, the signed CSRF token)."""
    from flask import g

    g.pop("_login_user", None)
    g.pop("csrf_token", None)


def form_token(client: Any, url: str) -> str:
    """The CSRF token of the first form on the page at ``url`` (fails when the page has no token field)."""
    _forget_request_state()
    page = client.get(url)
    assert page.status_code == 200, f"GET {url}: {page.status_code}"
    found = _TOKEN.search(page.get_data(as_text=True))
    assert found, f"no CSRF token field on {url}"
    return found.group(1)


def submit(client: Any, form_url: str, data: dict[str, Any] | None = None, *, action: str | None = None,
           follow: bool = False) -> Any:
    """GET the form page, take its CSRF token and POST ``data`` to ``action`` (default: the form page)."""
    payload = dict(data or {})
    payload["csrf_token"] = form_token(client, form_url)
    return client.post(action or form_url, data=payload, follow_redirects=follow)


def page_text(response: Any) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the jobs the views enqueue instead of running them (the outbox drain runs the search slice)."""
    from workers import queue

    calls: list[str] = []

    def fake_enqueue(name: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return queue.JobHandle(name, "queued", id="test")

    monkeypatch.setattr(queue, "enqueue", fake_enqueue)
    return calls


@pytest.fixture
def mail_log(caplog: pytest.LogCaptureFixture):
    """Account e-mail written to the log (no SMTP in tests): ``mail_log()`` returns the links, oldest first."""
    import logging

    from marketplace.accounts.services import MAIL_LOG_MARKER

    caplog.set_level(logging.INFO, logger="marketplace.accounts.services")

    def links() -> list[str]:
        out = []
        for record in caplog.records:
            message = record.getMessage()
            if MAIL_LOG_MARKER in message:
                found = re.search(r"link=(\S+)", message)
                if found and found.group(1) != "-":
                    out.append(found.group(1))
        return out

    return links
