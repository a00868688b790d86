"""Users, their platform roles and their memberships in organizations."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import TimestampMixin
from marketplace.extensions import db
from marketplace.geo.models import Region
from marketplace.organizations.models import Organization, str_enum


class UserRole(enum.StrEnum):
    MANUFACTURER = "manufacturer"
    BUYER = "buyer"
    COORDINATOR = "coordinator"  # scoped to coordinator_regions
    ADMIN = "admin"


class MembershipRole(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


coordinator_regions = Table(
    "coordinator_regions",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("region_code", ForeignKey("regions.code"), primary_key=True),
)


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    full_name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[UserRole] = mapped_column(str_enum(UserRole, "user_role"), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the user agreed to the processing of personal data at registration (152-ФЗ, art. 9); None: an account
    # made by an administrator or before the consent was asked.
    personal_data_consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    regions: Mapped[list[Region]] = relationship(secondary=coordinator_regions)
    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def region_codes(self) -> set[str]:
        return {r.code for r in self.regions}

    @property
    def is_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    def get_id(self) -> str:
        """The session id: the user id plus a fingerprint of the password hash, so that changing or resetting the
        password signs out every other session (``accounts.services.load_user`` checks both)."""
        return f"{self.id}:{session_fingerprint(self.password_hash)}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


def session_fingerprint(password_hash: str) -> str:
    import hashlib

    return hashlib.sha256(password_hash.encode()).hexdigest()[:12]


class Membership(TimestampMixin, db.Model):
    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False,
                                                 index=True)
    role: Mapped[MembershipRole] = mapped_column(str_enum(MembershipRole, "membership_role"), nullable=False,
                                                 default=MembershipRole.MEMBER)

    user: Mapped[User] = relationship(back_populates="memberships")
    organization: Mapped[Organization] = relationship()

    __table_args__ = (UniqueConstraint("user_id", "organization_id"),)


class Invitation(TimestampMixin, db.Model):
    """An owner or admin of an organization invites someone by e-mail; the signed link carries the invitation id."""

    __tablename__ = "organization_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False,
                                                 index=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    role: Mapped[MembershipRole] = mapped_column(str_enum(MembershipRole, "invitation_role"), nullable=False,
                                                 default=MembershipRole.MEMBER)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    organization: Mapped[Organization] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    @property
    def is_open(self) -> bool:
        from marketplace.core.models import utcnow

        expires = self.expires_at if self.expires_at.tzinfo else self.expires_at.replace(tzinfo=utcnow().tzinfo)
        return self.accepted_at is None and self.revoked_at is None and expires > utcnow()
