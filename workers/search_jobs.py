"""Jobs that keep the search index in step with the database."""
from __future__ import annotations

import logging

from workers.queue import job

log = logging.getLogger(__name__)


@job("search.drain_outbox", queue="search", timeout=900, retries=5, retry_intervals=(5, 30, 60, 300, 900))
def drain_outbox() -> dict[str, int]:
    """Apply pending outbox events to the index; safe to repeat and to run beside another drain."""
    from marketplace.indexing.services import drain_outbox as drain

    report = drain()
    return report.__dict__


@job("search.reconcile", queue="search", timeout=3600, retries=1)
def reconcile() -> dict[str, int]:
    """Nightly: re-index what the check finds missing or stale and drop documents whose rows are gone."""
    from marketplace.core.audit import record_outbox
    from marketplace.extensions import db
    from marketplace.indexing.services import check, get_backend
    from marketplace.indexing.services import drain_outbox as drain

    report = check()
    for listing_id in report.missing + report.stale:
        record_outbox("listing", listing_id, "upsert")
    if report.extra:
        get_backend().delete(report.extra)
    db.session.commit()
    drain()
    return {"missing": len(report.missing), "stale": len(report.stale), "extra": len(report.extra)}
