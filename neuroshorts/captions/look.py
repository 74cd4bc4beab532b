"""What captions look like: font, colours, outline, shadow, box, case, position, emphasis.

One frozen value holds every option a template exposes, validated when it is made, so
a wrong colour or opacity from a request fails before a frame is drawn and the message
names the option.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

from neuroshorts.scene.typography import font_path, rgba

#: Vertical centre of the caption block, as a fraction of the frame height, per named
#: position; the block is then moved as needed to stay inside the safe area.
POSITIONS = {"top": 0.25, "middle": 0.5, "bottom": 0.66}

_PUNCTUATION = string.punctuation + "¿¡…«»“”\u2018\u2019"


@dataclass(frozen=True)
class Emphasis:
    """A keyword drawn in its own colour and/or followed by an emoji."""

    keyword: str
    color: str | None = None
    emoji: str | None = None


def normalise(word: str) -> str:
    """A word as keywords are matched: case-folded, without surrounding punctuation."""
    return word.strip(_PUNCTUATION).casefold()


def parse_emphasis(spec: str, *, field: str = "caption_keywords") -> tuple[Emphasis, ...]:
    """Parse `"hearts:#ff3b30, octopus:🐙"` into keyword emphases.

    Each comma-separated item is `word:colour` or `word:emoji`; a value that is a CSS
    colour colours the word, anything else is appended after it as an emoji.
    """
    emphases = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        keyword, separator, value = (text.strip() for text in item.partition(":"))
        if not separator or not keyword or not value:
            raise ValueError(
                f"{field}: item {item!r} in {spec!r} is not 'word:colour' or 'word:emoji'"
            )
        try:
            rgba(value)
        except ValueError:
            emphases.append(Emphasis(normalise(keyword), emoji=value))
        else:
            emphases.append(Emphasis(normalise(keyword), color=value))
    return tuple(emphases)


@dataclass(frozen=True)
class CaptionLook:
    """Caption options. Sizes are design pixels (on a 1080-wide frame); effects are in
    ems (fractions of the font size), so they keep their proportion when text shrinks."""

    font: str = "display"
    size: int = 96
    fill: str = "white"
    active_fill: str = "#ffd60a"
    outline: str = "black"
    outline_width: int = 9
    shadow: str = "black"
    shadow_opacity: float = 0.55
    shadow_offset: float = 0.06
    box: str = "#7b2ff7"
    box_opacity: float = 0.9
    box_padding: float = 0.14
    uppercase: bool = False
    position: str = "bottom"
    line_spacing: float = 1.08
    max_lines: int = 2
    fallback_fonts: tuple[str, ...] = ()
    emphasis: tuple[Emphasis, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("fill", "active_fill", "outline", "shadow", "box"):
            value = getattr(self, name)
            try:
                rgba(value)
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from error
        for name in ("shadow_opacity", "box_opacity"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}: got {value}, expected an opacity from 0 to 1")
        for name, font in [("font", self.font)] + [
            ("fallback_fonts", f) for f in self.fallback_fonts
        ]:
            try:
                font_path(font)
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from error
        if self.position not in POSITIONS:
            raise ValueError(
                f"position: got {self.position!r}, expected one of {', '.join(POSITIONS)}"
            )
        if self.size < 8:
            raise ValueError(f"size: got {self.size}, expected at least 8 design pixels")
        if self.outline_width < 0:
            raise ValueError(f"outline_width: got {self.outline_width}, expected 0 or more")
        if self.max_lines < 1:
            raise ValueError(f"max_lines: got {self.max_lines}, expected at least 1")

    @property
    def fonts(self) -> tuple[str, ...]:
        """The font chain: the caption font, the user's fallbacks, then bundled emoji."""
        return (self.font, *self.fallback_fonts, "emoji")

    @property
    def center_y(self) -> float:
        return POSITIONS[self.position]

    def _emphasis_for(self, word: str) -> Emphasis | None:
        key = normalise(word)
        return next((e for e in self.emphasis if e.keyword == key), None)

    def token(self, word: str) -> str:
        """The text drawn for a spoken word: cased, with its keyword emoji if any."""
        text = word.upper() if self.uppercase else word
        emphasis = self._emphasis_for(word)
        return f"{text} {emphasis.emoji}" if emphasis and emphasis.emoji else text

    def fill_for(self, word: str) -> str:
        """The resting colour of a word: its keyword colour, or the caption fill."""
        emphasis = self._emphasis_for(word)
        return emphasis.color if emphasis and emphasis.color else self.fill


#: The look used when a caller names none: white Lato Black, black outline, soft shadow.
DEFAULT_LOOK = CaptionLook()
