"""What ffprobe would tell about a rendered file, read with PyAV (libavformat itself)."""

from __future__ import annotations

import io
import re
import wave
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image


@dataclass
class Probe:
    video_codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    frames: int
    duration: float
    audio_codec: str | None
    audio_rate: int | None
    audio_duration: float | None
    color_matrix: str


def probe(path: str | Path) -> Probe:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        frames = sum(1 for _ in container.demux(video) if _.size)
        return Probe(
            video_codec=video.codec_context.name,
            pix_fmt=video.codec_context.pix_fmt,
            width=video.codec_context.width,
            height=video.codec_context.height,
            fps=float(video.average_rate),
            frames=frames,
            duration=float(video.duration * video.time_base),
            audio_codec=audio.codec_context.name if audio else None,
            audio_rate=audio.codec_context.sample_rate if audio else None,
            audio_duration=float(audio.duration * audio.time_base) if audio else None,
            color_matrix=str(video.codec_context.colorspace),
        )


def x264_options(path: str | Path) -> dict[str, str]:
    """The settings x264 encoded `path` with, as it records them in the stream (an SEI
    message: `options: cabac=1 ref=1 ... threads=3 ...`)."""
    found = re.search(rb"x264 - core .*? options: ([ -~]+)", Path(path).read_bytes())
    assert found, f"{path} has no x264 settings message"
    pairs = (item.split("=", 1) for item in found.group(1).decode().split() if "=" in item)
    return dict(pairs)


def decoded_frames(path: str | Path, indices: set[int]) -> dict[int, np.ndarray]:
    """RGB frames at the given indices, decoded as a player would."""
    found = {}
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in indices:
                found[index] = frame.to_ndarray(format="rgb24")
    return found


def decoded_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono float samples of the first audio stream and its rate."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [f.to_ndarray().mean(axis=0) for f in container.decode(stream)]
        return np.concatenate(chunks), stream.codec_context.sample_rate


def write_tone(path: Path, seconds: float, rate: int = 22050, hz: float = 440.0) -> Path:
    samples = np.sin(np.arange(round(seconds * rate)) * 2 * np.pi * hz / rate)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((samples * 12000).astype(np.int16).tobytes())
    return path


def circle_picture(width: int, height: int, diameter: float) -> np.ndarray:
    """RGB: a red disc of `diameter` px centred on a blue-grey ground (to check no stretch)."""
    y, x = np.mgrid[0:height, 0:width]
    inside = (x + 0.5 - width / 2) ** 2 + (y + 0.5 - height / 2) ** 2 <= (diameter / 2) ** 2
    picture = np.empty((height, width, 3), dtype=np.uint8)
    picture[...] = (40, 60, 110)
    picture[inside] = (230, 20, 20)
    return picture


def write_circle_video(path: Path, width: int, height: int, diameter: float, frames: int) -> Path:
    """An H.264 clip at 10 fps of the red disc, its ground brightening frame by frame."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            picture = circle_picture(width, height, diameter)
            ground = (picture == (40, 60, 110)).all(axis=2)
            picture[ground] = (40, 60 + 10 * index, 110)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def disc_size(rgb: np.ndarray) -> tuple[int, int]:
    """Width and height in px of the red disc's bounding box in an RGB frame."""
    red = (rgb[..., 0] > 150) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90)
    rows, cols = np.nonzero(red.any(axis=1))[0], np.nonzero(red.any(axis=0))[0]
    if not rows.size:
        return 0, 0
    return int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def tone_short(directory: Path, background: str):
    """Two seconds of tone under `background`, a title for a second, one caption word a page."""
    from neuroshorts import captions, visuals
    from neuroshorts.scene import AudioTrack, Canvas, Short, Span, Word

    wav = write_tone(directory / "tone.wav", 2.0)
    words = tuple(
        Word(w, i * 0.5, i * 0.5 + 0.4) for i, w in enumerate(["uno", "dos", "tres", "cuatro"])
    )
    layers = [
        visuals.background(background, Span(0, 2.5)),
        visuals.TitleCard("Título", Span(0, 1.0)),
        captions.CaptionLayer(captions.paginate(words, max_words=1)),
    ]
    return Short(Canvas(), AudioTrack(str(wav), 2.0, words), layers, tail=0.5)


def decoded_jpeg(data: bytes) -> np.ndarray:
    """An RGB array (as int, for differences) of JPEG bytes, such as a studio frame."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
