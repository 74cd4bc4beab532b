"""Fixtures of the service tests: running stacks per broker and a webhook receiver."""

from __future__ import annotations

import pytest

from support.receiver import Receiver
from support.service_stack import running_stack


@pytest.fixture(scope="module")
def stack(request, tmp_path_factory):
    """API and two workers on the broker named by the test's parameter (module-wide)."""
    broker, postgres = request.param, False
    if broker == "postgres":
        broker, postgres = "redis", True
    root = tmp_path_factory.mktemp(f"stack-{request.param}")
    with running_stack(root, broker, workers=2, postgres=postgres) as running:
        yield running


@pytest.fixture(scope="module")
def receiver():
    server = Receiver()
    yield server
    server.close()
