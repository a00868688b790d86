"""With Redis, matching runs on an RQ worker and the e-mail of new matches goes out through a second job."""
from __future__ import annotations

from email import message_from_string
from email.policy import default

from sqlalchemy import select

from marketplace.core.models import utcnow
from marketplace.matches.models import Match
from marketplace.notifications.models import Notification
from workers import queue


def test_matching_and_its_e_mails_run_on_rq_workers(app, db, factories, market, redis_url, smtp_server):
    import redis
    from rq import Queue, SimpleWorker

    url, inbox = smtp_server
    supplier = factories.user(organization=market.khv.organization, email_confirmed_at=utcnow())
    supplier_email = supplier.email
    need_id, khv_id, vvo_id = market.need.id, market.khv.id, market.vvo.id  # the worker closes the session
    db.session.commit()
    connection = redis.Redis.from_url(redis_url)
    matching, notifications = (Queue(name, connection=connection) for name in ("matching", "notifications"))
    matching.empty()
    notifications.empty()
    app.config.update(REDIS_URL=redis_url, SMTP_URL=url)
    try:
        handle = queue.enqueue("matching.refresh", need_id)
        assert handle.status == "queued" and handle.id in matching.job_ids
        assert db.session.scalars(select(Match)).all() == []  # nothing happens until a worker takes it
        SimpleWorker([matching], connection=connection).work(burst=True)
        db.session.expire_all()
        rows = db.session.scalars(select(Match).where(Match.need_id == need_id)).all()
        assert {r.offer_id for r in rows} >= {khv_id, vvo_id}
        notes = db.session.scalars(select(Notification)).all()
        assert notes and len(notifications.job_ids) == len(notes)
        SimpleWorker([notifications], connection=connection).work(burst=True)
        recipients = {rcpt for tos, _ in inbox.messages for rcpt in tos}
        assert supplier_email in recipients
        texts = [message_from_string(raw, policy=default).get_body().get_content() for _, raw in inbox.messages]
        assert any("Токарная обработка валов" in text for text in texts)
    finally:
        app.config.update(REDIS_URL=None, SMTP_URL=None)
        matching.empty()
        notifications.empty()
        connection.close()
