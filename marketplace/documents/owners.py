"""The kinds of object a document may be attached to, each with its rules: who sees the object's files (exactly who
sees the object) and who may attach or remove them. Other slices add theirs with :func:`register_owner`::

    register_owner(OwnerKind("message", "Сообщение", load=lambda id: db.session.get(Message, id),
                             can_view=can_view_message, can_attach=can_write_message,
                             organization_id=lambda m: m.organization_id))
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marketplace.core.permissions import (
    can_edit_listing,
    can_edit_organization,
    can_view_listing,
    can_view_organization,
    is_member,
)
from marketplace.extensions import db


@dataclass(frozen=True)
class OwnerKind:
    name: str
    title: str  # in Russian, for messages: «Объявление», «Предложение по лоту»…
    load: Callable[[int], Any | None]
    can_view: Callable[[Any, Any], bool]  # (user, owner): may see the owner and so its files
    can_attach: Callable[[Any, Any], bool]  # (user, owner): may add (and remove) files
    organization_id: Callable[[Any], int | None]  # whose files they are
    max_files: int = 20


_REGISTRY: dict[str, OwnerKind] = {}


def register_owner(kind: OwnerKind) -> OwnerKind:
    _REGISTRY[kind.name] = kind
    return kind


def owner_kind(name: str) -> OwnerKind | None:
    return _REGISTRY.get(name)


def owner_kinds() -> list[str]:
    return sorted(_REGISTRY)


# The marketplace's own owners -------------------------------------------------------------------

def _load_listing(listing_id: int) -> Any:
    from marketplace.listings.models import Listing

    return db.session.get(Listing, listing_id)


def _can_attach_listing(user: Any, listing: Any) -> bool:
    """The listing's organization; a tender lot only while its tender is a draft or takes responses."""
    if not can_edit_listing(user, listing):
        return False
    tender = getattr(listing, "tender", None)
    if tender is None:
        return True
    from marketplace.tenders.access import can_manage_tender
    from marketplace.tenders.models import TenderStatus

    return can_manage_tender(user, tender) and tender.status in (TenderStatus.DRAFT, TenderStatus.PUBLISHED)


def _load_response(response_id: int) -> Any:
    from marketplace.tenders.models import TenderResponse

    return db.session.get(TenderResponse, response_id)


def _can_view_response(user: Any, response: Any) -> bool:
    from marketplace.tenders.access import can_view_response

    return can_view_response(user, response)


def _can_attach_response(user: Any, response: Any) -> bool:
    """The responding organization, while the tender takes responses (a sealed offer is not changed after)."""
    from marketplace.tenders.services import accepting_responses

    return is_member(user, response.organization_id) and accepting_responses(response.lot.tender)


def _load_organization(organization_id: int) -> Any:
    from marketplace.organizations.models import Organization

    return db.session.get(Organization, organization_id)


register_owner(OwnerKind("listing", "Объявление", _load_listing, can_view_listing, _can_attach_listing,
                         lambda listing: listing.organization_id))
register_owner(OwnerKind("tender_response", "Предложение по лоту", _load_response, _can_view_response,
                         _can_attach_response, lambda response: response.organization_id, max_files=10))
register_owner(OwnerKind("organization", "Сертификаты организации", _load_organization, can_view_organization,
                         can_edit_organization, lambda organization: organization.id, max_files=30))
