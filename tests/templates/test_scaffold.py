"""`neuroshorts new`: a scaffolded template keeps the template contract and renders."""

import logging
import os

import nbformat
import pytest
from jupyter_client.manager import KernelManager

from neuroshorts import studio, templates
from neuroshorts.apps import cli
from neuroshorts.errors import TemplateError
from neuroshorts.templates import scaffold
from support.media import probe


def test_new_template_has_the_contract_parameters_and_no_outputs(tmp_path):
    path = scaffold.create("promo_card", tmp_path)
    assert path == tmp_path / "promo_card.ipynb"
    schema = templates.parameters(path)
    assert {"script", "output", "quality", "title", "voice", "background"} <= set(schema)
    assert schema["output"].default == ""
    assert schema["quality"].choices == ("draft", "final")
    assert schema["title"].default == "Promo Card"
    assert all(p.help for p in schema.values())
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.cells[0].source.startswith("# Promo Card")
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert not any(c.outputs or c.execution_count for c in code)
    assert "render(" in code[-1].source and "studio.preview" in code[-1].source
    assert templates._description(path).startswith("A narrated short")


@pytest.mark.render
def test_new_template_renders_a_draft(tmp_path):
    path = scaffold.create("demo2", tmp_path / "templates")
    manifest = templates.run(
        path,
        {"script": "Hello there.", "quality": "draft", "music": "none"},
        tmp_path / "out" / "demo2.mp4",
        progress=False,
    )
    info = probe(manifest.video)
    assert (info.video_codec, info.width, info.height, info.audio_codec) == (
        "h264",
        540,
        960,
        "aac",
    )
    assert [cue.text for cue in manifest.captions] == ["Hello there."]
    assert manifest.template == "demo2"


@pytest.mark.parametrize("name", ["../escape", "two words", "", "-dash", "a/b", "x.ipynb"])
def test_names_that_are_not_plain_words_are_refused(tmp_path, name):
    with pytest.raises(TemplateError, match="not a plain word"):
        scaffold.create(name, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def neuroshorts_logging():
    """`cli.main` installs its own log handlers; put the test session's back afterwards."""
    logger = logging.getLogger("neuroshorts")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    for handler in saved[0]:
        logger.addHandler(handler)
    logger.setLevel(saved[1])
    logger.propagate = saved[2]


def test_cli_new_writes_into_templates_and_refuses_an_existing_name(
    tmp_path, monkeypatch, capsys, neuroshorts_logging
):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["new", "demo2"]) == 0
    written = tmp_path / "templates" / "demo2.ipynb"
    assert capsys.readouterr().out.strip() == str(written.relative_to(tmp_path))
    before = written.read_bytes()
    assert cli.main(["new", "demo2"]) == cli.EXIT_BAD_INPUT
    assert written.read_bytes() == before  # never overwritten
    assert cli.main(["new", "bad name"]) == cli.EXIT_BAD_INPUT
    assert cli.main(["new", "other", "--dir", str(tmp_path / "elsewhere")]) == 0
    assert (tmp_path / "elsewhere" / "other.ipynb").is_file()


@pytest.mark.render
@pytest.mark.parametrize("frontend", [True, False], ids=["jupyterlab", "headless"])
def test_a_new_template_run_cell_by_cell_ends_in_the_player_only_for_a_person(tmp_path, frontend):
    """A kernel that may ask its user for input (JupyterLab's does, papermill's and nbval's
    do not) gets the player as the last cell's value; headless, the cell shows nothing."""
    path = scaffold.create("mine", tmp_path)
    notebook = nbformat.read(path, as_version=4)
    code = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            code.append(cell.source)
            if "parameters" in cell.metadata.get("tags", []):
                code.append('script = "Hello there."')  # as papermill injects parameters
    env = {k: v for k, v in os.environ.items() if k != studio.HEADLESS_ENV}
    manager = KernelManager()
    manager.start_kernel(cwd=str(tmp_path), env=env)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        for source in code:
            shown: list[dict] = []  # what the cell puts on screen; the last cell's is kept
            reply = client.execute_interactive(
                source, allow_stdin=frontend, timeout=120, output_hook=shown.append
            )
            assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    values = [m["content"]["data"] for m in shown if m["msg_type"] == "execute_result"]
    if frontend:
        (value,) = values
        assert "application/vnd.jupyter.widget-view+json" in value
    else:
        assert values == [], "headless, the last cell shows nothing"
