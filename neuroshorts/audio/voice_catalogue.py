"""Piper voices by name: the bundled one, those installed, those Piper's catalogue offers.

The catalogue is Piper's own `voices.json` (the format of rhasspy/piper-voices): each
voice lists its files with their size and MD5. `install` downloads a voice's model and
config into a temporary folder inside the voices directory, checks both against the
catalogue, and only then renames them into place (config first, model last: a voice
counts as installed when both are there), so a corrupted or interrupted download leaves
nothing behind. Piper's own downloader (`piper.download_voices`) checks neither size nor
checksum and writes in place, hence this module.

The catalogue's base URL is `NEUROSHORTS_VOICES_URL`. It is the operator's setting, not a
request's, so it is fetched directly rather than through the asset allow-list.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from neuroshorts.audio.piper_voice import BUNDLED, model_files, voices_dir
from neuroshorts.errors import VoiceError
from neuroshorts.settings import settings

log = logging.getLogger(__name__)

URL_ENV = "NEUROSHORTS_VOICES_URL"
#: A voice's files, by the suffix of their catalogue path, in the order they go in place.
SUFFIXES = (".onnx.json", ".onnx")
_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_CHUNK = 1 << 20


@dataclass(frozen=True)
class VoiceInfo:
    """One Piper voice: its name, language code (es_ES), quality, where it is and size."""

    name: str
    language: str
    quality: str
    where: str  # bundled, installed or available
    size: int

    def speaks(self, language: str) -> bool:
        """Whether the voice speaks `language`: a family (`es`) or a code (`es_MX`)."""
        wanted = language.replace("-", "_").lower()
        code = self.language.lower()
        return wanted in (code, code.split("_")[0])


def catalogue_url() -> str:
    return settings().voices_url.rstrip("/")


def catalogue() -> dict[str, Any]:
    """Piper's voices.json from the catalogue; VoiceError naming the URL if unreachable."""
    url = f"{catalogue_url()}/voices.json"
    try:
        response = httpx.get(url, timeout=_TIMEOUT, follow_redirects=True)
        response.raise_for_status()
        voices = response.json()
    except httpx.HTTPError as error:
        raise VoiceError(
            f"cannot reach the Piper voice catalogue at {url}: {error or type(error).__name__}; "
            f"check the connection or set {URL_ENV} to a reachable catalogue"
        ) from None
    except ValueError:
        raise VoiceError(f"{url} is not a Piper voices.json catalogue (not JSON)") from None
    if not isinstance(voices, dict):
        raise VoiceError(f"{url} is not a Piper voices.json catalogue (not an object)")
    return voices


def local_voices() -> list[VoiceInfo]:
    """The bundled voice, then every voice installed in `voices_dir()` (model and config)."""
    found = [_local(BUNDLED, *model_files(BUNDLED), "bundled")]
    folder = voices_dir()
    for model in sorted(folder.glob("*.onnx")) if folder.is_dir() else []:
        config = model.with_name(model.name + ".json")
        if config.is_file() and model.stem != BUNDLED:
            found.append(_local(model.stem, model, config, "installed"))
    return found


def _local(name: str, model: Path, config: Path, where: str) -> VoiceInfo:
    try:
        settings = json.loads(config.read_text(encoding="utf-8"))
        language = settings["language"]["code"]
        quality = settings["audio"]["quality"]
    except (OSError, ValueError, KeyError, TypeError):
        language, quality = name.split("-")[0], name.rsplit("-", 1)[-1]
    return VoiceInfo(name, language, quality, where, model.stat().st_size)


def available(voices: dict[str, Any]) -> list[VoiceInfo]:
    """The catalogue's voices, as `VoiceInfo`s marked `available`."""
    listed = []
    for name, entry in sorted(voices.items()):
        try:
            files = _files(name, entry)
            listed.append(
                VoiceInfo(
                    name,
                    entry["language"]["code"],
                    entry.get("quality", ""),
                    "available",
                    sum(int(files[suffix][1]["size_bytes"]) for suffix in SUFFIXES),
                )
            )
        except VoiceError as error:
            log.warning("%s", error)
    return listed


