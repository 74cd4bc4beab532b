"""Caption sidecar files: SRT and WebVTT beside every video, and ASS for editors.

Platforms index and translate uploaded caption tracks, and editors restyle them, so
the captions burnt into the frames are also written as text with the same page
timings; WebVTT and ASS carry each word's own start, so players and editors that do
karaoke get word-accurate timing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fontTools.ttLib import TTFont

from neuroshorts.captions.look import DEFAULT_LOOK, CaptionLook
from neuroshorts.captions.paging import Page
from neuroshorts.captions.safe_area import SafeArea, safe_area_for
from neuroshorts.output.files import write_text_atomic
from neuroshorts.scene import Canvas
from neuroshorts.scene.typography import font_path, rgba


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_srt(pages: Sequence[Page]) -> str:
    """SubRip text with one cue per page, for platforms' own caption tracks."""
    cues = [
        f"{number}\n{_clock(page.start, ',')} --> {_clock(page.end, ',')}\n{page.text}\n"
        for number, page in enumerate(pages, start=1)
    ]
    return "\n".join(cues)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(pages: Sequence[Page]) -> str:
    """WebVTT with one cue per page; each later word carries its start as a timestamp tag.

    `<00:00:01.200>word` is WebVTT's karaoke timing: players that support it reveal
    words as they are spoken, the rest show the page.
    """
    cues = ["WEBVTT\n"]
    for number, page in enumerate(pages, start=1):
        words = [_vtt_escape(page.words[0].text)]
        words += [f"<{_clock(w.start, '.')}>{_vtt_escape(w.text)}" for w in page.words[1:]]
        timing = f"{_clock(page.start, '.')} --> {_clock(page.end, '.')}"
        cues.append(f"{number}\n{timing}\n{' '.join(words)}\n")
    return "\n".join(cues)


def _ass_time(seconds: float) -> str:
    centis = round(seconds * 100)
    hours, centis = divmod(centis, 360_000)
    minutes, centis = divmod(centis, 6000)
    secs, centis = divmod(centis, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{centis:02d}"


def _ass_colour(color: str, opacity: float = 1.0) -> str:
    r, g, b, a = rgba(color, opacity)
    return f"&H{255 - a:02X}{b:02X}{g:02X}{r:02X}"


def _ass_text(text: str) -> str:
    """Text with ASS's override braces and backslashes made harmless."""
    return text.replace("\\", "/").replace("{", "(").replace("}", ")")


def font_name(font: str) -> str:
    """A font's full name (as libass and editors look it up) from its name table."""
    with TTFont(font_path(font), fontNumber=0, lazy=True) as ttf:
        return ttf["name"].getDebugName(4) or ttf["name"].getDebugName(1) or font


def to_ass(
    pages: Sequence[Page],
    look: CaptionLook = DEFAULT_LOOK,
    canvas: Canvas = Canvas(),
    *,
    karaoke: bool = True,
    safe: SafeArea | None = None,
) -> str:
    """Advanced SubStation Alpha script of the captions, styled like the burnt-in ones.

    With `karaoke`, each word carries a `\\k` tag of its duration, so editors and libass
    switch words to the active colour as they are spoken.
    """
    safe = safe or safe_area_for(canvas)
    x0, _, x1, y1 = safe.box(canvas)
    primary = look.active_fill if karaoke else look.fill
    shadow = round(look.shadow_offset * canvas.px(look.size)) if look.shadow_opacity else 0
    margin_v = max(canvas.height - y1, round(canvas.height * (1 - look.center_y)))
    style = ",".join(
        str(field)
        for field in (
            "Style: Caption",
            font_name(look.font),
            canvas.px(look.size),
            _ass_colour(primary),
            _ass_colour(look.fill),
            _ass_colour(look.outline),
            _ass_colour(look.shadow, look.shadow_opacity),
            *(0, 0, 0, 0, 100, 100, 0, 0, 1),
            canvas.px(look.outline_width),
            shadow,
            2,
            x0,
            canvas.width - x1,
            margin_v,
            1,
        )
    )
    lines = [
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {canvas.width}",
        f"PlayResY: {canvas.height}",
        "WrapStyle: 0",
        "ScaledBorderAndShadow: yes",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        style,
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    for page in pages:
        words = []
        for index, word in enumerate(page.words):
            text = _ass_text(look.token(word.text))
            if karaoke:
                following = page.words[index + 1].start if index + 1 < len(page.words) else None
                start = page.start if index == 0 else word.start
                until = following if following is not None else word.end
                text = f"{{\\k{max(0, round((until - start) * 100))}}}{text}"
            words.append(text)
        timing = f"{_ass_time(page.start)},{_ass_time(page.end)}"
        lines.append(f"Dialogue: 0,{timing},Caption,,0,0,0,,{' '.join(words)}")
    return "\n".join(lines) + "\n"


def write_srt(pages: Sequence[Page], path: str | Path) -> Path:
    return write_text_atomic(path, to_srt(pages))


def write_vtt(pages: Sequence[Page], path: str | Path) -> Path:
    return write_text_atomic(path, to_vtt(pages))


def write_ass(
    pages: Sequence[Page],
    path: str | Path,
    look: CaptionLook = DEFAULT_LOOK,
    canvas: Canvas = Canvas(),
    *,
    karaoke: bool = True,
) -> Path:
    return write_text_atomic(path, to_ass(pages, look, canvas, karaoke=karaoke))
