"""Subtitle engine: word timings → caption pages → a styled caption layer and sidecars.

Shorts are watched muted as often as not, so captions carry the script: short pages
that change with the voice, with the spoken word picked out, drawn large inside the
part of the frame that the platforms' buttons and descriptions never cover.

The parts live in small modules (paging, look, styles, layout, safe areas, renderer,
sidecars); this module is the engine's front door that templates and the compositor
import.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from pathlib import Path

from neuroshorts.captions.layout import PageLayout, fit_page
from neuroshorts.captions.look import (
    DEFAULT_LOOK,
    POSITIONS,
    CaptionLook,
    Emphasis,
    parse_emphasis,
)
from neuroshorts.captions.paging import BREAK_AFTER, Page, one_word_pages, paginate
from neuroshorts.captions.raster import PageRenderer
from neuroshorts.captions.safe_area import (
    SAFE_9_16,
    SAFE_AREAS,
    SafeArea,
    safe_area_for,
)
from neuroshorts.captions.sidecars import (
    to_ass,
    to_srt,
    to_vtt,
    write_ass,
    write_srt,
    write_vtt,
)
from neuroshorts.captions.styles import STYLES, CaptionStyle, WordLook, caption_style
from neuroshorts.output.bundle import Bundle
from neuroshorts.scene import Canvas, Layer, Patch, Span

__all__ = [
    "BREAK_AFTER",
    "DEFAULT_LOOK",
    "POSITIONS",
    "SAFE_9_16",
    "SAFE_AREAS",
    "STYLES",
    "CaptionLayer",
    "CaptionLook",
    "CaptionStyle",
    "Emphasis",
    "Page",
    "SafeArea",
    "WordLook",
    "caption_style",
    "one_word_pages",
    "paginate",
    "parse_emphasis",
    "safe_area_for",
    "to_ass",
    "to_srt",
    "to_vtt",
    "write_ass",
    "write_sidecars",
    "write_srt",
    "write_vtt",
]


class CaptionLayer(Layer):
    """Caption pages in a style, fitted into the safe area of whatever canvas draws them.

    Each page is laid out once per canvas and each of its states (active word, pop
    step) rasterised once and kept, so after the first frame of a state a frame costs
    a lookup and an alpha blend of the caption's box. The caches keep the most recently
    used images only, so memory stays flat however long the short is (frames run
    forwards; scrubbing back re-renders a page in milliseconds).
    """

    #: Images kept: every state of the current and the previous page, even for `pop`.
    MAX_PATCHES = 48
    #: Pages whose per-word tiles are kept.
    MAX_RENDERERS = 3

    def __init__(
        self,
        pages: Sequence[Page],
        style: CaptionStyle | str = "plain",
        look: CaptionLook = DEFAULT_LOOK,
        *,
        safe: SafeArea | str = "auto",
    ) -> None:
        """`safe` is a `SafeArea`, a name from `SAFE_AREAS`, or `auto` (by aspect)."""
        self.style = caption_style(style) if isinstance(style, str) else style
        self.look = look
        if isinstance(safe, str):
            safe_area_for(Canvas(), safe)  # reject an unknown name now, not at the first frame
        self.safe = safe
        self.pages = self.style.pages(pages)
        self._starts = [page.start for page in self.pages]
        self._layouts: dict[tuple[int, Canvas], tuple[PageLayout, int, int]] = {}
        self._renderers: OrderedDict[tuple[int, Canvas], PageRenderer] = OrderedDict()
        self._patches: OrderedDict[tuple[int, Hashable, Canvas], Patch] = OrderedDict()
        # The preview and a render may draw frames from different threads.
        self._lock = threading.RLock()
        end = self.pages[-1].end if self.pages else 0.001
        self.span = Span(0.0, max(end, 0.001))

    @property
    def label(self) -> str:
        return f"{self.style.name}, {len(self.pages)} pages"

    def _index_at(self, t: float) -> int | None:
        index = bisect.bisect_right(self._starts, t) - 1
        if index >= 0 and t < self.pages[index].end:
            return index
        return None

    def page_at(self, t: float) -> Page | None:
        """The page on screen at `t`, if any: what a preview shows as caption text."""
        index = self._index_at(t)
        return None if index is None else self.pages[index]

    def active_word_at(self, t: float) -> int | None:
        """Index (in its page) of the word highlighted at `t`, if any."""
        page = self.page_at(t)
        return None if page is None else page.active_index(t)

    def safe_area(self, canvas: Canvas) -> SafeArea:
        if isinstance(self.safe, SafeArea):
            return self.safe
        return safe_area_for(canvas, self.safe)

    def patch(self, t: float, canvas: Canvas) -> Patch | None:
        index = self._index_at(t)
        if index is None:
            return None
        page = self.pages[index]
        key = (index, self.style.state_at(page, t), canvas)
        with self._lock:
            patch = self._patches.get(key)
            if patch is None:
                patch = self._patches[key] = self._rasterise(index, key[1], canvas)
                _trim(self._patches, self.MAX_PATCHES)
            else:
                self._patches.move_to_end(key)
        return patch

    def layout(self, index: int, canvas: Canvas) -> tuple[PageLayout, int, int]:
        """Page `index` fitted to `canvas`'s safe area, with its top-left corner there."""
        key = (index, canvas)
        if key not in self._layouts:
            self._layouts[key] = self._fit(self.pages[index], canvas)
        return self._layouts[key]

    def _fit(self, page: Page, canvas: Canvas) -> tuple[PageLayout, int, int]:
        look = self.look
        x0, y0, x1, y1 = self.safe_area(canvas).box(canvas)
        layout = fit_page(
            [look.token(word.text) for word in page.words],
            look.fonts,
            size=canvas.px(look.size),
            stroke_width=canvas.px(look.outline_width),
            line_spacing=look.line_spacing,
            max_lines=look.max_lines,
            reach=self.style.reach(look),
            max_width=x1 - x0,
            max_height=y1 - y0,
        )
        x = min(max((canvas.width - layout.width) // 2, x0), x1 - layout.width)
        y = round(canvas.height * look.center_y - layout.height / 2)
        y = min(max(y, y0), y1 - layout.height)
        return layout, x, y

    def _rasterise(self, index: int, state: Hashable, canvas: Canvas) -> Patch:
        layout, x, y = self.layout(index, canvas)
        key = (index, canvas)
        if key in self._renderers:
            self._renderers.move_to_end(key)
        else:
            self._renderers[key] = PageRenderer(layout, self.look, self.style.reach(self.look))
            _trim(self._renderers, self.MAX_RENDERERS)
        looks = self.style.looks(self.pages[index], state, self.look)
        return Patch(self._renderers[key].render(looks), x, y)


def _trim(cache: OrderedDict, size: int) -> None:
    """Drop the least recently used entries of `cache` beyond `size`."""
    while len(cache) > size:
        cache.popitem(last=False)


def write_sidecars(
    pages: Sequence[Page],
    video: str | Path,
    canvas: Canvas = Canvas(),
    layer: CaptionLayer | None = None,
) -> dict[str, Path]:
    """Write `.srt`, `.vtt` and `.ass` beside `video` (same stem); returns them by kind.

    With the short's caption `layer`, the ASS file takes its look, and karaoke timing
    when its style marks the spoken word.
    """
    bundle = Bundle(Path(video))
    look = layer.look if layer else DEFAULT_LOOK
    karaoke = layer.style.marks_active_word if layer else True
    return {
        "srt": write_srt(pages, bundle.caption("srt")),
        "vtt": write_vtt(pages, bundle.caption("vtt")),
        "ass": write_ass(pages, bundle.caption("ass"), look, canvas, karaoke=karaoke),
    }
