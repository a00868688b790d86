"""Who may do what: pure functions over (user, object), and view helpers that answer 404 for other people's objects.

The predicates take any user-like object (a ``User``, Flask-Login's anonymous user or ``None``) and never touch the
request, so the pages, the JSON API and the jobs share them. Platform administrators may do everything; coordinators
moderate (hide) listings of the regions they coordinate; everything else follows organization membership:

* any member of an organization edits its listings;
* owners and admins of an organization edit its profile and manage its members and invitations.

The ``*_or_404`` helpers are for views: an object of another organization is reported as missing, so ids leak
nothing about what exists.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from marketplace.accounts.models import Membership, MembershipRole, User, UserRole
from marketplace.extensions import db
from marketplace.listings.models import Listing, ListingKind, ListingStatus
from marketplace.organizations.models import Organization

F = TypeVar("F", bound=Callable[..., Any])

# Statuses everybody may see; drafts, archived and hidden listings are visible to their organization (and moderators).
PUBLIC_LISTING_STATUSES = frozenset({ListingStatus.ACTIVE, ListingStatus.CLOSED})
MANAGER_ROLES = frozenset({MembershipRole.OWNER, MembershipRole.ADMIN})


def _authenticated(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def is_admin(user: Any) -> bool:
    return _authenticated(user) and user.role == UserRole.ADMIN


def is_coordinator_for(user: Any, region_code: str | None) -> bool:
    """A coordinator of ``region_code`` (or a platform admin, who coordinates everywhere)."""
    if is_admin(user):
        return True
    return (_authenticated(user) and user.role == UserRole.COORDINATOR and region_code is not None
            and region_code in user.region_codes)


def organization_ids(user: Any) -> set[int]:
    """Ids of the organizations ``user`` is a member of (empty for anonymous users)."""
    if not _authenticated(user):
        return set()
    return {m.organization_id for m in user.memberships}


def membership_role(user: Any, organization_id: int) -> MembershipRole | None:
    if not _authenticated(user):
        return None
    for m in user.memberships:
        if m.organization_id == organization_id:
            return m.role
    return None


def is_member(user: Any, organization: Organization | int) -> bool:
    org_id = organization if isinstance(organization, int) else organization.id
    return is_admin(user) or org_id in organization_ids(user)


def can_edit_organization(user: Any, organization: Organization) -> bool:
    """Owners and admins of the organization edit its profile, members and invitations."""
    return is_admin(user) or membership_role(user, organization.id) in MANAGER_ROLES


can_manage_members = can_edit_organization


def can_create_listing(user: Any, organization: Organization) -> bool:
    """Any member may publish for the organization (e-mail confirmation is checked by the service on publishing)."""
    return is_member(user, organization)


def can_edit_listing(user: Any, listing: Listing) -> bool:
    """Members of the listing's organization (and admins) edit, archive and renew it."""
    return is_member(user, listing.organization_id)


def can_moderate_listing(user: Any, listing: Listing) -> bool:
    """Coordinators of the listing's region (and admins) may hide it."""
    return is_coordinator_for(user, listing.region_code)


def can_view_listing(user: Any, listing: Listing) -> bool:
    """The one visibility rule for a listing, used by pages, the API, search hits, match lists, feeds and exports.

    Active and closed listings are public; drafts, archived and hidden ones only for their organization and
    moderators (coordinators of its region, admins). A tender's lot is moreover seen exactly when its tender is
    (a closed tender's lots: the buyer, the invited organizations and admins — not a region's coordinator)."""
    if not _status_allows(user, listing):
        return False
    tender = getattr(listing, "tender", None) if listing.kind == ListingKind.TENDER_LOT else None
    if tender is None:
        return True
    from marketplace.tenders.access import can_view_tender

    return can_view_tender(user, tender)


def _status_allows(user: Any, listing: Listing) -> bool:
    if listing.status in PUBLIC_LISTING_STATUSES:
        return True
    return can_edit_listing(user, listing) or can_moderate_listing(user, listing)


def visible_listings_clause(user: Any) -> Any:
    """``can_view_listing`` as a SQL condition on ``Listing`` (for lists, search hits, feeds and exports); ``None``
    when ``user`` sees everything (admins)."""
    from sqlalchemy import and_, false, or_

    from marketplace.tenders.access import visible_tenders_query
    from marketplace.tenders.models import Tender

    if is_admin(user):
        return None
    mine = organization_ids(user)
    seen = [Listing.status.in_(PUBLIC_LISTING_STATUSES)]
    if mine:
        seen.append(Listing.organization_id.in_(mine))
    moderated = user.region_codes if _authenticated(user) and user.role == UserRole.COORDINATOR else set()
    if moderated:
        seen.append(Listing.region_code.in_(moderated))
    tender_id = Listing.__table__.c.tender_id
    visible_tenders = visible_tenders_query(user).with_only_columns(Tender.id)
    lot_rule = or_(Listing.kind != ListingKind.TENDER_LOT, tender_id.is_(None), tender_id.in_(visible_tenders))
    return and_(or_(*seen) if seen else false(), lot_rule)


def can_view_organization(user: Any, organization: Organization) -> bool:
    """Organization profiles are public unless archived."""
    return not organization.archived or is_member(user, organization)


# View helpers ---------------------------------------------------------------------------------

def listing_or_404(listing_id: int, *, edit: bool = False, user: Any = None) -> Listing:
    """The listing for a page: 404 when it does not exist or ``user`` (default: the current user) may not see it
    (``edit=True``: may not edit it)."""
    user = current_user if user is None else user
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    allowed = can_edit_listing(user, listing) if edit else can_view_listing(user, listing)
    if not allowed:
        abort(404)
    return listing


def organization_or_404(organization_id: int, *, edit: bool = False, user: Any = None) -> Organization:
    """The organization for a page: 404 when missing, archived for a stranger, or (``edit=True``) not editable."""
    user = current_user if user is None else user
    org = db.session.get(Organization, organization_id)
    if org is None or not can_view_organization(user, org):
        abort(404)
    if edit and not can_edit_organization(user, org):
        abort(404)
    return org


def current_organization(user: Any = None) -> Organization | None:
    """The organization a user acts for: the first membership (owner first); None for users without one."""
    user = current_user if user is None else user
    if not _authenticated(user):
        return None
    memberships: list[Membership] = sorted(user.memberships,
                                           key=lambda m: (m.role != MembershipRole.OWNER, m.organization_id))
    return memberships[0].organization if memberships else None


def roles_required(*roles: UserRole) -> Callable[[F], F]:
    """Decorator: the current user must be logged in (else the login page) and have one of ``roles`` (admins pass);
    others get 403 — for pages whose existence is no secret (e.g. the coordinator's desk)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from marketplace.extensions import login_manager

            if not _authenticated(current_user):
                return login_manager.unauthorized()
            if not is_admin(current_user) and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def organization_required(view: F) -> F:
    """Decorator: logged in and a member of some organization (else a page that explains how to get one)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from flask import flash, redirect, url_for

        from marketplace.extensions import login_manager

        if not _authenticated(current_user):
            return login_manager.unauthorized()
        if current_organization() is None:
            flash("Сначала создайте организацию или примите приглашение в существующую.", "warning")
            return redirect(url_for("organizations.new"))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def actor(user: User | None) -> int | None:
    """The user id to write into the audit trail."""
    return user.id if _authenticated(user) else None
