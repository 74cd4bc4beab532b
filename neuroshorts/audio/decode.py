"""Audio files in and out: decoding through the bundled ffmpeg, writing 16-bit WAV.

pydub needs `ffprobe` for MP3/M4A, which imageio-ffmpeg does not ship, so any format is
decoded by the bundled ffmpeg straight to float samples on a pipe.
"""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from neuroshorts.errors import AudioFileError
from neuroshorts.output.files import atomic_path


def decode(path: str | Path, rate: int, channels: int = 1, *, field: str = "audio") -> np.ndarray:
    """float32 samples of `path` at `rate`, shaped (samples,) or (samples, channels).

    `field` names the parameter the file came from, for the error a user sees.
    """
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-i",
        str(path),
        "-vn",
        "-f",
        "f32le",
        "-ac",
        str(channels),
        "-ar",
        str(rate),
        "pipe:1",
    ]
    result = subprocess.run(command, capture_output=True, check=False)
    samples = np.frombuffer(result.stdout, dtype="<f4")
    if result.returncode != 0 or not len(samples):
        reason = result.stderr.decode(errors="replace").strip().splitlines()
        raise AudioFileError(
            f"{field}: cannot read {str(path)!r} as audio"
            f" ({reason[-1] if reason else 'no audio samples in it'});"
            " expected a WAV, MP3 or M4A file"
        )
    samples = samples.astype(np.float32)
    return samples.reshape(-1, channels) if channels > 1 else samples


def write_wav(path: str | Path, samples: np.ndarray, rate: int) -> Path:
    """Write float samples in [-1, 1] as 16-bit PCM, atomically (no truncated WAV ever).

    `samples` is (n,) for mono or (n, channels).
    """
    path = Path(path)
    frames = samples if samples.ndim == 2 else samples[:, None]
    pcm = np.clip(np.round(frames * 32767), -32768, 32767).astype("<i2")
    with atomic_path(path) as partial, wave.open(str(partial), "wb") as wav:
        wav.setnchannels(frames.shape[1])
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    return path


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """float32 samples of a 16-bit PCM WAV we wrote, (n,) or (n, channels), and its rate."""
    with wave.open(str(path)) as wav:
        channels, rate = wav.getnchannels(), wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    samples = pcm.astype(np.float32) / 32768
    return (samples.reshape(-1, channels) if channels > 1 else samples), rate
