"""Safe areas: the part of the frame that platforms' UI chrome never covers.

On TikTok, Shorts and Reels the top bar, the description and music line at the bottom
and the like/comment/share column on the right sit over the video; captions there are
unreadable. The figures are fractions of the frame taken from the platforms' published
safe-zone guides for 1080x1920 and rounded outwards (check them against a current
screenshot when a platform redesigns); 9:16 uses the intersection of all three, so one
render is safe wherever it is posted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from neuroshorts.scene import Canvas


@dataclass(frozen=True)
class SafeArea:
    """Fractions of the frame kept clear of platform UI (top, bottom, left, right)."""

    top: float = 0.10
    bottom: float = 0.22
    left: float = 0.10
    right: float = 0.10

    def __post_init__(self) -> None:
        for name in ("top", "bottom", "left", "right"):
            value = getattr(self, name)
            if not 0.0 <= value < 0.5:
                raise ValueError(f"safe area {name}: got {value}, expected a fraction in [0, 0.5)")

    def box(self, canvas: Canvas) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the safe rectangle in canvas pixels, x1/y1 exclusive."""
        return (
            math.ceil(canvas.width * self.left),
            math.ceil(canvas.height * self.top),
            math.floor(canvas.width * (1 - self.right)),
            math.floor(canvas.height * (1 - self.bottom)),
        )

    def intersect(self, other: SafeArea) -> SafeArea:
        """The area safe under both UIs."""
        return SafeArea(
            max(self.top, other.top),
            max(self.bottom, other.bottom),
            max(self.left, other.left),
            max(self.right, other.right),
        )


TIKTOK = SafeArea(top=0.08, bottom=0.24, left=0.06, right=0.14)
SHORTS = SafeArea(top=0.08, bottom=0.21, left=0.06, right=0.14)
REELS = SafeArea(top=0.11, bottom=0.23, left=0.06, right=0.13)
SAFE_9_16 = TIKTOK.intersect(SHORTS).intersect(REELS)
#: Square feed posts: the caption and buttons sit outside the video, so a margin suffices.
SAFE_1_1 = SafeArea(top=0.07, bottom=0.10, left=0.07, right=0.07)
#: Landscape players overlay their controls along the bottom edge.
SAFE_16_9 = SafeArea(top=0.08, bottom=0.15, left=0.06, right=0.06)

SAFE_AREAS = {
    "9:16": SAFE_9_16,
    "tiktok": TIKTOK,
    "shorts": SHORTS,
    "reels": REELS,
    "1:1": SAFE_1_1,
    "16:9": SAFE_16_9,
}

_BY_ASPECT = {9 / 16: SAFE_9_16, 1.0: SAFE_1_1, 16 / 9: SAFE_16_9}


def safe_area_for(canvas: Canvas, name: str = "auto") -> SafeArea:
    """The named safe area, or with `auto` the one for the aspect closest to the canvas's."""
    if name == "auto":
        aspect = canvas.width / canvas.height
        closest = min(_BY_ASPECT, key=lambda known: abs(math.log(aspect / known)))
        return _BY_ASPECT[closest]
    if name not in SAFE_AREAS:
        raise ValueError(
            f"safe_area: got {name!r}, expected auto or one of {', '.join(SAFE_AREAS)}"
        )
    return SAFE_AREAS[name]
