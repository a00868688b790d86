"""Jobs over listings: closing offers and needs whose date has passed."""
from __future__ import annotations

import logging
from datetime import date

from workers.queue import job

log = logging.getLogger(__name__)


@job("listings.expire", queue="default", timeout=600)
def expire_listings(today: str | None = None) -> int:
    """Close active listings whose ``ends_on`` has passed; safe to repeat (closed ones are skipped)."""
    from sqlalchemy import select

    from marketplace.core.audit import record_audit, record_outbox
    from marketplace.extensions import db
    from marketplace.listings.models import Listing, ListingStatus

    day = date.fromisoformat(today) if today else date.today()
    expired = db.session.scalars(select(Listing).where(Listing.status == ListingStatus.ACTIVE,
                                                       Listing.ends_on.is_not(None), Listing.ends_on < day)).all()
    for listing in expired:
        listing.status = ListingStatus.CLOSED
        record_outbox("listing", listing.id, "upsert")
        record_audit("expire", "listing", listing.id, {"status": ["active", "closed"]})
    db.session.commit()
    if expired:
        log.info("closed %d expired listings", len(expired))
    return len(expired)
