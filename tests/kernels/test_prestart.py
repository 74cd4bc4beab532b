"""Kernels started before the run: each run still gets a fresh one, a dead one is replaced,
a cancelled run on a pre-started kernel leaves no process behind, and a stopping process
does not wait for a kernel still starting. Each as a single run starts its kernels and as
a worker forks them (`forkserver.py`).

Real kernels and real renders of a tiny template written here: it shows the kernel's pid
and whatever an earlier run could have left in the kernel (a variable, a module's state).
"""

from __future__ import annotations

import ast
import json
import os
import signal
import threading
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_core.utils import run_sync

from neuroshorts import templates
from neuroshorts.errors import KernelError, RunCancelled
from neuroshorts.kernels import prestart
from neuroshorts.kernels.forkserver import ForkServer
from neuroshorts.kernels.processes import group_alive, pid_alive
from neuroshorts.output.progress import Progress
from support.kernels import ask
from support.media import probe
from support.process_groups import children, dead

pytestmark = pytest.mark.render

PARAMETERS = """\
color: str = "#1b1464"  # the colour of the whole frame
duration: float = 0.5  # seconds
output: str = ""  # MP4 path to render
quality: str = "draft"  # [draft|final] draft is 540x960
"""
WITNESS = """\
left_by_an_earlier_run = (globals().get("carried"), getattr(visuals, "carried", None))
carried = visuals.carried = color
drawn = (numpy.random.randint(2**62), random.getrandbits(62))  # a fork copies random state
{"pid": os.getpid(), "left": left_by_an_earlier_run, "random": drawn}
"""
#: Matrix products as a render's soundtrack makes them, and how much CPU the kernel's
#: other threads took meanwhile (OpenBLAS's, had it split the products).
BLAS = """\
def others_ns():
    main = threading.get_native_id()
    tasks = [task for task in os.listdir("/proc/self/task") if int(task) != main]
    return sum(int(open(f"/proc/self/task/{task}/schedstat").read().split()[0]) for task in tasks)
rows = numpy.ones((20_000, 64), numpy.float32)
before, cpu = others_ns(), time.thread_time_ns()
for _ in range(50):
    rows @ rows[:64]
{"blas_main_ns": time.thread_time_ns() - cpu, "blas_others_ns": others_ns() - before}
"""
RENDER = """\
layers = [visuals.background("animated:#000000,#ffffff", Span(0, duration))]
short = Short(Canvas.for_aspect("9:16"), None, layers, duration=duration)
render(short, output, quality=quality, thumbnail_at=0.0, progress=False)
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "language": "python",
        "display_name": "Python 3",
    }
    parameters = nbformat.v4.new_code_cell(PARAMETERS)
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [
        nbformat.v4.new_markdown_cell(
            "# Witness\n\nShows its kernel and what an earlier run left."
        ),
        nbformat.v4.new_code_cell(
            "import os\nimport random\nimport threading\nimport time\n\nimport numpy\n\n"
            "from neuroshorts import visuals\n"
            "from neuroshorts.output.encode import render\n"
            "from neuroshorts.scene import Canvas, Short, Span"
        ),
        parameters,
        nbformat.v4.new_code_cell(WITNESS),
        nbformat.v4.new_code_cell(BLAS),
        nbformat.v4.new_code_cell(RENDER),
    ]
    path = tmp_path_factory.mktemp("templates") / "witness.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.fixture(autouse=True)
def no_spare_left():
    yield
    prestart.discard_spare()


@pytest.fixture(params=["started", "forked"])
def kernels(request, monkeypatch):
    """Kernels started from their command (a single run), or forked (a worker)."""
    if request.param == "started":
        yield
        return
    server = ForkServer()
    monkeypatch.setattr(prestart, "_server", server)
    yield
    prestart.discard_spare()
    server.close()


def shown(manifest, word: str) -> dict:
    """What the run's cell with `word` in its source showed, as a value."""
    cells = json.loads(Path(manifest.notebook).read_text())["cells"]
    (cell,) = [c for c in cells if c["cell_type"] == "code" and word in "".join(c["source"])]
    return ast.literal_eval("".join(cell["outputs"][-1]["data"]["text/plain"]))


