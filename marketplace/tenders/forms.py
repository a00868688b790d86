"""Forms of the tender pages: they carry the user's input and the CSRF token; the services validate."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField

from marketplace.core.validation import ValidationFailed


def apply_errors(form: FlaskForm, error: ValidationFailed, aliases: dict[str, str] | None = None) -> list[str]:
    """Put each service error next to its field; returns the messages no field of the form shows."""
    aliases = aliases or {}
    rest = []
    for field_error in error.errors:
        name = aliases.get(field_error.field, field_error.field)
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, field_error.message] if isinstance(field.errors, list) else \
                [field_error.message]
        else:
            rest.append(field_error.message)
    return rest


def raw(form: FlaskForm, name: str) -> Any:
    """The text the user typed (the service parses it, so Russian number formats like "1 200,50" work)."""
    field = form._fields[name]
    return field.raw_data[0] if field.raw_data else field.data


class TenderForm(FlaskForm):
    organization_id = SelectField(_l("Заказчик"), coerce=int, validate_choice=False)
    title = StringField(_l("Название тендера"))
    description = TextAreaField(_l("Описание"))
    visibility = SelectField(_l("Доступ"), validate_choice=False, choices=[SelectChoice("open", _l("Открытый — для всех поставщиков")),
                                                     SelectChoice("closed", _l("Закрытый — только для приглашённых"))])
    submission_deadline = StringField(_l("Срок подачи предложений (время вашего региона)"),
                                      render_kw={"type": "datetime-local"})
    invited_tax_ids = TextAreaField(_l("ИНН приглашённых организаций (через запятую или с новой строки)"))
    community_id = SelectField(_l("Сообщество, члены которого приглашены"), coerce=str, validate_choice=False)


class LotForm(FlaskForm):
    title = StringField(_l("Предмет лота"))
    description = TextAreaField(_l("Описание и требования"))
    okpd2 = StringField(_l("Коды ОКПД2 (через точку с запятой)"))
    quantity = StringField(_l("Количество"))
    unit = StringField(_l("Единица измерения"))
    region = SelectField(_l("Регион поставки"), coerce=str, validate_choice=False)
    town = StringField(_l("Город поставки"))
    delivery_deadline = StringField(_l("Срок поставки"), render_kw={"type": "date"})
    budget = StringField(_l("Бюджет лота, ₽"))


class ResponseForm(FlaskForm):
    organization_id = SelectField(_l("Поставщик"), coerce=int, validate_choice=False)
    price = StringField(_l("Цена за единицу, ₽"))
    quantity = StringField(_l("Количество"))
    lead_time_days = StringField(_l("Срок поставки, дней"))
    comment = TextAreaField(_l("Комментарий"))


class AwardForm(FlaskForm):
    response_id = HiddenField()


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Причина"))


class ActionForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


__all__ = ["ActionForm", "AwardForm", "LotForm", "ReasonForm", "ResponseForm", "TenderForm",
           "apply_errors", "raw"]
