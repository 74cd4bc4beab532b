"""The API's view of templates: cached schemas that still follow the files on disk."""

from __future__ import annotations

import json
import shutil

import pytest

from neuroshorts.apps.service import catalog
from neuroshorts.errors import ParameterError, TemplateError
from support import TEMPLATES

BLIP = TEMPLATES / "blip.ipynb"


def test_an_edited_or_removed_template_is_seen_at_the_next_request(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROSHORTS_TEMPLATES", str(tmp_path))
    notebook = tmp_path / "flash.ipynb"
    shutil.copy(BLIP, notebook)
    assert catalog.check("flash", {"duration": 2})["duration"] == 2.0

    content = json.loads(notebook.read_text())
    for cell in content["cells"]:
        if "parameters" in cell["metadata"].get("tags", []):
            cell["source"] = "".join(cell["source"]).replace("duration: float", "length: float")
    notebook.write_text(json.dumps(content))
    with pytest.raises(ParameterError, match="length"):
        catalog.check("flash", {"duration": 2})

    notebook.unlink()
    with pytest.raises(TemplateError, match="not found"):
        catalog.schema("flash")


def test_a_lookup_follows_the_template_directories_it_was_made_in(tmp_path, monkeypatch):
    """A name found in one set of template directories is not reused for another."""
    for folder, default in (("one", "1.0"), ("two", "4.0")):
        (tmp_path / folder).mkdir()
        content = json.loads(BLIP.read_text())
        for cell in content["cells"]:
            if "parameters" in cell["metadata"].get("tags", []):
                cell["source"] = "".join(cell["source"]).replace(
                    "duration: float = 1.0", f"duration: float = {default}"
                )
        (tmp_path / folder / "flash.ipynb").write_text(json.dumps(content))
    defaults = []
    for folder in ("one", "two"):
        monkeypatch.setenv("NEUROSHORTS_TEMPLATES", str(tmp_path / folder))
        defaults.append(catalog.schema("flash")[1]["duration"].default)
    assert defaults == [1.0, 4.0]
