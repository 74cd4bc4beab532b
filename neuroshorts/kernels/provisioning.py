"""How a kernel's manager launches and stops our kernels: jupyter_client's provisioner."""

from __future__ import annotations

import asyncio
import time

from jupyter_client.provisioning import LocalProvisioner

#: How long a killed kernel is waited for before jupyter_client's own 0.1 s polling.
KILLED_WITHIN = 1.0


class Provisioner(LocalProvisioner):
    """jupyter_client's local provisioner, returning from a kill once the kernel is gone.

    After a kill, jupyter_client polls the kernel every 0.1 s until it has exited. A
    SIGKILLed kernel is gone within milliseconds, but the first poll came too soon, so a
    run on a started kernel (a CLI render) waited ~0.1 s for nothing after its video was
    written; here the kill returns as the kernel exits.
    """

    async def kill(self, restart: bool = False) -> None:
        await super().kill(restart=restart)
        deadline = time.monotonic() + KILLED_WITHIN
        while self.process is not None and await self.poll() is None:
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(0.002)
