"""An organization's contacts: read as the pages show them (anonymous callers: ``COSMOS_CONTACTS_PUBLIC``),
replaced by any member of the organization with the form's checks (errors by field, nothing half-saved)."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from marketplace.api.blueprint import api_user, bp
from marketplace.api.openapi import operation
from marketplace.api.problems import Problem
from marketplace.api.schemas import Text
from marketplace.core.permissions import is_member, organization_or_404
from marketplace.extensions import db
from marketplace.organizations.contacts import MAX_PERSONS, ContactCard, contact_card, update_contacts

TAG = "Организации"
# The form's checks said in the document too, and enforced as written (validate.Regexp, which apispec turns into
# the pattern): a body the document calls valid is one the services accept, and one it calls invalid is a 422.
_H = "[A-Za-zА-Яа-яЁё0-9]"
NOT_BLANK = "^[^\\x00]*[^\\x00\\s][^\\x00]*$"
PHONE = "^\\+?[ ().-]*(?:[0-9][ ().-]*){10,15}$"
EMAIL = "^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}$"
WEBSITE = (f"^(?:[Hh][Tt][Tt][Pp][Ss]?://)?{_H}(?:[A-Za-zА-Яа-яЁё0-9-]*{_H})?"
           f"(?:\\.{_H}(?:[A-Za-zА-Яа-яЁё0-9-]*{_H})?)+(?::[0-9]{{1,5}})?(?:/[A-Za-z0-9._~/-]*)?$")


def Patterned(pattern: str, message: str, **kwargs: Any) -> Text:  # noqa: N802 - a field factory
    field = Text(metadata={"pattern": pattern, **kwargs.pop("metadata", {})}, **kwargs)
    field.validators.append(validate.Regexp(pattern, error=message))
    return field


PHONE_ERROR = "неверный номер телефона: 10–15 цифр, например +7(4212)45-67-89"
EMAIL_ERROR = "неверный адрес электронной почты"


class PersonSchema(Schema):
    full_name = Patterned(NOT_BLANK, "обязательное поле", max_length=200, required=True)
    position = Text(max_length=200, allow_none=True)
    phone = Patterned(PHONE, PHONE_ERROR, max_length=40, allow_none=True)
    email = Patterned(EMAIL, EMAIL_ERROR, max_length=254, allow_none=True)


class ContactsSchema(Schema):
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    website = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    contacts = fields.Function(lambda card: [PersonSchema().dump(p) for p in card.persons],
                               metadata={"type": "array", "items": {"type": "object"}})
    hidden = fields.Boolean(required=True, metadata={"description": "Часть контактов видна только после входа."})


class ContactsInput(Schema):
    phone = Patterned(PHONE, PHONE_ERROR, max_length=40, allow_none=True)
    email = Patterned(EMAIL, EMAIL_ERROR, max_length=254, allow_none=True)
    website = Patterned(WEBSITE, "неверный адрес сайта: например, zavod.ru", max_length=300, allow_none=True)
    address = Text(max_length=1000, allow_none=True)
    contacts = fields.List(fields.Nested(PersonSchema), validate=validate.Length(max=MAX_PERSONS))


@bp.get("/organizations/<int(max=2147483647):organization_id>/contacts")
@operation("Контакты организации (анониму — по настройке площадки)", TAG, response=ContactsSchema)
def organization_contacts(organization_id: int) -> ContactCard:
    return contact_card(api_user(), organization_or_404(organization_id, user=api_user()))


@bp.put("/organizations/<int(max=2147483647):organization_id>/contacts")
@operation("Изменить контакты своей организации (любой её участник)", TAG, body=ContactsInput,
           response=ContactsSchema, auth="required", errors=(403,),
           description="Поля, которых нет в теле, не меняются; contacts заменяет список контактных лиц целиком.")
def update_organization_contacts(organization_id: int, body: dict[str, Any]) -> ContactCard:
    user = api_user()
    organization = organization_or_404(organization_id, user=user)
    if not is_member(user, organization):
        raise Problem(403, "Контакты меняют участники организации.")
    update_contacts(organization, body, user)
    db.session.commit()
    return contact_card(user, organization)
