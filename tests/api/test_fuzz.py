"""A bounded, deterministic schemathesis run over /api/v1/openapi.json: no operation answers with a 5xx, whatever
the generated path, query and body — with a valid token, so the authenticated operations run too."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

MAX_EXAMPLES = 20
# Revoking tokens by generated ids would revoke the run's own token and turn the rest into 401s; the endpoint
# has its own tests.
SKIPPED = {"delete_token"}


@pytest.mark.slow
def test_no_operation_answers_with_a_server_error(app, client, world, bearer):
    member = world.users["member_a"]
    member.email_confirmed_at = datetime.now(UTC)
    headers = bearer(member)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    exercised = 0
    statuses: list[tuple[str, int]] = []
    for operation in operations:
        if operation.definition.raw.get("operationId") in SKIPPED:
            continue

        @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call(headers=headers)
            statuses.append((case.method, response.status_code))
            case.validate_response(response, checks=[not_a_server_error])

        check()
        exercised += 1
    assert exercised == len(operations) - len(SKIPPED)
    # The token was accepted: writes got past authentication (to success or to the services' validation).
    writes = [status for method, status in statuses if method != "GET"]
    assert any(200 <= status < 300 for status in writes)
    assert sum(status == 422 for status in writes) > 0
    assert sum(status == 401 for status in writes) < len(writes) / 4
