"""Schemathesis against the live API: over 1,000 generated requests, no 5xx, no bad error.

Two schemas drive it. The OpenAPI schema exactly as `/openapi.json` serves it; and the
same schema with each render and batch body refined by the parameter schema every
template publishes at `/v1/templates`, so generated requests get past "no such
template" into the parameter, media, limit and output checks. Both generate valid and
invalid data (schemathesis' positive and negative modes), derandomized: the same
requests every run.

The API runs on loopback with an API key and the embedded broker in a temporary folder
that no worker consumes: a generated request that is valid is queued and stays queued,
and all of it goes with the folder.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis import checks as conformance

from support.service_stack import running_stack

pytestmark = [pytest.mark.services, pytest.mark.slow]

KEY = "fuzz-key"
#: Examples per schema; each is one request.
EXAMPLES = 600
MINIMUM_REQUESTS = 1_000
#: Statuses whose error is about the URL or method itself, so no request field is at fault.
WITHOUT_FIELD = {404: "no such route", 405: "method not allowed"}
CHECKS = [
    conformance.not_a_server_error,
    conformance.status_code_conformance,
    conformance.content_type_conformance,
    conformance.response_schema_conformance,
]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    with running_stack(root, "embedded", workers=0, api_key=KEY) as stack:
        yield stack


def refined(document: dict[str, Any], catalog: list[dict[str, Any]]) -> dict[str, Any]:
    """The OpenAPI document with render and batch bodies typed per template."""
    document = copy.deepcopy(document)
    render = document["components"]["schemas"]["RenderRequest"]
    variants = []
    for template in catalog:
        properties = copy.deepcopy(render["properties"])
        properties["template"] = {"type": "string", "enum": [template["name"]]}
        properties["parameters"] = template["parameters"]
        variants.append(
            {
                "type": "object",
                "properties": properties,
                "required": ["template"],
                "additionalProperties": False,
            }
        )
    document["components"]["schemas"]["RenderRequest"] = {"anyOf": variants}
    batch = document["paths"]["/v1/batches"]["post"]["requestBody"]["content"]
    batch["application/json"]["schema"] = {
        "anyOf": [
            {
                "type": "object",
                "properties": {
                    "template": {"type": "string", "enum": [template["name"]]},
                    "rows": {
                        "type": "array",
                        "items": template["parameters"],
                        "minItems": 1,
                        "maxItems": 4,
                    },
                },
                "required": ["template", "rows"],
                "additionalProperties": False,
            }
            for template in catalog
        ]
    }
    return document


def assert_error_body(response: httpx.Response | Any, route_exists: bool = True) -> None:
    """`{"error": {"field", "reason", "value"}}` with a reason, and a field unless the
    route or method itself is wrong."""
    error = response.json()["error"]
    assert set(error) == {"field", "reason", "value"}, response.text
    assert isinstance(error["reason"], str) and error["reason"].strip(), response.text
    if route_exists and response.status_code != 405:
        assert isinstance(error["field"], str) and error["field"], response.text
    else:
        assert response.status_code in WITHOUT_FIELD and error["field"] is None, response.text


def fuzz(schema: Any, base_url: str, calls: list[tuple[str, int]]) -> None:
    strategy = st.one_of(
        schema.as_strategy(GenerationMode.POSITIVE), schema.as_strategy(GenerationMode.NEGATIVE)
    )

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=strategy)
    def one(case: Any) -> None:
        case.headers = {**(case.headers or {}), "X-API-Key": KEY}
        response = case.call(base_url=base_url, timeout=30)
        calls.append((f"{case.method} {case.path}", response.status_code))
        assert response.status_code < 500, response.text
        if 400 <= response.status_code < 500:
            assert_error_body(response)
        case.validate_response(response, checks=CHECKS)

    one()


def test_generated_requests_get_no_5xx_and_every_4xx_names_field_and_reason(api):
    with httpx.Client(base_url=api.url, headers={"X-API-Key": KEY}) as http:
        document = http.get("/openapi.json").json()
        catalog = http.get("/v1/templates").json()
    served = schemathesis.openapi.from_dict(document)
    deep = schemathesis.openapi.from_dict(refined(document, catalog))
    calls: list[tuple[str, int]] = []
    started = time.perf_counter()
    for schema in (served, deep):
        fuzz(schema, api.url, calls)
    seconds = time.perf_counter() - started
    print(f"{len(calls)} generated requests in {seconds:.1f} s")

    assert len(calls) >= MINIMUM_REQUESTS
    statuses = {status for _, status in calls}
    assert max(statuses) < 500
    # The refined schema reached past validation: jobs were accepted and queued.
    assert 202 in statuses and 422 in statuses
    jobs = api.store.list_jobs(limit=500)[0]
    assert jobs and {job.state for job in jobs} <= {"queued", "cancelled"}
    assert not list(api.settings.output_dir.rglob("*.mp4")), "no render may have run"


def test_only_a_wrong_route_or_method_has_no_field(api):
    with httpx.Client(base_url=api.url, headers={"X-API-Key": KEY}) as http:
        no_route = http.get("/v1/nothing-here")
        wrong_method = http.delete("/v1/templates")
        no_job = http.get("/v1/renders/" + "0" * 32)
    assert (no_route.status_code, wrong_method.status_code, no_job.status_code) == (404, 405, 404)
    assert_error_body(no_route, route_exists=False)
    assert_error_body(wrong_method, route_exists=False)
    assert_error_body(no_job)
    assert no_job.json()["error"]["field"] == "id"