def _files(name: str, entry: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """The catalogue path and details (size, MD5) of a voice's model and config."""
    try:
        files = {
            suffix: (path, details)
            for path, details in entry["files"].items()
            for suffix in SUFFIXES
            if path.endswith(f"{name}{suffix}")
        }
        for _, details in files.values():
            int(details["size_bytes"]), str(details["md5_digest"])
        entry["language"]["code"]
    except (KeyError, TypeError, ValueError, AttributeError):
        files = {}
    if set(files) != set(SUFFIXES):
        raise VoiceError(
            f"the catalogue's entry for {name!r} is malformed; expected its model and config "
            "with size_bytes and md5_digest, and a language code"
        )
    return files


def install(name: str) -> Path:
    """Download Piper voice `name` from the catalogue into `voices_dir()`; its model path.

    Each file must have the catalogue's size and MD5, or nothing is installed. A voice
    already installed with the catalogue's model is left as it is.
    """
    if name == BUNDLED:
        raise VoiceError(f"voice: {name!r} is bundled with NeuroShorts; nothing to install")
    voices = catalogue()
    if name not in voices:
        close = difflib.get_close_matches(name, voices, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise VoiceError(
            f"voice: {name!r} is not in the Piper voice catalogue at {catalogue_url()}{hint} "
            "(neuroshorts voices list shows what it offers)"
        )
    files = _files(name, voices[name])
    folder = voices_dir()
    targets = {suffix: folder / f"{name}{suffix}" for suffix in SUFFIXES}
    if all(_matches(targets[s], files[s][1]) for s in SUFFIXES):
        log.info("Piper voice %s is already installed in %s", name, folder)
        return targets[".onnx"]
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=folder))
    try:
        for suffix in SUFFIXES:
            path, details = files[suffix]
            _download(f"{catalogue_url()}/{path}", staging / targets[suffix].name, details)
        for suffix in SUFFIXES:
            os.replace(staging / targets[suffix].name, targets[suffix])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("installed Piper voice %s into %s", name, folder)
    return targets[".onnx"]


def _matches(path: Path, details: dict[str, Any]) -> bool:
    if not path.is_file() or path.stat().st_size != int(details["size_bytes"]):
        return False
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest() == details["md5_digest"]


def _download(url: str, destination: Path, details: dict[str, Any]) -> None:
    """Stream `url` to `destination`, refusing it unless size and MD5 match `details`."""
    size, md5 = int(details["size_bytes"]), str(details["md5_digest"])
    digest = hashlib.md5(usedforsecurity=False)
    received = 0
    log.info("downloading %s (%.1f MB)", url, size / 1e6)
    try:
        with (
            httpx.stream("GET", url, timeout=_TIMEOUT, follow_redirects=True) as response,
            destination.open("wb") as handle,
        ):
            response.raise_for_status()
            for chunk in response.iter_bytes(_CHUNK):
                received += len(chunk)
                if received > size:
                    break
                digest.update(chunk)
                handle.write(chunk)
    except httpx.HTTPError as error:
        raise VoiceError(
            f"cannot download {url}: {error or type(error).__name__}; nothing was installed"
        ) from None
    if received != size or digest.hexdigest() != md5:
        got = f"more than {size:,} bytes" if received > size else f"{received:,} bytes"
        if received == size:
            got += f" with MD5 {digest.hexdigest()}"
        raise VoiceError(
            f"the download of {url} is corrupted: got {got}, expected {size:,} bytes with "
            f"MD5 {md5} (from the catalogue); nothing was installed"
        )


def remove(name: str) -> list[Path]:
    """Delete installed voice `name`'s files; VoiceError if it is bundled or not installed."""
    if name == BUNDLED:
        raise VoiceError(f"voice: {name!r} is bundled with NeuroShorts and cannot be removed")
    folder = voices_dir()
    paths = [folder / f"{name}{suffix}" for suffix in reversed(SUFFIXES)]
    if not any(path.is_file() for path in paths):
        installed = ", ".join(v.name for v in local_voices() if v.where == "installed")
        raise VoiceError(
            f"voice: {name!r} is not installed in {folder}; installed: {installed or 'none'}"
        )
    for path in paths:  # model first: without it the voice no longer counts as installed
        path.unlink(missing_ok=True)
    log.info("removed Piper voice %s from %s", name, folder)
    return paths
