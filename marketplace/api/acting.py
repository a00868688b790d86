"""For whom a write is made: the organization named in the body, or the caller's own."""
from __future__ import annotations

from marketplace.api.blueprint import api_user
from marketplace.api.problems import Problem
from marketplace.core.permissions import current_organization, is_admin, organization_ids
from marketplace.extensions import db
from marketplace.organizations.models import Organization


def acting_organization(organization_id: int | None) -> Organization:
    """The organization the caller acts for: ``organization_id`` when they are a member of it (admins: any),
    else their own (the first membership, owners first). Someone else's organization is a 403 whether or not it
    exists, so the answer reveals nothing."""
    user = api_user()
    if organization_id is not None:
        if organization_id not in organization_ids(user) and not is_admin(user):
            raise Problem(403, "Вы не состоите в этой организации.")
        org = db.session.get(Organization, organization_id)
        if org is None:
            raise Problem(422, errors={"organization_id": ["нет такой организации"]},
                          type_="urn:cosmos:problem:validation")
        return org
    org = current_organization(user)
    if org is None:
        raise Problem(403, "Вы не состоите ни в одной организации; укажите organization_id.")
    return org
