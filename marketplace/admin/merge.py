"""Duplicate organizations — the same ИНН written twice (with spaces, under another country) — and their merge.

:func:`merge_organizations` moves everything that points at the duplicate to the organization kept: every column
with a foreign key to ``organizations.id``, found in the metadata, so a table added later moves too. A row that
would repeat one of the kept organization's under a unique constraint (the same user a member of both, the same
community) is dropped; where the constraint has an optional column of its own (a listing's ``external_id``) that
column is cleared and the row moves. The duplicate is archived with ``merged_into_id`` set, both organizations get an
audit entry with the counts, and every moved listing an outbox row (the index and the matches catch up as after an
edit). The caller commits (then calls ``index_after_commit``) or, on :class:`AdminError`, rolls back.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import Column, PrimaryKeyConstraint, Table, UniqueConstraint, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Membership, User
from marketplace.admin.services import AdminError
from marketplace.core.audit import record_audit, record_outbox
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.organizations.models import Organization

DIGITS = frozenset("0123456789")
CHUNK = 500  # ids per IN (…): well under SQLite's limit of bound parameters


def _(message: str, **values: Any) -> str:
    """A refusal in the reader's language on a page; in Russian (the catalogue's ids) outside a request."""
    if has_request_context():
        return gettext(message, **values)
    return message % values if values else message


def normalized_inn(tax_id: str | None) -> str:
    """The ИНН's digits only («27 21 123456» and «2721123456» are one ИНН); empty when it has none."""
    return "".join(c for c in tax_id or "" if c in DIGITS)


@dataclass
class DuplicateGroup:
    """Organizations, not merged yet, that share one normalized ИНН; the one to keep is suggested first
    (not blocked, verified, with the most listings, the oldest)."""

    inn: str
    organizations: list[Organization]
    listings: dict[int, int] = field(default_factory=dict)
    members: dict[int, int] = field(default_factory=dict)


def duplicate_inns() -> list[tuple[str, list[int]]]:
    """(normalized ИНН, ids) of every ИНН that more than one organization not merged yet has, by ИНН."""
    groups: dict[str, list[int]] = defaultdict(list)
    for org_id, tax_id in db.session.execute(select(Organization.id, Organization.tax_id)
                                             .where(Organization.merged_into_id.is_(None))
                                             .order_by(Organization.id)):
        inn = normalized_inn(tax_id)
        if inn:
            groups[inn].append(org_id)
    return sorted((inn, ids) for inn, ids in groups.items() if len(ids) > 1)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def _counts(column: Any, ids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for chunk in _chunks(ids):
        out.update(db.session.execute(select(column, func.count()).where(column.in_(chunk)).group_by(column)).all())
    return out


def describe(inns: list[tuple[str, list[int]]]) -> list[DuplicateGroup]:
    """The groups of ``inns`` (from :func:`duplicate_inns`, or a page of them) with their organizations, regions and
    counts of listings and members, in a few statements whatever the number of groups."""
    ids = [i for _inn, group in inns for i in group]
    orgs: dict[int, Organization] = {}
    for chunk in _chunks(ids):
        orgs.update((o.id, o) for o in db.session.scalars(
            select(Organization).where(Organization.id.in_(chunk)).options(selectinload(Organization.region))))
    listings, members = _counts(Listing.organization_id, ids), _counts(Membership.organization_id, ids)
    groups = []
    for inn, group in inns:
        chosen = sorted((orgs[i] for i in group if i in orgs),
                        key=lambda o: (o.archived, not o.verified, -listings.get(o.id, 0), o.id))
        groups.append(DuplicateGroup(inn, chosen, {o.id: listings.get(o.id, 0) for o in chosen},
                                     {o.id: members.get(o.id, 0) for o in chosen}))
    return groups


def duplicate_groups() -> list[DuplicateGroup]:
    """Every group of organizations sharing a normalized ИНН, with counts of their listings and members."""
    return describe(duplicate_inns())


# The merge ------------------------------------------------------------------------------------

@dataclass
class MergeReport:
    """Rows per ``table.column`` moved to the kept organization, dropped as repeats, or moved with a column
    cleared (``table.column``: the column cleared)."""

    moved: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    cleared: dict[str, int] = field(default_factory=dict)
    listing_ids: list[int] = field(default_factory=list)

    @property
    def listings(self) -> int:
        return self.moved.get("listings.organization_id", 0)

    @property
    def members(self) -> int:
        return self.moved.get("memberships.organization_id", 0)

    @property
    def other_rows(self) -> int:
        return sum(self.moved.values()) - self.listings - self.members

    @property
    def dropped_rows(self) -> int:
        return sum(self.dropped.values())


def organization_references() -> list[tuple[Table, Column[Any]]]:
    """Every (table, column) whose foreign key references ``organizations.id``, in dependency order."""
    target = Organization.__table__.c.id
    return [(table, fk.parent) for table in db.metadata.sorted_tables
            for fk in sorted(table.foreign_keys, key=lambda fk: fk.parent.name) if fk.column is target]


def _unique_keys(table: Table, column: Column[Any]) -> list[list[Column[Any]]]:
    """The columns of each primary key, unique constraint and unique index of ``table`` that includes ``column``."""
    keys = [list(c.columns) for c in table.constraints
            if isinstance(c, PrimaryKeyConstraint | UniqueConstraint) and column.name in c.columns]
    keys += [list(i.columns) for i in table.indexes if i.unique and column.name in i.columns]
    return keys


def _identity(org: Organization) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "tax_id": org.tax_id, "country": org.country_code}


