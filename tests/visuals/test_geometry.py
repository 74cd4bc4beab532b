"""No stretching: a disc stays a disc for 4:3 and 9:16 media in 9:16, 1:1 and 16:9 frames.

Each still and video is drawn with `cover` (fills the frame, crops) and `contain`
(shows all of it over a blurred fill); the disc's size must be the fit's scale times
its size in the source, the same on both axes.
"""

import numpy as np
import pytest
from PIL import Image

from neuroshorts import visuals
from neuroshorts.scene import Canvas, Short, Span
from support.media import circle_picture, disc_size, write_circle_video

#: The three aspects at a fifth of final size: 216x384, 216x216, 384x216.
CANVASES = {aspect: Canvas.for_aspect(aspect).scaled(0.2) for aspect in ("9:16", "1:1", "16:9")}
MEDIA = {"4:3": (400, 300), "9:16": (270, 480)}
DIAMETER = 0.3  # of the media's short side


def expected_diameter(media: tuple[int, int], canvas: Canvas, fit: str) -> float:
    pick = max if fit == "cover" else min
    return DIAMETER * min(media) * pick(canvas.width / media[0], canvas.height / media[1])


@pytest.fixture(scope="module")
def stills(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stills")
    paths = {}
    for name, (width, height) in MEDIA.items():
        paths[name] = folder / f"disc-{width}x{height}.png"
        Image.fromarray(circle_picture(width, height, DIAMETER * min(width, height))).save(
            paths[name]
        )
    return paths


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    return {
        name: write_circle_video(
            folder / f"disc-{width}x{height}.mp4", width, height, DIAMETER * min(width, height), 12
        )
        for name, (width, height) in MEDIA.items()
    }


def assert_round_disc(rgb: np.ndarray, media: tuple[int, int], canvas: Canvas, fit: str) -> None:
    width, height = disc_size(rgb)
    expected = expected_diameter(media, canvas, fit)
    assert abs(width - height) <= 2, f"stretched: {width}x{height}"
    assert abs(width - expected) <= max(2.5, 0.04 * expected), f"disc {width}, want {expected:.1f}"


@pytest.mark.parametrize("fit", ["cover", "contain"])
@pytest.mark.parametrize("aspect", CANVASES)
@pytest.mark.parametrize("media", MEDIA)
def test_still_image_keeps_its_shape(stills, media, aspect, fit):
    canvas = CANVASES[aspect]
    for layer in (
        visuals.ImageBackground(stills[media], fit=fit),
        visuals.KenBurns(stills[media], Span(0, 2), fit=fit),  # at t=0 the zoom is 1.0
    ):
        rgb = Short(canvas, layers=[layer], duration=2).frame(0.0)
        assert rgb.shape == (canvas.height, canvas.width, 3)
        assert_round_disc(rgb, MEDIA[media], canvas, fit)


@pytest.mark.parametrize("fit", ["cover", "contain"])
@pytest.mark.parametrize("aspect", CANVASES)
@pytest.mark.parametrize("media", MEDIA)
def test_video_background_keeps_its_shape(videos, media, aspect, fit):
    canvas = CANVASES[aspect]
    layer = visuals.background(str(videos[media]), Span(0, 2), fit=fit)
    assert isinstance(layer, visuals.VideoBackground)
    rgb = Short(canvas, layers=[layer], duration=2).frame(0.35)
    assert_round_disc(rgb, MEDIA[media], canvas, fit)


def test_contain_fills_the_bars_with_the_blurred_media(stills):
    canvas = CANVASES["9:16"]
    rgb = Short(canvas, layers=[visuals.ImageBackground(stills["4:3"], fit="contain")], duration=1)
    top_bar = rgb.frame(0)[:40].astype(int)
    assert top_bar[..., 2].mean() > 40  # the blue ground, darkened, not black
    assert top_bar.std(axis=(0, 1)).max() < 25  # and soft


def test_video_follows_the_timeline_loops_and_seeks_back(videos):
    layer = visuals.VideoBackground(videos["9:16"], Span(0, 10), fit="cover")
    canvas = CANVASES["9:16"]

    def ground_green(t):
        return int(Short(canvas, layers=[layer], duration=10).frame(t)[5, 5, 1])

    first, later = ground_green(0.0), ground_green(0.55)  # frames 0 and 5
    assert later - first == pytest.approx(50, abs=6)
    assert ground_green(1.25) == pytest.approx(ground_green(0.05), abs=3)  # 1.2 s clip loops
    assert ground_green(0.0) == pytest.approx(first, abs=2)  # seeking backwards works


def test_cover_crop_survives_sizes_whose_rounding_falls_outside_the_image():
    """414x736 from the bundled 1440x2560 image put the crop box a hair below zero."""
    from PIL import Image

    from neuroshorts.media.assets import resolve
    from neuroshorts.visuals.backgrounds import still_picture

    with Image.open(resolve("builtin:aurora")) as image:
        assert still_picture(image, (414, 736), "cover", "blur").size == (414, 736)
