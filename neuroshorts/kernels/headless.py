"""The kernel class of template runs: ipykernel's own, without its debugger.

ipykernel imports debugpy whenever it makes a kernel, for JupyterLab's visual debugger:
0.1 core-seconds, a sixth of a fresh kernel's start and a third of a forked one's. A run's
kernel is driven by papermill and never debugged, so its kernel finds debugpy unavailable,
as ipykernel allows for (no "debugger" among the kernel's features). The studio's
kernels are JupyterLab's own and keep theirs.
"""

from __future__ import annotations

import sys

sys.modules.setdefault("debugpy", None)  # ipykernel.debugger: debugpy unavailable

from ipykernel.ipkernel import IPythonKernel  # noqa: E402  (after debugpy is turned away)


class HeadlessKernel(IPythonKernel):
    """ipykernel's IPython kernel, made where debugpy cannot be imported."""
