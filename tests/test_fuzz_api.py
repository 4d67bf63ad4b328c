"""Central's API fuzzed from its own OpenAPI document (schemathesis + Hypothesis), on SQLite and
PostgreSQL: no request, however malformed, gets a server error, and no invalid request changes data."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.central_harness import Central, store_unchanged

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXAMPLES_PER_OPERATION = 12


def _operations(central: Central) -> list[schemathesis.schemas.APIOperation]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", central.client.app)
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(central: Central, mode: GenerationMode, check_unchanged: bool) -> list[str]:
    """Runs every operation's generated cases; returns what went wrong (empty when nothing did)."""
    problems: list[str] = []
    # A real terminal token, so requests get past authentication and reach the handlers.
    headers = {"Authorization": f"Bearer {central.terminal_token}"}
    for operation in _operations(central):

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            if isinstance(case.query, dict) and isinstance(case.query.get("wait"), int | float):
                case.query["wait"] = 0  # the long poll's wait is valid up to 30 s; no need to sit through it
            try:
                if check_unchanged:
                    with store_unchanged(central):
                        response = case.call(headers=headers)
                else:
                    response = case.call(headers=headers)
            except AssertionError as exc:
                problems.append(f"{case.method} {case.formatted_path}: {exc}")
                return
            if response.status_code >= 500:
                problems.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text}")

        try:
            run()
        except Unsatisfiable:
            continue  # an operation with no input to get wrong (no parameters, no body)
    return problems


def test_no_request_that_fits_the_schema_gets_a_server_error(central):
    assert _fuzz(central, GenerationMode.POSITIVE, check_unchanged=False) == []


def test_no_invalid_request_gets_a_server_error_or_changes_data(central):
    assert _fuzz(central, GenerationMode.NEGATIVE, check_unchanged=True) == []
