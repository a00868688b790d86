"""Reference geography: countries, federal districts, the 89 subjects of the Federation and towns."""
from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db


class Country(db.Model):
    __tablename__ = "countries"

    iso2: Mapped[str] = mapped_column(String(2), primary_key=True)
    iso3: Mapped[str] = mapped_column(String(3), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    eaeu: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    unfriendly: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)  # listed in 430-р


class FederalDistrict(db.Model):
    __tablename__ = "federal_districts"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    centre: Mapped[str] = mapped_column(String(100), nullable=False)

    regions: Mapped[list[Region]] = relationship(back_populates="district", order_by="Region.name")


class Region(db.Model):
    """A subject of the Russian Federation, keyed by the two-digit code that starts its ИНН."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    iso: Mapped[str | None] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    district_code: Mapped[str] = mapped_column(ForeignKey("federal_districts.code"), nullable=False, index=True)
    centre: Mapped[str] = mapped_column(String(100), nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    timezone: Mapped[str | None] = mapped_column(String(16))

    district: Mapped[FederalDistrict] = relationship(back_populates="regions")


class Town(db.Model):
    __tablename__ = "towns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), nullable=False, index=True)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    population: Mapped[int | None] = mapped_column(Integer)

    region: Mapped[Region] = relationship()
    __table_args__ = (UniqueConstraint("region_code", "name"),)
