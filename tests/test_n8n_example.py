"""The n8n example imports as a workflow and speaks the API's render contract."""

import json
import re
from pathlib import Path

import pytest

from neuroshorts import templates

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "n8n"
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
    schemas = pytest.importorskip("neuroshorts.service.schemas")
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
