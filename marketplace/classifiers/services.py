"""Searching ОКПД2 and ОКВЭД2 for the code pickers: by code prefix and by words of the name."""
from __future__ import annotations

import re

from sqlalchemy import and_, or_, select

from marketplace.classifiers.models import ClassifierCode, Scheme
from marketplace.extensions import db

SCHEMES = {s.value for s in Scheme}
_CODE = re.compile(r"^[0-9][0-9.]*$|^[A-Za-z]$")


def _word_variants(word: str) -> list[str]:
    # SQLite's lower() and LIKE fold ASCII only, so Cyrillic matching is spelled out: the word as typed, lower case,
    # capitalised (names start with a capital letter) and upper case; ё is searched as written and as е.
    forms = {word, word.lower(), word.lower().capitalize(), word.upper()}
    forms |= {f.replace("ё", "е").replace("Ё", "Е") for f in forms}
    return sorted(forms)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_codes(scheme: str, query: str, *, limit: int = 20) -> list[ClassifierCode]:
    """Codes of ``scheme`` whose code starts with ``query`` (when it looks like a code) or whose name contains every
    word of it (case-insensitive), broader codes first; at most ``limit``."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown classifier {scheme!r}")
    query = " ".join(query.split())[:100]
    if not query:
        return []
    base = select(ClassifierCode).where(ClassifierCode.scheme == scheme)
    if _CODE.match(query):
        if query.isalpha():
            stmt = base.where(or_(ClassifierCode.code == query.upper(), ClassifierCode.section == query.upper()))
        else:
            stmt = base.where(ClassifierCode.code.like(_escape(query.rstrip(".")) + "%", escape="\\"))
        stmt = stmt.order_by(ClassifierCode.level, ClassifierCode.code)
        return list(db.session.scalars(stmt.limit(limit)))
    words = [w for w in re.split(r"[\s,;]+", query) if len(w) >= 2][:6]
    if not words:
        return []
    conditions = [or_(*[ClassifierCode.name.like(f"%{_escape(v)}%", escape="\\") for v in _word_variants(w)])
                  for w in words]
    stmt = base.where(and_(*conditions)).order_by(ClassifierCode.level, ClassifierCode.code)
    return list(db.session.scalars(stmt.limit(limit)))