def witness(manifest) -> dict:
    """What the run's witness cell showed: its kernel's pid and what it found left over."""
    shows = shown(manifest, "carried")
    return {"pid": shows["pid"], "left": shows["left"]}


def test_each_run_gets_a_fresh_kernel_started_before_it(kernels, template, tmp_path):
    ready = prestart.prepare().result()  # a worker prepares its first job's kernel
    first = templates.run(
        template, {"color": "#ff0000"}, tmp_path / "1.mp4", progress=False, next_kernel=True
    )
    spare = prestart.prepare().result()  # the next one, started while the first rendered
    second = templates.run(template, {"color": "#00ff00"}, tmp_path / "2.mp4", progress=False)

    assert witness(first) == {"pid": ready.pid, "left": (None, None)}
    assert witness(second) == {"pid": spare.pid, "left": (None, None)}, (
        "nothing the first run set, in its namespace or in a module, reaches the second"
    )
    assert spare.pid != ready.pid and not pid_alive(ready.pid) and not pid_alive(spare.pid)
    drawn = [shown(manifest, "carried")["random"] for manifest in (first, second)]
    assert drawn[0][0] != drawn[1][0] and drawn[0][1] != drawn[1][1], "each its own randomness"
    for manifest in (first, second):
        assert probe(manifest.video).frames > 0
        assert {"kernel.start", "kernel.wait", "first_cell"} <= set(manifest.stages)
    notebook = nbformat.read(second.notebook, as_version=4)
    counts = [c.execution_count for c in notebook.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), "the engine's import left no trace"


def test_a_kernel_is_reached_over_unix_sockets_that_go_with_it(kernels, template, tmp_path):
    kernel = prestart.prepare().result()
    manager = kernel.manager
    channels = ("shell", "iopub", "stdin", "hb", "control")
    sockets = [Path(f"{manager.ip}-{getattr(manager, f'{name}_port')}") for name in channels]
    assert manager.transport == "ipc" and all(socket.is_socket() for socket in sockets)
    manifest = templates.run(template, {}, tmp_path / "x.mp4", progress=False)
    assert witness(manifest)["pid"] == kernel.pid and probe(manifest.video).frames > 0
    assert not [socket for socket in sockets if socket.exists()], "none is left behind"


def test_a_kernel_killed_while_it_waits_is_replaced(kernels, template, tmp_path):
    idle = prestart.prepare().result()
    os.kill(idle.pid, signal.SIGKILL)
    assert dead(idle.pid)  # SIGKILL is not instant: the kernel is a dead one, not a dying one
    manifest = templates.run(template, {}, tmp_path / "x.mp4", progress=False)
    assert witness(manifest)["pid"] not in (idle.pid, None)
    assert probe(manifest.video).frames > 0
    assert not pid_alive(idle.pid), "the dead kernel was reaped, not left a zombie"


