"""Jobs over tenders: closing those whose submission deadline has passed."""
from __future__ import annotations

import logging

from workers.queue import job

log = logging.getLogger(__name__)


@job("tenders.close_expired", queue="default", timeout=300)
def close_expired() -> int:
    """Close published tenders past their submission deadline; safe to repeat (closed ones are skipped)."""
    from marketplace.extensions import db
    from marketplace.tenders.services import close_expired_tenders

    closed = close_expired_tenders()
    db.session.commit()
    if closed:
        log.info("closed %d tenders at their deadline: %s", len(closed), closed)
    return len(closed)
