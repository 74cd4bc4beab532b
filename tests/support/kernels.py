"""Questions a test asks a live kernel of `neuroshorts.kernels.prestart`."""

from __future__ import annotations

import ast
from typing import Any

from jupyter_core.utils import run_sync

from neuroshorts.kernels import prestart


def ask(kernel: prestart.Kernel, expression: str) -> tuple[Any, dict]:
    """The value of `expression` in the kernel (a literal), and its kernel_info reply."""

    async def question() -> tuple[Any, dict]:
        client = kernel.manager.client()
        client.start_channels()
        try:
            info = await client.kernel_info(reply=True)
            reply = await client.execute("", user_expressions={"found": expression}, reply=True)
        finally:
            client.stop_channels()
        found = reply["content"]["user_expressions"]["found"]["data"]["text/plain"]
        return ast.literal_eval(found), info["content"]

    return run_sync(question)()


def imported(kernel: prestart.Kernel, names: tuple[str, ...]) -> list[str]:
    """Which of `names` the kernel has imported, before any cell of a run."""
    return ask(kernel, f"sorted(set({names!r}) & set(__import__('sys').modules))")[0]
