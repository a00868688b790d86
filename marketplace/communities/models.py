"""Communities (кластеры, ассоциации, технопарки) and their member organizations."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import TimestampMixin
from marketplace.extensions import db
from marketplace.organizations.models import Organization, str_enum


class CommunityKind(enum.StrEnum):
    CLUSTER = "cluster"
    ASSOCIATION = "association"
    TECHNOPARK = "technopark"
    OTHER = "other"


class CommunityAccess(enum.StrEnum):
    OPEN = "open"  # any organization joins at once
    CLOSED = "closed"  # visible to all; the owner approves join requests
    SECRET = "secret"  # by invitation only; invisible to non-members


class MemberStatus(enum.StrEnum):
    REQUESTED = "requested"  # asked to join a closed community, waits for the owner
    INVITED = "invited"  # invited by the owner, waits for the organization
    ACTIVE = "active"


class Community(TimestampMixin, db.Model):
    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    kind: Mapped[CommunityKind] = mapped_column(str_enum(CommunityKind, "community_kind"), nullable=False)
    access: Mapped[CommunityAccess] = mapped_column(str_enum(CommunityAccess, "community_access"), nullable=False,
                                                    default=CommunityAccess.OPEN)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    owner_organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    owner: Mapped[Organization] = relationship()
    members: Mapped[list[CommunityMember]] = relationship(back_populates="community", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Community {self.id} {self.access.value} {self.name!r}>"


class CommunityMember(TimestampMixin, db.Model):
    __tablename__ = "community_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), nullable=False,
                                              index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False,
                                                 index=True)
    status: Mapped[MemberStatus] = mapped_column(str_enum(MemberStatus, "community_member_status"), nullable=False)
    joined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    community: Mapped[Community] = relationship(back_populates="members")
    organization: Mapped[Organization] = relationship()

    __table_args__ = (UniqueConstraint("community_id", "organization_id"),)
