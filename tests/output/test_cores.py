"""Renders side by side share the machine's cores: x264's threads for each, read back from
the encoded file."""

import contextlib
import signal
import subprocess
import sys
import tempfile

import pytest

from neuroshorts.output.cores import ENCODER_THREADS, cores, running
from neuroshorts.output.encode import render
from support.media import tone_short, x264_options

pytestmark = [
    pytest.mark.render,
    pytest.mark.skipif(cores() < 2, reason="one core has no share to give"),
]

#: Another render on the same machine, from its encoder's point of view: it encodes until
#: its stdin closes.
ENCODING = """
import sys
from neuroshorts.output.cores import encoder_threads
with encoder_threads():
    print("encoding", flush=True)
    sys.stdin.read()
"""

#: A template run on the same machine that has not started encoding yet (its first cells).
RUNNING = """
import sys
from neuroshorts.output.cores import running
with running():
    print("running", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A temp dir of the test's own, so renders of other tests running beside it are not
    on this 'machine'; the processes it starts see it too."""
    folder = tmp_path / "machine"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


@contextlib.contextmanager
def beside(code: str, says: str):
    """A process running `code` on the test's machine, once it `says` it is running."""
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline() == says
        yield process
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def other_render(machine):
    with beside(ENCODING, "encoding\n") as process:
        yield process


@pytest.fixture
def other_run(machine):
    with beside(RUNNING, "running\n") as process:
        yield process


def threads_of(tmp_path, name):
    short = tone_short(tmp_path, "builtin:aurora")
    render(short, tmp_path / name, quality="draft", progress=False)
    return int(x264_options(tmp_path / name)["threads"])


def test_a_render_alone_keeps_x264s_own_threads_and_leaves_no_trace(machine, tmp_path):
    assert threads_of(tmp_path, "alone.mp4") >= cores()  # x264's own: ~1.5 a core
    assert not any(machine.glob("neuroshorts-encoders-*/*"))


def test_a_render_beside_another_takes_its_share_of_the_cores(other_render, tmp_path):
    assert threads_of(tmp_path, "beside.mp4") == max(1, cores() // 2)


def test_a_killed_render_no_longer_counts_and_its_trace_is_removed(other_render, machine, tmp_path):
    other_render.send_signal(signal.SIGKILL)
    other_render.wait()
    assert threads_of(tmp_path, "after.mp4") >= cores()
    assert not any(machine.glob("neuroshorts-encoders-*/*"))


def test_a_thread_count_set_by_hand_is_kept(other_render, tmp_path, monkeypatch):
    monkeypatch.setenv(ENCODER_THREADS, "3")
    assert threads_of(tmp_path, "by_hand.mp4") == 3


def test_a_run_alone_keeps_x264s_own_threads(machine, tmp_path):
    with running():
        assert threads_of(tmp_path, "run.mp4") >= cores()
    assert not any(machine.glob("neuroshorts-encoders-*/*"))


def test_a_run_beside_another_not_yet_encoding_takes_its_share(other_run, tmp_path):
    """Two jobs claimed together both split the cores, though the other has not reached its
    encode when this one starts encoding."""
    with running():
        assert threads_of(tmp_path, "beside_run.mp4") == max(1, cores() // 2)
