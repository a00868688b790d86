"""What each user receives by e-mail: per category of notification, ``off``, ``instant`` (one letter per
notification, the ``notifications.email`` job) or ``daily`` (the ``notifications.digest`` job gathers them).
Every category is instant until the user chooses otherwise (as the platform mailed before the choice existed)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from marketplace.accounts.models import Membership, User
from marketplace.core.audit import record_audit
from marketplace.core.validation import FieldParser, ValidationFailed
from marketplace.extensions import db
from marketplace.notifications.models import NotificationPreference

MODES = ("off", "instant", "daily")
MODE_TITLES_RU = {"off": "не присылать", "instant": "сразу", "daily": "раз в день (сводка)"}


@dataclass(frozen=True)
class Category:
    key: str
    title_ru: str
    default: str
    prefixes: tuple[str, ...]


CATEGORIES: tuple[Category, ...] = (
    Category("messages", "Запросы предложений, сообщения и сделки", "instant", ("deal_",)),
    Category("matches", "Новые совпадения: поставщики под потребности и потребности под предложения", "instant",
             ("match_",)),
    Category("tenders", "Тендеры: новые предложения по лотам, итоги", "instant", ("tender_",)),
    Category("chains", "Цепочки кооперации: решения координатора", "instant", ("chain_",)),
)
OTHER = Category("other", "Прочее", "instant", ())


def category_of(kind: str) -> Category:
    for category in CATEGORIES:
        if kind.startswith(category.prefixes):
            return category
    return OTHER


def preference(user: User | int) -> NotificationPreference | None:
    return db.session.get(NotificationPreference, user if isinstance(user, int) else user.id)


def modes_for(user: User | int) -> dict[str, str]:
    """Category → mode for ``user``: their choice, else the category's default."""
    chosen = (preference(user).email if preference(user) is not None else {}) or {}
    return {c.key: chosen.get(c.key, c.default) for c in (*CATEGORIES, OTHER)}


def set_modes(user: User, data: Mapping[str, Any]) -> dict[str, str]:
    """Save the user's choice from form or JSON values ``{category: mode}``; an unknown mode names its field."""
    p = FieldParser()
    chosen = {}
    for category in CATEGORIES:
        value = p.choice(category.key, data.get(category.key), set(MODES), default=modes_for(user)[category.key])
        chosen[category.key] = value
    unknown = sorted(set(data) - {c.key for c in CATEGORIES} - {"csrf_token"})
    for name in unknown:
        p.error(name, "нет такой категории уведомлений")
    if p.errors:
        raise ValidationFailed(p.errors)
    row = preference(user)
    before = dict(row.email) if row is not None else {}
    if row is None:
        row = NotificationPreference(user_id=user.id, email={})
        db.session.add(row)
    row.email = dict(chosen)
    if before != chosen:
        record_audit("update", "notification_preferences", user.id, {"before": before, "after": chosen},
                     user_id=user.id)
    db.session.flush()
    return modes_for(user)


def members_with_mode(organization_id: int, kind: str, mode: str) -> list[User]:
    """Active members with a confirmed e-mail of the organization whose choice for ``kind`` is ``mode``."""
    category = category_of(kind)
    users = db.session.scalars(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.organization_id == organization_id, User.is_active.is_(True),
        User.email_confirmed_at.is_not(None)).order_by(User.id))
    return [u for u in users if modes_for(u)[category.key] == mode]
