"""The n8n example imports as a workflow and speaks the API's render contract."""

import json
import re
import shutil
import subprocess
import threading
import time

import httpx
import pytest
import uvicorn

from neuroshorts import templates
from neuroshorts.apps.service import schemas
from neuroshorts.apps.service.api import create_app
from neuroshorts.settings import Settings
from support import REPO

EXAMPLE = REPO / "examples" / "n8n"
WORKFLOWS = sorted(EXAMPLE.glob("*.json"))


def nodes_by_type(workflow, node_type):
    return [node for node in workflow["nodes"] if node["type"] == f"n8n-nodes-base.{node_type}"]


@pytest.fixture(scope="module")
def workflow():
    return json.loads((EXAMPLE / "render-short.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_every_json_in_the_folder_is_an_importable_workflow(path):
    """`n8n import:workflow --separate` imports every .json there, so each must be one."""
    workflow = json.loads(path.read_text(encoding="utf-8"))
    assert workflow["name"] and workflow["nodes"] and isinstance(workflow["connections"], dict)
    names = [node["name"] for node in workflow["nodes"]]
    assert len(names) == len(set(names)), "node names must be unique: connections use them"
    ids = [node["id"] for node in workflow["nodes"]]
    assert len(ids) == len(set(ids))
    for node in workflow["nodes"]:
        assert node["type"].startswith("n8n-nodes-base.") and node["typeVersion"] > 0
        assert len(node["position"]) == 2 and isinstance(node["parameters"], dict)


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_every_connection_joins_existing_nodes_and_every_node_is_reached(path):
    workflow = json.loads(path.read_text(encoding="utf-8"))
    names = {node["name"] for node in workflow["nodes"]}
    reached = set()
    for source, outputs in workflow["connections"].items():
        assert source in names, f"connection from unknown node {source!r}"
        for branch in outputs["main"]:
            for link in branch:
                assert link["node"] in names, f"{source!r} connects to unknown {link['node']!r}"
                assert link["type"] == "main" and link["index"] == 0
                reached.add(link["node"])
    triggers = {n["name"] for n in workflow["nodes"] if n["type"].endswith("Trigger")}
    assert triggers and names - triggers == reached


def test_the_http_node_posts_to_renders_with_the_resume_url_as_callback(workflow):
    [http] = nodes_by_type(workflow, "httpRequest")
    parameters = http["parameters"]
    assert parameters["method"] == "POST"
    assert parameters["url"].endswith("/v1/renders")
    assert parameters["sendBody"] and parameters["specifyBody"] == "json"
    body = parameters["jsonBody"]
    assert "callback_url: $execution.resumeUrl" in body
    assert "template:" in body and "parameters:" in body
    headers = {h["name"]: h["value"] for h in parameters["headerParameters"]["parameters"]}
    assert "$execution.id" in headers["Idempotency-Key"]  # the same on every retry of a run
    assert http["retryOnFail"] is True and http["maxTries"] > 1
    assert parameters["genericAuthType"] == "httpHeaderAuth"


def test_the_wait_node_resumes_on_the_callback_and_the_video_url_is_used(workflow):
    [wait] = nodes_by_type(workflow, "wait")
    assert wait["parameters"]["resume"] == "webhook"
    assert wait["parameters"]["httpMethod"] == "POST"  # the API POSTs the job JSON
    [http] = nodes_by_type(workflow, "httpRequest")
    assert workflow["connections"][http["name"]]["main"][0][0]["node"] == wait["name"]
    values = [
        assignment["value"]
        for node in nodes_by_type(workflow, "set")
        for assignment in node["parameters"].get("assignments", {}).get("assignments", [])
    ]
    assert "={{ $json.video_url }}" in values


def test_the_body_speaks_the_api_contract_and_the_template_schema(workflow):
    """The keys the workflow sends are the API's request fields and the template's parameters."""
    [http] = nodes_by_type(workflow, "httpRequest")
    body = http["parameters"]["jsonBody"]
    sent = set(re.findall(r"^  (\w+):", body, re.MULTILINE))
    assert {"template", "parameters", "callback_url"} <= sent
    assert sent <= set(schemas.RenderRequest.model_fields)
    [short] = [node for node in nodes_by_type(workflow, "set") if node["name"] == "Short to render"]
    values = {a["name"]: a["value"] for a in short["parameters"]["assignments"]["assignments"]}
    inner = re.search(r"parameters: \{(.*?)\}", body).group(1)
    parameters = dict(re.findall(r"(\w+): \$json\.(\w+)", inner))
    assert parameters and set(parameters.values()) <= set(values)
    checked = templates.validate(values["template"], {n: values[v] for n, v in parameters.items()})
    assert checked["script"] == values["script"]


#: n8n's expression syntax, enough of it for this workflow: `={{ js }}` segments in text.
EVALUATE = r"""
const {templates, context} = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const names = Object.keys(context);
const render = (text) => !text.startsWith('=') ? text : text.slice(1).replace(
  /\{\{([\s\S]*?)\}\}/g,
  (_, code) => String(new Function(...names, `return (${code});`)(...Object.values(context))),
);
process.stdout.write(JSON.stringify(templates.map(render)));
"""


def n8n_expressions(texts, context):
    """The texts as n8n would render them, evaluated by Node.js (the engine n8n runs on)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: n8n's expressions are JavaScript")
    done = subprocess.run(
        [node, "-e", EVALUATE],
        input=json.dumps({"templates": texts, "context": context}),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The real API on a loopback port, with an API key, in embedded mode (no servers)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("api"), api_key="n8n-test-key")
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, sweep=False), port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the API did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(30)


def node_named(workflow, name):
    [node] = [node for node in workflow["nodes"] if node["name"] == name]
    return node


@pytest.fixture(scope="module")
def submitted(workflow, api):
    """The workflow's request as n8n renders it, sent twice (a retry) to the real API."""
    assignments = node_named(workflow, "Short to render")["parameters"]["assignments"]
    assignments = assignments["assignments"]
    [http] = nodes_by_type(workflow, "httpRequest")
    context = {
        "$env": {"NEUROSHORTS_API_URL": api},
        "$execution": {"id": "41", "resumeUrl": "http://n8n.example:5678/webhook-waiting/41"},
        "$itemIndex": 0,
    }
    values = n8n_expressions([a["value"] for a in assignments], {**context, "$json": {}})
    item = {a["name"]: value for a, value in zip(assignments, values, strict=True)}
    headers = http["parameters"]["headerParameters"]["parameters"]
    url, body, *header_values = n8n_expressions(
        [http["parameters"]["url"], http["parameters"]["jsonBody"], *(h["value"] for h in headers)],
        {**context, "$json": item},
    )
    sent = {h["name"]: value for h, value in zip(headers, header_values, strict=True)}
    sent |= {"X-API-Key": "n8n-test-key", "Content-Type": "application/json"}
    first = httpx.post(url, content=body, headers=sent, timeout=30)
    retry = httpx.post(url, content=body, headers=sent, timeout=30)  # n8n's Retry on Fail
    return first, retry, item, context


def test_the_request_n8n_sends_is_accepted_and_its_retry_is_the_same_job(submitted):
    first, retry, item, context = submitted
    assert first.status_code == 202, first.text
    job = first.json()
    assert job["state"] == "queued" and job["template"] == item["template"]
    assert job["parameters"]["script"] == item["script"]
    assert job["webhook"]["url"] == context["$execution"]["resumeUrl"]
    assert retry.status_code == 200 and retry.json()["id"] == job["id"]


def test_the_nodes_after_the_wait_read_the_job_the_callback_posts(workflow, submitted):
    first, _, _, context = submitted
    job = {**first.json(), "state": "succeeded", "video_url": "https://cdn.example/v.mp4"}
    unwrap = node_named(workflow, "Job")["parameters"]["jsonOutput"]
    rendered = node_named(workflow, "Rendered?")["parameters"]["conditions"]["conditions"][0]
    use = node_named(workflow, "Use the video")["parameters"]["assignments"]["assignments"]
    failed = node_named(workflow, "Render failed")["parameters"]["errorMessage"]

    webhook_call = {"headers": {}, "params": {}, "query": {}, "body": job}  # the Wait node's item
    [unwrapped] = n8n_expressions([unwrap], {**context, "$json": webhook_call})
    state, *used = n8n_expressions(
        [rendered["leftValue"], *(a["value"] for a in use)],
        {**context, "$json": json.loads(unwrapped)},
    )
    assert state == rendered["rightValue"] == "succeeded"
    assert dict(zip((a["name"] for a in use), used, strict=True))["video_url"] == job["video_url"]

    [timed_out] = n8n_expressions([unwrap], {**context, "$json": first.json()})  # no callback
    [message] = n8n_expressions([failed], {**context, "$json": json.loads(timed_out)})
    assert message.startswith(f"NeuroShorts job {job['id']} is queued: no callback")
