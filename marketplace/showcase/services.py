"""Read-side queries of the showcase of local producers (витрина местных товаропроизводителей)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from marketplace.classifiers.models import ClassifierCode
from marketplace.core.paging import PageOf, paginate
from marketplace.extensions import db
from marketplace.geo.models import FederalDistrict, Region, Town
from marketplace.listings.models import OFFER_KINDS, Listing, ListingCode, ListingKind, ListingStatus, Side
from marketplace.operations.models import ListingOperation
from marketplace.organizations.models import Organization


@dataclass(frozen=True)
class RegionCount:
    code: str
    name: str
    organizations: int


@dataclass(frozen=True)
class DistrictCounts:
    code: str
    name: str
    regions: list[RegionCount]

    @property
    def organizations(self) -> int:
        return sum(r.organizations for r in self.regions)


def organizations_by_region() -> list[DistrictCounts]:
    """Every federal district with its regions and the number of active organizations in each."""
    counts = dict(db.session.execute(
        select(Organization.region_code, func.count(Organization.id))
        .where(Organization.archived.is_(False)).group_by(Organization.region_code)).all())
    geography = reference("geography", _geography)
    return [DistrictCounts(code, name, [RegionCount(r_code, r_name, counts.get(r_code, 0))
                                        for r_code, r_name in regions])
            for code, name, regions in geography]


def _geography() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Districts by name, each with its regions by name: (code, name, [(region code, region name)])."""
    regions = db.session.execute(select(Region.code, Region.name, Region.district_code).order_by(Region.name)).all()
    return [(code, name, [(r.code, r.name) for r in regions if r.district_code == code])
            for code, name in db.session.execute(select(FederalDistrict.code, FederalDistrict.name)
                                                 .order_by(FederalDistrict.name))]


def region_organizations(region_code: str) -> list[Organization]:
    return list(db.session.scalars(
        select(Organization).where(Organization.region_code == region_code, Organization.archived.is_(False))
        .order_by(Organization.name)))


# Filters over the organizations' active offers -----------------------------------------------------

@dataclass(frozen=True)
class OfferFilter:
    """Which offers make an organization count: ОКПД2 section (letter) or class (two digits), kind of offer,
    certification ("any" — some certificate; other text — a certificate whose name contains it), catalogue
    operation (the offer names it or a more specific one). ``unknown_operation`` keeps an id the catalogue does not
    have, for the page to say so (the filter is then not applied)."""

    section: str | None = None
    okpd2_class: str | None = None
    kind: ListingKind | None = None
    certification: str | None = None
    operation: str | None = None
    operation_ids: tuple[str, ...] = ()  # the operation and its descendants
    unknown_operation: str | None = None

    @property
    def active(self) -> bool:
        return any((self.section, self.okpd2_class, self.kind, self.certification, self.operation))

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> OfferFilter:
        """Read the query string leniently: values that make no sense are ignored, not errors."""
        section = (args.get("section") or "").strip().upper()
        okpd2_class = (args.get("okpd2_class") or "").strip()
        kind_value = (args.get("kind") or "").strip()
        kind = ListingKind(kind_value) if kind_value in {k.value for k in OFFER_KINDS} else None
        certification = (args.get("certification") or "").strip()[:100] or None
        operation, operation_ids, unknown = _operation_arg(args.get("operation"))
        return cls(section=section if len(section) == 1 and section.isalpha() else None,
                   okpd2_class=okpd2_class if re.fullmatch(r"\d{2}", okpd2_class) else None,
                   kind=kind, certification=certification, operation=operation, operation_ids=operation_ids,
                   unknown_operation=unknown)

    def query_args(self) -> dict[str, str]:
        out = {"section": self.section, "okpd2_class": self.okpd2_class,
               "kind": self.kind.value if self.kind else None, "certification": self.certification,
               "operation": self.operation}
        return {k: v for k, v in out.items() if v}


