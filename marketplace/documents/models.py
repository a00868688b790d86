"""A stored file attached to one object of the marketplace (its *owner*: a listing, a tender response, an
organization, a conversation's message…), named by ``owner_kind`` and ``owner_id``."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.models import utcnow
from marketplace.extensions import db


class Document(db.Model):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    owner_id: Mapped[int] = mapped_column(Integer, nullable=False)
    # The organization the uploader acted for (whose file it is), when there is one.
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"),
                                                        index=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)  # the uploader's name, cleaned
    file_type: Mapped[str] = mapped_column(String(16), nullable=False)  # pdf, png, dwg… as read from the content
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    # Where the storage keeps it: no part of the uploader's name goes into the key.
    storage_key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)

    __table_args__ = (Index("ix_documents_owner", "owner_kind", "owner_id"),)

    def __repr__(self) -> str:
        return f"<Document {self.id} {self.owner_kind}:{self.owner_id} {self.filename!r}>"
