"""Background jobs: one decorator declares a job's queue, timeout and retries; ``enqueue`` runs it on RQ when
``REDIS_URL`` is set and inline (after the caller's commit) otherwise."""
