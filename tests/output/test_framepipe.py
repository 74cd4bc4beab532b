"""Frames lent to a pipe (`output/framepipe.py`) reach a slow reader intact, however the
writer's memory is reused after it lets them go; a reader that left is a broken pipe.

A real reader process hashes every frame it reads. Each frame is a fresh buffer the
writer drops as soon as it is sent, and buffers of the same size are then filled with
other bytes: a frame the pipe let go of too soon is overwritten before it is read.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from neuroshorts.output import framepipe
from neuroshorts.output.framepipe import FramePipe

#: Reads frames of argv[1] bytes after argv[2] seconds, and prints each one's hash.
READER = """\
import hashlib, sys, time
size, wait = int(sys.argv[1]), float(sys.argv[2])
time.sleep(wait)
while frame := sys.stdin.buffer.read(size):
    print(hashlib.sha1(frame).hexdigest(), flush=True)
"""


@pytest.fixture(params=["lent", "written"])
def way(request, monkeypatch):
    """Frames lent (vmsplice, Linux) and frames written (elsewhere)."""
    if request.param == "lent" and framepipe._VMSPLICE is None:
        pytest.skip("no vmsplice here")
    if request.param == "written":
        monkeypatch.setattr(framepipe, "_VMSPLICE", None)
    return request.param


def reader(size: int, wait: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", READER, str(size), str(wait)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )


def send_and_scribble(pipe: FramePipe, count: int, size: int) -> list[str]:
    """Send `count` frames of `size` distinct bytes, each dropped once sent and followed
    by a buffer of its size filled with other bytes; return the frames' hashes."""
    hashes = []
    for index in range(count):
        frame = np.random.default_rng(index).integers(0, 256, size, dtype=np.uint8)
        hashes.append(hashlib.sha1(frame).hexdigest())
        pipe.send(frame)
        del frame
        np.full(size, 255 - index % 256, dtype=np.uint8)
    return hashes


@pytest.mark.parametrize(
    ("size", "count"),
    [(6_144, 60), (777_600, 12), (3_110_400, 6)],
    ids=["tiny frames, all in the pipe at once", "draft frames", "final frames"],
)
def test_a_slow_reader_gets_every_frame_intact(way, size, count):
    process = reader(size, wait=0.3)
    pipe = FramePipe(process.stdin)
    sent = send_and_scribble(pipe, count, size)
    pipe.close()
    # The writer's memory is reused while the reader has not read the last frames.
    scribbles = [np.full(size, index % 256, dtype=np.uint8) for index in range(count)]
    read = process.stdout.read().decode().split()
    assert process.wait() == 0
    pipe.release()
    assert len(read) == count
    assert read == sent, f"{sum(a != b for a, b in zip(read, sent, strict=True))} frames changed"
    del scribbles


def test_a_frame_for_a_reader_that_left_is_a_broken_pipe(way):
    process = subprocess.Popen([sys.executable, "-c", "pass"], stdin=subprocess.PIPE)
    process.wait()
    pipe = FramePipe(process.stdin)
    with pytest.raises(BrokenPipeError):
        pipe.send(np.zeros(3_110_400, dtype=np.uint8))
    pipe.release()


def test_a_frame_in_pieces_is_refused_before_anything_is_sent(way):
    process = reader(4, wait=0.0)
    pipe = FramePipe(process.stdin)
    with pytest.raises(ValueError, match="expected one buffer"):
        pipe.send(np.zeros((4, 4), dtype=np.uint8)[:, ::2])
    pipe.send(np.arange(4, dtype=np.uint8))
    pipe.close()
    assert process.stdout.read().decode().split() == [hashlib.sha1(bytes(range(4))).hexdigest()]
    assert process.wait() == 0
    pipe.release()
