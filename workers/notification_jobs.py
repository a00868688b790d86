"""Delivering notifications by e-mail."""
from __future__ import annotations

from workers.queue import job


@job("notifications.email", queue="notifications", timeout=120, retries=5, retry_intervals=(30, 120, 600, 1800, 3600))
def email_notification(notification_id: int) -> bool:
    from marketplace.notifications.services import email_notification as send

    return send(notification_id)
