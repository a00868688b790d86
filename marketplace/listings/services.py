"""Creating and changing offers and needs: the services behind the pages and the API.

Each service validates everything first (``ValidationFailed`` lists every problem by field; nothing is changed when
it is raised), changes the session, writes the audit trail and an outbox row in the same transaction, ``flush()``es
and returns the listing. The caller commits and then calls :func:`index_after_commit` so the search index catches up.
Services do not check who may act (see ``marketplace.core.permissions``): the caller has done that.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select

from marketplace.accounts.models import User
from marketplace.core.audit import record_audit, record_outbox
from marketplace.core.models import utcnow
from marketplace.core.validation import FieldError, FieldParser, ValidationFailed
from marketplace.extensions import db
from marketplace.listings.fields import (
    KIND_COLUMNS,
    KIND_FIELDS,
    DbReference,
    Reference,
    decimal_text,
    parse_listing_fields,
)
from marketplace.listings.models import LISTING_CLASSES, Listing, ListingCode, ListingKind, ListingStatus, Side
from marketplace.listings.operations_fields import parameters_record
from marketplace.operations.models import ListingOperation
from marketplace.organizations.models import Organization, OrganizationKind

log = logging.getLogger(__name__)

# Kinds the pages and the API create through these services; tender lots belong to tenders (their own service).
EDITABLE_KINDS = frozenset(set(ListingKind) - {ListingKind.TENDER_LOT})
# Columns compared (and audited) on update.
AUDITED_COLUMNS = ("status", "title", "description", "region_code", "town_id", "quantity", "unit", "price", "budget",
                   "currency", "lead_time_days", "starts_on", "ends_on", "certifications", "parameters",
                   *sorted(KIND_COLUMNS))
PUBLISHABLE_STATUSES = {"draft": ListingStatus.DRAFT, "active": ListingStatus.ACTIVE}
MAX_RENEWAL = timedelta(days=366)


def create_listing(kind: ListingKind | str, organization: Organization, data: Mapping[str, Any], user: User | None,
                   *, ref: Reference | None = None) -> Listing:
    """Create a listing of ``kind`` for ``organization`` from raw ``data`` (form, JSON or import field names:
    title, description, okpd2, okved2, quantity, unit, price, budget, currency, region, town, lead_time_days,
    starts_on, ends_on, certifications, status = draft|active, external_id, operations, material_ids, the parameter
    fields, and the kind's own fields)."""
    p = FieldParser()
    kind = _parse_kind(p, kind)
    if kind is not None:
        _check_organization_may_publish(p, organization, kind)
    values = parse_listing_fields(p, kind, data, ref or DbReference())
    status = _parse_status(p, data.get("status"), user, default="active")
    external_id = p.text("external_id", data.get("external_id"), max_length=128)
    if external_id and db.session.scalar(select(Listing.id).where(Listing.organization_id == organization.id,
                                                                  Listing.external_id == external_id)):
        p.error("external_id", "у организации уже есть объявление с таким external_id")
    if p.errors:
        raise ValidationFailed(p.errors)
    assert kind is not None
    listing = LISTING_CLASSES[kind](kind=kind, side=kind.side, organization=organization, status=status,
                                    external_id=external_id, created_by_id=user.id if user else None,
                                    attributes={}, codes=[], operation_links=[])  # new: nothing to load
    _apply(listing, values, organization)
    db.session.add(listing)
    db.session.flush()
    record_audit("create", "listing", listing.id, {"kind": kind.value, **_snapshot(listing),
                                                   "operations": listing.operation_ids}, user_id=_uid(user))
    record_outbox("listing", listing.id, "upsert")
    db.session.flush()
    log.info("listing %s (%s) created for organization %s by %s", listing.id, kind.value, organization.id, _uid(user))
    return listing


def update_listing(listing: Listing, data: Mapping[str, Any], user: User | None, *,
                   ref: Reference | None = None) -> Listing:
    """Change a listing: fields missing from ``data`` keep their values (a form sends them all, a PATCH some)."""
    if listing.status == ListingStatus.HIDDEN:
        raise ValidationFailed([FieldError("status", "объявление скрыто координатором; изменить его нельзя")])
    p = FieldParser()
    record = {**listing_record(listing), **dict(data)}
    values = parse_listing_fields(p, listing.kind, record, ref or DbReference())
    status = listing.status
    if "status" in data and data.get("status") not in (None, "") and data.get("status") != listing.status.value:
        status = _parse_status(p, data.get("status"), user, default=listing.status.value)
    if p.errors:
        raise ValidationFailed(p.errors)
    before = _snapshot(listing)
    before_codes = [(c.scheme, c.code) for c in listing.codes]
    before_operations = listing.operation_ids
    listing.status = status
    _apply(listing, values, listing.organization)
    after = _snapshot(listing)
    changes = {k: [before[k], after[k]] for k in after if before.get(k) != after[k]}
    if before_codes != values["_codes"]:
        changes["codes"] = [before_codes, values["_codes"]]
    if before_operations != values["_operations"]:
        changes["operations"] = [before_operations, values["_operations"]]
    if changes:
        record_audit("update", "listing", listing.id, changes, user_id=_uid(user))
        record_outbox("listing", listing.id, "upsert")
    db.session.flush()
    return listing


def publish_listing(listing: Listing, user: User | None) -> Listing:
    """Make a draft (or an archived listing) active; the user must have confirmed their e-mail."""
    return update_listing(listing, {"status": "active"}, user)


def archive_listing(listing: Listing, user: User | None) -> Listing:
    """Take a listing off the marketplace (it stays visible to its organization and can be renewed)."""
    if listing.status == ListingStatus.ARCHIVED:
        return listing
    before = listing.status.value
    listing.status = ListingStatus.ARCHIVED
    record_audit("archive", "listing", listing.id, {"status": [before, "archived"]}, user_id=_uid(user))
    record_outbox("listing", listing.id, "delete")
    db.session.flush()
    return listing


def renew_listing(listing: Listing, until: date | str, user: User | None = None) -> Listing:
    """Extend a listing until ``until`` (at most a year ahead) and make it active again if it was closed or archived."""
    p = FieldParser()
    day = p.date("ends_on", until, required=True)
    today = date.today()
    if day is not None:
        if day < today:
            p.error("ends_on", "дата продления не может быть в прошлом")
        elif day > today + MAX_RENEWAL:
            p.error("ends_on", "продлить можно не больше чем на год")
        elif listing.starts_on and day < listing.starts_on:
            p.error("ends_on", f"не может быть раньше, чем starts_on ({listing.starts_on.isoformat()})")
    if listing.status == ListingStatus.HIDDEN:
        p.error("status", "объявление скрыто координатором; продлить его нельзя")
    new_status = listing.status
    if listing.status in (ListingStatus.CLOSED, ListingStatus.ARCHIVED):
        new_status = _parse_status(p, "active", user, default="active")
    if p.errors:
        raise ValidationFailed(p.errors)
    assert day is not None
    changes: dict[str, Any] = {"ends_on": [listing.ends_on, day]}
    if new_status != listing.status:
        changes["status"] = [listing.status.value, new_status.value]
    listing.ends_on = day
    listing.status = new_status
    record_audit("renew", "listing", listing.id, changes, user_id=_uid(user))
    record_outbox("listing", listing.id, "upsert")
    db.session.flush()
    return listing


def hide_listing(listing: Listing, coordinator: User, reason: str) -> Listing:
    """A coordinator (or an admin) hides a listing that breaks the rules; the reason is kept and shown to its owners.

    Raises ``PermissionError`` when ``coordinator`` does not coordinate the listing's region.
    """
    from marketplace.core.permissions import can_moderate_listing

    if not can_moderate_listing(coordinator, listing):
        raise PermissionError("only a coordinator of the listing's region may hide it")
    p = FieldParser()
    text = p.text("reason", reason, required=True, max_length=2000)
    if p.errors:
        raise ValidationFailed(p.errors)
    before = listing.status.value
    listing.status = ListingStatus.HIDDEN
    # The same keys as coordinator.services.hide_listing: "hidden_reason", "hidden_from" (plus who and when).
    listing.attributes = {**(listing.attributes or {}), "hidden_reason": text, "hidden_from": before,
                          "hidden_by": coordinator.id, "hidden_at": utcnow().isoformat()}
    record_audit("hide", "listing", listing.id, {"status": [before, "hidden"], "reason": text},
                 user_id=coordinator.id)
    record_outbox("listing", listing.id, "delete")
    db.session.flush()
    return listing


def unhide_listing(listing: Listing, coordinator: User) -> Listing:
    """Undo :func:`hide_listing`: the listing gets back the status it had."""
    from marketplace.core.permissions import can_moderate_listing

    if not can_moderate_listing(coordinator, listing):
        raise PermissionError("only a coordinator of the listing's region may unhide it")
    if listing.status != ListingStatus.HIDDEN:
        return listing
    attributes = dict(listing.attributes or {})
    status = ListingStatus(attributes.get("hidden_from") or "active")
    listing.status = status
    listing.attributes = {k: v for k, v in attributes.items() if not k.startswith("hidden_")}
    record_audit("unhide", "listing", listing.id, {"status": ["hidden", status.value]}, user_id=coordinator.id)
    record_outbox("listing", listing.id, "upsert")
    db.session.flush()
    return listing


def hidden_reason(listing: Listing) -> str | None:
    if listing.status != ListingStatus.HIDDEN:
        return None
    return (listing.attributes or {}).get("hidden_reason")


def organization_listings(organization_id: int, *, side: Side | None = None, kinds: set[ListingKind] | None = None,
                          include_archived: bool = True) -> list[Listing]:
    """An organization's own listings, newest first (for "Мои предложения" and "Мои потребности")."""
    stmt = select(Listing).where(Listing.organization_id == organization_id)
    if side is not None:
        stmt = stmt.where(Listing.side == side)
    if kinds:
        stmt = stmt.where(Listing.kind.in_(kinds))
    if not include_archived:
        stmt = stmt.where(Listing.status != ListingStatus.ARCHIVED)
    return list(db.session.scalars(stmt.order_by(Listing.updated_at.desc(), Listing.id.desc())))


def listing_record(listing: Listing) -> dict[str, Any]:
    """A listing as raw field values (the inverse of ``parse_listing_fields``): fills the edit form and lets
    :func:`update_listing` apply partial data."""
    record: dict[str, Any] = {
        "title": listing.title, "description": listing.description or "",
        "okpd2": "; ".join(listing.okpd2_codes), "okved2": "; ".join(listing.okved2_codes),
        "quantity": decimal_text(listing.quantity), "unit": listing.unit or "",
        "price": decimal_text(listing.price), "budget": decimal_text(listing.budget), "currency": listing.currency,
        "region": listing.region_code or "", "town": listing.town.name if listing.town else "",
        "lead_time_days": "" if listing.lead_time_days is None else str(listing.lead_time_days),
        "starts_on": listing.starts_on.isoformat() if listing.starts_on else "",
        "ends_on": listing.ends_on.isoformat() if listing.ends_on else "",
        "certifications": "; ".join(listing.certifications or []),
        "status": listing.status.value,
        "operations": "; ".join(listing.operation_ids), **parameters_record(listing.parameters),
    }
    for name in KIND_FIELDS[listing.kind] & KIND_COLUMNS:
        value = getattr(listing, name, None)
        record[name] = decimal_text(value) if isinstance(value, Decimal) else ("" if value is None else str(value))
    return record


def index_after_commit() -> None:
    """Ask the workers to carry committed outbox rows into the search index; call it after ``commit()``.

    Does nothing when no ``search.drain_outbox`` job is declared (the nightly reconcile catches up then).
    """
    from workers import queue

    if "search.drain_outbox" not in queue.load_jobs():
        return
    # Indexing is eventually consistent: a failure here must not fail the user's request.
    handle = queue.enqueue_quietly("search.drain_outbox")
    if handle is None or handle.status == "failed":
        return
    if current_app.config.get("MATCH_AFTER_COMMIT", True) and "matching.refresh_stale" in queue.load_jobs():
        queue.enqueue_quietly("matching.refresh_stale")  # the changed listings get their matches once indexed


# Internals -----------------------------------------------------------------------------------

def _parse_kind(p: FieldParser, kind: ListingKind | str) -> ListingKind | None:
    value = p.choice("kind", getattr(kind, "value", kind), {k.value for k in EDITABLE_KINDS}, required=True)
    return ListingKind(value) if value else None


def _check_organization_may_publish(p: FieldParser, organization: Organization, kind: ListingKind) -> None:
    if organization.archived:
        p.error("organization", "организация в архиве")
    if kind.side == Side.OFFER and organization.kind == OrganizationKind.BUYER:
        p.error("kind", "организация-заказчик не публикует предложения; измените вид организации в её профиле")


def _parse_status(p: FieldParser, value: Any, user: User | None, *, default: str) -> ListingStatus:
    choice = p.choice("status", value, set(PUBLISHABLE_STATUSES), default=default)
    status = PUBLISHABLE_STATUSES.get(choice or default, ListingStatus.DRAFT)
    if status == ListingStatus.ACTIVE and user is not None and not user.is_confirmed:
        p.error("status", "подтвердите адрес электронной почты, чтобы публиковать; пока можно сохранить черновик")
    return status


def _apply(listing: Listing, values: dict[str, Any], organization: Organization) -> None:
    for name in ("title", "description", "quantity", "unit", "price", "budget", "currency", "lead_time_days",
                 "starts_on", "ends_on", "certifications"):
        setattr(listing, name, values[name])
    for name in KIND_FIELDS[listing.kind] & KIND_COLUMNS:
        setattr(listing, name, values[name])
    if values["_region_given"]:
        listing.country_code = "RU"
        listing.region_code, listing.town_id = values["region_code"], values["town_id"]
        listing.lat, listing.lon = values["lat"], values["lon"]
    else:  # no place given: where the organization is
        listing.country_code = organization.country_code
        listing.region_code, listing.town_id = organization.region_code, organization.town_id
        listing.lat, listing.lon = organization.lat, organization.lon
    wanted = values["_codes"]
    if [(c.scheme, c.code) for c in listing.codes] != wanted:
        listing.codes.clear()
        if listing.id is not None:
            db.session.flush()  # delete the old rows before inserting rows with the same keys
        listing.codes.extend(ListingCode(scheme=s, code=c, position=i) for i, (s, c) in enumerate(wanted))
        _renumber(listing)
    listing.parameters = values["_parameters"]
    if listing.operation_ids != values["_operations"]:
        listing.operation_links.clear()
        if listing.id is not None:
            db.session.flush()
        listing.operation_links.extend(ListingOperation(operation_id=op_id, position=i)
                                       for i, op_id in enumerate(values["_operations"]))


def _renumber(listing: Listing) -> None:
    """Positions count within each scheme: the first ОКПД2 and the first ОКВЭД2 are the main codes."""
    seen: dict[str, int] = {}
    for code in listing.codes:
        code.position = seen.get(code.scheme, 0)
        seen[code.scheme] = code.position + 1


def _snapshot(listing: Listing) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in AUDITED_COLUMNS:
        if not hasattr(type(listing), name):
            continue
        value = getattr(listing, name)
        if isinstance(value, Decimal):
            value = decimal_text(value)
        elif isinstance(value, date):
            value = value.isoformat()
        elif hasattr(value, "value"):
            value = value.value
        elif isinstance(value, list):
            value = list(value)
        elif isinstance(value, dict):
            value = dict(value)
        out[name] = value
    return out


def _uid(user: User | None) -> int | None:
    return user.id if user is not None and getattr(user, "id", None) is not None else None
