"""Offers and needs: one table that matching reads the same way for every kind.

Every listing has what the engine reads — text, ОКПД2/ОКВЭД2 codes, place, quantity, price and
dates — in common columns; each kind adds a few columns of its own (single-table inheritance, so
the engine, the search index and analytics scan one table without joins).

Offers: capability (a production operation or service), product, surplus stock (неликвиды),
equipment for rent. Needs: tender lot, missing production operation, purchase request.
"""
from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Date, Float, ForeignKey, ForeignKeyConstraint, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import TimestampMixin
from marketplace.extensions import db
from marketplace.organizations.models import Organization, str_enum

if TYPE_CHECKING:
    from marketplace.geo.models import Region, Town
    from marketplace.operations.models import ListingOperation
    from marketplace.tenders.models import Tender

Quantity = Numeric(18, 3)
Money = Numeric(18, 2)


class Side(enum.StrEnum):
    OFFER = "offer"
    NEED = "need"


class ListingKind(enum.StrEnum):
    CAPABILITY = "capability"
    PRODUCT = "product"
    SURPLUS = "surplus"
    EQUIPMENT_RENT = "equipment_rent"
    TENDER_LOT = "tender_lot"
    MISSING_OPERATION = "missing_operation"
    PURCHASE_REQUEST = "purchase_request"

    @property
    def side(self) -> Side:
        return Side.NEED if self in NEED_KINDS else Side.OFFER


NEED_KINDS = frozenset({ListingKind.TENDER_LOT, ListingKind.MISSING_OPERATION, ListingKind.PURCHASE_REQUEST})
OFFER_KINDS = frozenset(set(ListingKind) - NEED_KINDS)

KIND_TITLES_RU = {
    ListingKind.CAPABILITY: "Производственная операция / услуга",
    ListingKind.PRODUCT: "Продукция",
    ListingKind.SURPLUS: "Неликвиды",
    ListingKind.EQUIPMENT_RENT: "Оборудование в аренду",
    ListingKind.TENDER_LOT: "Лот тендера",
    ListingKind.MISSING_OPERATION: "Недостающая операция",
    ListingKind.PURCHASE_REQUEST: "Заявка на закупку",
}


class ListingStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    CLOSED = "closed"
    ARCHIVED = "archived"
    HIDDEN = "hidden"  # hidden by a coordinator for breaking the rules


class Listing(TimestampMixin, db.Model):
    __tablename__ = "listings"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ListingKind] = mapped_column(str_enum(ListingKind, "listing_kind"), nullable=False, index=True)
    side: Mapped[Side] = mapped_column(str_enum(Side, "listing_side"), nullable=False, index=True)
    status: Mapped[ListingStatus] = mapped_column(str_enum(ListingStatus, "listing_status"), nullable=False,
                                                  default=ListingStatus.ACTIVE, index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    external_id: Mapped[str | None] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Where the offer is, or where a need is delivered; defaults to the organization's place.
    country_code: Mapped[str] = mapped_column(ForeignKey("countries.iso2"), nullable=False, default="RU")
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    unit: Mapped[str | None] = mapped_column(String(32))
    price: Mapped[Decimal | None] = mapped_column(Money)  # per unit, for offers
    budget: Mapped[Decimal | None] = mapped_column(Money)  # in total, for needs
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="RUB")
    lead_time_days: Mapped[int | None] = mapped_column(Integer)
    starts_on: Mapped[date | None] = mapped_column(Date)  # available from / needed from
    ends_on: Mapped[date | None] = mapped_column(Date)  # valid until / delivery deadline
    certifications: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    # Engineering parameters (keys of matching.parameters.PARAMETERS): what an offer can do, what a need's job is.
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organization: Mapped[Organization] = relationship()
    region: Mapped[Region | None] = relationship()
    town: Mapped[Town | None] = relationship()
    codes: Mapped[list[ListingCode]] = relationship(back_populates="listing", cascade="all, delete-orphan",
                                                    order_by="ListingCode.position")
    operation_links: Mapped[list[ListingOperation]] = relationship(
        back_populates="listing", cascade="all, delete-orphan", order_by="ListingOperation.position")

    __mapper_args__ = {"polymorphic_on": "kind"}
    __table_args__ = (
        db.UniqueConstraint("organization_id", "external_id"),
        db.Index("ix_listings_side_status_region", "side", "status", "region_code"),
    )

    def codes_of(self, scheme: str) -> list[str]:
        return [c.code for c in self.codes if c.scheme == scheme]

    @property
    def operation_ids(self) -> list[str]:
        """Catalogue operations the listing performs or asks for, the main one first."""
        return [link.operation_id for link in self.operation_links]

    @property
    def okpd2_codes(self) -> list[str]:
        return self.codes_of("okpd2")

    @property
    def okved2_codes(self) -> list[str]:
        return self.codes_of("okved2")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.title[:40]!r}>"


