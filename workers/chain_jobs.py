"""Building cooperation chains: candidates from the marketplace's offers, then the exact k-best builder."""
from __future__ import annotations

import logging

from workers.queue import job

log = logging.getLogger(__name__)


@job("chains.build", queue="matching", timeout=600, retries=1, retry_intervals=(60,))
def build_chain_request(request_id: int, alternatives: int = 3) -> dict:
    """Build the chains of a request; progress is committed as it goes so the request's page can show it.

    Safe to repeat: the suggested chains of an earlier run are replaced. A crash marks the request failed (after
    a rollback) and re-raises so that RQ records it.
    """
    from marketplace.chains.services import build, mark_failed
    from marketplace.core.validation import ValidationFailed
    from marketplace.extensions import db

    try:
        outcome = build(request_id, alternatives=alternatives, report=db.session.commit)
        db.session.commit()
    except ValidationFailed as exc:  # e.g. a chain was approved meanwhile: nothing to rebuild
        db.session.rollback()
        log.info("chains.build skipped request %s: %s", request_id, exc)
        return {"request_id": request_id, "status": "skipped", "reason": str(exc)}
    except Exception as exc:
        db.session.rollback()
        mark_failed(request_id, f"{type(exc).__name__}: {exc}")
        db.session.commit()
        log.exception("chains.build failed for request %s", request_id)
        raise
    return {"request_id": request_id, "status": outcome.request.status.value,
            "chains": len(outcome.result.chains)}


@job("chains.suggest_for_needs", queue="matching", timeout=1800, retries=1, retry_intervals=(300,))
def suggest_for_needs(limit: int = 50) -> dict:
    """Offer a chain for needs the matcher found no acceptable domestic offer for: a request from the route
    template that fits each (``chains.services.suggest_chains_for_unserved_needs``), then its ``chains.build``.
    Safe to repeat: a need gets one request, and one that fits no template is not tried again until it changes."""
    from marketplace.chains.services import enqueue_build, suggest_chains_for_unserved_needs
    from marketplace.extensions import db

    rows = suggest_chains_for_unserved_needs(limit=int(limit))
    db.session.commit()
    ids = [row.id for row in rows]
    for request_id in ids:
        enqueue_build(request_id)
    return {"requests": ids}
