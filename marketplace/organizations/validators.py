"""Checksums of Russian tax ids: ИНН (10 digits for a legal entity, 12 for a person) and ОГРН (13) / ОГРНИП (15)."""
from __future__ import annotations

_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_A = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_B = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _check(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def inn_error(inn: str) -> str | None:
    """Return why ``inn`` is not a valid ИНН, or None when it is."""
    if not inn.isdigit() or len(inn) not in (10, 12):
        return "ИНН должен состоять из 10 или 12 цифр"
    if len(inn) == 10:
        ok = _check(inn, _INN10) == int(inn[9])
    else:
        ok = _check(inn, _INN12_A) == int(inn[10]) and _check(inn, _INN12_B) == int(inn[11])
    return None if ok else "неверная контрольная сумма ИНН"


def ogrn_error(ogrn: str) -> str | None:
    """Return why ``ogrn`` is not a valid ОГРН (13 digits) or ОГРНИП (15 digits), or None when it is."""
    if not ogrn.isdigit() or len(ogrn) not in (13, 15):
        return "ОГРН должен состоять из 13 цифр (ОГРНИП — из 15)"
    body, control = int(ogrn[:-1]), int(ogrn[-1])
    modulus = 11 if len(ogrn) == 13 else 13
    return None if body % modulus % 10 == control else "неверная контрольная сумма ОГРН"


def make_inn(prefix: str) -> str:
    """Complete a 9-digit (legal entity) or 10-digit (person) prefix with its control digits; for demo data and tests."""
    if len(prefix) == 9:
        return prefix + str(_check(prefix, _INN10))
    if len(prefix) == 10:
        first = prefix + str(_check(prefix, _INN12_A))
        return first + str(_check(first, _INN12_B))
    raise ValueError("prefix must have 9 or 10 digits")


def make_ogrn(prefix: str) -> str:
    """Complete a 12-digit ОГРН (or 14-digit ОГРНИП) prefix with its control digit."""
    modulus = {12: 11, 14: 13}[len(prefix)]
    return prefix + str(int(prefix) % modulus % 10)
