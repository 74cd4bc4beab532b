"""The settings: one object for every variable, the README's table of them, the data dir."""

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import AliasChoices

from neuroshorts.settings import PREFIX, Settings, data_dir, settings

REPO = Path(__file__).resolve().parent.parent
NEUROSHORTS = str(Path(sys.executable).parent / "neuroshorts")


def variables(name: str) -> set[str]:
    """The environment variables that set field `name`."""
    alias = Settings.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        return {str(choice) for choice in alias.choices}
    return {alias} if isinstance(alias, str) else {PREFIX + name.upper()}


def documented() -> set[str]:
    """The variables named in the first column of the README's table of settings."""
    section = REPO.joinpath("README.md").read_text(encoding="utf-8").split("\n## Settings\n")[1]
    section = section.split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows, "no table under ## Settings in README.md"
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_the_readme_documents_every_setting_and_only_settings():
    fields = set().union(*(variables(name) for name in Settings.model_fields))
    assert fields - documented() == set(), "settings missing from the README's table"
    assert documented() - fields == set(), "README's table names variables no setting reads"


def test_a_changed_environment_is_seen_at_the_next_read(monkeypatch, tmp_path):
    monkeypatch.setenv("NEUROSHORTS_VOICES", str(tmp_path / "a"))
    first = settings()
    assert first.voices == tmp_path / "a"
    assert settings() is first, "an unchanged environment builds nothing again"
    monkeypatch.setenv("NEUROSHORTS_VOICES", str(tmp_path / "b"))
    assert settings().voices == tmp_path / "b"


def test_an_empty_variable_is_unset_except_on_the_allow_lists(monkeypatch):
    for name in ("VOICES", "PORT", "HEADLESS", "BROKER_OPTIONS", "ALLOWED_HOSTS", "CALLBACK_HOSTS"):
        monkeypatch.setenv(PREFIX + name, "")
    current = settings()
    unset = (current.voices, current.port, current.headless, current.broker_options)
    assert unset == (None, 8000, False, {})
    assert (current.allowed_hosts, current.callback_hosts) == ("", "")


def test_a_bad_value_names_the_setting_and_the_value(monkeypatch):
    monkeypatch.setenv("NEUROSHORTS_PORT", "eighty")
    with pytest.raises(ValueError, match=r"(?s)port.*'eighty'"):
        settings()


def test_the_data_dir_has_one_name(monkeypatch, tmp_path, recwarn):
    monkeypatch.setenv("NEUROSHORTS_DATA_DIR", str(tmp_path / "data"))
    assert data_dir() == tmp_path / "data"
    assert Settings().broker_folder == tmp_path / "data" / "broker"
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_the_old_name_still_works_and_warns_naming_the_new(monkeypatch, tmp_path, caplog):
    monkeypatch.delenv("NEUROSHORTS_DATA_DIR")
    monkeypatch.setenv("NEUROSHORTS_HOME", str(tmp_path / "old"))
    with (
        caplog.at_level(logging.WARNING, logger="neuroshorts.settings"),
        pytest.warns(DeprecationWarning, match="NEUROSHORTS_HOME .*NEUROSHORTS_DATA_DIR"),
    ):
        assert data_dir() == tmp_path / "old"
    assert "name the data directory NEUROSHORTS_DATA_DIR" in caplog.text


def test_the_new_name_wins_over_the_old(monkeypatch, tmp_path):
    monkeypatch.setenv("NEUROSHORTS_DATA_DIR", str(tmp_path / "new"))
    monkeypatch.setenv("NEUROSHORTS_HOME", str(tmp_path / "old"))
    with pytest.warns(DeprecationWarning, match="ignored: NEUROSHORTS_DATA_DIR is set"):
        assert data_dir() == tmp_path / "new"


def test_a_command_run_with_the_old_name_keeps_its_files_there_and_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    env["NEUROSHORTS_HOME"] = str(tmp_path / "old")
    result = subprocess.run(
        [NEUROSHORTS, "templates"], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "NEUROSHORTS_HOME is deprecated" in result.stderr
    assert "NEUROSHORTS_DATA_DIR" in result.stderr
    assert (tmp_path / "old" / "logs" / "neuroshorts.log").is_file()


def test_a_command_with_a_bad_setting_stops_with_a_clear_error(tmp_path):
    env = os.environ | {"NEUROSHORTS_DATA_DIR": str(tmp_path), "NEUROSHORTS_CONCURRENCY": "0"}
    result = subprocess.run(
        [NEUROSHORTS, "templates"], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2
    assert "bad NEUROSHORTS_* setting" in result.stderr and "concurrency" in result.stderr
    assert "Traceback" not in result.stderr
