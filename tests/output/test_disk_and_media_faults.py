"""A full or read-only disk and corrupt media fail clearly and leave no partial file
(issue 10, point 6).

The disks are real: small tmpfs mounts (this needs root, as CI has; elsewhere the
disk tests skip and say why). The corrupt media are real files cut or defaced.
"""

import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from neuroshorts import templates
from neuroshorts.errors import ParameterError, TemplateRunError

pytestmark = pytest.mark.render

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
DRAFT = {"script": "A full disk is no reason to lie.", "quality": "draft", "music": "none"}


@pytest.fixture
def mount(tmp_path):
    """Mount a tmpfs with the given options at a fresh folder; unmounted afterwards."""
    mounted = []

    def make(options: str) -> Path:
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode:
            pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()}); CI runs as root")
        mounted.append(point)
        return point

    yield make
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix != ".ipynb")


def test_a_full_disk_fails_the_render_and_leaves_only_the_executed_notebook(mount):
    disk = mount("size=96k")  # room for the notebook, not for the video
    with pytest.raises(TemplateRunError, match="No space left on device"):
        templates.run("explainer", DRAFT, disk / "x.mp4", progress=False)
    assert leftovers(disk) == []  # no video, no partial video, no manifest or sidecar
    assert (disk / "x.ipynb").is_file()  # the record of what went wrong


def test_a_read_only_output_folder_is_refused_before_any_kernel_starts(mount):
    disk = mount("ro,size=1m")
    with pytest.raises(ParameterError, match="output.*Read-only file system"):
        templates.run("explainer", DRAFT, disk / "x.mp4", progress=False)
    assert list(disk.iterdir()) == []


@pytest.fixture(scope="module")
def corrupt(tmp_path_factory):
    """A video cut in half (its index lost) and a WAV whose header is defaced."""
    folder = tmp_path_factory.mktemp("corrupt")
    whole = folder / "whole.mp4"
    subprocess.run(
        [FFMPEG, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=90x160:rate=10:duration=3",
         "-c:v", "libx264", str(whole)],
        check=True,
    )  # fmt: skip
    data = whole.read_bytes()
    (folder / "cut.mp4").write_bytes(data[: len(data) // 2])
    wav = folder / "tone.wav"
    subprocess.run(
        [FFMPEG, "-v", "error", "-f", "lavfi", "-i", "sine=duration=2", str(wav)], check=True
    )
    header = bytearray(wav.read_bytes())
    header[:4] = b"JUNK"
    (folder / "bad.wav").write_bytes(bytes(header))
    return folder


@pytest.mark.parametrize(
    ("parameter", "name"),
    [("background", "cut.mp4"), ("music", "bad.wav"), ("voice", "bad.wav")],
)
def test_corrupt_media_fail_naming_the_parameter_and_write_no_video(
    corrupt, tmp_path, parameter, name
):
    value = f"file:{corrupt / name}" if parameter == "voice" else str(corrupt / name)
    with pytest.raises(TemplateRunError, match=rf"{parameter}: .*{name}"):
        templates.run("explainer", {**DRAFT, parameter: value}, tmp_path / "x.mp4", progress=False)
    assert leftovers(tmp_path) == []
