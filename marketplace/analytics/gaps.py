"""Gaps: the demand a region (district, Russia) cannot meet from its own suppliers — import-substitution niches.

A need is an active need listing; its class is the first two levels below the ОКПД2 class of its main code
("25.62" for 25.62.20.110). Its *best tier* is the nearest procurement tier among its acceptable stored
matches. A need is a gap at level

* ``local`` when no acceptable supplier is in its own region (best tier is not ``local``);
* ``district`` when none is in its federal district either (best tier is national or farther, or none);
* ``national`` when none is in Russia (best tier is EAEU, a friendly country, or there is no acceptable match).

The niches are the classes ranked by the unmet budget, then by the number of unmet needs.

Read *by operation* (``by="operation"``) the same report is keyed by the need's main catalogue operation (its first
in ``listing_operations``): hot-dip galvanizing and powder coating are two lines though both are ОКПД2 25.61; a
need that names no operation stays under its ОКПД2 class.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, func, null, or_, select
from sqlalchemy.sql import Select

from marketplace.analytics.scope import (
    COUNTRY,
    GAP_LEVELS,
    NO_TIER,
    TIERS,
    Geography,
    Scope,
    chunks,
    money,
    region_filter,
    tier_rank,
)
from marketplace.classifiers.models import ClassifierCode
from marketplace.extensions import db
from marketplace.listings.models import Listing, ListingCode, ListingStatus, Side
from marketplace.matches.models import Match
from marketplace.operations.models import ListingOperation, Operation
from marketplace.organizations.models import Organization

NO_CLASS = ""  # needs without an ОКПД2 code
NO_CLASS_NAME = "без кода ОКПД2"
DEFAULT_LEVEL = {"region": "local", "district": "district", "country": "national"}
BY = ("class", "operation")  # how a report is keyed: ОКПД2 class, or the need's catalogue operation
BY_TITLES_RU = {"class": "по классам ОКПД2", "operation": "по операциям"}


@dataclass(frozen=True)
class GapRow:
    """One niche: an ОКПД2 class with the scope's demand in it and the part of it nobody nearby can supply."""

    rank: int
    okpd2_class: str
    name: str
    needs: int
    budget: float
    unmet_needs: int
    unmet_budget: float
    unmet_without_budget: int  # unmet needs that state a quantity but no budget
    unmet_quantity: float | None  # only when every unmet need with a quantity uses the same unit
    unit: str | None
    operation_id: str | None = None  # a line of a report by operation; okpd2_class is then the operation's class

    @property
    def key(self) -> str:
        """What the drill-down is keyed by: the operation id, else the class ("none" for needs without a code)."""
        return self.operation_id or self.okpd2_class or "none"

    @property
    def unmet_share(self) -> float:
        return self.unmet_needs / self.needs if self.needs else 0.0


@dataclass(frozen=True)
class GapReport:
    scope: str
    scope_name: str
    level: str
    needs: int
    unmet_needs: int
    unmet_budget: float
    rows: tuple[GapRow, ...] = field(default=())
    by: str = "class"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GapReport:
        return cls(**{**data, "rows": tuple(GapRow(**r) for r in data["rows"])})


@dataclass(frozen=True)
class GapNeed:
    """A need behind a gap line (the drill-down)."""

    id: int
    title: str
    kind: str
    organization_id: int
    organization: str
    region_code: str | None
    okpd2_code: str | None
    budget: float | None
    quantity: float | None
    unit: str | None
    created_at: str
    best_tier: str | None  # the nearest acceptable tier, None when no acceptable supplier at all


@dataclass(frozen=True)
class _Cell:
    """Active needs of one region and class with one best tier: what SQL hands back."""

    region_code: str | None
    okpd2_class: str
    best: int
    needs: int
    budget: float
    with_budget: int
    quantity: float | None
    unit_min: str | None
    unit_max: str | None
    operation_id: str | None = None


