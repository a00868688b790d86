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
    word of it in any form (by stem, case-insensitive), broader codes first; when no name has them, the codes of
    the operations the query names and the classes of the other scheme's matches; at most ``limit``."""
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
    # When no name of this scheme has the words, the other scheme's names and the operations catalogue may
    # (ОКВЭД2 names no «токарная»); a query its own names answer is not diluted with them.
    return _by_name(scheme, words, limit) or _related(scheme, query, words, limit)


def _word_stem(word: str) -> str:
    """What a word is searched by: its stem, so that any form meets any other («токарная» → «токарн», found in
    «токарной», «токарные»); a short word, or one the stemmer leaves too short, as typed."""
    from matching.text import stem

    stemmed = stem(word.lower())
    return stemmed if len(stemmed) >= 3 and word.lower().startswith(stemmed) else word


def _by_name(scheme: str, words: list[str], limit: int) -> list[ClassifierCode]:
    """Codes whose name has every word, in any form (a word or its stem starts a word of the name or sits in it)."""
    conditions = [or_(*[ClassifierCode.name.like(f"%{_escape(v)}%", escape="\\")
                        for v in _word_variants(_word_stem(w))]) for w in words]
    stmt = (select(ClassifierCode).where(ClassifierCode.scheme == scheme, and_(*conditions))
            .order_by(ClassifierCode.level, ClassifierCode.code))
    return list(db.session.scalars(stmt.limit(limit)))


def _related(scheme: str, query: str, words: list[str], limit: int) -> list[ClassifierCode]:
    """Codes of ``scheme`` for a query its own names do not have: the codes of the catalogue's operations named
    in it, then the classes (``25.62``) of the other scheme's codes whose names have it (ОКПД2 and ОКВЭД2 share
    the first five characters for the same activity)."""
    wanted: list[str] = []
    try:
        from marketplace.operations.catalogue import get_catalogue

        catalogue = get_catalogue()
        for found in catalogue.recognize(query, top=3):
            wanted += catalogue.codes([found.operation_id], scheme)
    except Exception:  # noqa: BLE001  (a broken catalogue file leaves the picker to the names)
        wanted = []
    other = "okved2" if scheme == "okpd2" else "okpd2"
    wanted += [c.code[:5] for c in _by_name(other, words, limit) if len(c.code) >= 5]
    wanted = [c.rstrip(".") for c in dict.fromkeys(wanted)]
    if not wanted:
        return []
    rows = {c.code: c for c in db.session.scalars(
        select(ClassifierCode).where(ClassifierCode.scheme == scheme, ClassifierCode.code.in_(wanted)))}
    return [rows[c] for c in wanted if c in rows][:limit]
