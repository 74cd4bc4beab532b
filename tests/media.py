"""What ffprobe would tell about a rendered file, read with PyAV (libavformat itself)."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np


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
