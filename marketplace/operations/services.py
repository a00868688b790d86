"""Read-side queries of the catalogue pages: how many offers each operation has, who performs an operation (grouped by
the charter's order — the viewer's region, its federal district, the rest of Russia, the EAEU, abroad) and which
open needs ask for it.

Only what anyone may see is counted: active listings of organizations that are not archived (drafts, closed,
archived and hidden listings never show); a tender lot only when its tender is visible to the viewer (a closed
tender's lots stay with the invited). An operation's offers are those naming it or one of its descendants (a CNC
turning shop does turning); a generic ancestor is not counted as doing a specific child here.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select

from marketplace.extensions import db
from marketplace.geo.models import Country, FederalDistrict, Region
from marketplace.listings.models import Listing, ListingKind, ListingStatus, Side
from marketplace.operations.models import ListingOperation
from marketplace.organizations.models import Organization
from matching.operations import Operation, OperationCatalogue


def _visible_needs_rule(user: Any) -> Any:
    from marketplace.tenders.access import visible_tenders_query
    from marketplace.tenders.models import Tender

    tender_id = Listing.__table__.c.tender_id
    visible = visible_tenders_query(user).with_only_columns(Tender.id)
    return or_(Listing.kind != ListingKind.TENDER_LOT, tender_id.is_(None), tender_id.in_(visible))


def _links(side: Side, operation_ids: Iterable[str] | None = None, user: Any = None) -> list[tuple[str, int]]:
    """(operation id, listing id) of the visible active listings of ``side``."""
    query = (select(ListingOperation.operation_id, Listing.id)
             .join(Listing, Listing.id == ListingOperation.listing_id)
             .join(Organization, Organization.id == Listing.organization_id)
             .where(Listing.side == side, Listing.status == ListingStatus.ACTIVE, Organization.archived.is_(False)))
    if operation_ids is not None:
        query = query.where(ListingOperation.operation_id.in_(sorted(set(operation_ids))))
    if side == Side.NEED:
        query = query.where(_visible_needs_rule(user))
    return [(op_id, listing_id) for op_id, listing_id in db.session.execute(query)]


def offer_counts(catalogue: OperationCatalogue) -> dict[str, int]:
    """Active offers per operation, each counted under its operation and every ancestor (once per listing)."""
    per_op: dict[str, set[int]] = defaultdict(set)
    for op_id, listing_id in _links(Side.OFFER):
        if op_id not in catalogue:
            continue
        for target in (op_id, *catalogue.ancestors(op_id)):
            per_op[target].add(listing_id)
    return {op_id: len(ids) for op_id, ids in per_op.items()}


@dataclass(frozen=True)
class TreeNode:
    operation: Operation
    offers: int
    children: tuple[TreeNode, ...] = ()


def catalogue_tree(catalogue: OperationCatalogue) -> list[TreeNode]:
    """The families with their operations nested, in the catalogue's order, with offer counts."""
    counts = offer_counts(catalogue)

    def node(op: Operation) -> TreeNode:
        kids = sorted(catalogue.children(op.id), key=lambda c: c.position)
        return TreeNode(op, counts.get(op.id, 0), tuple(node(k) for k in kids))

    return [node(root) for root in sorted(catalogue.roots(), key=lambda op: op.position)]


def search_operations(catalogue: OperationCatalogue, q: str, limit: int = 30) -> list[Operation]:
    """Operations for the catalogue's search box: by name, synonym or abbreviation; else read from the text."""
    q = (q or "").strip()[:200]
    if not q:
        return []
    found = catalogue.search(q, limit=limit) if hasattr(catalogue, "search") else []
    if not found:
        found = [op for r in catalogue.recognize(q, top=limit) if (op := catalogue.get(r.operation_id))]
    return found


# ---------------------------------------------------------------------------------------------------- providers

@dataclass
class Provider:
    organization: Organization
    listings: list[Listing] = field(default_factory=list)


@dataclass
class RegionGroup:
    code: str
    name: str
    providers: list[Provider] = field(default_factory=list)
    own: bool = False  # the viewer's region

    @property
    def count(self) -> int:
        return len(self.providers)


@dataclass
class DistrictGroup:
    code: str
    name: str
    regions: list[RegionGroup] = field(default_factory=list)
    own: bool = False  # the viewer's federal district

    @property
    def count(self) -> int:
        return sum(r.count for r in self.regions)


@dataclass
class CountryGroup:
    code: str
    name: str
    eaeu: bool
    providers: list[Provider] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.providers)


@dataclass
class Providers:
    """Who performs an operation: Russian regions by federal district, then EAEU countries, then the rest."""

    districts: list[DistrictGroup]
    eaeu: list[CountryGroup]
    abroad: list[CountryGroup]
    viewer_region: Region | None = None

    @property
    def count(self) -> int:
        return (sum(d.count for d in self.districts) + sum(c.count for c in self.eaeu)
                + sum(c.count for c in self.abroad))