def _operation_arg(value: str | None) -> tuple[str | None, tuple[str, ...], str | None]:
    """(operation id, it and its descendants, the unknown id) from ``?operation=``."""
    op_id = (value or "").strip()[:80]
    if not op_id:
        return None, (), None
    from marketplace.listings.operations_fields import current_catalogue

    catalogue = current_catalogue()
    if op_id not in catalogue:
        return None, (), op_id
    return op_id, (op_id, *catalogue.descendants(op_id)), None


def _certified(certifications: list[str] | None, wanted: str) -> bool:
    if not certifications:
        return False
    if wanted.lower() in {"any", "да", "1"}:
        return True
    needle = wanted.lower().replace("ё", "е")
    return any(needle in str(c).lower().replace("ё", "е") for c in certifications)


def _offers_query(offer_filter: OfferFilter) -> Select[Any]:
    query = (select(Listing.organization_id, Organization.region_code, Organization.town_id, Listing.certifications)
             .join(Organization, Organization.id == Listing.organization_id)
             .where(Listing.side == Side.OFFER, Listing.status == ListingStatus.ACTIVE,
                    Organization.archived.is_(False)))
    if offer_filter.kind:
        query = query.where(Listing.kind == offer_filter.kind)
    if offer_filter.okpd2_class:
        query = query.where(Listing.id.in_(select(ListingCode.listing_id).where(
            ListingCode.scheme == "okpd2", or_(ListingCode.code == offer_filter.okpd2_class,
                                               ListingCode.code.startswith(offer_filter.okpd2_class + ".")))))
    if offer_filter.operation_ids:
        query = query.where(Listing.id.in_(select(ListingOperation.listing_id).where(
            ListingOperation.operation_id.in_(offer_filter.operation_ids))))
    if offer_filter.section:
        query = query.where(Listing.id.in_(select(ListingCode.listing_id).join(
            ClassifierCode, (ClassifierCode.scheme == ListingCode.scheme) & (ClassifierCode.code == ListingCode.code))
            .where(ListingCode.scheme == "okpd2", ClassifierCode.section == offer_filter.section)))
    return query


def matching_organizations(offer_filter: OfferFilter, *, region_code: str | None = None
                           ) -> dict[int, tuple[str | None, int | None]]:
    """Organizations with at least one active offer that passes the filter: id → (region, town)."""
    query = _offers_query(offer_filter)
    if region_code:
        query = query.where(Organization.region_code == region_code)
    out: dict[int, tuple[str | None, int | None]] = {}
    for org_id, region, town_id, certifications in db.session.execute(query):
        if org_id in out:
            continue
        if offer_filter.certification and not _certified(certifications, offer_filter.certification):
            continue
        out[org_id] = (region, town_id)
    return out


def filtered_organizations_by_region(offer_filter: OfferFilter) -> list[DistrictCounts]:
    """Like :func:`organizations_by_region`, counting only organizations with offers that pass the filter."""
    if not offer_filter.active:
        return organizations_by_region()
    counts: dict[str | None, int] = {}
    for region, _town in matching_organizations(offer_filter).values():
        counts[region] = counts.get(region, 0) + 1
    districts = db.session.scalars(select(FederalDistrict).order_by(FederalDistrict.name)).all()
    regions = db.session.scalars(select(Region).order_by(Region.name)).all()
    return [DistrictCounts(d.code, d.name, [RegionCount(r.code, r.name, counts.get(r.code, 0))
                                            for r in regions if r.district_code == d.code]) for d in districts]


@dataclass(frozen=True)
class TownCount:
    id: int | None  # None: organizations whose town is not given
    name: str
    organizations: int


