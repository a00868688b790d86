"""API fixtures: bearer tokens for users, and ``world``: two supplier organizations, a buyer with an open and a
closed tender, coordinators of region 27 and of region 25, and an admin, with private objects of each."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from marketplace.accounts.models import User, UserRole
from marketplace.communities import services as communities
from marketplace.communities.models import Community
from marketplace.listings.models import Listing, ListingStatus
from marketplace.organizations.models import Organization
from marketplace.tenders import services as tenders
from marketplace.tenders.models import Tender, TenderResponse
from tests.fixtures.tenders import make_tender


@pytest.fixture(autouse=True)
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the jobs the API enqueues instead of running them: the inline outbox drain fits the search encoder,
    which the indexing tests cover; here it would only make every write slow."""
    from workers import queue

    calls: list[str] = []

    def fake_enqueue(name: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return queue.JobHandle(name, "queued", id="test")

    monkeypatch.setattr(queue, "enqueue", fake_enqueue)
    return calls


@dataclass
class World:
    org_a: Organization
    org_b: Organization
    buyer_org: Organization
    users: dict[str, User | None]
    listing_a: Listing  # active offer of A (public)
    draft_a: Listing  # draft offer of A (private to A)
    hidden_a: Listing  # hidden by a coordinator (A and moderators)
    open_tender: Tender
    closed_tender: Tender  # closed visibility: buyer and invited A only
    closed_lot: Listing
    response_a: TenderResponse  # A's response on the closed tender's lot
    open_response_b: TenderResponse  # B's response on the open tender's lot
    draft_tender: Tender  # the buyer's draft: the buyer only
    secret_community: Community  # owned by B: B only
    open_community: Community  # owned by B: everybody
    extra: dict[str, Any] = field(default_factory=dict)


ROLES = ("anonymous", "member_a", "member_b", "buyer", "coordinator_27", "coordinator_25", "admin")


@pytest.fixture
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """The world has nine users and nobody logs in with a password here: skip the deliberately slow hash."""
    from werkzeug.security import generate_password_hash

    from tests.fixtures import factories

    monkeypatch.setattr(factories, "generate_password_hash",
                        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1"))


@pytest.fixture
def world(factories, fast_passwords) -> World:
    org_a = factories.organization(region="27", name="ООО «Амурмаш»")
    org_b = factories.organization(region="25", name="ООО «Приморский завод»", verified=True)  # may respond
    member_a = factories.user(role=UserRole.MANUFACTURER, organization=org_a)
    member_b = factories.user(role=UserRole.MANUFACTURER, organization=org_b)
    open_world = make_tender(factories)
    buyer_org, buyer = open_world.buyer_org, open_world.buyer
    closed_world = make_tender(factories, visibility="closed", invited=[org_a], buyer_org=buyer_org)
    draft_tender = make_tender(factories, publish=False, buyer_org=buyer_org).tender
    coordinator_27 = factories.user(role=UserRole.COORDINATOR, regions=["27"])
    coordinator_25 = factories.user(role=UserRole.COORDINATOR, regions=["25"])
    admin = factories.user(role=UserRole.ADMIN)
    listing_a = factories.listing("capability", organization=org_a, okpd2=["25.62.10"], title="Токарная обработка")
    draft_a = factories.listing("product", organization=org_a, status=ListingStatus.DRAFT, title="Черновик A")
    hidden_a = factories.listing("surplus", organization=org_a, status=ListingStatus.HIDDEN, title="Скрытое A")
    # Set up without a user: the members' e-mails stay unconfirmed for the tests of drafts (a user who submits
    # must have confirmed theirs; org_a is invited by name to the closed tender, org_b is verified).
    response_a = tenders.submit_response(closed_world.lot, org_a, price="100", quantity="100", lead_time_days=10)
    open_response_b = tenders.submit_response(open_world.lot, org_b, price="90", quantity="100", lead_time_days=20)
    secret_community = communities.create_community(org_b, name="Тайный клуб", kind="cluster", access="secret",
                                                    user=member_b)
    open_community = communities.create_community(org_b, name="Приморский кластер", kind="cluster", access="open",
                                                  region="25", user=member_b)
    users: dict[str, User | None] = {"anonymous": None, "member_a": member_a, "member_b": member_b, "buyer": buyer,
                                     "coordinator_27": coordinator_27, "coordinator_25": coordinator_25,
                                     "admin": admin}
    return World(org_a=org_a, org_b=org_b, buyer_org=buyer_org, users=users, listing_a=listing_a, draft_a=draft_a,
                 hidden_a=hidden_a, open_tender=open_world.tender, closed_tender=closed_world.tender,
                 closed_lot=closed_world.lot, response_a=response_a, open_response_b=open_response_b,
                 draft_tender=draft_tender, secret_community=secret_community, open_community=open_community)


@pytest.fixture
def as_role(world, bearer):
    """``as_role(name)`` → the headers of that role (none for anonymous)."""
    cache: dict[str, dict[str, str]] = {}

    def headers(role: str) -> dict[str, str]:
        user = world.users[role]
        if user is None:
            return {}
        if role not in cache:
            cache[role] = bearer(user)
        return cache[role]

    return headers
