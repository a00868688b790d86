"""Demo accounts: one per role, with random passwords printed once to the console."""
from __future__ import annotations

import secrets

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from marketplace.accounts.models import Membership, MembershipRole, User, UserRole
from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.geo.models import Region
from marketplace.organizations.models import Organization, OrganizationKind


def create_demo_users() -> list[tuple[str, str, str]]:
    created = []
    home = "27"
    maker = db.session.scalar(select(Organization).where(
        Organization.region_code == home, Organization.kind != OrganizationKind.BUYER).order_by(Organization.id))
    buyer = db.session.scalar(select(Organization).where(
        Organization.region_code == home, Organization.kind != OrganizationKind.MANUFACTURER).order_by(Organization.id))
    if maker is not None:
        # Verified, as a coordinator would: only verified organizations (or invited ones) respond to tenders.
        maker.verified = True
    specs = [("admin@cosmos.local", "Администратор платформы", UserRole.ADMIN, None),
             ("coordinator@cosmos.local", "Координатор Минпромторга Хабаровского края", UserRole.COORDINATOR, None),
             ("maker@cosmos.local", "Производитель (демо)", UserRole.MANUFACTURER, maker),
             ("buyer@cosmos.local", "Заказчик (демо)", UserRole.BUYER, buyer)]
    for email, name, role, org in specs:
        if db.session.scalar(select(User).where(User.email == email)):
            continue
        password = secrets.token_urlsafe(9)
        user = User(email=email, full_name=name, role=role, password_hash=generate_password_hash(password),
                    email_confirmed_at=utcnow())
        if role == UserRole.COORDINATOR:
            user.regions = [db.session.get(Region, home)]
        db.session.add(user)
        if org is not None:
            db.session.add(Membership(user=user, organization=org, role=MembershipRole.OWNER))
        created.append((email, password, role.value))
    db.session.flush()
    return created
