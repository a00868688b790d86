"""Duplicate organizations by ИНН: the admin's list and the merge — everything pointing at the duplicate moves to the
organization kept (repeats dropped), the duplicate is archived as merged, both are audited, the moved listings go to
the outbox; refusals change nothing; only admins reach the pages."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Membership, UserRole
from marketplace.admin import merge
from marketplace.admin.services import AdminError
from marketplace.communities import services as communities
from marketplace.communities.models import Community, CommunityMember
from marketplace.core.models import AuditLog, OutboxEvent
from marketplace.listings.models import Listing, ListingKind
from marketplace.organizations.models import Organization
from marketplace.tenders.models import Tender
from tests.fixtures.tenders import make_tender
from tests.web.conftest import form_token, login, page_text, submit

DUPLICATES = "/admin/organizations/duplicates"
MERGE = "/admin/organizations/merge"


@dataclass
class Twins:
    target: Organization
    source: Organization
    both: Any  # a user in both organizations
    only_source: Any
    listings: list[int]  # the source's, its tender lot among them
    tender: Tender
    community: Community  # owned by the source, the target a member too


def _twins(factories) -> Twins:
    inn = factories.inn("27")
    target = factories.organization(region="27", tax_id=inn, name="ООО «Амурский станкозавод»", verified=True)
    source = factories.organization(region="27", tax_id=f"{inn[:4]} {inn[4:]}", name="ООО Амурский станкозавод")
    factories.listing(ListingKind.CAPABILITY, organization=target, external_id="erp-1")
    mine = [factories.listing(ListingKind.CAPABILITY, organization=source, external_id="erp-1").id,  # the same id
            factories.listing(ListingKind.PRODUCT, organization=source).id]
    both = factories.user(organization=target)
    factories.db.session.add(Membership(user=both, organization=source))
    only_source = factories.user(organization=source)
    community = communities.create_community(source, name="Кластер станкостроения", kind="cluster", access="secret")
    communities.invite_organization(community, target)
    world = make_tender(factories, buyer_org=source)
    factories.db.session.flush()
    mine.append(world.lot.id)
    return Twins(target, source, both, only_source, mine, world.tender, community)


def _memberships(db, org: Organization) -> set[int]:
    return set(db.session.scalars(select(Membership.user_id).where(Membership.organization_id == org.id)))


def test_duplicates_are_grouped_by_the_digits_of_the_inn(db, factories):
    twins = _twins(factories)
    other = factories.organization(region="27")
    groups = {g.inn: g for g in merge.duplicate_groups()}
    group = groups[twins.target.tax_id]
    assert [o.id for o in group.organizations] == [twins.target.id, twins.source.id]  # verified first: kept
    assert group.listings == {twins.target.id: 1, twins.source.id: 3}
    assert group.members == {twins.target.id: 1, twins.source.id: 3}  # the tender's buyer is a member too
    assert other.tax_id not in groups


def test_merge_moves_everything_and_archives_the_duplicate(client, db, factories):
    twins = _twins(factories)
    admin = factories.user(role=UserRole.ADMIN)
    login(client, admin)
    page = page_text(client.get(DUPLICATES))
    assert f'data-inn="{twins.target.tax_id}"' in page and "ООО Амурский станкозавод" in page
    assert f'value="{twins.target.id}" id="keep-{twins.target.id}"' in page and "Групп: 1" in page
    before_outbox = db.session.scalar(select(func.max(OutboxEvent.id))) or 0

    response = submit(client, DUPLICATES, {"target": twins.target.id, "source": [twins.target.id, twins.source.id]},
                      action=MERGE, follow=True)
    text = page_text(response)
    assert "объединено организаций: 1" in text and "Перенесено объявлений: 3" in text, text
    assert "удалено повторов: 2" in text  # the user in both and the community's member row
    assert "Групп: 0" in text  # the merged one is no longer a duplicate

    target, source = db.session.get(Organization, twins.target.id), db.session.get(Organization, twins.source.id)
    assert source.archived and source.merged_into_id == target.id and not target.archived
    owned = set(db.session.scalars(select(Listing.id).where(Listing.organization_id == target.id)))
    assert set(twins.listings) <= owned and len(owned) == 4
    assert not db.session.scalar(select(func.count()).select_from(Listing).where(Listing.organization_id == source.id))
    repeated = db.session.get(Listing, twins.listings[0])
    assert repeated.external_id is None  # «erp-1» is the target's own listing's; the row moved with its id cleared
    assert _memberships(db, source) == set()
    assert {twins.both.id, twins.only_source.id} <= _memberships(db, target)
    assert db.session.scalar(select(func.count()).select_from(Membership)
                             .where(Membership.user_id == twins.both.id)) == 1  # the repeat dropped
    assert db.session.get(Tender, twins.tender.id).organization_id == target.id
    community = db.session.get(Community, twins.community.id)
    assert community.owner_organization_id == target.id
    assert [m.organization_id for m in db.session.scalars(
        select(CommunityMember).where(CommunityMember.community_id == community.id))] == [target.id]

    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "admin.merge",
                                                      AuditLog.entity_id == str(target.id))).one()
    assert entry.changes["source"]["id"] == source.id and entry.changes["target"]["id"] == target.id
    assert entry.changes["moved"]["listings.organization_id"] == 3
    assert entry.changes["dropped"] == {"memberships.organization_id": 1, "community_members.organization_id": 1}
    assert entry.changes["cleared"] == {"listings.external_id": 1} and entry.user_id == admin.id
    assert db.session.scalars(select(AuditLog.changes).where(AuditLog.action == "admin.merged", AuditLog.entity_id
                                                             == str(source.id))).one()["merged_into_id"] == [
        None, target.id]
    queued = set(db.session.scalars(select(OutboxEvent.entity_id).where(OutboxEvent.id > before_outbox,
                                                                        OutboxEvent.entity_type == "listing")))
    assert queued == set(twins.listings)
    audit = page_text(client.get(f"/admin/audit?entity_type=organization&entity_id={target.id}"))
    assert "admin.merge" in audit and "listings.organization_id 3" in audit


def test_every_reference_to_organizations_is_moved(db, factories):
    """Found in the metadata: the tables known today are all there, so a new one is too."""
    found = {f"{t.name}.{c.name}" for t, c in merge.organization_references()}
    assert {"listings.organization_id", "memberships.organization_id", "community_members.organization_id",
            "communities.owner_organization_id", "tenders.organization_id", "deals.supplier_organization_id",
            "deals.buyer_organization_id", "organizations.merged_into_id"} <= found


def _state(db, *orgs: Organization) -> list[tuple]:
    db.session.expire_all()
    return [(o.archived, o.merged_into_id, len(_memberships(db, o)),
             db.session.scalar(select(func.count()).select_from(Listing).where(Listing.organization_id == o.id)))
            for o in orgs]


def test_refusals_change_nothing(client, db, factories):
    twins = _twins(factories)
    stranger = factories.organization(region="27", name="ООО «Другой ИНН»")
    factories.listing(organization=stranger)
    admin = factories.user(role=UserRole.ADMIN)
    with pytest.raises(AdminError) as refused:
        merge.merge_organizations(twins.target, twins.target, by=admin)
    assert refused.value.field == "source"
    with pytest.raises(AdminError) as refused:
        merge.merge_organizations(twins.target, stranger, by=admin)
    assert refused.value.field == "source" and "не совпадает" in refused.value.message
    login(client, admin)
    before = _state(db, twins.target, twins.source, stranger)
    cases = [({"target": twins.target.id, "source": stranger.id}, "поле source", "не совпадает"),
             ({"target": twins.target.id, "source": twins.target.id}, "поле source", "отметьте организации"),
             ({"target": 999999, "source": twins.source.id}, "поле target", "№ 999999"),
             ({"source": twins.source.id}, "поле target", "выберите организацию"),
             ({"target": twins.target.id, "source": [twins.source.id, stranger.id]}, "поле source", "не совпадает")]
    for data, field, words in cases:
        text = page_text(submit(client, DUPLICATES, data, action=MERGE, follow=True))
        assert field in text and words in text and "Ничего не изменено" in text, (data, text)
        assert _state(db, twins.target, twins.source, stranger) == before, data  # the mixed one too: one transaction
    assert not db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "admin.merge"))


def test_a_merged_or_blocked_organization_is_refused(db, factories):
    twins = _twins(factories)
    admin = factories.user(role=UserRole.ADMIN)
    third = factories.organization(region="27", tax_id=twins.target.tax_id, country_code="KZ", region_code=None)
    twins.target.archived = True
    with pytest.raises(AdminError) as refused:
        merge.merge_organizations(twins.target, twins.source, by=admin)
    assert refused.value.field == "target" and "заблокирована" in refused.value.message
    twins.target.archived = False
    merge.merge_organizations(twins.target, twins.source, by=admin)
    with pytest.raises(AdminError) as refused:
        merge.merge_organizations(third, twins.source, by=admin)
    assert refused.value.field == "source" and "уже объединена" in refused.value.message
    merge.merge_organizations(twins.target, third, by=admin)  # another country, the same ИНН
    assert db.session.get(Organization, third.id).merged_into_id == twins.target.id


@pytest.mark.parametrize("role", [UserRole.MANUFACTURER, UserRole.COORDINATOR])
def test_only_admins_see_duplicates_and_merge(client, db, factories, role):
    twins = _twins(factories)
    login(client, factories.user(role=role, regions=["27"] if role == UserRole.COORDINATOR else None))
    for url in (DUPLICATES, "/admin/communities"):
        assert client.get(url).status_code == 404, url
    token = form_token(client, "/account/password")  # a valid token: the refusal is the role's, not CSRF's
    response = client.post(MERGE, data={"csrf_token": token, "target": twins.target.id, "source": twins.source.id})
    assert response.status_code == 404
    assert _state(db, twins.source)[0][:2] == (False, None)
    login(client, None)
    response = client.get(DUPLICATES)
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_merge_needs_the_csrf_token(client, db, factories):
    twins = _twins(factories)
    login(client, factories.user(role=UserRole.ADMIN))
    assert client.post(MERGE, data={"target": twins.target.id, "source": twins.source.id}).status_code == 400
    assert _state(db, twins.source)[0][:2] == (False, None)


def test_communities_tab_lists_every_community(client, db, factories):
    twins = _twins(factories)
    login(client, factories.user(role=UserRole.ADMIN))
    page = page_text(client.get("/admin/communities"))
    assert f'data-community-id="{twins.community.id}"' in page and "Кластер станкостроения" in page
    assert "секретное" in page and "кластер" in page and f'href="/communities/{twins.community.id}"' in page
    assert 'href="/admin/organizations/duplicates"' in page and 'href="/admin/communities"' in page
    assert "Кластер станкостроения" not in page_text(client.get("/admin/communities?access=open"))
    assert client.get(f"/communities/{twins.community.id}").status_code == 200  # the link opens, secret or not


def test_a_merged_organization_stays_blocked(client, db, factories):
    twins = _twins(factories)
    admin = factories.user(role=UserRole.ADMIN)
    merge.merge_organizations(twins.target, twins.source, by=admin)
    login(client, admin)
    url = f"/admin/organizations?q={twins.source.name}"
    page = page_text(client.get(url))
    assert f"объединена с № {twins.target.id}" in page
    assert f'/admin/organizations/{twins.source.id}/unblock"' not in page
    text = page_text(submit(client, url, action=f"/admin/organizations/{twins.source.id}/unblock", follow=True))
    assert "остаётся заблокированной" in text and db.session.get(Organization, twins.source.id).archived
