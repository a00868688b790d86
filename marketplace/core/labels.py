"""The title of every status and kind a page shows, one mapping per enum, translated with the page.

    {{ listing.status|label }}              опубликовано / published
    {{ m.tier|label('tier') }}              свой регион / own region   (a stored string: name its enum)
    {{ c.status.value|label('conversation_status') }}

A value is looked up by its enum (``type(value).__name__`` in snake case) or by the name given; a value that has no
title falls back to a neutral «—» in production, never to its code, so a page never shows ``active`` or
``hidden``. The Russian titles are the msgids, so the English catalogue translates them.
"""
from __future__ import annotations

import enum
import re
from functools import lru_cache
from typing import Any

from flask_babel import lazy_gettext as _l

EMPTY = "—"

TITLES: dict[str, dict[str, Any]] = {
    "listing_status": {"draft": _l("черновик"), "active": _l("опубликовано"), "closed": _l("закрыто"),
                       "archived": _l("в архиве"), "hidden": _l("скрыто координатором")},
    "listing_kind": {"capability": _l("Производственная операция / услуга"), "product": _l("Продукция"),
                     "surplus": _l("Неликвиды"), "equipment_rent": _l("Оборудование в аренду"),
                     "tender_lot": _l("Лот тендера"), "missing_operation": _l("Недостающая операция"),
                     "purchase_request": _l("Заявка на закупку")},
    "side": {"offer": _l("предложение"), "need": _l("потребность")},
    "tender_status": {"draft": _l("черновик"), "published": _l("приём предложений"),
                      "closed": _l("приём завершён, подведение итогов"), "awarded": _l("итоги подведены"),
                      "cancelled": _l("отменён")},
    "tender_visibility": {"open": _l("открытый"), "closed": _l("закрытый")},
    "response_status": {"submitted": _l("подано"), "awarded": _l("победитель"), "not_awarded": _l("не выбрано")},
    "request_source": {"match": _l("из подбора"), "listing": _l("со страницы предложения"),
                       "producer": _l("со страницы производителя"), "chain": _l("из цепочки")},
    "conversation_status": {"sent": _l("запрос отправлен"), "answered": _l("поставщик ответил"),
                            "offer": _l("получено предложение"), "accepted": _l("предложение принято"),
                            "declined": _l("отклонено")},
    "message_kind": {"request": _l("запрос"), "text": _l("сообщение"), "offer": _l("предложение"),
                     "accept": _l("принято"), "decline": _l("отклонено")},
    "match_status": {"new": _l("новое"), "seen": _l("просмотрено"), "dismissed": _l("отклонено"),
                     "contacted": _l("связались")},
    "community_kind": {"cluster": _l("кластер"), "association": _l("ассоциация"), "technopark": _l("технопарк"),
                       "other": _l("объединение")},
    "community_access": {"open": _l("открытое"), "closed": _l("закрытое"), "secret": _l("секретное")},
    "member_status": {"requested": _l("заявка на вступление"), "invited": _l("приглашена"),
                      "active": _l("участник")},
    "chain_request_status": {"pending": _l("ожидает"), "building": _l("строится"), "built": _l("построена"),
                             "infeasible": _l("невозможна"), "failed": _l("ошибка")},
    "chain_status": {"suggested": _l("предложена"), "approved": _l("утверждена"), "rejected": _l("отклонена")},
    "organization_kind": {"manufacturer": _l("производитель"), "buyer": _l("заказчик"),
                          "both": _l("производитель и заказчик")},
    "user_role": {"manufacturer": _l("производитель"), "buyer": _l("заказчик"), "coordinator": _l("координатор"),
                  "admin": _l("администратор")},
    "membership_role": {"owner": _l("владелец"), "admin": _l("администратор"), "member": _l("участник")},
    "scheme": {"okpd2": _l("ОКПД2"), "okved2": _l("ОКВЭД2")},
    "tier": {"local": _l("свой регион"), "district": _l("свой федеральный округ"), "national": _l("Россия"),
             "eaeu": _l("ЕАЭС"), "friendly": _l("дружественные страны"), "excluded": _l("страны перечня 430-р")},
    "condition": {"new": _l("новое"), "used": _l("б/у"), "needs_repair": _l("требует ремонта")},
    "rate_period": {"hour": _l("час"), "day": _l("сутки"), "week": _l("неделя"), "month": _l("месяц")},
    "frequency": {"once": _l("разово"), "monthly": _l("ежемесячно"), "quarterly": _l("ежеквартально"),
                  "yearly": _l("ежегодно")},
    "mode": {"buy": _l("покупка"), "rent": _l("аренда")},
}
# Enums whose class name is not the mapping's name.
ALIASES = {"procurement_tier": "tier"}


@lru_cache(maxsize=64)
def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def kind_of(value: Any) -> str | None:
    """The mapping's name for an enum member (``ListingStatus.ACTIVE`` → "listing_status")."""
    if isinstance(value, enum.Enum):
        name = _snake(type(value).__name__)
        return ALIASES.get(name, name)
    return None


def _code(value: Any) -> str:
    if isinstance(value, enum.IntEnum):
        return value.name.lower()  # ProcurementTier.LOCAL → "local"
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def label(value: Any, kind: str | None = None) -> Any:
    """The title of ``value`` in the reader's language; ``kind`` names the enum when ``value`` is a plain string."""
    if value is None or value == "":
        return EMPTY
    kind = kind or kind_of(value)
    titles = TITLES.get(kind or "")
    if titles is None:
        raise KeyError(f"no titles for {kind!r} (value {value!r})")
    return titles.get(_code(value), EMPTY)


def choices(kind: str) -> list[tuple[str, Any]]:
    """(code, title) of every value of ``kind``, in the mapping's order, for the filters of a list."""
    return list(TITLES[kind].items())


# Which enum a field of an audit record holds, by the record's object type.
AUDIT_FIELDS = {
    "listing": {"status": "listing_status", "kind": "listing_kind", "side": "side"},
    "tender": {"status": "tender_status", "visibility": "tender_visibility"},
    "tender_response": {"status": "response_status"},
    "community": {"kind": "community_kind", "access": "community_access"},
    "community_member": {"status": "member_status"},
    "membership": {"role": "membership_role"},
    "user": {"role": "user_role"},
    "organization": {"kind": "organization_kind", "role": "membership_role"},
    "conversation": {"status": "conversation_status"},
    "quote_request": {"source": "request_source"},
    "chain_request": {"status": "chain_request_status"},
    "chain": {"status": "chain_status"},
}


def audit_value(value: Any, entity_type: str, key: str) -> Any:
    """A value of an audit record's changes in words where it is a status or kind, else as stored."""
    kind = AUDIT_FIELDS.get(entity_type, {}).get(key)
    if kind is not None and isinstance(value, str) and value in TITLES[kind]:
        return TITLES[kind][value]
    return value
