"""The studio's browser modules (neuroshorts/studio/web) under node's own test runner.

They are plain ES modules with no build step, so node imports the very files the
widget ships; the tests live in tests/studio/js. This runs them as one pytest test so that
`make test` stays the one command, and shows node's report when one fails.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

TESTS = Path(__file__).with_name("js")


def test_the_studio_browser_modules_pass_their_node_tests():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed for the studio's browser-module tests (make system-deps)")
    files = sorted(str(path) for path in TESTS.glob("*.test.mjs"))
    assert len(files) >= 5, files
    result = subprocess.run(
        [node, "--test", *files], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout, result.stdout[-3000:]