def test_a_kernel_slow_to_open_its_sockets_still_imports_the_engine(
    template, tmp_path, monkeypatch
):
    """The engine's import is asked for at once, before the kernel listens: ZMQ must hold
    the request until the kernel binds its socket (here 1.5 s after its launch)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import time\ntime.sleep(1.5)\n")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.getenv("PYTHONPATH")]))
    )
    monkeypatch.setattr(prestart, "STARTUP_TIMEOUT", 30.0)  # a lost request fails in 30 s
    kernel = prestart.prepare().result()
    assert kernel.seconds >= 1.5, "the kernel really was late"
    manifest = templates.run(template, {}, tmp_path / "x.mp4", progress=False)
    assert witness(manifest)["pid"] == kernel.pid and probe(manifest.video).frames > 0


def test_a_kernel_is_gone_when_its_kill_returns(kernels):
    """A run's end stops its kernel at once and goes on when the kill returns; before,
    jupyter_client found the kernel still dying and slept 0.1 s to look again."""
    kernel = prestart.prepare().result()
    provisioner = kernel.manager.provisioner

    async def kill_and_poll() -> int | None:
        await provisioner.kill()
        return await provisioner.poll()  # what jupyter_client asks next

    assert run_sync(kill_and_poll)() is not None, "the kernel is gone"
    assert not pid_alive(kernel.pid)
    kernel.kill()


def test_a_run_kernel_has_no_debugger(kernels):
    """ipykernel imports debugpy for every kernel it makes, a sixth of a kernel's start;
    a run's kernel never imports it and does not offer debugging (headless.py)."""
    kernel = prestart.prepare().result()
    expression = "[name for name in __import__('sys').modules if name.startswith('debugpy')]"
    try:
        found, info = ask(kernel, expression)
    finally:
        kernel.kill()
    assert info["status"] == "ok" and "debugger" not in info["supported_features"]
    assert found == ["debugpy"], "only the marker that turns debugpy away"


def test_cancelling_a_run_on_a_prestarted_kernel_leaves_no_process(kernels, template, tmp_path):
    kernel = prestart.prepare().result()
    cancel, reports = threading.Event(), []

    def follow(report: Progress) -> None:
        reports.append(report)
        if report.stage == "encode":
            cancel.set()

    with pytest.raises(RunCancelled):
        templates.run(
            template,
            {"duration": 120.0},
            tmp_path / "long.mp4",
            progress=False,
            on_progress=follow,
            cancel=cancel,
        )
    assert {report.kernel_pid for report in reports} == {kernel.pid}
    assert any(report.stage == "encode" for report in reports), "it was cancelled mid-encode"
    assert not group_alive(kernel.pid), "neither the kernel nor its ffmpeg is left"
    assert not (tmp_path / "long.mp4").exists() and not list(tmp_path.glob(".*partial*"))


@pytest.mark.skipif(os.cpu_count() < 2, reason="with one core OpenBLAS starts no threads")
def test_a_render_kernel_keeps_numpys_matrix_products_on_one_thread(kernels, template, tmp_path):
    """OpenBLAS would split them over every core, its threads spinning between products:
    CPU taken from x264 for no gain (prestart.KERNEL_ENV)."""
    manifest = templates.run(template, {}, tmp_path / "x.mp4", progress=False)
    spent = shown(manifest, "blas_main_ns")
    assert spent["blas_others_ns"] < 0.25 * spent["blas_main_ns"], spent


class Interrupt(Exception):
    """Raised in the main thread from a signal, as Ctrl+C raises KeyboardInterrupt."""


def test_an_interrupt_while_waiting_for_a_kernel_is_raised_not_taken_for_a_failed_start():
    def interrupt(signum, frame):
        raise Interrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    pending = prestart.Pending.start(background=False)  # a start takes seconds
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(Interrupt):
            pending.ready()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        pending.discard()
    kernel = pending.future.result(timeout=prestart.STARTUP_TIMEOUT)
    assert dead(kernel.pid), "the kernel nobody waits for any more is killed"


def test_a_stopping_process_kills_a_spare_kernel_still_importing_the_engine(monkeypatch):
    """A worker's stop must not wait for an idle-priority kernel that a busy machine is
    still starting: it is killed mid-import, and its start cleans up after itself."""
    monkeypatch.setattr(prestart, "PRELOAD", "import time; time.sleep(60)")
    future = prestart.prepare()
    deadline = time.monotonic() + prestart.STARTUP_TIMEOUT
    while not (pids := children(os.getpid(), "ipykernel")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pids, "the kernel's process was started"
    prestart.discard_spare()
    assert isinstance(future.exception(timeout=0), KernelError), "killed, not waited for"
    assert not any(group_alive(pid) for pid in pids)
