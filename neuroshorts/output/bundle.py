"""The files one render writes, named in one place.

A render of `clip.mp4` leaves these in the video's folder, with the video's stem:

    clip.mp4                the video
    clip.srt .vtt .ass      the caption sidecars (when the short has captions)
    clip.jpg                the thumbnail
    clip.ipynb              the executed notebook, the record of the run (kept when it fails)
    clip.json               the manifest, written last: when it is there, the rest is
    .clip.<pid>.partial.*   a file being written (`files.atomic_path`), moved into place
                            whole or removed

and the service keeps its job's log beside them as `clip.log`, which outlives the rest.
The encoder, the captions engine, `templates.run`, publishing (`media.storage`), the
worker and the watch folder take every one of these names from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from neuroshorts.output.files import partials

#: The video's container: H.264 and AAC in MP4, what every platform takes.
VIDEO = ".mp4"
#: Caption sidecars by kind (the manifest's field names).
CAPTIONS = {"srt": ".srt", "vtt": ".vtt", "ass": ".ass"}
THUMBNAIL = ".jpg"
NOTEBOOK = ".ipynb"
MANIFEST = ".json"
LOG = ".log"
#: Everything beside the video but the manifest, in the order they are published.
SIDECARS = (*CAPTIONS.values(), THUMBNAIL, NOTEBOOK)


def is_video_name(name: str) -> bool:
    """Whether `name` (a path or URL) names a video a render may write."""
    return name.lower().endswith(VIDEO)


@dataclass(frozen=True)
class Bundle:
    """The files of the render whose video is `video`."""

    video: Path

    def caption(self, kind: str) -> Path:
        """The sidecar of caption kind `srt`, `vtt` or `ass`."""
        return self.video.with_suffix(CAPTIONS[kind])

    @property
    def thumbnail(self) -> Path:
        return self.video.with_suffix(THUMBNAIL)

    @property
    def notebook(self) -> Path:
        return self.video.with_suffix(NOTEBOOK)

    @property
    def manifest(self) -> Path:
        return self.video.with_suffix(MANIFEST)

    @property
    def log(self) -> Path:
        return self.video.with_suffix(LOG)

    def files(self) -> list[tuple[Path, str]]:
        """Every file of the bundle with its suffix, in publishing order: the sidecars,
        the video, the manifest last (a reader who sees it may take the rest as there)."""
        suffixes = (*SIDECARS, self.video.suffix, MANIFEST)
        return [(self.video.with_suffix(suffix), suffix) for suffix in suffixes]

    def discard(self, *, keep_notebook: bool = False) -> None:
        """Remove the video, its sidecars, its manifest and any half-written file of them
        (a cancelled or failed job); `keep_notebook` leaves the record of a failed run.
        The log stays."""
        for path, suffix in self.files():
            if not (keep_notebook and suffix == NOTEBOOK):
                path.unlink(missing_ok=True)
        for partial in partials(self.video.parent, stem=self.video.stem):
            partial.unlink(missing_ok=True)
