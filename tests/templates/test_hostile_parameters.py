"""Parameter values reach a template notebook as data, never as code (issue 10, point 2).

papermill writes the values into an injected cell through its Python translator; these
tests feed it values built to break out of a string literal and check, on a real render,
that they arrive verbatim and that nothing they spell out ran.
"""

import ast
import json

import nbformat
import pytest

from neuroshorts import templates, visuals
from neuroshorts.errors import TemplateRunError

pytestmark = pytest.mark.render

HOSTILE = [
    "Say \"hi\" and 'bye'.",
    'Close """ and open """ again.',
    "Line one.\nLine two.\r\nLine three.",
    "Backslash \\ then \\n and \\x41.",
    "__import__('os').system('touch {marker}')",
    "\"); __import__('os').system('touch {marker}'); (\"",
    "'''; __import__('os').system('touch {marker}'); '''",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One draft render whose title and call to action carry every hostile value."""
    folder = tmp_path_factory.mktemp("hostile")
    marker = folder / "pwned"
    values = [value.format(marker=marker) for value in HOSTILE]
    script = "Quotes, newlines and code are only words here."
    cta = " | ".join(v for v in values if "{{" not in v)
    parameters = {"script": script, "title": values[0], "cta": cta, "quality": "draft"}
    manifest = templates.run("explainer", parameters, folder / "x.mp4", progress=False)
    return manifest, marker, parameters


def test_hostile_values_arrive_verbatim_in_the_notebook_and_the_manifest(run):
    manifest, _, parameters = run
    assert manifest.parameters["cta"] == parameters["cta"]
    recorded = json.loads(manifest.model_dump_json())["parameters"]
    assert recorded["title"] == parameters["title"]
    executed = nbformat.read(manifest.notebook, as_version=4)
    injected = next(
        c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])
    )
    # Every statement papermill injected is `name = <literal>`: nothing there can run.
    assigned = {}
    for node in ast.parse(injected.source).body:
        assert isinstance(node, ast.Assign), ast.unparse(node)
        assigned[node.targets[0].id] = ast.literal_eval(node.value)
    assert assigned["cta"] == parameters["cta"] and assigned["title"] == parameters["title"]


def test_code_spelled_out_in_values_never_runs(run):
    _, marker, _ = run
    assert not marker.exists()


def test_jinja_in_a_value_cannot_reach_python_internals():
    with pytest.raises(ValueError, match="title: .* unsafe"):
        visuals.render_text(HOSTILE[-1], field="title")
    for tag in ("include '/etc/passwd'", "import '/etc/passwd' as m", "extends '/etc/passwd'"):
        with pytest.raises(ValueError, match="title: .* tries to include another template"):
            visuals.render_text(f"{{% {tag} %}}", field="title")
    with pytest.raises(ValueError, match="title: .* unsafe"):
        visuals.render_text("{{ cycler.__init__.__globals__ }}", field="title")


def test_a_hostile_title_is_refused_inside_the_render_and_writes_no_video(tmp_path):
    with pytest.raises(TemplateRunError, match="title"):
        templates.run(
            "explainer",
            {"script": "Hi.", "title": HOSTILE[-1], "quality": "draft"},
            tmp_path / "x.mp4",
            progress=False,
        )
    assert not (tmp_path / "x.mp4").exists()
