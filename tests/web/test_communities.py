"""Communities: joining open, closed and secret ones (services), and the pages — secret communities are 404 to
outsiders, state changes need the owner, and the showcase lists the members' active offers."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.accounts.models import UserRole
from marketplace.communities import services
from marketplace.communities.models import Community, MemberStatus
from marketplace.core.models import AuditLog
from marketplace.core.validation import ValidationFailed
from marketplace.listings.models import ListingKind, ListingStatus
from tests.fixtures.tenders import csrf_token, login, make_tender, post


def _community(factories, access: str, **fields):
    owner = factories.organization(region="27", name="АНО «Кластер-владелец»")
    return services.create_community(owner, name=fields.pop("name", f"Кластер ({access})"), kind="cluster",
                                     access=access, **fields)


# Services ------------------------------------------------------------------------------------------

def test_open_community_joins_at_once(db, factories):
    community = _community(factories, "open")
    member = services.join_community(community, factories.organization())
    assert member.status == MemberStatus.ACTIVE and member.joined_at is not None
    with pytest.raises(ValidationFailed):
        services.join_community(community, member.organization)
    assert [m.organization.name for m in community.members][0] == "АНО «Кластер-владелец»"


def test_closed_community_needs_the_owners_approval(db, factories):
    community = _community(factories, "closed")
    org = factories.organization()
    member = services.join_community(community, org)
    assert member.status == MemberStatus.REQUESTED
    assert org not in services.active_members(community)
    services.approve_member(community, org)
    assert member.status == MemberStatus.ACTIVE and org in services.active_members(community)
    with pytest.raises(ValidationFailed):
        services.approve_member(community, org)


def test_secret_community_by_invitation_only(db, factories):
    community = _community(factories, "secret")
    org = factories.organization()
    with pytest.raises(ValidationFailed) as err:
        services.join_community(community, org)
    assert "только по приглашению" in str(err.value)
    invited = services.invite_organization(community, org)
    assert invited.status == MemberStatus.INVITED
    services.join_community(community, org)  # accepting the invitation
    assert invited.status == MemberStatus.ACTIVE


def test_owner_cannot_leave_members_can(db, factories):
    community = _community(factories, "open")
    org = factories.organization()
    services.join_community(community, org)
    services.remove_member(community, org)
    assert services.membership(community, org.id) is None
    with pytest.raises(ValidationFailed):
        services.remove_member(community, community.owner)


def test_changes_are_audited(db, factories):
    community = _community(factories, "closed")
    org = factories.organization()
    services.join_community(community, org)
    services.approve_member(community, org)
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.entity_type.in_(
        ["community", "community_member"])).order_by(AuditLog.id)).all()
    assert actions[-3:] == ["create", "request", "approve"]


def test_fields_are_validated(db, factories):
    with pytest.raises(ValidationFailed) as err:
        services.create_community(factories.organization(), name="", kind="гильдия", access="hidden", region="00")
    assert set(err.value.as_dict()) == {"name", "kind", "access", "region"}


def test_member_offers_are_the_showcase(db, factories):
    community = _community(factories, "open")
    member = factories.organization()
    outsider = factories.organization()
    services.join_community(community, member)
    factories.listing(ListingKind.CAPABILITY, organization=member, title="Литьё бронзы", okved2=["24.54"])
    factories.listing(ListingKind.PRODUCT, organization=member, title="Снятое", status=ListingStatus.ARCHIVED)
    factories.listing(ListingKind.PURCHASE_REQUEST, organization=member, title="Потребность")
    factories.listing(ListingKind.CAPABILITY, organization=outsider, title="Чужое", okved2=["24.54"])
    assert [offer.title for offer in services.member_offers(community)] == ["Литьё бронзы"]


def test_tender_closed_to_a_community_the_buyer_is_not_in_is_refused(db, factories):
    from marketplace.tenders import services as tenders

    community = _community(factories, "secret")
    with pytest.raises(ValidationFailed) as err:
        tenders.create_tender(factories.organization(), title="Т", visibility="closed", community_id=community.id)
    assert "community" in err.value.as_dict()


# Pages ---------------------------------------------------------------------------------------------

@pytest.fixture
def secret(factories):
    community = _community(factories, "secret", name="Тайный оборонный кластер")
    owner_user = factories.user(organization=community.owner)
    invited_org = factories.organization()
    services.invite_organization(community, invited_org)
    return community, owner_user, factories.user(organization=invited_org)


def test_secret_community_is_invisible_to_outsiders(client, factories, secret):
    community, owner_user, invited_user = secret
    outsiders = [None, factories.user(organization=factories.organization()),
                 factories.user(role=UserRole.COORDINATOR, regions=["27"])]
    for user in outsiders:
        login(client, user)
        assert client.get(f"/communities/{community.id}").status_code == 404
        assert client.get(f"/communities/{community.id}/showcase").status_code == 404
        assert "Тайный оборонный кластер" not in client.get("/communities/").get_data(as_text=True)
    for user in (owner_user, invited_user, factories.user(role=UserRole.ADMIN)):
        login(client, user)
        assert client.get(f"/communities/{community.id}").status_code == 200
        assert "Тайный оборонный кластер" in client.get("/communities/").get_data(as_text=True)


def test_outsider_cannot_join_a_secret_community_by_id(client, factories, secret, db):
    community, _owner, _invited = secret
    org = factories.organization()
    login(client, factories.user(organization=org))
    response = client.post(f"/communities/{community.id}/join",
                           data={"organization_id": str(org.id), "csrf_token": csrf_token(client)})
    assert response.status_code == 404
    assert services.membership(community, org.id) is None


def test_invited_organization_accepts_through_the_page(client, secret, db):
    community, _owner, invited_user = secret
    org_id = invited_user.memberships[0].organization_id
    login(client, invited_user)
    assert "Принять приглашение" in client.get(f"/communities/{community.id}").get_data(as_text=True)
    response = post(client, None, f"/communities/{community.id}/join", organization_id=str(org_id))
    assert response.status_code == 302
    assert services.membership(community, org_id).status == MemberStatus.ACTIVE


def test_create_community_form_keeps_input_and_shows_errors(client, factories, db):
    org = factories.organization()
    login(client, factories.user(organization=org))
    response = post(client, "/communities/new", owner_id=str(org.id), name="", kind="cluster", access="open",
                    region="", description="Станкостроители края")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Станкостроители края" in page and "обязательное поле" in page
    response = post(client, "/communities/new", owner_id=str(org.id), name="Кластер станкостроения",
                    kind="cluster", access="closed", region="27", description="")
    assert response.status_code == 302
    assert db.session.scalar(select(Community).where(Community.name == "Кластер станкостроения")) is not None


def test_closed_community_request_and_owner_approval_pages(client, factories, db):
    community = _community(factories, "closed")
    owner_user = factories.user(organization=community.owner)
    org = factories.organization(name="ООО «Заявитель»")
    applicant = factories.user(organization=org)
    login(client, applicant)
    assert post(client, None, f"/communities/{community.id}/join", organization_id=str(org.id)).status_code == 302
    assert services.membership(community, org.id).status == MemberStatus.REQUESTED
    # the applicant cannot approve itself: approving is the owner's
    assert post(client, None, f"/communities/{community.id}/approve",
                organization_id=str(org.id)).status_code == 404
    login(client, owner_user)
    assert "ООО «Заявитель»" in client.get(f"/communities/{community.id}").get_data(as_text=True)
    assert post(client, None, f"/communities/{community.id}/approve", organization_id=str(org.id)).status_code == 302
    assert services.membership(community, org.id).status == MemberStatus.ACTIVE


def test_join_for_someone_elses_organization_is_404(client, factories, db):
    community = _community(factories, "open")
    other = factories.organization()
    login(client, factories.user(organization=factories.organization()))
    assert post(client, None, f"/communities/{community.id}/join", organization_id=str(other.id)).status_code == 404
    assert services.membership(community, other.id) is None


def test_community_showcase_page(client, factories, db):
    community = _community(factories, "open")
    member = factories.organization()
    services.join_community(community, member)
    factories.listing(ListingKind.CAPABILITY, organization=member, title="Гальваника цинком", okved2=["25.61"])
    login(client, None)
    page = client.get(f"/communities/{community.id}/showcase").get_data(as_text=True)
    assert "Гальваника цинком" in page


def test_closed_tender_for_community_members_is_visible_to_them(client, factories, db):
    community = _community(factories, "open")
    member = factories.organization()
    services.join_community(community, member)
    world = make_tender(factories, visibility="closed", community_id=community.id, buyer_org=community.owner)
    login(client, factories.user(organization=member))
    assert client.get(f"/tenders/{world.tender.id}").status_code == 200
    login(client, factories.user(organization=factories.organization()))
    assert client.get(f"/tenders/{world.tender.id}").status_code == 404
