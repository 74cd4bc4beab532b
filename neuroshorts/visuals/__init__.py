"""Visuals engine: the layers a template puts on screen, and their entry points.

The layers live in small modules by job: `backgrounds` (colours, gradients, images,
Ken Burns, video clips), `overlays` (title, end card, logo, stickers, progress bar),
`transitions` (segments of backgrounds joined by crossfades, slides or zooms),
`sequence` (scenes timed to the narration's sentences), `shapes` (free shapes and
text boxes) and `moviepy_layer` (any MoviePy
clip as a layer). This module gathers them and turns template parameters (a
background spec, a user-written title) into layers.

Each layer rasterises what does not change once per canvas size and keeps it, so the
per-frame cost is one resample for a moving background and small alpha blends for
text, never layout or font work.
"""

from __future__ import annotations

from neuroshorts.media.assets import resolve
from neuroshorts.scene import Layer, Sound, Span
from neuroshorts.visuals.backgrounds import (
    AnimatedGradient,
    Fit,
    GradientBackground,
    ImageBackground,
    KenBurns,
    SolidBackground,
    VideoBackground,
    ease_in_out,
)
from neuroshorts.visuals.graphics import (
    HookTitle,
    LowerThird,
    NumberBadge,
    QuoteCard,
    TopStrip,
)
from neuroshorts.visuals.moviepy_layer import MoviePyLayer
from neuroshorts.visuals.overlays import (
    EndCard,
    ImageOverlay,
    ProgressBar,
    TitleCard,
    Watermark,
)
from neuroshorts.visuals.sequence import Shot, sentence_spans, sequence
from neuroshorts.visuals.shapes import TEXT_STYLE, Box, Shape, TextLayer
from neuroshorts.visuals.text import render_text
from neuroshorts.visuals.transitions import Segments

__all__ = [
    "TEXT_STYLE",
    "AnimatedGradient",
    "Box",
    "EndCard",
    "GradientBackground",
    "HookTitle",
    "ImageBackground",
    "ImageOverlay",
    "KenBurns",
    "LowerThird",
    "MoviePyLayer",
    "NumberBadge",
    "ProgressBar",
    "QuoteCard",
    "Segments",
    "Shape",
    "Shot",
    "SolidBackground",
    "TextLayer",
    "TitleCard",
    "TopStrip",
    "VideoBackground",
    "Watermark",
    "background",
    "background_sound",
    "ease_in_out",
    "render_text",
    "sentence_spans",
    "sequence",
]

#: File suffixes `background` treats as video clips rather than stills.
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".webm", ".mkv"})


def background(spec: str, span: Span, *, zoom: float = 1.12, fit: Fit = "cover") -> Layer:
    """The background layer a template parameter names.

    `solid:COLOUR`, `gradient:TOP,BOTTOM`, `animated:TOP,BOTTOM` (a drifting gradient),
    a video file (muted, looped) or an image
    reference (path, `file://`, `builtin:NAME`) shown with a slow Ken Burns zoom from
    1.0 to `zoom` (1.0 holds it still). `fit` is how off-ratio media fills the frame:
    `cover` crops, `contain` shows all of it over a blurred copy.
    """
    kind, _, value = spec.partition(":")
    try:
        if kind == "solid":
            return SolidBackground(value, span)
        if kind in ("gradient", "animated"):
            top, bottom = (color.strip() for color in value.split(","))
            if kind == "animated":
                return AnimatedGradient(top, bottom, span)
            return GradientBackground(top, bottom, span)
    except ValueError as error:
        raise ValueError(
            f"background: {spec!r} is not valid ({error}); expected 'solid:COLOUR', "
            "'gradient:TOP,BOTTOM', 'animated:TOP,BOTTOM' or an image"
        ) from error
    path = resolve(spec, field="background")
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return VideoBackground(path, span, fit=fit)
    if zoom == 1.0:
        return ImageBackground(path, span, fit=fit)
    return KenBurns(path, span, zoom=(1.0, zoom), fit=fit)


def background_sound(spec: str, *, level_db: float = -18.0) -> Sound:
    """The own sound of the video file a `background` parameter names, for `audio.mix`.

    Sound is mixed before the layers are built (their spans follow the soundtrack's
    length), so this reads the same spec: the clip's frames and its sound share the
    start, trim and looping of a background that covers the whole short.
    """
    kind, _, _ = spec.partition(":")
    path = None if kind in ("solid", "gradient", "animated") else resolve(spec, field="background")
    if path is None or path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(
            f"background_sound: the background {spec!r} is not a video file; "
            "expected a video background to mix its sound"
        )
    return VideoBackground(path).sound(level_db)
