"""Golden frames: each caption style at chosen times matches a stored reference PNG.

The references are 270x480 frames (a quarter of 1080x1920) of a fixed script with
fixed word timings, the caption blended over a solid background. To accept an
intended change of look, regenerate them with
`NEUROSHORTS_UPDATE_GOLDEN=1 pytest tests/captions/test_caption_golden.py` and look
at every PNG under tests/captions/golden/ before committing them.
"""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neuroshorts.captions import CaptionLayer, CaptionLook, paginate, parse_emphasis
from neuroshorts.scene import Canvas, Word
from neuroshorts.scene.typography import rgba

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("NEUROSHORTS_UPDATE_GOLDEN") == "1"
CANVAS = Canvas(270, 480)
BACKGROUND = (29, 43, 83)
SCRIPT = "Three hearts pump blue blood. ¿Sabías qué? Pequeñas señales"
WORDS = [Word(text, 0.5 * i, 0.5 * i + 0.4) for i, text in enumerate(SCRIPT.split())]
LOOK = CaptionLook(active_fill="#ffd60a", box="#7b2ff7", emphasis=parse_emphasis("blood:🩸"))
#: Times inside word 0, at the peak of word 1's pop, in word 2, on a Spanish page.
TIMES = (0.2, 0.62, 1.1, 3.2)
STYLES = ("plain", "karaoke", "highlight", "pop", "word")


def spoken_at(t):
    """Index in the script of the word whose time span contains `t`."""
    return next(i for i, word in enumerate(WORDS) if word.start <= t < word.end)


def frame(style, t):
    """The caption layer's patch at `t` over a solid background, blended in RGB.

    The blend is done here rather than by the compositor, so the references pin the
    captions' own pixels and not the compositor's colour conversion.
    """
    layer = CaptionLayer(paginate(WORDS), style, LOOK)
    pixels = np.empty((CANVAS.height, CANVAS.width, 3), dtype=np.uint8)
    pixels[...] = BACKGROUND
    patch = layer.patch(t, CANVAS)
    height, width = patch.pixels.shape[:2]
    region = pixels[patch.y : patch.y + height, patch.x : patch.x + width]
    alpha = patch.pixels[..., 3:4].astype(np.float32) / 255
    blended = patch.pixels[..., :3] * alpha + region * (1 - alpha)
    region[...] = np.round(blended).astype(np.uint8)
    return layer, pixels


def word_region(layer, t, index):
    """Frame pixels under the middle of word `index` of the page shown at `t`.

    Only the middle 60% of the word's width: a popped-up neighbour may reach its edges.
    """
    page_index = layer.pages.index(layer.page_at(t))
    layout, x, y = layer.layout(page_index, CANVAS)
    x0, y0, x1, y1 = layout.words[index].ink
    x0, x1 = x0 + 0.2 * (x1 - x0), x1 - 0.2 * (x1 - x0)
    return lambda pixels: pixels[y + int(y0) : y + int(y1), x + int(x0) : x + int(x1), :3]


def share_near(region, color, tolerance=40):
    target = np.array(rgba(color)[:3])
    return (np.abs(region.astype(int) - target).max(axis=2) < tolerance).mean()


@pytest.mark.parametrize("t", TIMES)
@pytest.mark.parametrize("style", STYLES)
def test_frame_matches_the_golden_reference(style, t):
    _, pixels = frame(style, t)
    path = GOLDEN / f"{style}_{t:.2f}.png"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        Image.fromarray(pixels).save(path, optimize=True)
    assert path.exists(), f"no reference {path.name}; create it with NEUROSHORTS_UPDATE_GOLDEN=1"
    reference = np.asarray(Image.open(path).convert("RGB"))
    diff = np.abs(pixels.astype(int) - reference.astype(int)).max(axis=2)
    assert diff.mean() < 0.5, f"{path.name}: mean difference {diff.mean():.2f}"
    assert (diff > 48).mean() < 0.002, f"{path.name}: {(diff > 48).sum()} pixels differ"


@pytest.mark.parametrize("t", TIMES)
@pytest.mark.parametrize("style", ["karaoke", "highlight", "pop", "word"])
def test_the_active_word_is_the_one_being_spoken(style, t):
    layer, pixels = frame(style, t)
    page = layer.page_at(t)
    active = layer.active_word_at(t)
    assert page.words[active] is WORDS[spoken_at(t)]
    if style == "word":
        assert page.text == WORDS[spoken_at(t)].text
        return
    mark = LOOK.box if style == "highlight" else LOOK.active_fill
    shares = [share_near(word_region(layer, t, i)(pixels), mark) for i in range(len(page.words))]
    assert shares[active] > 0.04
    assert all(share < 0.01 for i, share in enumerate(shares) if i != active)
