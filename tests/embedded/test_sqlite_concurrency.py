"""The embedded mode under a person's use: several people save at once while the background thread and the
in-process scheduler match, on a real SQLite file (WAL, busy timeout, write transactions that begin IMMEDIATE).
No request fails, none waits for matching, and every listing is matched in the end."""
from __future__ import annotations

import logging
import threading
import time

import pytest
from sqlalchemy import select

from marketplace.accounts.models import UserRole

WRITERS = 4
SAVES_EACH = 5


@pytest.fixture
def embedded_app(tmp_path):
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.refdata.loader import load_reference_data

    app = create_app({
        "TESTING": True, "SECRET_KEY": "embedded-test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/e.sqlite3",
        "SQLALCHEMY_ENGINE_OPTIONS": {}, "SEARCH_URL": f"embedded://{tmp_path}/search", "REDIS_URL": None,
        "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "JOBS_IN_BACKGROUND": True,
    })
    with app.app_context():
        upgrade(revision="heads")
        load_reference_data()
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _people(app):
    from marketplace.core.models import utcnow
    from marketplace.extensions import db
    from tests.fixtures.factories import Factories

    with app.app_context():
        make = Factories(db)
        ids = []
        for n in range(WRITERS):
            org = make.organization(region="27")
            user = make.user(role=UserRole.MANUFACTURER if n % 2 else UserRole.BUYER, organization=org,
                             email_confirmed_at=utcnow())
            org.verified = True
            ids.append((user.id, user.get_id(), n % 2 == 1))
        db.session.commit()
        db.session.remove()
    return ids


def test_concurrent_saves_with_background_matching_never_fail(embedded_app, caplog):
    from marketplace.extensions import db
    from marketplace.listings.models import Listing
    from marketplace.matches.models import MatchRun
    from workers.background import runner_for
    from workers.queue import execute

    caplog.set_level(logging.WARNING)
    people = _people(embedded_app)
    statuses: list[int] = []
    timings: list[float] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(session_id: str, maker: bool, n: int) -> None:
        try:
            client = embedded_app.test_client()
            with client.session_transaction() as session:
                session["_user_id"] = session_id
                session["_fresh"] = True
            for i in range(SAVES_EACH):
                if maker:
                    url, data = "/my/listings/new/capability", {"title": f"Токарная обработка валов {n}-{i}",
                                                                 "okved2": "25.62", "action": "publish"}
                else:
                    url, data = "/my/listings/new/purchase_request", {
                        "title": f"Токарная обработка валов по чертежам {n}-{i}", "okpd2": "25.62.10",
                        "quantity": "10", "mode": "buy", "action": "publish"}
                started = time.monotonic()
                response = client.post(url, data=data)
                timings.append(time.monotonic() - started)
                statuses.append(response.status_code)
                client.get("/my/offers" if maker else "/my/needs")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def scheduler() -> None:  # the in-process scheduler's matching, as fast as it can go
        try:
            while not stop.is_set():
                with embedded_app.app_context():
                    execute("matching.refresh_stale", [], {})
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    background = threading.Thread(target=scheduler)
    background.start()
    threads = [threading.Thread(target=writer, args=(sid, maker, n)) for n, (_uid, sid, maker) in enumerate(people)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    runner = runner_for(embedded_app)
    assert runner.join(120), "the background jobs did not finish"
    stop.set()
    background.join(120)

    assert not errors, errors
    assert statuses == [302] * (WRITERS * SAVES_EACH), statuses
    assert runner.failures == 0
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or "locked" in r.getMessage()]
    assert not problems, problems
    with embedded_app.app_context():
        execute("matching.refresh_stale", [], {})  # whatever the last run left (the inline batch limit)
        listings = db.session.scalars(select(Listing)).all()
        assert len(listings) == WRITERS * SAVES_EACH
        matched = set(db.session.scalars(select(MatchRun.listing_id)))
        needs = [x.id for x in listings if x.kind.value == "purchase_request"]
        assert needs and set(needs) <= matched
        db.session.remove()
    # The save answers without waiting for matching (generous on a shared 2-core machine).
    assert sorted(timings)[len(timings) // 2] < 1.5, timings
