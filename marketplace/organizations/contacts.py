"""An organization's contacts: phone, e-mail, website, address and contact persons; who may see them.

The members of an organization edit its contacts (every member, not only owners: a sales manager keeps them up to
date). Signed-in users see them on the producer and listing pages; what anonymous visitors see is the setting
``CONTACTS_PUBLIC`` (env ``COSMOS_CONTACTS_PUBLIC``): ``none`` (nothing, a prompt to sign in), ``website`` (the
website and the address) or ``all``. The same parsers check the form, the API and ``cosmos import``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import delete, select

from marketplace.core.audit import record_audit
from marketplace.core.permissions import actor
from marketplace.core.validation import FieldParser, ValidationFailed
from marketplace.extensions import db
from marketplace.organizations.models import Organization, OrganizationContact

MAX_PERSONS = 10
PUBLIC_MODES = ("none", "website", "all")
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]{2,}$")
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-]+((доб\.?|ext\.?|#)\s*\d{1,6})?$", re.IGNORECASE)
_HOST = re.compile(r"^[a-zа-яё0-9]([a-zа-яё0-9\-]*[a-zа-яё0-9])?(\.[a-zа-яё0-9]([a-zа-яё0-9\-]*[a-zа-яё0-9])?)+$",
                   re.IGNORECASE)


def parse_phone(p: FieldParser, name: str, value: object) -> str | None:
    """A phone number as written (``+7 (4212) 45-67-89``, ``8 800 …``, ``доб. 12``): 10 to 15 digits."""
    text = p.text(name, value, max_length=40)
    if not text:
        return None
    main = re.split(r"(?i)доб\.?|ext\.?|#", text)[0]
    digits = re.sub(r"\D", "", main)
    if not _PHONE_CHARS.match(text) or not 10 <= len(digits) <= 15:
        p.error(name, f"неверный номер телефона {text!r}: нужно 10–15 цифр, например +7 4212 45-67-89")
        return None
    return text


def parse_email(p: FieldParser, name: str, value: object) -> str | None:
    text = p.text(name, value, max_length=254)
    if not text:
        return None
    if not _EMAIL.match(text):
        p.error(name, f"неверный адрес электронной почты {text!r}")
        return None
    return text.lower()


def parse_website(p: FieldParser, name: str, value: object) -> str | None:
    """A website: ``zavod.ru`` becomes ``https://zavod.ru``; anything but http(s) with a host name is refused."""
    text = p.text(name, value, max_length=300)
    if not text:
        return None
    url = text if re.match(r"(?i)^https?://", text) else "https://" + text
    host = re.match(r"(?i)^https?://([^/?#:\s]+)(:\d+)?([/?#]\S*)?$", url)
    if host is None or not _HOST.match(host.group(1)):
        p.error(name, f"неверный адрес сайта {text!r}: ожидается, например, zavod.ru или https://zavod.ru")
        return None
    return url


def parse_persons(p: FieldParser, rows: Iterable[Mapping[str, Any]], *, prefix: str = "contacts") -> list[dict]:
    """Contact persons; an empty row is skipped, a row without a name but with a phone is an error."""
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        where = f"{prefix}[{i}]"
        if not any(str(row.get(k) or "").strip() for k in ("full_name", "position", "phone", "email")):
            continue
        person = {"full_name": p.text(f"{where}.full_name", row.get("full_name"), required=True, max_length=200),
                  "position": p.text(f"{where}.position", row.get("position"), max_length=200),
                  "phone": parse_phone(p, f"{where}.phone", row.get("phone")),
                  "email": parse_email(p, f"{where}.email", row.get("email"))}
        out.append(person)
    if len(out) > MAX_PERSONS:
        p.error(prefix, f"не больше {MAX_PERSONS} контактных лиц")
    return out