def check_merge(target: Organization, source: Organization) -> None:
    """Refuse (AdminError naming ``target`` or ``source``) a merge that must not happen."""
    if source.id == target.id:
        raise AdminError("source", _("организацию нельзя объединить саму с собой"))
    if source.merged_into_id is not None:
        raise AdminError("source", _("«%(name)s» уже объединена с организацией № %(id)s",
                                     name=source.name, id=source.merged_into_id))
    if target.merged_into_id is not None:
        raise AdminError("target", _("«%(name)s» уже объединена с организацией № %(id)s; оставьте её",
                                     name=target.name, id=target.merged_into_id))
    if target.archived:
        raise AdminError("target", _("«%(name)s» заблокирована: оставьте другую организацию или разблокируйте эту",
                                     name=target.name))
    inn = normalized_inn(target.tax_id)
    if not inn or normalized_inn(source.tax_id) != inn:
        raise AdminError("source", _("ИНН «%(name)s» (%(source)s) не совпадает с ИНН оставляемой (%(target)s)",
                                     name=source.name, source=source.tax_id, target=target.tax_id))


def _move(report: MergeReport, table: Table, column: Column[Any], target_id: int, source_id: int) -> None:
    where = f"{table.name}.{column.name}"
    for key in _unique_keys(table, column):
        others = [c for c in key if c is not column]
        kept = table.alias("kept")
        repeat = exists().where(kept.c[column.name] == target_id,
                                *(kept.c[c.name] == table.c[c.name] for c in others))
        optional = [c for c in others if c.nullable and not c.primary_key and not c.foreign_keys]
        if optional:
            stmt = (table.update().where(column == source_id, repeat)
                    .values({c.name: None for c in optional}))
            count = db.session.execute(stmt).rowcount
            if count:
                report.cleared[f"{table.name}.{'+'.join(c.name for c in optional)}"] = count
        else:
            count = db.session.execute(table.delete().where(column == source_id, repeat)).rowcount
            if count:
                report.dropped[where] = report.dropped.get(where, 0) + count
    count = db.session.execute(table.update().where(column == source_id).values({column.name: target_id})).rowcount
    if count:
        report.moved[where] = count


def merge_organizations(target: Organization, source: Organization, *, by: User) -> MergeReport:
    """Move everything of ``source`` to ``target`` (the same ИНН) and archive ``source`` as merged into it."""
    check_merge(target, source)
    db.session.flush()  # the statements below go past the session: what it holds must be written first
    report = MergeReport(listing_ids=list(db.session.scalars(
        select(Listing.id).where(Listing.organization_id == source.id).order_by(Listing.id))))
    target_id, source_id = target.id, source.id
    try:
        for table, column in organization_references():
            _move(report, table, column, target_id, source_id)
    except IntegrityError as exc:
        raise AdminError("source", _("перенести записи «%(name)s» не удалось: %(error)s", name=source.name,
                                     error=str(exc.orig).splitlines()[0][:200])) from exc
    db.session.expire_all()  # objects loaded before hold the old organization, or rows dropped
    source, target = db.session.get(Organization, source_id), db.session.get(Organization, target_id)
    assert source is not None and target is not None
    was_archived = source.archived
    source.archived, source.merged_into_id = True, target_id
    counts = {"moved": report.moved, "dropped": report.dropped, "cleared": report.cleared}
    record_audit("admin.merge", "organization", target_id,
                 {"target": _identity(target), "source": _identity(source), **counts}, user_id=by.id)
    record_audit("admin.merged", "organization", source_id,
                 {"merged_into_id": [None, target_id], "archived": [was_archived, True],
                  "target": _identity(target), **counts}, user_id=by.id)
    for listing_id in report.listing_ids:
        record_outbox("listing", listing_id, "upsert")
    db.session.flush()
    return report
