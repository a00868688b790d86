"""A bounded, deterministic schemathesis run over /api/v1/openapi.json: no operation answers with a 5xx, a status code
the schema does not declare or a content type it does not declare (on PostgreSQL: nor a body off the schema),
whatever the generated path, query and body.

Two passes. In the first everything is generated, ids included, so most ids name nothing and the lookups answer 404.
In the second the ids in the path name the world's real objects (the caller's own and visible ones), so the handlers
behind the lookups run with generated queries and bodies too: as a supplier, as the buyer of a draft tender and as a
coordinator. Both run with valid tokens, so the authenticated operations get past authentication.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

MAX_EXAMPLES = 20
MAX_EXAMPLES_KNOWN_IDS = 10
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]
# Revoking tokens by generated ids would revoke the run's own token and turn the rest into 401s; the endpoint
# has its own tests.
SKIPPED = {"delete_token"}
# Known gaps of the schema, each checked without status_code_conformance until its owner documents the status:
# the refresh queues a job and answers 202, the schema says 200; unhiding a listing that is not hidden is a 422.
UNDOCUMENTED_STATUS = {("POST", "/api/v1/coordinator/listings/{listing_id}/unhide")}
# Reading the award of a lot nobody has decided yet is a 404 by design.
NOT_FOUND_BY_DESIGN = {"/api/v1/tenders/{tender_id}/lots/{lot_id}/award",
                       # Before the deadline: no protocol yet, and the counts are the buyer's (the pass is a supplier).
                       "/api/v1/tenders/{tender_id}/protocol.xlsx", "/api/v1/tenders/{tender_id}/responses/count"}


def _checks(app: Any) -> list[Any]:
    """The bodies are checked against the schema on PostgreSQL only: SQLite hands back naive date-times, which the
    API writes without an offset ("2026-12-01T18:22:04"), not the RFC 3339 date-time the schema promises."""
    on_postgres = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    return [*CHECKS, response_schema_conformance] if on_postgres else CHECKS


def _run(operation: Any, headers: dict[str, str], statuses: list[tuple[str, str, int]], *, max_examples: int,
         checks: list[Any], path_parameters: dict[str, Any] | None = None) -> None:
    @settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case):
        if path_parameters:
            case.path_parameters = {**(case.path_parameters or {}), **path_parameters}
        response = case.call(headers=headers)
        statuses.append((case.method, operation.path, response.status_code))
        case.validate_response(response, checks=checks if (case.method.upper(), operation.path) not in
                               UNDOCUMENTED_STATUS else [c for c in checks if c is not status_code_conformance])

    check()


def _known_ids(operation: Any, ids: dict[str, Any]) -> dict[str, Any] | None:
    """The operation's path parameters mapped to real objects, or None when some parameter has no such object."""
    names = [p.name for p in operation.path_parameters]
    if not names:
        return None
    if operation.path.startswith("/api/v1/regions/"):
        ids = {**ids, "code": "27"}
    if not all(name in ids for name in names):
        return None
    return {name: ids[name] for name in names}


def _destructive(operation: Any) -> bool:
    return operation.method.upper() == "DELETE" or operation.path.endswith(("/cancel", "/archive"))


@pytest.mark.slow
def test_no_operation_answers_with_a_server_error_or_off_the_schema(app, client, world, bearer):
    for role in ("member_a", "buyer"):
        world.users[role].email_confirmed_at = datetime.now(UTC)
    headers = {role: bearer(world.users[role]) for role in ("member_a", "buyer", "coordinator_27")}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checks = _checks(app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    operations = [op for op in operations if op.definition.raw.get("operationId") not in SKIPPED]

    # 1. Everything generated.
    generated: list[tuple[str, str, int]] = []
    for operation in operations:
        _run(operation, headers["member_a"], generated, max_examples=MAX_EXAMPLES, checks=checks)
    # The token was accepted: writes got past authentication (to success or to the services' validation).
    writes = [status for method, _, status in generated if method != "GET"]
    assert any(200 <= status < 300 for status in writes)
    assert sum(status == 422 for status in writes) > 0
    assert sum(status == 401 for status in writes) < len(writes) / 4

    # 2. Real ids in the path; the destructive operations last, so that the others find their objects.
    draft_lot = world.draft_tender.lots[0]
    passes = {
        "member_a": {"tender_id": world.open_tender.id, "lot_id": world.open_tender.lots[0].id,
                     "response_id": world.response_a.id, "listing_id": world.listing_a.id,
                     "organization_id": world.org_a.id, "community_id": world.open_community.id,
                     "scheme": "okpd2", "code": "25.62"},
        "buyer": {"tender_id": world.draft_tender.id, "lot_id": draft_lot.id,
                  "response_id": world.open_response_b.id, "organization_id": world.buyer_org.id},
        "coordinator_27": {"listing_id": world.listing_a.id, "organization_id": world.org_a.id},
    }
    known: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for role, ids in passes.items():
        if role == "coordinator_27":  # the supplier's pass may have moved A out of region 27 (PATCH region)
            from marketplace.extensions import db

            db.session.refresh(world.org_a)
            world.org_a.region_code = "27"
            db.session.commit()
        for operation in sorted(operations, key=_destructive):
            path_parameters = _known_ids(operation, ids)
            if path_parameters is None or (role == "coordinator_27") != operation.path.startswith(
                    "/api/v1/coordinator/"):
                continue
            _run(operation, headers[role], known[role], max_examples=MAX_EXAMPLES_KNOWN_IDS, checks=checks,
                 path_parameters=path_parameters)

    # The ids reached the objects: each read of the supplier's pass found what it asked for ...
    reads: dict[str, set[int]] = defaultdict(set)
    for method, path, status in known["member_a"]:
        if method == "GET":
            reads[path].add(status)
    assert len(reads) >= 10
    missed = {path: found for path, found in reads.items()
              if path not in NOT_FOUND_BY_DESIGN and not any(200 <= s < 300 for s in found)}
    assert missed == {}
    # ... and the writes of each pass got past the lookups to the services (success, or their 409 / 422).
    for role, results in known.items():
        write_statuses = {status for method, _, status in results if method != "GET"}
        assert write_statuses & {200, 201, 204, 409, 422}, (role, write_statuses)
    assert any(200 <= status < 300 for method, _, status in known["buyer"] if method != "GET"), \
        sorted({(method, path, status) for method, path, status in known["buyer"] if method != "GET"})
    assert any(path.endswith("/verify") and status == 200 for _, path, status in known["coordinator_27"]), \
        sorted(set(known["coordinator_27"]))