class ListingCode(db.Model):
    """An ОКПД2 or ОКВЭД2 code of a listing; the first of each scheme is the main one."""

    __tablename__ = "listing_codes"

    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True)
    scheme: Mapped[str] = mapped_column(String(8), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    listing: Mapped[Listing] = relationship(back_populates="codes")

    __table_args__ = (
        ForeignKeyConstraint(["scheme", "code"], ["classifier_codes.scheme", "classifier_codes.code"],
                             name="fk_listing_codes_code"),
        db.Index("ix_listing_codes_scheme_code", "scheme", "code"),
    )


# Offers ---------------------------------------------------------------------------------------

class Capability(Listing):
    """A production operation or service the organization performs (machining, casting, coating…)."""

    equipment: Mapped[str | None] = mapped_column(Text)
    materials: Mapped[str | None] = mapped_column(Text)
    capacity_per_month: Mapped[Decimal | None] = mapped_column(Quantity)
    capacity_unit: Mapped[str | None] = mapped_column(String(32))
    __mapper_args__ = {"polymorphic_identity": ListingKind.CAPABILITY}


class Product(Listing):
    min_lot: Mapped[Decimal | None] = mapped_column(Quantity)
    stock: Mapped[Decimal | None] = mapped_column(Quantity)
    __mapper_args__ = {"polymorphic_identity": ListingKind.PRODUCT}


class SurplusStock(Listing):
    """Surplus stock (неликвиды): quantity, condition and where it lies until when (``ends_on``)."""

    condition: Mapped[str | None] = mapped_column(String(32))  # new | used | needs_repair
    location: Mapped[str | None] = mapped_column(Text)
    __mapper_args__ = {"polymorphic_identity": ListingKind.SURPLUS}


class EquipmentRental(Listing):
    equipment_model: Mapped[str | None] = mapped_column(String(300))
    rate_period: Mapped[str | None] = mapped_column(String(16))  # hour | day | month
    __mapper_args__ = {"polymorphic_identity": ListingKind.EQUIPMENT_RENT}


# Needs ----------------------------------------------------------------------------------------

class TenderLot(Listing):
    tender_id: Mapped[int | None] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), index=True)
    lot_number: Mapped[int | None] = mapped_column(Integer)
    tender: Mapped[Tender | None] = relationship(back_populates="lots")
    __mapper_args__ = {"polymorphic_identity": ListingKind.TENDER_LOT}


class MissingOperation(Listing):
    """A production operation a manufacturer lacks and wants someone to do (volume in ``quantity``)."""

    frequency: Mapped[str | None] = mapped_column(String(16))  # once | monthly | quarterly | yearly
    __mapper_args__ = {"polymorphic_identity": ListingKind.MISSING_OPERATION}


class PurchaseRequest(Listing):
    mode: Mapped[str | None] = mapped_column(String(8))  # buy | rent
    __mapper_args__ = {"polymorphic_identity": ListingKind.PURCHASE_REQUEST}


LISTING_CLASSES: dict[ListingKind, type[Listing]] = {
    ListingKind.CAPABILITY: Capability,
    ListingKind.PRODUCT: Product,
    ListingKind.SURPLUS: SurplusStock,
    ListingKind.EQUIPMENT_RENT: EquipmentRental,
    ListingKind.TENDER_LOT: TenderLot,
    ListingKind.MISSING_OPERATION: MissingOperation,
    ListingKind.PURCHASE_REQUEST: PurchaseRequest,
}