def _group_by_organization(listings: Iterable[Listing]) -> list[Provider]:
    by_org: dict[int, Provider] = {}
    for listing in listings:
        by_org.setdefault(listing.organization_id, Provider(listing.organization)).listings.append(listing)
    return sorted(by_org.values(), key=lambda p: (not p.organization.verified, p.organization.name.lower()))


def operation_offers(catalogue: OperationCatalogue, op_id: str) -> list[Listing]:
    """Active visible offers naming the operation or one of its descendants."""
    ids = {listing_id for _op, listing_id in _links(Side.OFFER, [op_id, *catalogue.descendants(op_id)])}
    if not ids:
        return []
    return list(db.session.scalars(select(Listing).where(Listing.id.in_(sorted(ids))).order_by(Listing.title)))


def providers(catalogue: OperationCatalogue, op_id: str, viewer_region_code: str | None = None) -> Providers:
    """The organizations performing ``op_id``, grouped and ordered local → district → Russia → EAEU → abroad.

    An offer is placed where the listing says it is (its region; its country when outside Russia)."""
    offers = operation_offers(catalogue, op_id)
    viewer = db.session.get(Region, viewer_region_code) if viewer_region_code else None
    in_russia: dict[str, list[Listing]] = defaultdict(list)
    foreign: dict[str, list[Listing]] = defaultdict(list)
    for listing in offers:
        if listing.country_code == "RU" and listing.region_code:
            in_russia[listing.region_code].append(listing)
        elif listing.country_code != "RU":
            foreign[listing.country_code].append(listing)
        else:  # in Russia, region not given: the organization's region, if any
            region = listing.organization.region_code
            if region:
                in_russia[region].append(listing)
    regions = {r.code: r for r in db.session.scalars(select(Region).where(Region.code.in_(sorted(in_russia))))}
    district_names = dict(db.session.execute(select(FederalDistrict.code, FederalDistrict.name)).all())
    districts: dict[str, DistrictGroup] = {}
    for code, items in in_russia.items():
        region = regions.get(code)
        if region is None:
            continue
        group = districts.setdefault(region.district_code, DistrictGroup(
            region.district_code, district_names.get(region.district_code, region.district_code),
            own=viewer is not None and viewer.district_code == region.district_code))
        group.regions.append(RegionGroup(code, region.name, _group_by_organization(items),
                                         own=viewer is not None and viewer.code == code))
    for group in districts.values():
        group.regions.sort(key=lambda r: (not r.own, -r.count, r.name))
    ordered = sorted(districts.values(), key=lambda d: (not d.own, -d.count, d.name))
    countries = {c.iso2: c for c in db.session.scalars(select(Country).where(Country.iso2.in_(sorted(foreign))))}
    eaeu, abroad = [], []
    for code, items in foreign.items():
        country = countries.get(code)
        entry = CountryGroup(code, country.name if country else code, bool(country and country.eaeu),
                             _group_by_organization(items))
        (eaeu if entry.eaeu else abroad).append(entry)
    eaeu.sort(key=lambda c: (-c.count, c.name))
    abroad.sort(key=lambda c: (-c.count, c.name))
    return Providers(ordered, eaeu, abroad, viewer)


def operation_needs(catalogue: OperationCatalogue, op_id: str, user: Any, limit: int = 100) -> list[Listing]:
    """Open needs asking for the operation or a more specific one, visible to ``user``, the newest first."""
    ids = {listing_id for _op, listing_id in _links(Side.NEED, [op_id, *catalogue.descendants(op_id)], user)}
    if not ids:
        return []
    return list(db.session.scalars(select(Listing).where(Listing.id.in_(sorted(ids)))
                                   .order_by(Listing.created_at.desc(), Listing.id.desc()).limit(limit)))


def viewer_region_code(user: Any, requested: str | None = None) -> str | None:
    """Whose region comes first: ``?region=`` when it names a region, else the viewer's organization's region."""
    from marketplace.core.permissions import current_organization

    if requested and db.session.get(Region, requested) is not None:
        return requested
    org = current_organization(user)
    return org.region_code if org is not None else None


def operation_choices(catalogue: OperationCatalogue) -> list[tuple[str, list[tuple[str, str]]]]:
    """Choices of an operation filter: (family name, [(operation id, name indented by depth)]), the family first."""
    def walk(op: Operation, depth: int, options: list[tuple[str, str]]) -> list[tuple[str, str]]:
        options.append((op.id, "\u00a0\u00a0" * depth + op.name))
        for child in sorted(catalogue.children(op.id), key=lambda c: c.position):
            walk(child, depth + 1, options)
        return options

    return [(root.name, walk(root, 0, [])) for root in sorted(catalogue.roots(), key=lambda op: op.position)]
