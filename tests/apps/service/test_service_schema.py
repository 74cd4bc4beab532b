"""The API against its own OpenAPI schema: generated requests, valid or not, never get a
5xx, and every error is the JSON error body with a reason (schemathesis, in process)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from neuroshorts.apps.service.api import create_app
from neuroshorts.settings import Settings

pytestmark = pytest.mark.slow


def test_generated_requests_get_no_server_error_and_json_errors(tmp_path):
    app = create_app(Settings(data_dir=tmp_path, queue="schema-fuzz"), sweep=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @settings(
            max_examples=15,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def call(case: schemathesis.Case) -> None:
            response = case.call_and_validate(checks=[not_a_server_error])
            if response.status_code >= 400:
                assert response.json()["error"]["reason"], response.text

        call()
    app.state.store.close()
