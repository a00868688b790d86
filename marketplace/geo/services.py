"""Geography the engine needs from the reference data."""
from __future__ import annotations

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.geo.models import Country
from matching.geo import CountryLists


def country_lists() -> CountryLists:
    """The EAEU members and the 430-р list from the reference data (the engine's defaults when none is loaded)."""
    rows = db.session.execute(select(Country.iso2, Country.eaeu, Country.unfriendly)).all()
    if not rows:
        return CountryLists()
    return CountryLists(eaeu=frozenset(c for c, eaeu, _ in rows if eaeu),
                        unfriendly=frozenset(c for c, _, bad in rows if bad))
