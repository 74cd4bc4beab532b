"""Is a file what its name says? Checked once, before an asset enters the cache.

A broken asset otherwise fails deep inside ffmpeg or the compositor with a message
about a temporary path; checked here, the error names the parameter and the URL. The
checks open the file the way the engines will (Pillow for images, PyAV/libavformat for
audio and video) and decode a little of it, so a truncated or mislabelled file shows.
"""

from __future__ import annotations

from pathlib import Path

import av
from PIL import Image, ImageFont

from neuroshorts.errors import ContentError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
AUDIO_SUFFIXES = frozenset({".mp3", ".wav", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".flac"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi"})
FONT_SUFFIXES = frozenset({".ttf", ".otf"})
NOTEBOOK_SUFFIXES = frozenset({".ipynb"})

EXPECTED = {
    "image": "an image Pillow can open (JPEG, PNG, WebP, GIF, BMP or TIFF)",
    "audio": "an audio file (MP3, WAV, M4A, AAC, Ogg, Opus or FLAC)",
    "video": "a video file (MP4, MOV, WebM or MKV)",
    "font": "a TrueType or OpenType font",
    "notebook": "a Jupyter notebook (nbformat 4 JSON), such as a template",
    "media": "a non-empty image, audio or video file",
}

#: libavformat's container names and the suffix a file of that kind gets.
_CONTAINERS = {"mp3": ".mp3", "wav": ".wav", "ogg": ".ogg", "flac": ".flac", "aac": ".aac"}


def kind_of(suffix: str) -> str:
    """`image`, `audio`, `video`, `font`, `notebook`, or `media` for a suffix not known here."""
    suffix = suffix.lower()
    for kind, suffixes in (
        ("image", IMAGE_SUFFIXES),
        ("audio", AUDIO_SUFFIXES),
        ("video", VIDEO_SUFFIXES),
        ("font", FONT_SUFFIXES),
        ("notebook", NOTEBOOK_SUFFIXES),
    ):
        if suffix in suffixes:
            return kind
    return "media"


def check(path: Path, suffix: str) -> None:
    """Raise ContentError unless `path` opens as the kind of file `suffix` names."""
    kind = kind_of(suffix)
    if path.stat().st_size == 0:
        raise ContentError("is empty (0 bytes)", EXPECTED[kind])
    try:
        if kind == "image":
            _open_image(path)
        elif kind in ("audio", "video"):
            _decode_first_frame(path, kind)
        elif kind == "font":
            ImageFont.truetype(str(path), 12)
        elif kind == "notebook":
            # Imported here: nbformat brings jsonschema (a second or more to import), and
            # every template kernel imports this module but only template lookups need it.
            import nbformat

            nbformat.validate(nbformat.read(path, as_version=4))
    except ContentError:
        raise
    except Exception as error:
        raise ContentError(
            f"is not a readable {kind} file ({_reason(error, path)})", EXPECTED[kind]
        ) from error


def sniff_suffix(path: Path) -> str:
    """A suffix for a file that came without one, from its content; "" if unknown.

    ffmpeg and the engines choose readers by suffix, so a URL such as
    `https://cdn.example/media?id=7` must land in the cache with one.
    """
    try:
        with Image.open(path) as image:
            return ".jpg" if image.format == "JPEG" else f".{image.format.lower()}"
    except Exception:
        pass
    try:
        with av.open(str(path)) as container:
            names = container.format.name.split(",")
            if "mp4" in names:
                return ".mp4" if container.streams.video else ".m4a"
            if "matroska" in names:
                return ".mkv"
            return next((_CONTAINERS[name] for name in names if name in _CONTAINERS), "")
    except Exception:
        return ""


def _open_image(path: Path) -> None:
    """Decode the image (at a reduced scale where the format allows, so it stays quick)."""
    with Image.open(path) as image:
        image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
        image.load()


def _decode_first_frame(path: Path, kind: str) -> None:
    with av.open(str(path)) as container:
        streams = container.streams.audio if kind == "audio" else container.streams.video
        if not streams:
            raise ContentError(f"has no {kind} stream", EXPECTED[kind])
        if next(container.decode(streams[0]), None) is None:
            raise ContentError(f"has no decodable {kind} in it", EXPECTED[kind])


def _reason(error: Exception, path: Path) -> str:
    """The library's complaint without the file's (temporary, meaningless) path."""
    reason = getattr(error, "strerror", None) or str(error)
    return reason.replace(f" '{path}'", "").replace(str(path), "the file")
