"""Nothing a request names may lead out of where the service keeps things.

Template names stay in the template directories, outputs in the output directory (or
under a configured URL prefix), and media come from URLs the allow-list lets through,
never from the server's own files unless the operator says so. Each refusal is a 422
naming the field, and nothing is queued. The API runs on loopback with no worker.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from neuroshorts import templates
from neuroshorts.apps.service import references
from neuroshorts.errors import AssetError
from neuroshorts.media import assets
from neuroshorts.media.policy import HOSTS_ENV, KNOWN_SCHEMES, SCHEMES_ENV
from neuroshorts.settings import Settings
from support.service_stack import running_stack

pytestmark = pytest.mark.services

PREFIX = "s3://renders-bucket/jobs/"
SCRIPT = {"script": "Hi.", "quality": "draft"}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    root = tmp_path_factory.mktemp("paths")
    with running_stack(
        root, "embedded", workers=0, output_url_prefixes=PREFIX, callback_hosts="public"
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """A folder outside every directory the service owns, with a notebook and a file."""
    folder = tmp_path_factory.mktemp("outside")
    shutil.copy(templates.find("quote"), folder / "quote-copy.ipynb")
    (folder / "secret.mp4").write_bytes(b"not yours")
    return folder


def post(stack, body: dict, path: str = "/v1/renders") -> httpx.Response:
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        return http.post(path, json=body)


def refused(stack, body: dict, status: int, field: str, path: str = "/v1/renders") -> str:
    """POST `body`; assert it is refused naming `field` and queues nothing; the reason."""
    before = (stack.store.count(), stack.queue_length())
    response = post(stack, body, path)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field, error
    assert (stack.store.count(), stack.queue_length()) == before
    return error["reason"]


# -- template names -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../templates/explainer",
        "../../templates/explainer.ipynb",
        "templates/explainer.ipynb",
        "explainer.ipynb",
        "{outside}/quote-copy.ipynb",
        "{outside}/quote-copy",
        "*",
        "",
    ],
)
def test_a_template_is_named_never_reached_by_a_path(api, outside, name):
    name = name.format(outside=outside)
    status = 422 if name == "" else 404  # an empty name is refused by the schema
    refused(api, {"template": name, "parameters": SCRIPT}, status, "template")


def test_a_template_that_is_a_symlink_out_of_its_directory_is_not_found(
    api, outside, tmp_path, monkeypatch
):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "escape.ipynb").symlink_to(outside / "quote-copy.ipynb")
    shutil.copy(templates.find("quote"), folder / "kept.ipynb")
    monkeypatch.setenv("NEUROSHORTS_TEMPLATES", str(folder))
    with httpx.Client(base_url=api.url, timeout=30) as http:
        listed = {t["name"] for t in http.get("/v1/templates").json()}
        escape = http.get("/v1/templates/escape")
        kept = http.get("/v1/templates/kept")
    assert "kept" in listed and "escape" not in listed
    assert kept.status_code == 200
    assert escape.status_code == 404 and escape.json()["error"]["field"] == "name"
    refused(api, {"template": "escape", "parameters": SCRIPT}, 404, "template")
    assert post(api, {"template": "kept", "parameters": SCRIPT}).status_code == 202


# -- outputs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "says"),
    [
        ("../escape.mp4", "`..`"),
        ("clips/../../escape.mp4", "`..`"),
        ("/tmp/escape.mp4", "not a relative name"),
        ("~/escape.mp4", "not a relative name"),
        ("file:///tmp/escape.mp4", "allowed prefix"),
        ("s3://another-bucket/jobs/a.mp4", "allowed prefix"),
        ("s3://renders-bucket/elsewhere/a.mp4", "allowed prefix"),
        ("s3://renders-bucket/jobs/../a.mp4", "`..`"),
        ("clips/.hidden.mp4", "hidden"),
        ("clips//a.mp4", "empty"),
        ("a\x00b.mp4", "control characters"),
        ("a\nb.mp4", "control characters"),
        ("x" * 300 + ".mp4", "longer than 255 bytes"),
        ("clip.mov", ".mp4"),
    ],
)
def test_an_output_outside_the_output_directory_or_prefix_is_refused(api, output, says):
    reason = refused(
        api, {"template": "explainer", "parameters": SCRIPT, "output": output}, 422, "output"
    )
    assert says in reason


def test_an_output_cannot_follow_a_symlink_out_of_the_output_directory(api, outside):
    root = api.settings.output_dir
    (root / "linked-dir").symlink_to(outside, target_is_directory=True)
    (root / "linked.mp4").symlink_to(outside / "secret.mp4")
    for output in ("linked-dir/new.mp4", "linked.mp4"):
        body = {"template": "explainer", "parameters": SCRIPT, "output": output}
        assert "symlink" in refused(api, body, 422, "output")
    assert (outside / "secret.mp4").read_bytes() == b"not yours"


def test_an_output_inside_the_directory_or_under_the_prefix_is_accepted(api):
    inside = post(api, {"template": "explainer", "parameters": SCRIPT, "output": "clips/a.mp4"})
    remote = post(api, {"template": "explainer", "parameters": SCRIPT, "output": PREFIX + "b.mp4"})
    assert inside.status_code == remote.status_code == 202, (inside.text, remote.text)
    assert inside.json()["output"] == str(api.settings.output_dir.resolve() / "clips" / "a.mp4")
    assert remote.json()["output"] == PREFIX + "b.mp4"


def test_a_batch_row_output_obeys_the_same_rule(api):
    rows = [{**SCRIPT, "output": "ok.mp4"}, {**SCRIPT, "output": "../../etc/cron.d/x.mp4"}]
    refused(api, {"template": "explainer", "rows": rows}, 422, "rows[1].output", "/v1/batches")


# -- media references -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameter", "value", "says"),
    [
        ("background", "/etc/passwd", "file on the server"),
        ("background", "file:///etc/passwd", "file on the server"),
        ("background", "../../../../etc/hostname.jpg", "file on the server"),
        ("logo", "~/.ssh/id_rsa.png", "file on the server"),
        ("music", "builtin:dawn|/etc/passwd", "file on the server"),
        ("voice", "file:/etc/passwd", "file on the server"),
        ("voice", "piper:../../../../tmp/model", "not a path"),
        ("caption_font", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "file on the server"),
        ("background", "builtin:../fonts/Lato-Black", "not a bundled name"),
        ("background", "http://169.254.169.254/latest/meta-data/x.jpg", "link-local"),
        ("background", "http://[fe80::1]/x.jpg", "link-local"),
        ("background", "http://127.0.0.1:9/x.jpg", "loopback"),
        ("logo", "http://localhost:8000/x.png", "loopback"),
        ("background", "http://10.0.0.8/x.jpg", "private"),
        ("background", "http://2130706433/x.jpg", "127.0.0.1 in another notation"),
        ("background", "http://0x7f.0.0.1/x.jpg", "127.0.0.1 in another notation"),
        ("logo", "http://0177.0.0.1/x.png", "127.0.0.1 in another notation"),
        ("music", "https://127.1/a.mp3", "127.0.0.1 in another notation"),
        ("background", "http://0xa9fea9fe/x.jpg", "169.254.169.254 in another notation"),
        ("music", "ftp://example.com/a.mp3", "not supported"),
    ],
)
def test_media_on_the_server_or_internal_hosts_are_refused_naming_the_parameter(
    api, parameter, value, says
):
    body = {"template": "explainer", "parameters": {**SCRIPT, parameter: value}}
    with httpx.Client(base_url=api.url, timeout=30) as http:
        before = (api.store.count(), api.queue_length())
        response = http.post("/v1/renders", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == f"parameters.{parameter}" and error["value"] == value
    assert says in error["reason"]
    assert (api.store.count(), api.queue_length()) == before


def test_a_local_file_in_a_batch_row_is_refused_naming_the_row(api):
    rows = [SCRIPT, {**SCRIPT, "background": "file:///etc/passwd"}]
    refused(api, {"template": "explainer", "rows": rows}, 422, "rows[1].background", "/v1/batches")


def test_media_that_are_not_files_or_are_public_urls_are_accepted(api):
    for parameter, value in [
        ("background", "solid:#102030"),
        ("background", "gradient:#000000,#ffffff"),
        ("background", "builtin:aurora"),
        ("background", "https://example.com/photo.jpg"),
        ("music", "builtin:dawn|builtin:drift"),
        ("voice", "espeak:es"),
        ("caption_font", "display"),
        ("title", "/r/python is a path-looking title, and titles are text"),
    ]:
        body = {"template": "explainer", "parameters": {**SCRIPT, parameter: value}}
        response = post(api, body)
        assert response.status_code == 202, (parameter, value, response.text)


def test_loopback_media_are_accepted_once_the_host_is_allowed(api, monkeypatch):
    body = {"template": "explainer", "parameters": {**SCRIPT, "logo": "http://127.0.0.1:9/l.png"}}
    assert post(api, body).status_code == 422
    monkeypatch.setenv(HOSTS_ENV, "public,127.0.0.1")
    assert post(api, body).status_code == 202


# -- callbacks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:9/hook", "127.0.0.1 is a loopback address"),
        ("http://[::1]:9/hook", "::1 is a loopback address"),
        ("http://localhost:9/hook", "loopback"),
        ("http://hooks.localhost/hook", "loopback"),
        ("http://2130706433:9/hook", "127.0.0.1 in another notation"),
        ("http://0x7f.0.0.1:9/hook", "127.0.0.1 in another notation"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.8/hook", "private"),
        ("file:///etc/passwd", "http:// or https://"),
        ("http://example.com:port/hook", "http:// or https://"),
    ],
)
def test_a_callback_to_a_host_not_allowed_is_refused_naming_callback_url(api, url, says):
    body = {"template": "explainer", "parameters": SCRIPT, "callback_url": url}
    assert says in refused(api, body, 422, "callback_url")
    rows = {"template": "explainer", "rows": [SCRIPT], "callback_url": url}
    assert says in refused(api, rows, 422, "callback_url", "/v1/batches")


def test_a_callback_to_a_public_name_is_accepted_and_judged_again_at_delivery(api):
    body = {"template": "explainer", "parameters": SCRIPT}
    for url in ("https://n8n.example.com/webhook-waiting/1?signature=x", "http://93.184.216.34/"):
        response = post(api, {**body, "callback_url": url})
        assert response.status_code == 202, response.text


def test_local_files_are_accepted_only_where_configured(tmp_path, outside):
    body = {"template": "explainer", "parameters": {**SCRIPT, "background": str(outside / "x.jpg")}}
    with running_stack(tmp_path, "embedded", workers=0, local_files="true") as stack:
        response = post(stack, body)
    assert response.status_code == 202, response.text


def test_the_cli_keeps_local_files_and_a_worker_drops_them(tmp_path, monkeypatch):
    photo = tmp_path / "photo.jpg"
    shutil.copy(assets.resolve("builtin:aurora"), photo)
    monkeypatch.setenv(SCHEMES_ENV, ",".join(KNOWN_SCHEMES))
    assert assets.resolve(str(photo)) == photo, "the CLI renders the user's own files"

    references.apply_to_process(Settings(data_dir=tmp_path))
    with pytest.raises(AssetError, match="background: .* file scheme"):
        assets.resolve(str(photo), field="background")
    assert assets.resolve("builtin:aurora").is_file(), "bundled media still work"