def _main_operations() -> Any:
    """listing id → its main catalogue operation (the lowest position; the smallest id on a tie)."""
    first = (select(ListingOperation.listing_id.label("listing_id"), func.min(ListingOperation.position).label("pos"))
             .group_by(ListingOperation.listing_id).subquery())
    return (select(ListingOperation.listing_id.label("listing_id"), func.min(ListingOperation.operation_id).label("op"))
            .join(first, and_(first.c.listing_id == ListingOperation.listing_id,
                              first.c.pos == ListingOperation.position))
            .group_by(ListingOperation.listing_id).subquery())


# ---------------------------------------------------------------------------------------------------- SQL

def _per_need(scope: Scope | None, by: str = "class") -> Select:
    """One row per active need in scope: region, class, budget, quantity, unit, best acceptable tier rank and (by
    operation) the main catalogue operation."""
    best = func.min(case((Match.acceptable.is_(True), tier_rank(Match.tier)), else_=None))
    cls = func.coalesce(func.substr(ListingCode.code, 1, 5), NO_CLASS)
    main_op = _main_operations() if by == "operation" else None
    op = main_op.c.op if main_op is not None else cast(null(), String(80))
    query = (
        select(Listing.id.label("need_id"), Listing.region_code.label("region_code"), cls.label("cls"),
               Listing.budget.label("budget"), Listing.quantity.label("quantity"), Listing.unit.label("unit"),
               func.coalesce(best, NO_TIER).label("best"), op.label("op"))
        .select_from(Listing)
        .outerjoin(ListingCode, and_(ListingCode.listing_id == Listing.id, ListingCode.scheme == "okpd2",
                                     ListingCode.position == 0))
        .outerjoin(Match, Match.need_id == Listing.id)
        .where(Listing.side == Side.NEED, Listing.status == ListingStatus.ACTIVE)
        .group_by(Listing.id, Listing.region_code, ListingCode.code, Listing.budget, Listing.quantity, Listing.unit)
    )
    if main_op is not None:
        query = query.outerjoin(main_op, main_op.c.listing_id == Listing.id).group_by(main_op.c.op)
    if scope is not None and (cond := region_filter(Listing.region_code, scope)) is not None:
        query = query.where(cond)
    return query


def _cells(scope: Scope | None, by: str = "class") -> list[_Cell]:
    per_need = _per_need(scope, by).subquery()
    c = per_need.c
    rows = db.session.execute(
        select(c.region_code, c.cls, c.best, func.count(), func.sum(c.budget), func.count(c.budget),
               func.sum(c.quantity), func.min(c.unit), func.max(c.unit), c.op)
        .group_by(c.region_code, c.cls, c.best, c.op)).all()
    return [_Cell(r[0], r[1] or NO_CLASS, int(r[2]), int(r[3]), money(r[4]), int(r[5]),
                  None if r[6] is None else float(r[6]), r[7], r[8], r[9] or None) for r in rows]


