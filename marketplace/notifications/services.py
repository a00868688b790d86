"""Notifications: written in the transaction of the event they report; e-mail goes out through a job."""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

from flask import current_app
from sqlalchemy import select

from marketplace.accounts.models import Membership, User
from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.notifications.models import Notification

log = logging.getLogger(__name__)


def notify(organization_id: int, kind: str, title: str, *, body: str = "", link: str | None = None,
           payload: dict | None = None, dedup_key: str | None = None) -> Notification | None:
    """Add an in-app notification for an organization; with ``dedup_key`` a repeated event adds nothing."""
    if dedup_key and db.session.scalar(select(Notification.id).where(Notification.dedup_key == dedup_key)):
        return None
    note = Notification(organization_id=organization_id, kind=kind, title=title, body=body, link=link,
                        payload=payload or {}, dedup_key=dedup_key)
    db.session.add(note)
    db.session.flush()
    return note


def recipients(organization_id: int) -> list[str]:
    return list(db.session.scalars(select(User.email).join(Membership, Membership.user_id == User.id).where(
        Membership.organization_id == organization_id, User.is_active.is_(True),
        User.email_confirmed_at.is_not(None))))


def send_email(to: list[str], subject: str, body: str) -> bool:
    """Send through ``SMTP_URL`` (smtp://user:pass@host:port, smtps:// for TLS); without it, log the message."""
    if not to:
        return False
    url = current_app.config.get("SMTP_URL")
    if not url:
        log.warning("SMTP is not configured; e-mail to %s: %s\n%s", ", ".join(to), subject, body)
        return False
    parsed = urlparse(url)
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(body)
    smtp_cls = smtplib.SMTP_SSL if parsed.scheme == "smtps" else smtplib.SMTP
    with smtp_cls(parsed.hostname or "localhost", parsed.port or (465 if parsed.scheme == "smtps" else 25),
                  timeout=30) as smtp:
        if parsed.scheme == "smtp" and parsed.query == "starttls":
            smtp.starttls()
        if parsed.username:
            smtp.login(unquote(parsed.username), unquote(parsed.password or ""))
        smtp.send_message(message)
    return True


def absolute_link(link: str | None) -> str:
    if not link:
        return ""
    return link if link.startswith(("http://", "https://")) else current_app.config.get("PUBLIC_URL", "") + link


def email_notification(notification_id: int) -> bool:
    """Send one notification to the members who chose «instant» for its category; safe to repeat (a sent one is
    marked), and an SMTP failure raises so that the job's retries try again."""
    from marketplace.notifications.preferences import members_with_mode

    note = db.session.get(Notification, notification_id)
    if note is None or note.emailed_at is not None:
        return False  # gone, or already sent: the job is safe to repeat
    to = [u.email for u in members_with_mode(note.organization_id, note.kind, "instant")]
    sent = send_email(to, note.title, f"{note.body}\n\n{absolute_link(note.link)}".strip())
    note.emailed_at = utcnow()
    db.session.commit()
    return sent


def email_after_commit(note_ids: list[int]) -> None:
    """Queue the ``notifications.email`` job of each notification; call after the commit (no SMTP: nothing)."""
    if not note_ids or not current_app.config.get("SMTP_URL"):
        return
    from workers.queue import enqueue_quietly

    for note_id in note_ids:
        enqueue_quietly("notifications.email", note_id)


# Reading -------------------------------------------------------------------------------------------

def notifications_query(user):
    """Notifications of the user's organizations, newest first."""
    from marketplace.core.permissions import organization_ids

    return select(Notification).where(Notification.organization_id.in_(organization_ids(user) or {-1})) \
        .order_by(Notification.created_at.desc(), Notification.id.desc())


def unread_count(user) -> int:
    from sqlalchemy import func

    from marketplace.core.permissions import organization_ids

    mine = organization_ids(user)
    if not mine:
        return 0
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.organization_id.in_(mine), Notification.read_at.is_(None))) or 0


def mark_read(note: Notification) -> Notification:
    if note.read_at is None:
        note.read_at = utcnow()
        db.session.flush()
    return note


def mark_all_read(user) -> int:
    from sqlalchemy import update

    from marketplace.core.permissions import organization_ids

    mine = organization_ids(user)
    if not mine:
        return 0
    result = db.session.execute(update(Notification).where(
        Notification.organization_id.in_(mine), Notification.read_at.is_(None)).values(read_at=utcnow()))
    db.session.flush()
    return result.rowcount or 0
