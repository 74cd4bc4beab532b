"""Property: whatever the script and aspect, no caption pixel leaves the safe area.

Scripts mix long words, Spanish (ñ, á, ¿¡), emoji and numbers; every page is drawn in
every state a style has (each active word, the peak of a pop) on 9:16, 1:1 and 16:9
canvases, and both the caption image and its ink must lie inside the safe rectangle.
"""

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from neuroshorts.captions import STYLES, CaptionLayer, CaptionLook, paginate, safe_area_for
from neuroshorts.scene import Canvas, Word

# Hypothesis caches what it learns under its home directory: keep it out of the repo.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "neuroshorts-hypothesis")

# Draft sizes of each aspect: the smallest canvases a short is rendered at.
CANVASES = [Canvas(540, 960), Canvas(720, 720), Canvas(960, 540)]
LETTERS = "abcdefghijklmnopqrstuvwxyzñáéíóúüÑÁÉWM"
EMOJI = "🐙🩸❤🔥😂👍🎉🚀"
WORD = st.one_of(
    st.text(alphabet=LETTERS, min_size=1, max_size=12),
    st.text(alphabet=LETTERS, min_size=18, max_size=40),
    st.integers(min_value=0, max_value=10**9).map(str),
    st.sampled_from(list(EMOJI)),
    st.tuples(st.sampled_from(["¿", "¡", ""]), st.text(LETTERS, min_size=1, max_size=8)).map(
        lambda parts: "".join(parts) + {"¿": "?", "¡": "!", "": ","}[parts[0]]
    ),
)


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    words=st.lists(WORD, min_size=1, max_size=8),
    style=st.sampled_from(sorted(STYLES)),
    canvas=st.sampled_from(CANVASES),
    uppercase=st.booleans(),
    max_words=st.integers(min_value=1, max_value=5),
)
def test_every_page_stays_inside_the_safe_area(words, style, canvas, uppercase, max_words):
    timed = [Word(text, 0.5 * i, 0.5 * i + 0.4) for i, text in enumerate(words)]
    layer = CaptionLayer(
        paginate(timed, max_words=max_words, max_chars=40), style, CaptionLook(uppercase=uppercase)
    )
    x0, y0, x1, y1 = safe_area_for(canvas).box(canvas)
    # Each word's start (its active state) and 0.12 s later (the peak of a pop).
    for t in sorted({word.start + dt for word in timed for dt in (0.0, 0.12)}):
        patch = layer.patch(t, canvas)
        if patch is None:
            continue
        height, width = patch.pixels.shape[:2]
        assert x0 <= patch.x and patch.x + width <= x1
        assert y0 <= patch.y and patch.y + height <= y1
        ys, xs = np.nonzero(patch.pixels[..., 3])
        assert xs.size > 0, f"nothing drawn for {layer.page_at(t).text!r}"
        assert x0 <= patch.x + xs.min() and patch.x + xs.max() < x1
        assert y0 <= patch.y + ys.min() and patch.y + ys.max() < y1
