"""Delivering notifications by e-mail: one letter per notification, the daily digest, and tender events."""
from __future__ import annotations

from workers.queue import job


@job("notifications.email", queue="notifications", timeout=120, retries=5, retry_intervals=(30, 120, 600, 1800, 3600))
def email_notification(notification_id: int) -> bool:
    from marketplace.notifications.services import email_notification as send

    return send(notification_id)


@job("notifications.digest", queue="notifications", timeout=1800, retries=3, retry_intervals=(300, 900, 1800))
def digest() -> int:
    """The daily digest of each user due one (hourly; a user gets one letter a day)."""
    from marketplace.notifications.digest import send_digests

    return send_digests()


@job("notifications.tender_events", queue="notifications", timeout=300, retries=3)
def tender_events() -> int:
    """Notify buyers of new tender responses, respondents of awards and requesters of chain decisions, once each;
    e-mail them after the commit."""
    from marketplace.extensions import db
    from marketplace.notifications.digest import chain_decisions
    from marketplace.notifications.digest import tender_events as scan
    from marketplace.notifications.services import email_after_commit

    notes = scan() + chain_decisions()
    db.session.commit()
    email_after_commit(notes)
    return len(notes)