def _operation_info(op_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """operation id → (name, the class of its first ОКПД2 code or "")."""
    out: dict[str, tuple[str, str]] = {}
    for batch in chunks(sorted({o for o in op_ids if o})):
        for op_id, name, okpd2 in db.session.execute(
                select(Operation.id, Operation.name, Operation.okpd2).where(Operation.id.in_(batch))):
            out[op_id] = (name, (okpd2 or [""])[0][:5])
    return out


def _class_names(classes: Iterable[str]) -> dict[str, str]:
    names = {NO_CLASS: NO_CLASS_NAME}
    wanted = sorted({c for c in classes if c})
    for batch in chunks(wanted):
        names.update(db.session.execute(
            select(ClassifierCode.code, ClassifierCode.name)
            .where(ClassifierCode.scheme == "okpd2", ClassifierCode.code.in_(batch))).all())
    return names


# ---------------------------------------------------------------------------------------------------- reports

def _report(scope: Scope, level: str, cells: Iterable[_Cell], names: Mapping[str, str], by: str = "class",
            operations: Mapping[str, tuple[str, str]] | None = None) -> GapReport:
    threshold = GAP_LEVELS[level]
    operations = operations or {}
    acc: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "needs": 0, "budget": 0.0, "unmet_needs": 0, "unmet_budget": 0.0, "unmet_with_budget": 0,
        "quantity": 0.0, "has_quantity": False, "units": set()})
    for cell in cells:
        a = acc[f"op:{cell.operation_id}" if by == "operation" and cell.operation_id else cell.okpd2_class]
        a["needs"] += cell.needs
        a["budget"] += cell.budget
        if cell.best > threshold:
            a["unmet_needs"] += cell.needs
            a["unmet_budget"] += cell.budget
            a["unmet_with_budget"] += cell.with_budget
            if cell.quantity is not None:
                a["quantity"] += cell.quantity
                a["has_quantity"] = True
                a["units"].update(u for u in (cell.unit_min, cell.unit_max))
    rows = []
    for key, a in acc.items():
        if not a["unmet_needs"]:
            continue
        same_unit = a["has_quantity"] and len(a["units"]) == 1
        op_id = key[3:] if key.startswith("op:") else None
        if op_id is not None:
            name, cls = operations.get(op_id, (op_id, ""))
        else:
            name, cls = names.get(key, key), key
        rows.append(GapRow(
            rank=0, okpd2_class=cls, name=name, operation_id=op_id, needs=a["needs"], budget=round(a["budget"], 2),
            unmet_needs=a["unmet_needs"], unmet_budget=round(a["unmet_budget"], 2),
            unmet_without_budget=a["unmet_needs"] - a["unmet_with_budget"],
            unmet_quantity=round(a["quantity"], 3) if same_unit else None,
            unit=next(iter(a["units"])) if same_unit else None))
    rows.sort(key=lambda r: (-r.unmet_budget, -r.unmet_needs, r.okpd2_class, r.operation_id or ""))
    ranked = tuple(GapRow(**{**asdict(r), "rank": i}) for i, r in enumerate(rows, 1))
    return GapReport(scope=scope.code, scope_name=scope.name, level=level,
                     needs=sum(a["needs"] for a in acc.values()),
                     unmet_needs=sum(r.unmet_needs for r in ranked),
                     unmet_budget=round(sum(r.unmet_budget for r in ranked), 2), rows=ranked, by=by)


def gaps(scope: Scope, level: str | None = None, by: str = "class") -> GapReport:
    """The ranked niches of one scope at ``level`` (default: local for a region, district for a district,
    national for Russia), computed now from the stored matches; ``by="operation"`` keys them by the needs'
    catalogue operations (needs without one stay under their class).

    >>> gaps(resolve_scope("27")).rows[0].okpd2_class  # doctest: +SKIP
    '25.62'
    """
    level = level or DEFAULT_LEVEL[scope.kind]
    if level not in GAP_LEVELS:
        raise ValueError(f"unknown gap level {level!r}: one of {', '.join(GAP_LEVELS)}")
    if by not in BY:
        raise ValueError(f"unknown gap reading {by!r}: one of {', '.join(BY)}")
    cells = _cells(scope, by)
    return _report(scope, level, cells, _class_names(c.okpd2_class for c in cells), by,
                   _operation_info(c.operation_id for c in cells if c.operation_id))


def all_gap_reports(geography: Geography, scopes: Iterable[Scope],
                    by: str = "class") -> dict[str, dict[str, GapReport]]:
    """Every level of every scope from one SQL pass: ``{scope code: {level: report}}``."""
    scopes = list(scopes)
    everything = any(s.kind == "country" for s in scopes)
    regions = sorted({r for s in scopes for r in s.regions})
    cells = _cells(None if everything else Scope("district", "*", "", tuple(regions)), by)
    names = _class_names(c.okpd2_class for c in cells)
    operations = _operation_info(c.operation_id for c in cells if c.operation_id)
    by_scope: dict[str, list[_Cell]] = defaultdict(list)
    for cell in cells:
        for code in geography.scopes_of(cell.region_code):
            by_scope[code].append(cell)
    return {s.code: {level: _report(s, level, by_scope.get(s.code, ()), names, by, operations)
                     for level in GAP_LEVELS} for s in scopes}


def gap_needs(scope: Scope, okpd2_class: str, level: str, *, limit: int = 500,
              viewer: Any = None) -> tuple[GapNeed, ...]:
    """The active needs behind one gap line, the largest budgets first (``viewer``: only those that user may see,
    by ``core.permissions.can_view_listing`` — a closed tender's lots are not named to a region's coordinator)."""
    return gap_needs_by_class(scope, [okpd2_class], level, limit=limit, viewer=viewer).get(okpd2_class, ())


