"""`neuroshorts new NAME`: a new template notebook from the jinja2 scaffold in the package.

The scaffold is one text file of cells (`neuroshorts/data/scaffold/template.ipynb.j2`)
rather than notebook JSON with jinja2 inside it: a designer edits plain Python and
markdown there, and nbformat writes valid JSON, so no quoting in a template can break it.
The new notebook keeps the template contract (a tagged `parameters` cell with `script`,
`output` and `quality`, a final render-or-preview cell) and is written without outputs.
"""

from __future__ import annotations

import logging
import re
from importlib.resources import files
from pathlib import Path

import jinja2
import nbformat

from neuroshorts.errors import TemplateError

log = logging.getLogger(__name__)

#: Same shape as the names `templates.find` accepts, so a new template is found by name.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
#: A line `%% markdown`, `%% code` or `%% parameters` starts a cell of the scaffold.
_CELL = re.compile(r"^%% (markdown|code|parameters)[ \t]*$", re.MULTILINE)

DESCRIPTION = (
    "A narrated short: your script spoken by an offline voice, word-synced captions, "
    "a hook title and a background."
)


def scaffold_source() -> str:
    return files("neuroshorts").joinpath("data/scaffold/template.ipynb.j2").read_text("utf-8")


def notebook_for(name: str, description: str = DESCRIPTION) -> nbformat.NotebookNode:
    """The new template notebook `name`, from the jinja2 scaffold, without outputs."""
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    title = re.sub(r"[_-]+", " ", name).strip().title()
    text = environment.from_string(scaffold_source()).render(
        name=name, title=title, description=description
    )
    parts = _CELL.split(text)
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    for kind, source in zip(parts[1::2], parts[2::2], strict=True):
        source = source.strip("\n")
        if kind == "markdown":
            notebook.cells.append(nbformat.v4.new_markdown_cell(source))
        else:
            cell = nbformat.v4.new_code_cell(source)
            if kind == "parameters":
                cell.metadata["tags"] = ["parameters"]
            notebook.cells.append(cell)
    nbformat.validate(notebook)
    return notebook


def create(name: str, directory: str | Path = "templates") -> Path:
    """Write `directory/NAME.ipynb`, a new template; refuses bad or taken names.

    Raises `TemplateError` (the CLI turns it into exit status 2) for a name that is not a
    plain word, which could point outside the folder, and for an existing notebook, which
    would be someone's work lost.
    """
    if not NAME.fullmatch(name):
        raise TemplateError(
            f"template name {name!r} is not a plain word (letters, digits, _ and -, "
            "starting with a letter or digit)"
        )
    directory = Path(directory)
    path = directory / f"{name}.ipynb"
    if path.exists():
        raise TemplateError(f"{path} already exists; choose another name or delete it first")
    directory.mkdir(parents=True, exist_ok=True)
    notebook = notebook_for(name)
    with path.open("x", encoding="utf-8") as out:  # "x": never overwrite a racing writer
        nbformat.write(notebook, out)
    log.info("new template %s", path)
    return path