def split_persons_cell(value: object) -> list[dict[str, Any]]:
    """The import's ``contacts`` cell: persons separated by «;» or new lines, each «имя, должность, телефон,
    почта» (a part with «@» is the e-mail, one with digits the phone); JSON Lines may give a list of objects."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [dict(v) if isinstance(v, Mapping) else {"full_name": str(v)} for v in value]
    persons = []
    for chunk in re.split(r"[;\n]+", str(value)):
        parts = [part.strip() for part in chunk.split(",") if part.strip()]
        if not parts:
            continue
        person: dict[str, Any] = {"full_name": parts[0]}
        for part in parts[1:]:
            if "@" in part:
                person["email"] = part
            elif sum(ch.isdigit() for ch in part) >= 5:
                person["phone"] = part
            else:
                person["position"] = part
        persons.append(person)
    return persons


def persons_of(org: Organization | int) -> list[OrganizationContact]:
    org_id = org if isinstance(org, int) else org.id
    return list(db.session.scalars(select(OrganizationContact).where(OrganizationContact.organization_id == org_id)
                                   .order_by(OrganizationContact.rank, OrganizationContact.id)))


def person_records(org: Organization | int) -> list[dict[str, Any]]:
    return [{"full_name": c.full_name, "position": c.position or "", "phone": c.phone or "", "email": c.email or ""}
            for c in persons_of(org)]


def contacts_record(org: Organization) -> dict[str, Any]:
    """The contacts as raw form values."""
    return {"phone": org.phone or "", "email": org.email or "", "website": org.website or "",
            "address": org.address or "", "contacts": person_records(org)}


def parse_contacts(data: Mapping[str, Any]) -> dict[str, Any]:
    p = FieldParser()
    values = {"phone": parse_phone(p, "phone", data.get("phone")),
              "email": parse_email(p, "email", data.get("email")),
              "website": parse_website(p, "website", data.get("website")),
              "address": p.text("address", data.get("address"), max_length=1000),
              "contacts": parse_persons(p, data.get("contacts") or [])}
    if p.errors:
        raise ValidationFailed(p.errors)
    return values


def update_contacts(org: Organization, data: Mapping[str, Any], user: Any) -> Organization:
    """Replace the organization's contacts (fields absent from ``data`` keep their value); all or nothing."""
    merged = {**contacts_record(org), **{k: v for k, v in data.items() if k in
                                         ("phone", "email", "website", "address", "contacts")}}
    values = parse_contacts(merged)
    changes: dict[str, Any] = {}
    for column in ("phone", "email", "website", "address"):
        if getattr(org, column) != values[column]:
            changes[column] = [getattr(org, column), values[column]]
            setattr(org, column, values[column])
    before = person_records(org)
    after = [{k: v or "" for k, v in person.items()} for person in values["contacts"]]
    if before != after:
        replace_persons(org.id, values["contacts"])
        changes["contacts"] = [before, after]
    if changes:
        record_audit("update_contacts", "organization", org.id, changes, user_id=actor(user))
    db.session.flush()
    return org


def replace_persons(org_id: int, persons: Sequence[Mapping[str, Any]]) -> None:
    db.session.execute(delete(OrganizationContact).where(OrganizationContact.organization_id == org_id))
    for rank, person in enumerate(persons):
        db.session.add(OrganizationContact(organization_id=org_id, rank=rank, full_name=person["full_name"],
                                           position=person.get("position") or None,
                                           phone=person.get("phone") or None, email=person.get("email") or None))
    db.session.flush()


@dataclass(frozen=True)
class ContactCard:
    """What a viewer may see of an organization's contacts; ``hidden`` says that more is shown after signing in."""

    phone: str | None = None
    email: str | None = None
    website: str | None = None
    address: str | None = None
    persons: tuple[OrganizationContact, ...] = field(default_factory=tuple)
    hidden: bool = False

    @property
    def empty(self) -> bool:
        return not (self.phone or self.email or self.website or self.address or self.persons)


def public_mode() -> str:
    mode = str(current_app.config.get("CONTACTS_PUBLIC") or "none").lower()
    return mode if mode in PUBLIC_MODES else "none"


def contact_card(user: Any, org: Organization) -> ContactCard:
    """The contacts ``user`` may see: everything when signed in, the ``CONTACTS_PUBLIC`` share otherwise."""
    signed_in = bool(user is not None and getattr(user, "is_authenticated", False))
    mode = "all" if signed_in else public_mode()
    full = ContactCard(phone=org.phone, email=org.email, website=org.website, address=org.address,
                       persons=tuple(persons_of(org)))
    if mode == "all":
        return full
    if mode == "website":
        return ContactCard(website=org.website, address=org.address,
                           hidden=bool(org.phone or org.email or full.persons))
    return ContactCard(hidden=not full.empty)
