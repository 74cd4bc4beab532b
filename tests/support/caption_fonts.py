"""A tiny synthetic CJK font for fallback tests, built with fontTools.

Tests must not depend on which CJK fonts a machine has installed, so they build a
font mapping a few ideographs to filled squares.
"""

from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

IDEOGRAPHS = "中文字"


def build_cjk_font(path: Path) -> Path:
    names = [".notdef", "space", *(f"uni{ord(c):04X}" for c in IDEOGRAPHS)]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({0x20: "space"} | {ord(c): f"uni{ord(c):04X}" for c in IDEOGRAPHS})
    empty = TTGlyphPen(None).glyph()
    glyphs = {".notdef": empty, "space": empty}
    for name in names[2:]:
        pen = TTGlyphPen(None)
        pen.moveTo((80, -80))
        pen.lineTo((80, 800))
        pen.lineTo((920, 800))
        pen.lineTo((920, -80))
        pen.closePath()
        glyphs[name] = pen.glyph()
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: (1000 if name != "space" else 300, 0) for name in names})
    builder.setupHorizontalHeader(ascent=880, descent=-120)
    builder.setupNameTable({"familyName": "Test CJK", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120)
    builder.setupPost()
    builder.save(str(path))
    return path
