"""The output bundle: the files one render writes, as the encoder writes and a job discards them."""

from __future__ import annotations

import os

from neuroshorts import captions
from neuroshorts.output.bundle import NOTEBOOK, Bundle, is_video_name
from neuroshorts.output.encode import render
from neuroshorts.output.files import atomic_path, partials
from support.media import tone_short


def test_a_render_writes_the_bundle_and_its_manifest_names_every_file(tmp_path):
    """What the encoder writes is the bundle, all but the notebook (templates.run's)."""
    short = tone_short(tmp_path, "builtin:aurora")  # its tone.wav stays in tmp_path
    video = tmp_path / "out" / "clip.mp4"
    pages = captions.paginate(short.audio.words)
    manifest = render(short, video, quality="draft", captions=pages, progress=False)
    bundle = Bundle(video)
    written = sorted(video.parent.iterdir())
    assert written == sorted(path for path, suffix in bundle.files() if suffix != NOTEBOOK)
    named = {manifest.video, manifest.srt, manifest.vtt, manifest.ass, manifest.thumbnail}
    assert named == {str(path) for path in written if path != bundle.manifest}


def test_discarding_removes_the_render_and_its_partials_but_not_the_log(tmp_path):
    video = tmp_path / "clip[1].mp4"  # a stem that is a glob pattern matches only itself
    bundle = Bundle(video)
    for path, _ in bundle.files():
        path.write_bytes(b"x")
    bundle.log.write_text("the job's log")
    left = tmp_path / ".clip[1].4242.partial.jpg"  # by a writer killed mid-write
    others = [tmp_path / "clip1.mp4", tmp_path / ".clip1.4242.partial.mp4"]
    for path in (left, *others):
        path.write_bytes(b"x")
    bundle.discard(keep_notebook=True)
    assert sorted(tmp_path.iterdir()) == sorted([bundle.notebook, bundle.log, *others])
    bundle.discard()
    assert sorted(tmp_path.iterdir()) == sorted([bundle.log, *others])


def test_partials_are_found_by_name_and_by_the_process_that_writes_them(tmp_path):
    theirs = tmp_path / ".b.4242.partial.jpg"
    theirs.write_bytes(b"x")
    with atomic_path(tmp_path / "a.mp4") as mine:
        mine.write_bytes(b"x")
        assert partials(tmp_path, pid=os.getpid()) == [mine]
        assert partials(tmp_path, stem="b") == [theirs]
        assert partials(tmp_path) == sorted([mine, theirs])
    assert partials(tmp_path) == [theirs]


def test_a_video_name_ends_in_mp4_in_any_case():
    assert is_video_name("out/clip.mp4") and is_video_name("s3://bucket/CLIP.MP4")
    assert not is_video_name("clip.mov") and not is_video_name("clip.mp4.json")
