"""Content-addressed cache of synthesized narration under the data directory.

Synthesis is the slow part of a re-render, and templates are re-run with the same script
all the time (a new title, another background). The key is a hash of everything that
changes the audio (text, voice identity, settings, cache format), so a hit is always the
same narration, and entries never need invalidating.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from neuroshorts.files import atomic_path, write_text_atomic
from neuroshorts.paths import data_dir

logger = logging.getLogger(__name__)

#: Bump when the cached WAV or word format changes, so old entries stop matching.
FORMAT = 1


def cache_dir() -> Path:
    return data_dir() / "cache" / "narration"


def key_for(settings: dict[str, Any]) -> str:
    canonical = json.dumps({"format": FORMAT, **settings}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def load(key: str, out_wav: Path) -> dict[str, Any] | None:
    """Copy a cached narration to `out_wav` and return its metadata, or None on a miss."""
    wav, meta = cache_dir() / f"{key}.wav", cache_dir() / f"{key}.json"
    if not (wav.is_file() and meta.is_file()):
        return None
    with atomic_path(out_wav) as partial:
        shutil.copyfile(wav, partial)
    return json.loads(meta.read_text(encoding="utf-8"))


def store(key: str, wav: Path, metadata: dict[str, Any]) -> None:
    """Keep a copy of `wav` and its metadata; the WAV lands first, so a reader who finds
    the metadata always finds the audio too."""
    folder = cache_dir()
    with atomic_path(folder / f"{key}.wav") as partial:
        shutil.copyfile(wav, partial)
    write_text_atomic(folder / f"{key}.json", json.dumps(metadata, ensure_ascii=False))
    logger.debug("cached narration %s in %s", key[:12], folder)
