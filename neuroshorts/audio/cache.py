"""Content-addressed cache of synthesized narration under the data directory.

Synthesis is the slow part of a re-render, and templates are re-run with the same script
all the time (a new title, another background). The key is a hash of everything that
changes the audio (text, voice identity, settings, cache format), so a hit is always the
same narration, and entries never need invalidating. Entries live in the shared cache
(`neuroshorts/media/cache.py`: one budget, least recently used first).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from neuroshorts.media.cache import Cache
from neuroshorts.output.files import atomic_path

logger = logging.getLogger(__name__)

#: Bump when the cached WAV or word format changes, so old entries stop matching.
FORMAT = 2
KIND = "narration"


def key_for(settings: dict[str, Any]) -> str:
    canonical = json.dumps({"format": FORMAT, **settings}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def load(key: str, out_wav: Path) -> dict[str, Any] | None:
    """Copy a cached narration to `out_wav` and return its metadata, or None on a miss."""
    with Cache.default().reading(KIND, key) as entry:
        if entry is None:
            return None
        with atomic_path(out_wav) as partial:
            shutil.copyfile(entry / "narration.wav", partial)
        return json.loads((entry / "words.json").read_text(encoding="utf-8"))


def store(key: str, wav: Path, metadata: dict[str, Any]) -> None:
    """Keep a copy of `wav` and its metadata as one entry (both appear together)."""
    cache = Cache.default()
    with cache.building() as folder:
        shutil.copyfile(wav, folder / "narration.wav")
        (folder / "words.json").write_text(json.dumps(metadata, ensure_ascii=False))
        cache.commit(KIND, key, folder)
    cache.evict()
    logger.debug("cached narration %s", key[:12])
