"""Broadcast-style graphics for the gallery templates: quote card, hook title, number
badge, news lower third and a top strip.

Like the overlays, each graphic is drawn once per canvas size and handed out as the
same RGBA array every frame, fading in and out over its span; layout is in design
pixels (short side 1080) and fractions of the frame, and anything placed near an edge
keeps inside the platforms' safe area, where their buttons and descriptions never sit.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from neuroshorts.captions.safe_area import safe_area_for
from neuroshorts.scene import Canvas, Patch, Span, one_line
from neuroshorts.scene.typography import (
    TextStyle,
    fit,
    line_image,
    lines_image,
    rgba,
    stack,
    text_width,
    wrap,
)
from neuroshorts.visuals.overlays import Graphic


#: Capitals that rise highest in Latin scripts: the headroom every line gets.
def drop_shadow(art: Image.Image, radius: int, opacity: float) -> tuple[Image.Image, int]:
    """`art` over a soft blurred copy of its own shape, and the padding added around it.

    Text over a user-chosen gradient or photo must stay legible whatever the colours;
    a soft shadow does that without boxing the text in.
    """
    pad = 2 * radius
    out = Image.new("RGBA", (art.width + 2 * pad, art.height + 2 * pad))
    shadow = Image.new("RGBA", art.size, (0, 0, 0, 255))
    shadow.putalpha(art.getchannel("A").point(lambda a: round(a * opacity)))
    out.alpha_composite(shadow, (pad, pad + radius // 2))
    out = out.filter(ImageFilter.GaussianBlur(radius))
    out.alpha_composite(art, (pad, pad))
    return out, pad


def balanced(text: str, style: TextStyle, max_width: int) -> list[str]:
    """`text` wrapped into as few lines as fit `max_width`, of lengths as even as can be.

    Greedy wrapping leaves a lone word on the last line of a headline ("laser / focus");
    narrowing the box while the line count holds spreads the words evenly instead.
    """
    lines = wrap(text, style, max_width)
    width = max_width
    while len(lines) > 1:
        width = int(width * 0.97)
        narrower = wrap(text, style, width)
        if len(narrower) > len(lines) or max(text_width(n, style) for n in narrower) > width:
            break
        lines = narrower
    return lines


def text_line(text: str, style: TextStyle, max_width: int) -> Image.Image:
    """One line of text in `max_width`: shrunk a little if need be, then cut with `…`.

    A chip or a strip has one line's height, and text shrunk below four fifths of its
    size stops reading as the same design, so a longer text is cut instead.
    """
    text = " ".join(text.split())
    size = style.size
    while text_width(text, style.resized(size)) > max_width and size * 0.96 >= style.size * 0.8:
        size = int(size * 0.96)
    fitted = style.resized(size)
    if text_width(text, fitted) > max_width:
        while text and text_width(text + "…", fitted) > max_width:
            text = text[:-1]
        text = text.rstrip() + "…"
    return line_image(text, fitted)


class QuoteCard(Graphic):
    """A quote in big type with an accent quotation mark, a rule and its attribution,
    centred at `center_y`: the card *is* the picture, so it gets most of the frame."""

    headline = True

    def __init__(
        self,
        quote: str,
        attribution: str = "",
        span: Span = Span(),
        *,
        color: str = "white",
        accent: str = "#ffd60a",
        size: int = 92,
        center_y: float = 0.37,
        max_width: float = 0.80,
        fade: float = 0.5,
    ) -> None:
        super().__init__(span, fade)
        self.quote, self.attribution = quote, attribution
        self.color, self.accent, self.size = color, accent, size
        self.center_y, self.max_width = center_y, max_width

    @property
    def label(self) -> str:
        return one_line(self.quote)

    def draw(self, canvas: Canvas) -> Patch:
        width = round(canvas.width * self.max_width)
        body = TextStyle("display", canvas.px(self.size), self.color, line_spacing=1.12)
        lines, body = fit(self.quote, body, width, round(canvas.height * 0.34), max_lines=7)
        parts = [
            line_image("\u201c", TextStyle("display", canvas.px(260), self.accent)),
            lines_image(lines, body),
        ]
        gaps = [canvas.px(-110), canvas.px(44)]
        if self.attribution.strip():
            rule = Image.new("RGBA", (canvas.px(120), max(2, canvas.px(8))), rgba(self.accent))
            who = TextStyle("text", canvas.px(46), self.color)
            parts += [rule, text_line(self.attribution.upper(), who, width)]
            gaps += [canvas.px(34)]
        card = stack(parts, gaps)
        card, _ = drop_shadow(card, canvas.px(14), 0.45)
        x = (canvas.width - card.width) // 2
        y = round(canvas.height * self.center_y - card.height / 2)
        return Patch(np.asarray(card), x, y)


class HookTitle(Graphic):
    """The opening promise in big type under a small chip ("TOP 5"), no box around it:
    on a plain colour the words themselves are the picture."""

    headline = True

    def __init__(
        self,
        title: str,
        chip: str = "",
        span: Span = Span(),
        *,
        color: str = "white",
        chip_color: str = "#ffd60a",
        chip_text: str = "#111111",
        center_y: float = 0.32,
        fade: float = 0.25,
    ) -> None:
        super().__init__(span, fade)
        self.title, self.chip = title, chip
        self.color, self.chip_color, self.chip_text = color, chip_color, chip_text
        self.center_y = center_y

    @property
    def label(self) -> str:
        return one_line(self.title)

    def draw(self, canvas: Canvas) -> Patch:
        width = round(canvas.width * 0.82)
        style = TextStyle("display", canvas.px(124), self.color, line_spacing=1.02)
        _, style = fit(self.title, style, width, round(canvas.height * 0.3), max_lines=4)
        lines = balanced(self.title, style, width)
        parts, gaps = [lines_image(lines, style)], []
        if self.chip.strip():
            pad = canvas.px(24)
            chip_style = TextStyle("display", canvas.px(64), self.chip_text)
            text = text_line(self.chip.upper(), chip_style, width)
            chip = Image.new("RGBA", (text.width + 2 * pad, text.height + pad))
            ImageDraw.Draw(chip).rounded_rectangle(
                (0, 0, chip.width - 1, chip.height - 1),
                radius=canvas.px(14),
                fill=rgba(self.chip_color),
            )
            chip.alpha_composite(text, (pad, pad // 2))
            parts.insert(0, chip)
            gaps.append(canvas.px(30))
        card, _ = drop_shadow(stack(parts, gaps), canvas.px(14), 0.45)
        x = (canvas.width - card.width) // 2
        y = round(canvas.height * self.center_y - card.height / 2)
        return Patch(np.asarray(card), x, y)


class NumberBadge(Graphic):
    """A listicle item's number in a big disc with the item's label under it."""

    def __init__(
        self,
        number: str,
        label: str = "",
        span: Span = Span(),
        *,
        color: str = "#ffd60a",
        number_color: str = "#111111",
        center_y: float = 0.30,
        fade: float = 0.2,
    ) -> None:
        super().__init__(span, fade)
        self.number, self.item = number, label
        self.color, self.number_color, self.center_y = color, number_color, center_y

    @property
    def label(self) -> str:
        return one_line(f"{self.number} {self.item}")

    def draw(self, canvas: Canvas) -> Patch:
        diameter = canvas.px(300)
        disc = Image.new("RGBA", (diameter, diameter))
        ImageDraw.Draw(disc).ellipse((0, 0, diameter - 1, diameter - 1), fill=rgba(self.color))
        style = TextStyle("display", canvas.px(190), self.number_color)
        digits = text_line(self.number, style, round(diameter * 0.78))
        # Centre the ink, not the line box: digits have no descenders.
        box = digits.getbbox() or (0, 0, digits.width, digits.height)
        disc.alpha_composite(
            digits,
            ((diameter - (box[0] + box[2])) // 2, (diameter - (box[1] + box[3])) // 2),
        )
        parts, gaps = [disc], []
        if self.item.strip():
            parts.append(_label(self.item, canvas))
            gaps.append(canvas.px(36))
        card, pad = drop_shadow(stack(parts, gaps), canvas.px(12), 0.4)
        x = (canvas.width - card.width) // 2
        y = round(canvas.height * self.center_y - diameter / 2) - pad
        return Patch(np.asarray(card), x, y)


class LowerThird(Graphic):
    """A news lower third: a label chip (BREAKING) over a headline bar and a kicker line.

    It sits on the bottom edge of the safe area, left-aligned with it, so captions go
    `top` or `middle` and the platform's description never covers it.
    """

    def __init__(
        self,
        headline: str,
        kicker: str = "",
        label: str = "BREAKING",
        span: Span = Span(),
        *,
        color: str = "#d62828",
        bar: str = "#ffffff",
        headline_color: str = "#111111",
        kicker_bar: str = "#0b1d3a",
        fade: float = 0.3,
    ) -> None:
        super().__init__(span, fade)
        self.headline, self.kicker, self.chip = headline, kicker, label
        self.color, self.bar, self.kicker_bar = color, bar, kicker_bar
        self.headline_color = headline_color

    @property
    def label(self) -> str:
        return one_line(self.headline)

    def draw(self, canvas: Canvas) -> Patch:
        x0, _, x1, y1 = safe_area_for(canvas).box(canvas)
        width, pad = x1 - x0, canvas.px(32)
        headline = TextStyle("display", canvas.px(64), self.headline_color, line_spacing=1.05)
        lines, headline = fit(self.headline, headline, width - 2 * pad, canvas.px(150), 2)
        text = lines_image(lines, headline, align="left")
        rows = [_bar(text, width, self.bar, pad, canvas)]
        if self.kicker.strip():
            kicker = text_line(self.kicker, TextStyle("text", canvas.px(40)), width - 2 * pad)
            rows.append(_bar(kicker, width, self.kicker_bar, pad, canvas))
        chip_height = 0
        if self.chip.strip():
            chip_text = TextStyle("display", canvas.px(38), "white")
            chip = text_line(self.chip.upper(), chip_text, width // 2)
            rows.insert(0, _bar(chip, chip.width + 2 * pad, self.color, pad, canvas))
            chip_height = rows[0].height
        art = stack(rows, [0] * len(rows), align="left")
        # An edge in the chip's colour down the bars ties the chip to its headline.
        edge = Image.new("RGBA", (canvas.px(12), art.height - chip_height), rgba(self.color))
        art.alpha_composite(edge, (0, chip_height))
        return Patch(np.asarray(art), x0, y1 - art.height - canvas.px(16))


class TopStrip(Graphic):
    """A slim strip along the top of the safe area: a live chip and a one-line title."""

    def __init__(
        self,
        text: str,
        label: str = "LIVE",
        span: Span = Span(),
        *,
        color: str = "#d62828",
        bar: str = "#0b1d3a",
        bar_opacity: float = 0.85,
        fade: float = 0.3,
    ) -> None:
        super().__init__(span, fade)
        self.text, self.chip = text, label
        self.color, self.bar, self.bar_opacity = color, bar, bar_opacity

    @property
    def label(self) -> str:
        return one_line(self.text)

    def draw(self, canvas: Canvas) -> Patch:
        x0, y0, x1, _ = safe_area_for(canvas).box(canvas)
        width, pad, height = x1 - x0, canvas.px(20), canvas.px(72)
        strip = Image.new("RGBA", (width, height), rgba(self.bar, self.bar_opacity))
        left = 0
        if self.chip.strip():
            chip_text = text_line(self.chip.upper(), TextStyle("display", canvas.px(34)), width)
            chip = Image.new("RGBA", (chip_text.width + 2 * pad, height), rgba(self.color))
            chip.alpha_composite(chip_text, (pad, (height - chip_text.height) // 2))
            strip.alpha_composite(chip, (0, 0))
            left = chip.width
        title = text_line(self.text, TextStyle("display", canvas.px(36)), width - left - 2 * pad)
        strip.alpha_composite(title, (left + pad, (height - title.height) // 2))
        return Patch(np.asarray(strip), x0, y0)


def _label(text: str, canvas: Canvas) -> Image.Image:
    """An item label: white type on a dark rounded box, up to two lines."""
    pad = canvas.px(30)
    style = TextStyle("display", canvas.px(70), "white", line_spacing=1.05)
    lines, style = fit(text, style, round(canvas.width * 0.78) - 2 * pad, canvas.px(200), 2)
    block = lines_image(lines, style)
    box = Image.new("RGBA", (block.width + 2 * pad, block.height + 2 * pad))
    ImageDraw.Draw(box).rounded_rectangle(
        (0, 0, box.width - 1, box.height - 1), radius=canvas.px(26), fill=rgba("#111111", 0.82)
    )
    box.alpha_composite(block, (pad, pad))
    return box


def _bar(content: Image.Image, width: int, color: str, pad: int, canvas: Canvas) -> Image.Image:
    """`content` left-aligned on a solid bar `width` wide, padded above and below."""
    bar = Image.new("RGBA", (width, content.height + 2 * canvas.px(14)), rgba(color))
    bar.alpha_composite(content, (pad, canvas.px(14)))
    return bar
