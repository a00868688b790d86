"""The API keeps its OpenAPI contract under every built-in schemathesis check, for an anonymous caller and for a
supplier with a token: schema-valid requests (positive) and schema-invalid ones (negative) for every operation,
a bounded, deterministic number of examples each, every failure of every operation collected and reported.

Six operations keep a named gap (``KNOWN_GAPS``): a cross-field, existence or date-relative rule OpenAPI 3.0 cannot state, so
a schema-valid body may get a 422 there; every other check of those operations still runs.

The checks are schemathesis' whole default set: no server error, status codes, content types, response headers
and bodies as documented, schema-invalid input rejected (negative_data_rejection), schema-valid input accepted
(positive_data_acceptance), authentication not ignored, and so on (``ctx.internals.checks``).

Follow-up work of a write (indexing, matching) goes to a Redis that refuses connections: the API's real
«deferred» path (the outbox keeps the rows), so a write costs what it costs in production, not an inline drain.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup

from tests.workers.processes import free_port

EXAMPLES = {GenerationMode.POSITIVE: 5, GenerationMode.NEGATIVE: 3}
# Revoking tokens by generated ids would revoke the run's own token; the endpoint has its own tests.
SKIPPED = {"delete_token"}
# Rules the server enforces that OpenAPI 3.0 cannot state, so a schema-valid body may still be refused with 422
# (positive_data_acceptance). Each is named; any other failure, of any check, fails the test.
KNOWN_GAPS = {
    # either a route template with the buyer's part, or the engine's whole form (item, quantity, stages as an
    # acyclic graph): an exclusive either/or with a graph rule
    ("POST /api/v1/chains/requests", "RejectedPositiveData"),
    # kind-specific fields (rate_period only for equipment rental …) and parameters that need an operation
    ("POST /api/v1/listings", "RejectedPositiveData"),
    # a supplier is named by organization_id or offer_id, and they must exist
    ("POST /api/v1/quote-requests", "RejectedPositiveData"),
    # invited organizations must exist
    ("POST /api/v1/tenders", "RejectedPositiveData"),
    # a delivery deadline already past is refused («срок уже прошёл»): today is not a thing a schema can name
    ("POST /api/v1/match", "RejectedPositiveData"),
    # the e-mail and website patterns of the document (issue 13's contacts, 4f51d91) are wider than the service's
    # checks; their owner aligns them
    ("PUT /api/v1/organizations/{organization_id}/contacts", "RejectedPositiveData"),
}


def _collect(operation: Any, mode: GenerationMode, headers: dict[str, str],
             failures: dict[tuple[str, str], list[str]], counts: dict[str, int], gaps: set[str]) -> None:
    @settings(max_examples=EXAMPLES[mode], derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        counts["cases"] += 1
        response = case.call(headers=headers)
        try:
            case.validate_response(response, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                if (f"{operation.method.upper()} {operation.path}", type(failure).__name__) in KNOWN_GAPS:
                    gaps.add(f"{operation.method.upper()} {operation.path}")
                    continue
                key = (f"{operation.method.upper()} {operation.path}", f"{type(failure).__name__}: {failure.title}")
                if len(failures[key]) < 2:
                    failures[key].append(f"{mode.value}: {failure.message[:300]}\n  {case.as_curl_command()[:500]}"
                                         f"\n  → {response.status_code} {response.text[:400]}")

    try:
        check()
    except Unsatisfiable:  # nothing to negate (an operation without parameters or body)
        if mode is GenerationMode.POSITIVE:
            raise


@pytest.fixture
def refused_redis(app):
    """A Redis URL whose port nobody listens on: every enqueue is «deferred» at once."""
    previous = app.config.get("REDIS_URL")
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    yield
    app.config["REDIS_URL"] = previous


@pytest.mark.slow
@pytest.mark.parametrize("caller", ["anonymous", "supplier"])
def test_the_api_keeps_its_contract_under_every_check(app, client, world, bearer, refused_redis, caller):
    world.users["member_a"].email_confirmed_at = datetime.now(UTC)
    headers = {} if caller == "anonymous" else bearer(world.users["member_a"])
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.definition.raw.get("operationId") not in SKIPPED]
    assert len(operations) > 30
    failures: dict[tuple[str, str], list[str]] = defaultdict(list)
    counts = {"cases": 0}
    gaps: set[str] = set()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _collect(operation, mode, headers, failures, counts, gaps)
    print(f"known gaps that refused a schema-valid body in this run: {sorted(gaps)}")
    assert counts["cases"] > len(operations) * 5
    report = "\n".join(f"{op} — {check}\n  " + "\n  ".join(samples) for (op, check), samples in sorted(failures.items()))
    assert not failures, f"{len(failures)} contract failures in {counts['cases']} cases:\n{report}"
