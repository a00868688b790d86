"""The daily digest of notifications, and tender events turned into notifications.

``send_digests`` runs hourly (job ``notifications.digest``) and writes to each user once a day, at
``NOTIFICATION_DIGEST_HOUR`` local time or later, the notifications of their organizations since their last digest
in the categories they want daily. ``tender_events`` (job ``notifications.tender_events``) reads the tenders'
tables — a new response, a lot's award — and notifies the organizations concerned once each (``dedup_key``); it
reads them rather than being called by the tender services, which stay unaware of notifications.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from marketplace.accounts.models import Membership, User
from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.notifications.models import Notification, NotificationPreference
from marketplace.notifications.preferences import category_of, modes_for
from marketplace.notifications.services import absolute_link, notify, send_email

log = logging.getLogger(__name__)
DIGEST_LIMIT = 50


def _boundary(now: datetime) -> datetime:
    """Today's digest hour (local time) as an aware UTC moment; the previous day's before it comes."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")
    local = now.astimezone(zone)
    hour = int(current_app.config.get("NOTIFICATION_DIGEST_HOUR", 8))
    today = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    return today if local >= today else today - timedelta(days=1)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


def send_digests(now: datetime | None = None) -> int:
    """Send the day's digest to every user due one; returns how many letters went out. Each user's time is
    committed after their letter, so a retry after a failure sends no letter twice."""
    now = now or utcnow()
    boundary = _boundary(now)
    users = list(db.session.scalars(select(User).where(
        User.is_active.is_(True), User.email_confirmed_at.is_not(None),
        User.id.in_(select(Membership.user_id))).order_by(User.id)))
    sent = 0
    for user in users:
        row = db.session.get(NotificationPreference, user.id)
        last = _aware(row.digest_sent_at) if row is not None else None
        if last is not None and last >= boundary:
            continue  # today's digest went out already
        daily = {key for key, mode in modes_for(user).items() if mode == "daily"}
        since = last or boundary - timedelta(days=1)
        org_ids = [m.organization_id for m in user.memberships]
        notes = [n for n in db.session.scalars(select(Notification).where(
            Notification.organization_id.in_(org_ids or [-1]), Notification.created_at > since)
            .order_by(Notification.created_at.desc()).limit(500)) if category_of(n.kind).key in daily]
        if notes:
            lines = [f"• {n.title}\n  {absolute_link(n.link)}" for n in notes[:DIGEST_LIMIT]]
            more = len(notes) - DIGEST_LIMIT
            if more > 0:
                lines.append(f"…и ещё {more}: {absolute_link('/notifications')}")
            body = (f"Здравствуйте, {user.full_name}!\n\nНовое на платформе Космос за сутки ({len(notes)}):\n\n"
                    + "\n".join(lines) + "\n\nНастроить письма: " + absolute_link("/notifications/settings"))
            if send_email([user.email], f"Космос: сводка за день ({len(notes)})", body):
                sent += 1
        if row is None:
            row = NotificationPreference(user_id=user.id, email={})
            db.session.add(row)
        row.digest_sent_at = now
        db.session.commit()
    return sent


def tender_events(days: int = 14) -> list[int]:
    """Notifications for the tenders' recent events (new responses to the buyer, awards to the respondents);
    returns the new ones' ids to e-mail. Prices are not told: a sealed tender hides them until its deadline."""
    from marketplace.tenders.models import LotAward, TenderResponse

    since = utcnow() - timedelta(days=days)
    notes: list[int] = []

    def add(org_id: int, kind: str, title: str, body: str, link: str, key: str) -> None:
        note = notify(org_id, kind, title[:300], body=body, link=link, dedup_key=key[:120])
        if note is not None:
            notes.append(note.id)

    from marketplace.tenders.access import responses_sealed

    for response in db.session.scalars(select(TenderResponse).where(TenderResponse.created_at >= since)):
        lot = response.lot
        # A sealed envelope names nobody: until the deadline the buyer learns that one more came, not from whom.
        body = ("Поступило ещё одно предложение; участники и цены откроются после срока подачи."
                if responses_sealed(lot.tender) else f"{response.organization.name} подал(а) предложение.")
        add(lot.organization_id, "tender_response", f"Новое предложение по лоту «{lot.title}»", body,
            f"/tenders/{lot.tender_id}", f"tender-response:{response.id}")
    for award in db.session.scalars(select(LotAward).where(LotAward.decided_at >= since)):
        lot = award.lot
        respondents = db.session.scalars(select(TenderResponse.organization_id).where(
            TenderResponse.lot_id == award.lot_id))
        for org_id in respondents:
            won = org_id == award.supplier_organization_id
            add(org_id, "tender_award_won" if won else "tender_award_lost",
                f"{'Вы победили' if won else 'Итоги'} по лоту «{lot.title}»",
                "Заказчик выбрал ваше предложение." if won else "Заказчик подвёл итоги лота.",
                f"/tenders/{lot.tender_id}", f"tender-award:{award.lot_id}:{org_id}")
    db.session.flush()
    return notes


def chain_decisions(days: int = 14) -> list[int]:
    """Tell the requesting organization of a coordinator's decision on its chain (approved or rejected), once;
    the chain's participants hear of an approval from the chain services themselves."""
    from marketplace.chains.models import ChainStatus, CooperationChain

    since = utcnow() - timedelta(days=days)
    notes: list[int] = []
    for chain in db.session.scalars(select(CooperationChain).where(
            CooperationChain.decided_at >= since,
            CooperationChain.status.in_([ChainStatus.APPROVED, ChainStatus.REJECTED]))):
        org_id = chain.request.organization_id
        if org_id is None:
            continue
        approved = chain.status == ChainStatus.APPROVED
        note = notify(org_id, "chain_approved_request" if approved else "chain_rejected",
                      f"Цепочка {'утверждена' if approved else 'отклонена'}: {chain.request.item}"[:300],
                      body=chain.reason or "", link=f"/chains/chains/{chain.id}",
                      dedup_key=f"chain-decision:{chain.id}:{chain.status.value}")
        if note is not None:
            notes.append(note.id)
    db.session.flush()
    return notes

