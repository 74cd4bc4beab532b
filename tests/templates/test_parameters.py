"""One parameter validator for every front end, with the reserved names in it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from neuroshorts import templates
from neuroshorts.apps import batch
from neuroshorts.apps.service import catalog
from neuroshorts.errors import BatchError, ParameterError

NEUROSHORTS = str(Path(sys.executable).parent / "neuroshorts")


def test_output_is_reserved_and_each_caller_says_how_it_is_set_instead():
    with pytest.raises(ParameterError) as plain:
        templates.validate("explainer", {"output": "x.mp4"})
    assert (plain.value.name, plain.value.value) == ("output", "x.mp4")
    assert "-o on the command line" in plain.value.expected
    with pytest.raises(ParameterError, match="set the request's `output`"):
        catalog.check("explainer", {"title": "Hi", "output": "x.mp4"})


def test_an_unknown_name_is_told_the_parameters_it_may_be_without_the_reserved_ones():
    with pytest.raises(ParameterError) as error:
        templates.validate("explainer", {"scrpt": "Hi."})
    assert error.value.expected.startswith("a parameter of explainer: script, ")
    assert "output" not in error.value.expected.split(", ")


def test_a_common_output_of_a_batch_is_refused_before_any_row(tmp_path):
    with pytest.raises(BatchError) as error:
        batch.plan("explainer", [{}], str(tmp_path / "{row}.mp4"), {"output": "x.mp4"})
    assert str(error.value).startswith("common parameter 'output': got 'x.mp4'")
    assert "the output pattern names each row's file" in str(error.value)


def test_the_cli_refuses_output_among_the_parameters_before_any_kernel_starts(tmp_path):
    result = subprocess.run(
        [NEUROSHORTS, "render", "explainer", "-p", "output", "elsewhere.mp4", "-o", "x.mp4"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 2
    assert "parameter 'output': got 'elsewhere.mp4', expected no `output`" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
