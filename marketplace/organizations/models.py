"""Organizations: manufacturers, buyers, or both."""
from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Enum, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import TimestampMixin
from marketplace.extensions import db

if TYPE_CHECKING:
    from marketplace.geo.models import Country, Region, Town


class OrganizationKind(enum.StrEnum):
    MANUFACTURER = "manufacturer"
    BUYER = "buyer"
    BOTH = "both"


def str_enum(enum_cls: type[enum.StrEnum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint, stored by value."""
    return Enum(enum_cls, name=name, native_enum=False, create_constraint=True, length=32,
                values_callable=lambda e: [m.value for m in e], validate_strings=True)


class Organization(TimestampMixin, db.Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    country_code: Mapped[str] = mapped_column(ForeignKey("countries.iso2"), nullable=False, default="RU")
    tax_id: Mapped[str] = mapped_column(String(20), nullable=False)
    ogrn: Mapped[str | None] = mapped_column(String(15))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"))
    address: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    kind: Mapped[OrganizationKind] = mapped_column(str_enum(OrganizationKind, "organization_kind"), nullable=False)
    verified: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    archived: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # Set when an administrator merged this duplicate into another organization (``admin.merge``); it stays archived.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))

    country: Mapped[Country] = relationship()
    region: Mapped[Region | None] = relationship()
    town: Mapped[Town | None] = relationship()

    __table_args__ = (UniqueConstraint("country_code", "tax_id"),)

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.name!r}>"


class OrganizationContact(db.Model):
    """A contact person of an organization (sales manager, chief engineer…), shown with its contacts."""

    __tablename__ = "organization_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False,
                                                 index=True)
    full_name: Mapped[str] = mapped_column(String(200), nullable=False)
    position: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    rank: Mapped[int] = mapped_column(default=0, nullable=False)