def gap_needs_by_class(scope: Scope, classes: Sequence[str], level: str, *,
                       limit: int = 5000, viewer: Any = None) -> dict[str, tuple[GapNeed, ...]]:
    """The needs behind several gap lines in one query (for the XLSX export): ``{class: needs}``, at most ``limit``
    needs in all, the largest budgets first."""
    return _gap_needs(scope, level, "class", classes, (), limit, viewer)


def gap_needs_by_operation(scope: Scope, level: str, *, classes: Sequence[str] = (), operations: Sequence[str] = (),
                           limit: int = 5000, viewer: Any = None) -> dict[str, tuple[GapNeed, ...]]:
    """The needs behind the lines of a report by operation: ``{operation id or class: needs}`` — an operation line
    holds the needs whose main operation it is, a class line the needs of that class that name no operation."""
    return _gap_needs(scope, level, "operation", classes, operations, limit, viewer)


def gap_operation_needs(scope: Scope, operation_id: str, level: str, *, limit: int = 500,
                        viewer: Any = None) -> tuple[GapNeed, ...]:
    """The active needs behind one operation's gap line, the largest budgets first."""
    return gap_needs_by_operation(scope, level, operations=[operation_id], limit=limit,
                                  viewer=viewer).get(operation_id, ())


def _gap_needs(scope: Scope, level: str, by: str, classes: Sequence[str], operations: Sequence[str],
               limit: int, viewer: Any = None) -> dict[str, tuple[GapNeed, ...]]:
    threshold = GAP_LEVELS[level]
    if not classes and not operations:
        return {}
    per_need = _per_need(scope, by).subquery()
    c = per_need.c
    if by == "operation":
        line = or_(and_(c.op.is_(None), c.cls.in_(list(classes) or [None])), c.op.in_(list(operations) or [None]))
    else:
        line = c.cls.in_(list(classes))
    rows = db.session.execute(
        select(Listing.id, Listing.title, Listing.kind, Organization.id, Organization.name, Listing.region_code,
               Listing.budget, Listing.quantity, Listing.unit, Listing.created_at, c.best, c.cls, c.op)
        .join(per_need, per_need.c.need_id == Listing.id)
        .join(Organization, Organization.id == Listing.organization_id)
        .where(c.best > threshold, line, *_visible_to(viewer))
        .order_by(Listing.budget.desc().nulls_last(), Listing.id)
        .limit(limit)).all()
    ids = [r[0] for r in rows]
    main_codes: dict[int, str] = {}
    for start in range(0, len(ids), 900):
        main_codes.update(db.session.execute(
            select(ListingCode.listing_id, ListingCode.code)
            .where(ListingCode.listing_id.in_(ids[start:start + 900]), ListingCode.scheme == "okpd2",
                   ListingCode.position == 0)).all())
    out: dict[str, list[GapNeed]] = defaultdict(list)
    for r in rows:
        out[r[12] or r[11] or NO_CLASS].append(GapNeed(
            id=r[0], title=r[1], kind=str(r[2]), organization_id=r[3], organization=r[4], region_code=r[5],
            okpd2_code=main_codes.get(r[0]), budget=None if r[6] is None else money(r[6]),
            quantity=None if r[7] is None else float(r[7]), unit=r[8], created_at=_iso(r[9]),
            best_tier=TIERS[r[10] - 1] if r[10] <= len(TIERS) else None))
    return {cls: tuple(needs) for cls, needs in out.items()}


def _visible_to(viewer: Any) -> tuple[Any, ...]:
    if viewer is None:
        return ()
    from marketplace.core.permissions import visible_listings_clause

    clause = visible_listings_clause(viewer)
    return () if clause is None else (clause,)


def _iso(value: datetime | str | None) -> str:
    if value is None:
        return ""
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else str(value)


__all__ = ["BY", "BY_TITLES_RU", "COUNTRY", "DEFAULT_LEVEL", "GapNeed", "GapReport", "GapRow", "all_gap_reports",
           "gap_needs", "gap_needs_by_class", "gap_needs_by_operation", "gap_operation_needs", "gaps"]
