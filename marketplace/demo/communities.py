"""Demo communities and verified organizations: what a region's cooperation looks like after a while.

* «Хабаровский машиностроительный кластер» (open): the region's machining, welding and forming shops;
* «Ассоциация лесопромышленников Дальнего Востока» (open): the district's woodworkers;
* «Судоремонтный центр Приамурья» (closed): members the owner approved, and one request waiting;
* «Консорциум поставщиков оборонного заказа» (secret): members by invitation, one invitation not yet accepted.

About a third of the region's organizations are verified, as a coordinator would have checked them. Deterministic:
the same demo data give the same communities.
"""
from __future__ import annotations

from sqlalchemy import or_, select

from marketplace.communities import services
from marketplace.communities.models import Community
from marketplace.extensions import db
from marketplace.geo.models import Region
from marketplace.listings.models import Listing, Side
from marketplace.operations.models import ListingOperation
from marketplace.organizations.models import Organization

HOME = "27"


def _doing(families: tuple[str, ...], regions: list[str]) -> list[Organization]:
    """Organizations of ``regions`` with an offer of an operation of one of the ``families`` (by id prefix)."""
    ids = db.session.scalars(
        select(Listing.organization_id).join(ListingOperation, ListingOperation.listing_id == Listing.id)
        .where(Listing.side == Side.OFFER, Listing.region_code.in_(regions))
        .where(or_(*[ListingOperation.operation_id.startswith(f) for f in families]))
        .distinct().order_by(Listing.organization_id))
    return [db.session.get(Organization, i) for i in ids]


def create_demo_communities() -> list[Community]:
    if db.session.scalar(select(Community.id).limit(1)) is not None:
        return []
    district = db.session.get(Region, HOME).district_code
    near = list(db.session.scalars(select(Region.code).where(Region.district_code == district)))
    local = list(db.session.scalars(select(Organization).where(Organization.region_code == HOME)
                                    .order_by(Organization.id)))
    for org in local[::3]:
        org.verified = True
    made = []
    machine = _doing(("machining", "welding", "forming", "cutting", "heat", "coating", "assembly"), [HOME])
    if machine:
        made.append(_with_members(services.create_community(
            machine[0], name="Хабаровский машиностроительный кластер", kind="cluster", access="open", region=HOME,
            description="Предприятия машиностроения и металлообработки края: общие заказы, загрузка мощностей, "
                        "кооперация по операциям, которых нет у одного завода."), machine[1:16]))
    wood = _doing(("woodworking",), near)
    if wood:
        made.append(_with_members(services.create_community(
            wood[0], name="Ассоциация лесопромышленников Дальнего Востока", kind="association", access="open",
            description="Лесозаготовка, лесопиление и деревообработка ДФО: глубокая переработка вместо вывоза "
                        "круглого леса."), wood[1:12]))
    repair = _doing(("repair",), near)
    if len(repair) >= 3:
        yard = services.create_community(
            repair[0], name="Судоремонтный центр Приамурья", kind="cluster", access="closed", region=HOME,
            description="Судоремонтные предприятия и их поставщики; вступление по одобрению владельца.")
        for org in repair[1:-1][:6]:
            services.join_community(yard, org)
            services.approve_member(yard, org)
        services.join_community(yard, repair[-1])  # a request the owner has not decided yet
        made.append(yard)
    if len(local) >= 6:
        secret = services.create_community(
            local[1], name="Консорциум поставщиков оборонного заказа", kind="other", access="secret", region=HOME,
            description="Только по приглашению; не виден тем, кто не состоит в консорциуме.")
        for org in local[2:5]:
            services.accept_invitation(services.invite_organization(secret, org))
        services.invite_organization(secret, local[5])  # an invitation not yet accepted
        made.append(secret)
    db.session.flush()
    return made


def _with_members(community: Community, organizations: list[Organization]) -> Community:
    for org in organizations:
        if org.id != community.owner_organization_id:
            services.join_community(community, org)
    return community
