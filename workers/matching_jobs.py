"""Jobs of the matching engine: recompute a listing's matches, catch up with changed listings, refit the encoder."""
from __future__ import annotations

import logging

from flask import current_app

from workers.queue import job

log = logging.getLogger(__name__)


def refresh_and_notify(listing_id: int):
    """Recompute one listing's matches, notify both sides of the new ones, commit, and queue their e-mail."""
    from marketplace.extensions import db
    from marketplace.matches import services

    report = services.refresh_listing(int(listing_id))
    note_ids = services.notify_new_matches(report.new)
    db.session.commit()
    services.email_after_commit(note_ids)
    return report


@job("matching.refresh", queue="matching", timeout=300, retries=3)
def refresh(listing_id: int) -> dict:
    """Recompute one listing's matches and notify both sides of new ones; safe to repeat."""
    report = refresh_and_notify(listing_id)
    if report.chain_suggested:
        suggest_chains()
    return {"listing_id": report.listing_id, "stored": report.stored, "new": len(report.new),
            "removed": report.removed, "active_tier": report.active_tier,
            "chain_suggested": report.chain_suggested}


@job("matching.refresh_stale", queue="matching", timeout=1800, retries=2)
def refresh_stale(limit: int | None = None) -> dict:
    """Match the active listings changed since their last run (newest first), after the index has caught up.

    The outbox is drained first, so a listing is matched against an index that already holds the latest offers;
    inline (no Redis) only a few listings are matched per request (``MATCH_INLINE_LIMIT``), the rest on the next run.
    """
    from marketplace.indexing.services import drain_outbox
    from marketplace.matches import services

    if limit is None:
        limit = int(current_app.config.get("MATCH_INLINE_LIMIT", 20)) if not current_app.config.get("REDIS_URL") \
            else int(current_app.config.get("MATCH_BATCH", 500))
    drain_outbox()
    ids = services.stale_listing_ids(limit=int(limit))
    reports = [refresh_and_notify(listing_id) for listing_id in ids]
    if any(r.chain_suggested for r in reports):
        suggest_chains()
    stored, new = sum(r.stored for r in reports), sum(len(r.new) for r in reports)
    if ids:
        log.info("matched %d listings: %d rows, %d new", len(ids), stored, new)
    return {"listings": len(ids), "stored": stored, "new": new}


def suggest_chains(**kwargs) -> None:
    """A need with no acceptable domestic offer gets a domestic cooperation chain offered before anyone looks
    abroad (the charter): ``chains.suggest_for_needs`` picks the route and queues the build."""
    if current_app.config.get("MATCH_SUGGEST_CHAINS", True):
        from workers.queue import enqueue_quietly

        enqueue_quietly("chains.suggest_for_needs", **kwargs)


@job("matching.refit_encoder", queue="matching", timeout=7200, retries=1)
def refit_encoder(growth: float | None = None) -> dict:
    """Refit the built-in encoder when the marketplace's texts grew by ``growth`` (default 20 %) since the last fit,
    then rebuild the index with the new vectors."""
    from marketplace.matches.refit import refit_encoder_if_grown

    return refit_encoder_if_grown(growth=growth)
