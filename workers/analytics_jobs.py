"""Coordinator analytics: the periodic refresh of the cached aggregates (gaps, localization, KPIs, network)."""
from __future__ import annotations

import logging
from typing import Any

from workers.queue import job

log = logging.getLogger(__name__)


@job("analytics.refresh", queue="default", timeout=1800, retries=1, retry_intervals=(300,))
def refresh_analytics(scope: str | None = None) -> dict[str, Any]:
    """Recompute the snapshots of one scope (a region, a district, "RU") or of all 98; safe to repeat."""
    from marketplace.analytics.snapshots import refresh
    from marketplace.extensions import db

    report = refresh([scope] if scope else None)
    db.session.commit()
    return {"scopes": report.scopes, "rows": report.rows, "seconds": report.seconds}
