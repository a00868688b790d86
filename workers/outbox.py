"""Called right after a commit that wrote outbox rows: hand the drain to the workers (or run it inline)."""
from __future__ import annotations

from workers.queue import JobHandle, enqueue


def schedule_drain() -> JobHandle:
    """Enqueue the outbox drain. If Redis is down the rows stay in the outbox and the scheduler's periodic drain
    picks them up when it returns: nothing is lost."""
    return enqueue("search.drain_outbox")
