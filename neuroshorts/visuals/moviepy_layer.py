"""Any MoviePy clip as a layer, so designers can bring MoviePy's own effects into a template.

MoviePy renders a frame as an RGB array (plus a mask clip for transparency); the layer
places it on the canvas, scaled from design pixels. Its pixels change every frame, so
they are converted without being cached: a MoviePy layer costs what MoviePy costs, and
is best kept to small or short-lived elements.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from neuroshorts.scene import Canvas, Layer, Patch, Span


class MoviePyLayer(Layer):
    """`clip` (a moviepy VideoClip) drawn from `span.start`, at (x, y) design pixels.

    The clip's own size is taken as design pixels too (short side 1080), so it keeps
    its proportion of the frame at draft size and in every aspect ratio.
    """

    def __init__(self, clip: Any, span: Span | None = None, *, x: float = 0, y: float = 0):
        if span is None:
            if clip.duration is None:
                raise ValueError("a MoviePy clip without a duration needs an explicit span")
            span = Span(0.0, clip.duration)
        self.clip, self.span, self.x, self.y = clip, span, x, y

    @property
    def label(self) -> str:
        return type(self.clip).__name__

    def patch(self, t: float, canvas: Canvas) -> Patch:
        local = t - self.span.start
        rgb = np.asarray(self.clip.get_frame(local), dtype=np.uint8)
        if self.clip.mask is not None:
            alpha = np.asarray(self.clip.mask.get_frame(local)) * 255
            rgb = np.dstack([rgb, np.clip(alpha + 0.5, 0, 255).astype(np.uint8)])
        if canvas.scale != 1:
            size = (
                max(1, round(rgb.shape[1] * canvas.scale)),
                max(1, round(rgb.shape[0] * canvas.scale)),
            )
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        return Patch(rgb, canvas.px(self.x), canvas.px(self.y), changing=True)
