"""The coordinator's work, scoped to the coordinator's regions (admins: every region): verifying organizations,
hiding listings that break the rules, and the region's organizations and open needs.

An object outside the coordinator's regions is treated as missing (:func:`organization_in_scope_or_404` and
:func:`listing_in_scope_or_404`), and the services refuse it too, so the API cannot be used to act elsewhere.
"""
from __future__ import annotations

from typing import Any

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, func, or_, select

from marketplace.core.audit import record_audit
from marketplace.core.permissions import is_admin, is_coordinator_for
from marketplace.core.validation import FieldError, ValidationFailed
from marketplace.extensions import db
from marketplace.geo.models import Region
from marketplace.listings.models import Listing, ListingStatus, Side
from marketplace.organizations.models import Organization
from marketplace.tenders.models import Tender, TenderVisibility


class OutOfScope(ValidationFailed):
    """The object lies outside the coordinator's regions."""

    def __init__(self) -> None:
        super().__init__([FieldError("region", "вне регионов координатора")])


def scope_regions(user: Any) -> set[str] | None:
    """The region codes ``user`` coordinates; None for an admin (every region)."""
    if is_admin(user):
        return None
    return set(user.region_codes) if getattr(user, "is_authenticated", False) else set()


def scope_region_list(user: Any) -> list[Region]:
    codes = scope_regions(user)
    query = select(Region).order_by(Region.name)
    if codes is not None:
        query = query.where(Region.code.in_(codes))
    return list(db.session.scalars(query))


def _in_scope(user: Any, region_code: str | None) -> bool:
    return is_coordinator_for(user, region_code)


def verify_organization(organization: Organization, *, user: Any, verified: bool = True) -> Organization:
    """Mark the organization as checked by the coordinator (or take the mark back)."""
    if not _in_scope(user, organization.region_code):
        raise OutOfScope()
    if organization.verified != verified:
        record_audit("verify" if verified else "unverify", "organization", organization.id,
                     {"verified": [organization.verified, verified]}, user_id=user.id)
        organization.verified = verified
        db.session.flush()
    return organization


def hide_listing(listing: Listing, *, reason: object, user: Any) -> Listing:
    """Hide a listing that breaks the rules (``listings.services.hide_listing``: the reason is audited and kept in the
    listing's attributes, the listing leaves the search index); out of scope or already hidden is refused."""
    from marketplace.listings import services as listings

    if not _in_scope(user, listing.region_code):
        raise OutOfScope()
    if listing.status == ListingStatus.HIDDEN:
        raise ValidationFailed([FieldError("status", "объявление уже скрыто")])
    return listings.hide_listing(listing, user, str(reason or ""))


def unhide_listing(listing: Listing, *, user: Any) -> Listing:
    """Give a hidden listing back the status it had (``listings.services.unhide_listing``)."""
    from marketplace.listings import services as listings

    if not _in_scope(user, listing.region_code):
        raise OutOfScope()
    if listing.status != ListingStatus.HIDDEN:
        raise ValidationFailed([FieldError("status", "объявление не скрыто")])
    return listings.unhide_listing(listing, user)


# Queries ----------------------------------------------------------------------------------------

def _without_closed_tenders(query: Select[Any], user: Any) -> Select[Any]:
    """Lots of closed tenders are seen only by the buyer and the invited suppliers, coordinators included."""
    if is_admin(user):
        return query
    closed = select(Tender.id).where(Tender.visibility == TenderVisibility.CLOSED)
    tender_id = Listing.__table__.c.tender_id  # the lot's column on the one listings table (no subclass join)
    return query.where(or_(tender_id.is_(None), tender_id.not_in(closed)))


def _scoped(query: Select[Any], column: Any, user: Any, region: str | None) -> Select[Any]:
    codes = scope_regions(user)
    if region:
        if codes is not None and region not in codes:
            abort(404)
        return query.where(column == region)
    if codes is not None:
        query = query.where(column.in_(codes))
    return query


def organizations_query(user: Any, *, region: str | None = None, unverified_only: bool = False) -> Select[Any]:
    """The organizations of the coordinator's regions, the unchecked first (pages page it, see core.paging)."""
    query = select(Organization).where(Organization.archived.is_(False))
    if unverified_only:
        query = query.where(Organization.verified.is_(False))
    query = _scoped(query, Organization.region_code, user, region)
    return query.order_by(Organization.verified, Organization.name, Organization.id)


def organizations(user: Any, *, region: str | None = None, unverified_only: bool = False,
                  limit: int = 500) -> list[Organization]:
    return list(db.session.scalars(organizations_query(user, region=region, unverified_only=unverified_only)
                                   .limit(limit)))


def open_needs_query(user: Any, *, region: str | None = None) -> Select[Any]:
    """Active needs (tender lots, missing operations, purchase requests) delivered to the coordinator's regions."""
    query = select(Listing).where(Listing.side == Side.NEED, Listing.status == ListingStatus.ACTIVE)
    query = _without_closed_tenders(query, user)
    query = _scoped(query, Listing.region_code, user, region)
    return query.order_by(Listing.created_at.desc(), Listing.id.desc())


def open_needs(user: Any, *, region: str | None = None, limit: int = 500) -> list[Listing]:
    return list(db.session.scalars(open_needs_query(user, region=region).limit(limit)))


def listings_query(user: Any, *, region: str | None = None, status: ListingStatus | None = None) -> Select[Any]:
    query = _without_closed_tenders(select(Listing), user)
    if status is not None:
        query = query.where(Listing.status == status)
    query = _scoped(query, Listing.region_code, user, region)
    return query.order_by(Listing.created_at.desc(), Listing.id.desc())


def listings(user: Any, *, region: str | None = None, status: ListingStatus | None = None,
             limit: int = 500) -> list[Listing]:
    return list(db.session.scalars(listings_query(user, region=region, status=status).limit(limit)))


def region_counts(user: Any) -> dict[str, dict[str, int]]:
    """Per region in scope: organizations, unverified ones, open needs, hidden listings."""
    out: dict[str, dict[str, int]] = {r.code: {"organizations": 0, "unverified": 0, "needs": 0, "hidden": 0}
                                      for r in scope_region_list(user)}
    codes = list(out)
    if not codes:
        return out
    for code, verified, n in db.session.execute(
            select(Organization.region_code, Organization.verified, func.count())
            .where(Organization.region_code.in_(codes), Organization.archived.is_(False))
            .group_by(Organization.region_code, Organization.verified)):
        out[code]["organizations"] += n
        if not verified:
            out[code]["unverified"] += n
    for code, side, status, n in db.session.execute(
            select(Listing.region_code, Listing.side, Listing.status, func.count())
            .where(Listing.region_code.in_(codes)).group_by(Listing.region_code, Listing.side, Listing.status)):
        if side == Side.NEED and status == ListingStatus.ACTIVE:
            out[code]["needs"] += n
        if status == ListingStatus.HIDDEN:
            out[code]["hidden"] += n
    return out


def organization_in_scope_or_404(organization_id: int, *, user: Any = None) -> Organization:
    user = current_user if user is None else user
    org = db.session.get(Organization, organization_id)
    if org is None or not _in_scope(user, org.region_code):
        abort(404)
    return org


def listing_in_scope_or_404(listing_id: int, *, user: Any = None) -> Listing:
    user = current_user if user is None else user
    listing = db.session.get(Listing, listing_id)
    if listing is None or not _in_scope(user, listing.region_code):
        abort(404)
    tender = getattr(listing, "tender", None)
    if tender is not None and tender.visibility == TenderVisibility.CLOSED and not is_admin(user):
        abort(404)
    return listing