def region_towns(region_code: str, offer_filter: OfferFilter) -> list[TownCount]:
    """Towns of the region that have organizations (passing the filter), biggest first."""
    if offer_filter.active:
        per_town: dict[int | None, int] = {}
        for _region, town_id in matching_organizations(offer_filter, region_code=region_code).values():
            per_town[town_id] = per_town.get(town_id, 0) + 1
    else:
        per_town = dict(db.session.execute(
            select(Organization.town_id, func.count(Organization.id))
            .where(Organization.region_code == region_code, Organization.archived.is_(False))
            .group_by(Organization.town_id)).all())
    names = dict(db.session.execute(select(Town.id, Town.name).where(
        Town.id.in_([t for t in per_town if t is not None]))).all()) if per_town else {}
    out = [TownCount(t, names.get(t, "—"), n) for t, n in per_town.items() if t is not None]
    out.sort(key=lambda t: (-t.organizations, t.name))
    if per_town.get(None):
        out.append(TownCount(None, "город не указан", per_town[None]))
    return out


ORGANIZATION_SORTS = ("name", "verified")  # by name; verified organizations first, then by name
ORGANIZATIONS_PER_PAGE = 50


def filtered_region_organizations(region_code: str, offer_filter: OfferFilter, *, town_id: int | None = None,
                                  sort: str = "name", page: Any = 1) -> PageOf:
    """A page of the region's organizations (in a town, with an offer the filter keeps), ``sort`` one of
    ``ORGANIZATION_SORTS`` (the caller checks it); a count and a slice, not the whole region."""
    query = (select(Organization).options(selectinload(Organization.town))
             .where(Organization.region_code == region_code, Organization.archived.is_(False)))
    if town_id is not None:
        query = query.where(Organization.town_id == town_id)
    if offer_filter.active:
        ids = set(matching_organizations(offer_filter, region_code=region_code))
        if not ids:
            return PageOf([], 1, ORGANIZATIONS_PER_PAGE, 0)
        query = query.where(Organization.id.in_(ids))
    order = (Organization.verified.desc(),) if sort == "verified" else ()
    return paginate(query.order_by(*order, Organization.name, Organization.id), page,
                    per_page=ORGANIZATIONS_PER_PAGE)


def organization_offers(organization: Organization) -> list[Listing]:
    """The organization's active offers, for its public page, with their codes and operations (two more queries,
    not two per offer)."""
    return list(db.session.scalars(select(Listing).options(
        selectinload(Listing.codes), selectinload(Listing.operation_links)).where(
        Listing.organization_id == organization.id, Listing.side == Side.OFFER,
        Listing.status == ListingStatus.ACTIVE).order_by(Listing.kind, Listing.title)))


@dataclass(frozen=True)
class CodeChoice:
    """An ОКПД2 section or class as the filter's select shows it (plain values: cached across requests)."""

    code: str
    name: str
    section: str | None


_choices: dict[Any, tuple[float, Any]] = {}
# Reference data changes only with ``cosmos refdata load``: the filter's choices are read once a few minutes per
# process, not on every page (tests read them every time).
CHOICES_TTL_SECONDS = 300.0


def reference(key: Any, load: Any) -> Any:
    """``load()`` (plain values read from reference tables), kept ``CHOICES_TTL_SECONDS`` in this process."""
    import time

    from flask import current_app

    now = time.monotonic()
    cached = _choices.get(key)
    if cached is not None and now - cached[0] < CHOICES_TTL_SECONDS and not current_app.testing:
        return cached[1]
    value = load()
    _choices[key] = (now, value)
    return value


def _code_choices(level: int, section: str | None) -> list[CodeChoice]:
    query = select(ClassifierCode.code, ClassifierCode.name, ClassifierCode.section).where(
        ClassifierCode.scheme == "okpd2", ClassifierCode.level == level)
    if section:
        query = query.where(ClassifierCode.section == section)
    return [CodeChoice(*row) for row in db.session.execute(query.order_by(ClassifierCode.code))]


def okpd2_sections() -> list[CodeChoice]:
    return reference(("okpd2", 0, None), lambda: _code_choices(0, None))


def okpd2_classes(section: str | None = None) -> list[CodeChoice]:
    return reference(("okpd2", 1, section), lambda: _code_choices(1, section))
