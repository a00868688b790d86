"""Dates, money, numbers and scores as the reader's locale writes them (Russian by default, English on request).

One set of Jinja filters, registered by ``init_app`` and used by every template, so that no page prints an ISO date,
``12212917.23`` or a score with a dot:

    {{ listing.ends_on|date }}          03.12.2026          3 Dec 2026
    {{ listing.ends_on|date('long') }}  3 декабря 2026      3 December 2026
    {{ run.computed_at|datetime }}      03.12.2026 14:05    3 Dec 2026, 14:05
    {{ listing.budget|money }}          12 212 917,23 ₽     12,212,917.23 ₽
    {{ value|number }}                  1 200,5             1,200.5
    {{ match.score|score }}             78 %                78%
    {{ match.distance_km|km }}          1 234 км            1,234 km

Everything goes through flask-babel (``format_date``, ``format_decimal``…) under the request's locale, and the
separators are the locale's own (a no-break space groups thousands in Russian).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_currency_symbol
from flask import Flask
from flask_babel import format_date, format_datetime, format_decimal, format_percent, get_locale
from flask_babel import gettext as _

EMPTY = "—"
NBSP = "\u00a0"
# Date patterns per language: the short one for tables, the long one for sentences.
DATE_PATTERNS = {"ru": {"short": "dd.MM.y", "long": "d MMMM y"}, "en": {"short": "d MMM y", "long": "d MMMM y"}}
DATETIME_PATTERNS = {"ru": "dd.MM.y HH:mm", "en": "d MMM y, HH:mm"}


def _language() -> str:
    locale = get_locale()
    language = getattr(locale, "language", None) or "ru"
    return language if language in DATE_PATTERNS else "ru"


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def date_text(value: date | datetime | None, style: str = "short") -> str:
    """A day: «03.12.2026» (``short``) or «3 декабря 2026» (``long``); «—» when there is none."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        return format_datetime(value, DATE_PATTERNS[_language()].get(style, style))
    return format_date(value, DATE_PATTERNS[_language()].get(style, style))


def month_text(value: date | str | None) -> str:
    """A month: «декабрь 2026» (from a date or a "2026-12" key)."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, str):
        try:
            value = date(int(value[:4]), int(value[5:7]), 1)
        except ValueError:
            return value
    return format_date(value, "LLLL y")


def datetime_text(value: datetime | None) -> str:
    """A moment in the platform's time zone: «03.12.2026 14:05»."""
    if value is None:
        return EMPTY
    return format_datetime(value, DATETIME_PATTERNS[_language()])


def number_text(value: Any, digits: int = 2) -> str:
    """A number with the locale's group and decimal separators, at most ``digits`` decimals: «1 200,5»."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
    return format_decimal(number, format=pattern)


def fixed_text(value: Any, digits: int = 2) -> str:
    """A number with exactly ``digits`` decimals: «0,30» (the weights and signals of a match)."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    return format_decimal(number, format="#,##0" + ("." + "0" * digits if digits > 0 else ""))


def money_text(value: Any, currency: str | None = "RUB") -> str:
    """An amount with kopecks when it has them and the currency's sign: «12 212 917,23 ₽», «222 060 ₽»."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    pattern = "#,##0" if number == number.to_integral_value() else "#,##0.00"
    text = format_decimal(number, format=pattern)
    if not currency:
        return text
    symbol = "₽" if currency == "RUB" else get_currency_symbol(currency, locale=str(get_locale() or "ru"))
    return f"{text}{NBSP}{symbol}"


def percent_text(value: Any, digits: int = 0) -> str:
    """A share (0.78) as a percentage: «78 %» in Russian, «78%» in English."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    from babel import Locale

    pattern = Locale.parse(str(get_locale() or "ru")).percent_formats[None].pattern  # "#,##0 %" / "#,##0%"
    if digits > 0:
        pattern = pattern.replace("0", "0." + "#" * digits, 1)
    return format_percent(number, format=pattern)


def score_text(value: Any) -> str:
    """A match score (0…1) as a percentage: «78 %»."""
    return percent_text(value)


def km_text(value: Any) -> str:
    """A distance rounded to the kilometre: «1 234 км»."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    return f"{format_decimal(number, format='#,##0')}{NBSP}{_('км')}"


def value_text(value: Any) -> str:
    """Any stored value as a page shows it: dates and numbers formatted, enums by their title, lists joined."""
    from marketplace.core.labels import label

    if value is None or value == "":
        return EMPTY
    if isinstance(value, datetime):
        return datetime_text(value)
    if isinstance(value, date):
        return date_text(value)
    if isinstance(value, bool):
        return _("да") if value else _("нет")
    if isinstance(value, (Decimal, float, int)):
        return number_text(value)
    if hasattr(value, "value") and hasattr(type(value), "__members__"):
        return str(label(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(value_text(v) for v in value)
    return str(value)


FILTERS = {"date": date_text, "month": month_text, "datetime": datetime_text, "number": number_text, "fixed": fixed_text,
           "money": money_text, "percent": percent_text, "score": score_text, "km": km_text, "shown": value_text}


def init_app(app: Flask) -> None:
    from marketplace.core.labels import audit_value, label

    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["audit_value"] = audit_value
