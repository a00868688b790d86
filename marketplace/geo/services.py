"""Geography the engine needs from the reference data."""
from __future__ import annotations

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.geo.models import Country, Region
from matching.geo import CountryLists


def country_lists() -> CountryLists:
    """The EAEU members and the 430-р list from the reference data (the engine's defaults when none is loaded)."""
    rows = db.session.execute(select(Country.iso2, Country.eaeu, Country.unfriendly)).all()
    if not rows:
        return CountryLists()
    return CountryLists(eaeu=frozenset(c for c, eaeu, _ in rows if eaeu),
                        unfriendly=frozenset(c for c, _, bad in rows if bad))


def region_districts() -> dict[str, str]:
    """Subject code → federal district code."""
    return dict(db.session.execute(select(Region.code, Region.district_code)).all())


def region_centres() -> dict[str, tuple[float | None, float | None]]:
    """Subject code → the coordinates of its administrative centre."""
    return {code: (lat, lon) for code, lat, lon in db.session.execute(select(Region.code, Region.lat, Region.lon))}
