"""A job whose kernel does not start is the machine's fault: it goes back to the queue."""

from __future__ import annotations

import pytest

from neuroshorts.apps.service import execute
from neuroshorts.apps.service.schemas import State
from neuroshorts.apps.service.store import JobStore, NewJob
from neuroshorts.kernels import prestart
from neuroshorts.settings import Settings
from support import TEMPLATES
from support.media import probe

pytestmark = pytest.mark.render


def test_a_kernel_that_does_not_start_requeues_the_job_and_the_next_attempt_renders_it(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("NEUROSHORTS_TEMPLATES", str(TEMPLATES))
    settings = Settings(data_dir=tmp_path, render_priority="normal")
    settings.prepare()
    store = JobStore(settings.database_url)
    output = str(settings.output_dir / "blip.mp4")
    job, _ = store.create(NewJob("blip", {"color": "#204060"}, output))
    prestart.discard_spare()
    try:
        # A kernel that does not finish starting in time, as when other work starves it.
        engine, timeout = prestart.PRELOAD, prestart.STARTUP_TIMEOUT
        monkeypatch.setattr(prestart, "PRELOAD", "import time; time.sleep(60)")
        monkeypatch.setattr(prestart, "STARTUP_TIMEOUT", 2.0)
        assert execute.run_job(job.id, settings) == "superseded"
        requeued = store.get(job.id)
        assert (requeued.state, requeued.stage, requeued.attempt) == (State.queued, "requeued", 1)
        assert requeued.error is None

        monkeypatch.setattr(prestart, "PRELOAD", engine)
        monkeypatch.setattr(prestart, "STARTUP_TIMEOUT", timeout)
        prestart.discard_spare()  # the one prepared while the first attempt failed
        assert execute.run_job(job.id, settings) == State.succeeded
    finally:
        prestart.discard_spare()
    done = store.get(job.id)
    assert (done.state, done.attempt) == (State.succeeded, 2)
    assert probe(output).video_codec == "h264"
