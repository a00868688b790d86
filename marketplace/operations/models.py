"""The operations catalogue and the materials list in the database, and the operations a listing names.

The rows come from the reference YAML (``refdata/data/operations/``, ``materials.yaml``) through ``cosmos refdata
load``; the engine reads the same files as :class:`matching.operations.OperationCatalogue` (see ``catalogue.py``).
The tables give listings a foreign key to check against and the pages something to join and count.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import utcnow
from marketplace.extensions import db

if TYPE_CHECKING:
    from marketplace.listings.models import Listing


class Operation(db.Model):
    """A production operation or industrial service of the catalogue (stable id, e.g. ``coating.zinc.hot_dip``)."""

    __tablename__ = "operations"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("operations.id"), index=True)
    family: Mapped[str] = mapped_column(String(80), nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    synonyms: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    okved2: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    okpd2: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    equipment: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    parameters: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    generic: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    depth: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    def __repr__(self) -> str:
        return f"<Operation {self.id} {self.name!r}>"


class Material(db.Model):
    """A material group or grade family of the materials list (``steel.stainless``)."""

    __tablename__ = "materials"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("materials.id"))
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    synonyms: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    grades: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class ListingOperation(db.Model):
    """An operation a listing performs (an offer) or asks for (a need); the first is the main one."""

    __tablename__ = "listing_operations"

    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True)
    operation_id: Mapped[str] = mapped_column(ForeignKey("operations.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    listing: Mapped[Listing] = relationship(back_populates="operation_links")
    operation: Mapped[Operation] = relationship(lazy="joined")


class ReferenceVersion(db.Model):
    """Which edition of a reference data set the database holds (a SHA-256 of its files), like the classifiers."""

    __tablename__ = "reference_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    items: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "digest": self.digest, "items": self.items, "loaded_at": self.loaded_at}
