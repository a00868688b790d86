"""ОКПД2 (products and services) and ОКВЭД2 (economic activities) with their hierarchy."""
from __future__ import annotations

import enum

from sqlalchemy import ForeignKeyConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db


class Scheme(enum.StrEnum):
    OKPD2 = "okpd2"
    OKVED2 = "okved2"


class ClassifierCode(db.Model):
    __tablename__ = "classifier_codes"

    scheme: Mapped[str] = mapped_column(String(8), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    parent_code: Mapped[str | None] = mapped_column(String(20))
    section: Mapped[str] = mapped_column(String(1), nullable=False)
    level: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (
        ForeignKeyConstraint(["scheme", "parent_code"], ["classifier_codes.scheme", "classifier_codes.code"],
                             name="fk_classifier_codes_parent"),
        db.Index("ix_classifier_codes_parent", "scheme", "parent_code"),
    )

    def __repr__(self) -> str:
        return f"<{self.scheme} {self.code} {self.name[:40]!r}>"


def code_level(code: str) -> int:
    """Depth of a code: a section letter is 0, "25" is 1, "25.6" is 2, "25.62" is 3 … "25.62.20.110" is 6."""
    if code.isalpha():
        return 0
    digits = code.replace(".", "")
    return {2: 1, 3: 2, 4: 3, 5: 4, 6: 5}.get(len(digits), 6)


def code_ancestors(code: str) -> list[str]:
    """The dotted prefixes of a code from nearest to farthest (25.62.20.110 → 25.62.20, 25.62.2, 25.62, 25.6, 25)."""
    digits = code.replace(".", "")
    return [_dotted(digits[:n]) for n in (6, 5, 4, 3, 2) if n < len(digits)]


def _dotted(digits: str) -> str:
    parts = [digits[0:2], digits[2:4], digits[4:6], digits[6:]]
    return ".".join(p for p in parts if p)
