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


def email_notification(notification_id: int) -> bool:
    note = db.session.get(Notification, notification_id)
    if note is None or note.emailed_at is not None:
        return False  # gone, or already sent: the job is safe to repeat
    sent = send_email(recipients(note.organization_id), note.title, f"{note.body}\n\n{note.link or ''}".strip())
    note.emailed_at = utcnow()
    db.session.commit()
    return sent
