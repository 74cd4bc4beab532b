"""The API on its own (no worker consumes): validation, idempotency, auth, batches, errors.

With nobody consuming, every message the API sends stays in the queue, so "nothing was
enqueued" is read from the broker itself (file-system folder, Redis list) along with the
job count in the store.
"""

from __future__ import annotations

import json

import httpx
import pytest

from neuroshorts.apps.service.webhooks import SIGNATURE_HEADER, verify
from support.service_stack import SECRET, running_stack, wait_for

pytestmark = pytest.mark.services

KEY = "test-api-key"
BODY = {"template": "explainer", "parameters": {"script": "Hola.", "quality": "draft"}}


@pytest.fixture(scope="module", params=["embedded", "redis"])
def api(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"api-{request.param}")
    with running_stack(root, request.param, workers=0, api_key=KEY) as stack:
        yield stack


def client(stack, key: str | None = KEY) -> httpx.Client:
    headers = {"X-API-Key": key} if key else {}
    return httpx.Client(base_url=stack.url, headers=headers, timeout=30)


def counts(stack) -> tuple[int, int]:
    """Jobs in the store and messages waiting in the broker."""
    return stack.store.count(), stack.queue_length()


def test_the_same_idempotency_key_twice_gives_one_job_and_one_message(api):
    before = counts(api)
    with client(api) as http:
        first = http.post("/v1/renders", json=BODY, headers={"Idempotency-Key": "k-1"})
        again = http.post("/v1/renders", json=BODY, headers={"Idempotency-Key": "k-1"})
        other = {**BODY, "parameters": {"script": "Something else."}}
        reused = http.post("/v1/renders", json=other, headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.headers["location"] == f"/v1/renders/{first.json()['id']}"
    assert reused.status_code == 409
    assert reused.json()["error"]["field"] == "Idempotency-Key"
    assert counts(api) == (before[0] + 1, before[1] + 1)


@pytest.mark.parametrize(
    ("change", "status", "field", "says"),
    [
        ({"parameters": {"speed": "fast"}}, 422, "parameters.speed", "a float"),
        ({"parameters": {"caption_style": "rainbow"}}, 422, "parameters.caption_style", "karaoke"),
        ({"parameters": {"scrpt": "Hi."}}, 422, "parameters.scrpt", "a parameter of explainer"),
        ({"parameters": {"quality": True}}, 422, "parameters.quality", "a str"),
        ({"parameters": {"output": "x.mp4"}}, 422, "parameters.output", "request's `output`"),
        ({"output": "../../escape.mp4"}, 422, "output", "inside the output directory"),
        ({"output": "clip.mov"}, 422, "output", ".mp4"),
        ({"callback_url": "ftp://example.com/x"}, 422, "callback_url", "http"),
        ({"template": "no-such-template"}, 404, "template", "not found"),
        ({"template": None}, 422, "template", "string"),
        ({"colour": "red"}, 422, "colour", "Extra inputs"),
    ],
)
def test_a_bad_request_is_refused_naming_the_field_and_nothing_is_queued(
    api, change, status, field, says
):
    before = counts(api)
    body = {**BODY, **change}
    if "parameters" in change:
        body["parameters"] = {**BODY["parameters"], **change["parameters"]}
    with client(api) as http:
        response = http.post("/v1/renders", json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["field"] == field and says in error["reason"], error
    assert counts(api) == before


def test_the_api_key_guards_everything_but_health(api):
    with client(api, key=None) as anonymous, client(api, key="wrong") as wrong:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        assert anonymous.get("/readyz").json()["status"] == "ready"
        for response in (anonymous.get("/v1/templates"), wrong.post("/v1/renders", json=BODY)):
            assert response.status_code == 401
            assert response.json()["error"]["field"] == "X-API-Key"


def test_errors_are_json_with_a_reason_never_a_traceback(api):
    with client(api) as http:
        responses = {
            "unknown job": http.get("/v1/renders/nope"),
            "unknown route": http.get("/v2/anything"),
            "wrong method": http.delete("/v1/renders"),
            "bad JSON": http.post(
                "/v1/renders", content=b"{not json", headers={"Content-Type": "application/json"}
            ),
            "bad filter": http.get("/v1/renders", params={"state": "sleeping"}),
            "no video yet": None,
        }
        queued = http.post("/v1/renders", json=BODY).json()
        responses["no video yet"] = http.get(f"/v1/renders/{queued['id']}/video")
    statuses = {name: response.status_code for name, response in responses.items()}
    assert statuses == {
        "unknown job": 404,
        "unknown route": 404,
        "wrong method": 405,
        "bad JSON": 422,
        "bad filter": 422,
        "no video yet": 409,
    }
    for response in responses.values():
        error = response.json()["error"]
        assert error["reason"] and "Traceback" not in response.text
    assert responses["bad filter"].json()["error"]["field"] == "state"


def test_templates_come_with_the_json_schema_of_their_parameters(api):
    with client(api) as http:
        listing = http.get("/v1/templates").json()
        one = http.get("/v1/templates/explainer").json()
        missing = http.get("/v1/templates/nope")
    assert {"explainer", "quote", "listicle", "news"} <= {t["name"] for t in listing}
    properties = one["parameters"]["properties"]
    assert properties["script"]["type"] == "string"
    assert properties["speed"] == {**properties["speed"], "type": "number", "default": 1.0}
    assert "karaoke" in properties["caption_style"]["enum"]
    assert "output" not in properties
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "name"


def test_a_batch_from_json_or_csv_queues_one_job_per_row_or_none(api):
    before = counts(api)
    rows = [{"script": "One.", "quality": "draft"}, {"script": "Two.", "speed": "1.2"}]
    csv_text = "script,quality,output\nThree.,draft,batch/three.mp4\nFour.,draft,\n"
    with client(api) as http:
        from_json = http.post("/v1/batches", json={"template": "explainer", "rows": rows})
        from_csv = http.post(
            "/v1/batches",
            params={"template": "explainer"},
            content=csv_text.encode(),
            headers={"Content-Type": "text/csv"},
        )
        batch_id = from_json.json()["batch_id"]
        listed = http.get("/v1/renders", params={"batch_id": batch_id}).json()
        middle = counts(api)
        bad = [*rows, {"script": "Five.", "speed": "fast"}]
        refused = http.post("/v1/batches", json={"template": "explainer", "rows": bad})
    assert from_json.status_code == from_csv.status_code == 202
    assert listed["total"] == 2 and {j["batch_id"] for j in listed["items"]} == {batch_id}
    assert [j["parameters"] for j in from_json.json()["jobs"]][1]["speed"] == 1.2
    three, four = from_csv.json()["jobs"]
    assert three["output"] == str(api.settings.output_dir / "batch" / "three.mp4")
    assert four["output"] == str(api.settings.output_dir / f"{four['id']}.mp4")
    assert middle == (before[0] + 4, before[1] + 4)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "rows[2].speed"
    assert counts(api) == middle, "a batch with one bad row queues nothing"


def test_cancelling_a_queued_job_is_immediate_and_calls_back(api, receiver):
    path = f"/queued-cancel/{api.settings.queue}"
    with client(api) as http:
        job = http.post("/v1/renders", json={**BODY, "callback_url": receiver.url(path)}).json()
        cancelled = http.post(f"/v1/renders/{job['id']}/cancel")
        again = http.post(f"/v1/renders/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert again.status_code == 409
    (call,) = wait_for(lambda: receiver.calls_to(path), 30, "the callback")
    assert verify(call.body, call.headers[SIGNATURE_HEADER], SECRET)
    assert json.loads(call.body)["state"] == "cancelled"
