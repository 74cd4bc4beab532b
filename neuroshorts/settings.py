"""Where NeuroShorts keeps its own files (logs, caches, extra voices) on this machine.

One function, importable from every part: the engines' caches and the shell's log file
must agree on the directory without the engines importing the shell.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """`NEUROSHORTS_HOME`, else ~/.neuroshorts."""
    return Path(os.environ.get("NEUROSHORTS_HOME", Path.home() / ".neuroshorts"))
