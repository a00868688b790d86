"""Geography and the procurement priority (the Khabarovsk charter).

Relative to the delivery region of a need, every supplier falls into one tier:
local (the same subject of the Federation) → district (the same federal district) →
national (elsewhere in Russia) → EAEU → friendly countries → excluded (the 430-р list).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

EARTH_RADIUS_KM = 6371.0088
RUSSIA = "RU"


class ProcurementTier(IntEnum):
    """Tiers in the order the charter buys from them: lower is preferred."""

    LOCAL = 1
    DISTRICT = 2
    NATIONAL = 3
    EAEU = 4
    FRIENDLY = 5
    EXCLUDED = 6

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def title_ru(self) -> str:
        return _TIER_TITLES_RU[self]

    @classmethod
    def labels(cls) -> tuple[str, ...]:
        """"local", "district", …, "excluded": in the charter's order."""
        return tuple(t.label for t in cls)

    @classmethod
    def from_label(cls, label: str) -> ProcurementTier:
        try:
            return cls[label.upper()]
        except KeyError:
            raise ValueError(f"unknown procurement tier {label!r}") from None


_TIER_TITLES_RU = {
    ProcurementTier.LOCAL: "свой регион",
    ProcurementTier.DISTRICT: "свой федеральный округ",
    ProcurementTier.NATIONAL: "Россия",
    ProcurementTier.EAEU: "ЕАЭС",
    ProcurementTier.FRIENDLY: "дружественные страны",
    ProcurementTier.EXCLUDED: "страны из перечня 430-р",
}


@dataclass(frozen=True)
class Place:
    """Where a supplier is or where a need is delivered: plain data, no database."""

    country: str = RUSSIA
    region: str | None = None  # two-digit subject code, e.g. "27" for Хабаровский край
    district: str | None = None  # federal district code, e.g. "FEFD"
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class CountryLists:
    """The country sets the policy needs: EAEU members and the 430-р list (ISO alpha-2)."""

    eaeu: frozenset[str] = frozenset({"AM", "BY", "KZ", "KG"})
    unfriendly: frozenset[str] = frozenset()


def procurement_tier(supplier: Place, delivery: Place, countries: CountryLists | None = None) -> ProcurementTier:
    """Return the tier of ``supplier`` for a need delivered to ``delivery``.

    >>> khv = Place(region="27", district="FEFD")
    >>> procurement_tier(Place(region="25", district="FEFD"), khv)
    <ProcurementTier.DISTRICT: 2>
    """
    countries = countries or CountryLists()
    country = (supplier.country or RUSSIA).upper()
    if country == RUSSIA:
        if delivery.region and supplier.region == delivery.region:
            return ProcurementTier.LOCAL
        if delivery.district and supplier.district == delivery.district:
            return ProcurementTier.DISTRICT
        return ProcurementTier.NATIONAL
    if country in countries.unfriendly:
        return ProcurementTier.EXCLUDED
    if country in countries.eaeu:
        return ProcurementTier.EAEU
    return ProcurementTier.FRIENDLY


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def distance_km(a: Place, b: Place) -> float | None:
    """Distance between two places, or None when either has no coordinates."""
    if None in (a.lat, a.lon, b.lat, b.lon):
        return None
    return haversine_km(a.lat, a.lon, b.lat, b.lon)  # type: ignore[arg-type]
