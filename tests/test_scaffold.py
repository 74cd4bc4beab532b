"""`neuroshorts new`: a scaffolded template keeps the template contract and renders."""

import logging

import nbformat
import pytest
from media import probe

from neuroshorts import cli, scaffold, templates


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
    with pytest.raises(templates.TemplateError, match="not a plain word"):
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
