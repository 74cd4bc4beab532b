"""Templates: schema, validation before any kernel starts, and real papermill renders."""

import json
import re
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import nbformat
import numpy as np
import pytest

from neuroshorts import templates
from neuroshorts.apps.service.schemas import RenderRequest
from neuroshorts.errors import ParameterError, TemplateError, TemplateRunError
from neuroshorts.templates import presets
from support import REPO
from support.media import decoded_audio, probe
from support.terminal import FRAMES, run_in_terminal

NEUROSHORTS = str(Path(sys.executable).parent / "neuroshorts")


def run_cli(*args, cwd=None):
    return subprocess.run(
        [NEUROSHORTS, *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def test_every_template_is_committed_without_outputs():
    for path in sorted((REPO / "templates").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        code = [c for c in notebook.cells if c.cell_type == "code"]
        assert not any(c.outputs or c.execution_count for c in code), path.name


def test_explainer_schema_has_types_defaults_help_and_choices():
    schema = templates.parameters("explainer")
    assert {"script", "title", "voice", "background", "output", "quality"} <= set(schema)
    assert schema["output"].default == ""
    assert schema["caption_words"].type == "int" and schema["zoom"].type == "float"
    assert schema["quality"].choices == ("draft", "final")
    assert all(p.help for p in schema.values())


def test_listing_finds_templates_by_name_with_a_description():
    found = {t.name: t for t in templates.list_templates()}
    assert "explainer" in found and "Ken Burns" in found["explainer"].description
    assert templates.find("explainer") == found["explainer"].path


@pytest.mark.parametrize("name", ["nope", "../templates/explainer", "/etc/passwd"])
def test_unknown_template_lists_the_available_ones(name):
    with pytest.raises(TemplateError, match="available: .*explainer"):
        templates.find(name)


def test_command_line_strings_become_the_declared_types():
    checked = templates.validate(
        "explainer", {"caption_words": "2", "zoom": "1.3", "quality": "draft", "title": "42"}
    )
    assert checked == {"caption_words": 2, "zoom": 1.3, "quality": "draft", "title": "42"}
    assert templates.validate("explainer", {"zoom": 1}) == {"zoom": 1.0}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"bogus": "1"}, "parameter 'bogus': got '1', expected a parameter of explainer"),
        ({"caption_words": "three"}, "parameter 'caption_words': got 'three', expected a int"),
        ({"caption_words": True}, "parameter 'caption_words': got True, expected a int"),
        ({"script": 5}, "parameter 'script': got 5, expected a str"),
        ({"quality": "4k"}, "parameter 'quality': got '4k', expected one of draft, final"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(values, message):
    with pytest.raises(ParameterError) as error:
        templates.validate("explainer", values)
    assert str(error.value).startswith(message)


def write_template(directory, parameters_source):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python"}
    cell = nbformat.v4.new_code_cell(parameters_source)
    cell.metadata["tags"] = ["parameters"]
    notebook.cells = [cell]
    nbformat.write(notebook, directory / "t.ipynb")
    return directory / "t.ipynb"


def test_hashes_in_defaults_and_equals_in_help_are_read_right(tmp_path):
    path = write_template(
        tmp_path,
        'color: str = "#ffcc00"  # CSS colour, # included\n'
        "speed: float = 1.0  # 1.0 = normal speed\n"
        'output: str = ""',
    )
    schema = templates.parameters(path)
    assert schema["color"].default == "#ffcc00" and schema["color"].help == "CSS colour, # included"
    assert schema["speed"].help == "1.0 = normal speed"
    assert schema["output"].help == ""


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("speed = 1.0  # no type", "line 1 of the parameters cell is not of the form"),
        ("speed: list = []  # a list", "annotated 'list'; expected one of str, int, float, bool"),
        ("speed: int = 1.5  # wrong default", "default of parameter 'speed': got 1.5"),
        ("speed: int = len('x')  # a call", "needs a literal default"),
    ],
)
def test_malformed_parameters_cells_are_reported(tmp_path, source, message):
    with pytest.raises(TemplateError, match=re.escape(message)):
        templates.parameters(write_template(tmp_path, source))


def test_a_comment_on_its_own_line_heads_the_section_of_the_parameters_below_it(tmp_path):
    path = write_template(
        tmp_path,
        'script: str = "Hi."  # narration\n'
        "# Look\n"
        'color: str = "#ffcc00"  # text colour\n'
        "\n"
        "# Output  \n"
        'output: str = ""',
    )
    sections = {name: p.section for name, p in templates.parameters(path).items()}
    assert sections == {"script": "", "color": "Look", "output": "Output"}
    explainer = templates.parameters("explainer")
    assert [explainer[n].section for n in ("script", "music", "title", "caption_style")] == [
        "Narration",
        "Sound",
        "Visuals",
        "Captions",
    ]


def test_new_defaults_are_written_into_the_parameters_cell_and_nothing_else(tmp_path):
    path = write_template(
        tmp_path,
        "# Words\n"
        'script: str = (\n    "Two lines "\n    "of script."\n)  # narration\n'
        'title: str = "Old"  # the title, # kept\n'
        "size: int = 96  # pixels\n"
        "zoom: float = 1.1  # camera\n"
        "upper: bool = False  # capitals\n"
        'output: str = ""',
    )
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("print(1)"))
    notebook.cells[-1].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nbformat.write(notebook, path)
    before = json.loads(path.read_text())
    values = {"script": 'Él dijo "¡hola!"\n', "title": "Nuevo # no comment", "size": "120"}
    templates.set_defaults(path, {**values, "zoom": 1.25, "upper": True})
    schema = templates.parameters(path)
    assert {n: p.default for n, p in schema.items()} == {
        **values,
        "size": 120,
        "zoom": 1.25,
        "upper": True,
        "output": "",
    }
    assert schema["title"].help == "the title, # kept" and schema["script"].section == "Words"
    after = json.loads(path.read_text())
    assert after["cells"][1:] == before["cells"][1:] and after["metadata"] == before["metadata"]
    with pytest.raises(ParameterError, match="'zoom': got 'big', expected a float"):
        templates.set_defaults(path, {"zoom": "big"})
    assert templates.parameters(path)["zoom"].default == 1.25  # a refused value writes nothing


def test_a_saved_request_renders_from_the_cli_and_a_plain_parameters_file_still_does(tmp_path):
    saved = presets.save(tmp_path / "saved.json", "explainer", {"title": "Hola", "zoom": 1.0})
    assert json.loads(saved.read_text()) == {
        "template": "explainer",
        "parameters": {"title": "Hola", "zoom": 1.0},
    }
    assert RenderRequest.model_validate_json(saved.read_text()).parameters["title"] == "Hola"
    assert presets.load(saved, "explainer") == {"title": "Hola", "zoom": 1.0}
    plain = tmp_path / "plain.json"
    plain.write_text('{"title": "Hola"}')
    assert presets.load(plain, "explainer") == {"title": "Hola"}
    with pytest.raises(ParameterError, match="'news', the template to render"):
        presets.load(saved, "news")


@pytest.mark.parametrize(
    "args",
    [
        ["-p", "bogus", "1"],
        ["-p", "caption_words", "three"],
        ["-p", "quality", "best"],
    ],
)
def test_cli_refuses_bad_parameters_before_any_kernel_starts(args, tmp_path):
    result = run_cli("render", "explainer", *args, "-o", str(tmp_path / "x.mp4"))
    assert result.returncode == 2
    name = args[1]
    assert f"parameter '{name}'" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # no executed notebook: no kernel ever ran


def test_cli_logs_to_a_rotating_file_under_the_data_dir(neuroshorts_data_dir, tmp_path):
    run_cli("render", "explainer", "-p", "bogus", "1", "-o", str(tmp_path / "x.mp4"))
    log = (neuroshorts_data_dir / "logs" / "neuroshorts.log").read_text(encoding="utf-8")
    assert "ERROR" in log and "parameter 'bogus'" in log


def test_cli_lists_templates_and_shows_parameters():
    listing = run_cli("templates")
    assert listing.returncode == 0 and listing.stdout.startswith("explainer")
    detail = run_cli("templates", "explainer")
    assert "quality" in detail.stdout and "draft|final" in detail.stdout


@pytest.fixture(scope="module")
def in_terminal(tmp_path_factory):
    """One real render through the CLI and papermill, a Spanish script at draft size, run
    on a terminal as a user types it (so with its progress bar)."""
    out = tmp_path_factory.mktemp("render") / "hola.mp4"
    result = run_in_terminal([
        NEUROSHORTS, "render", str(REPO / "templates" / "explainer.ipynb"),
        "-p", "script", "Hola, esto es una prueba. ¿Funciona bien?",
        "-p", "quality", "draft",
        "-o", str(out),
    ])  # fmt: skip
    assert result.returncode == 0, "\n".join(result.screen)
    assert result.stdout.strip() == str(out)
    return out, result.screen


@pytest.fixture(scope="module")
def rendered(in_terminal):
    return in_terminal[0]


def test_the_bar_follows_the_stages_and_ends_with_the_videos_last_frame(in_terminal):
    video, screen = in_terminal
    bars = [segment for segment in screen if segment.startswith("explainer: ")]
    stages = list(dict.fromkeys(re.match(r"explainer: (.*?)\s+\d+%", bar)[1] for bar in bars))
    assert stages[-1] == "done"
    for stage in ("Narration and soundtrack", "Captions", "encode", "publish"):
        assert stage in stages
    counted = [FRAMES.search(bar).groups() for bar in bars if FRAMES.search(bar)]
    percent, done, total = (int(n) for n in counted[-1])
    assert (percent, done) == (100, total) and total == probe(video).frames
    assert not any("cell" in segment for segment in screen), "papermill's cell bar is off"
    logs = [segment for segment in screen if " INFO " in segment]
    assert any(line.endswith(f"done in {line.split('done in ')[-1]}") for line in logs)
    assert all(line[:4].isdigit() and "explainer:" not in line for line in logs), (
        "log lines are printed whole, above the bar"
    )


@pytest.mark.render
def test_quiet_shows_no_bar_and_no_info_lines(tmp_path):
    out = tmp_path / "quiet.mp4"
    result = run_in_terminal([
        NEUROSHORTS, "render", "explainer", "-q", "-p", "script", "Hush.",
        "-p", "quality", "draft", "-p", "music", "none", "-o", str(out),
    ])  # fmt: skip
    assert result.returncode == 0 and result.stdout.strip() == str(out)
    assert result.screen == [], "no bar, no info line and nothing from the kernel"


def test_render_is_a_real_draft_short_as_long_as_the_narration(rendered):
    manifest = json.loads(rendered.with_suffix(".json").read_text())
    info = probe(rendered)
    assert (info.video_codec, info.width, info.height, info.fps) == ("h264", 540, 960, 30)
    assert info.audio_codec == "aac"
    padding = 0.6
    assert abs(info.duration - (manifest["narration_duration"] + padding)) <= 1 / 30
    assert manifest["duration"] == pytest.approx(info.duration, abs=1e-6)


def test_captions_follow_the_voice_in_the_rendered_file(rendered):
    manifest = json.loads(rendered.with_suffix(".json").read_text())
    texts = [cue["text"] for cue in manifest["captions"]]
    assert " ".join(texts) == "Hola, esto es una prueba. ¿Funciona bien?"
    samples, rate = decoded_audio(rendered)

    def loudness(start, end):
        return float(np.sqrt(np.mean(samples[int(start * rate) : int(end * rate)] ** 2)))

    silence = loudness(manifest["narration_duration"] + 0.1, manifest["duration"])
    for cue in manifest["captions"]:
        assert loudness(cue["start"], min(cue["end"], cue["start"] + 0.3)) > 10 * silence + 1e-3
    assert manifest["captions"][-1]["end"] <= manifest["duration"]


def test_notebook_manifest_and_captions_sit_beside_the_video(rendered):
    manifest = json.loads(rendered.with_suffix(".json").read_text())
    assert manifest["template"] == "explainer"
    assert manifest["parameters"]["script"] == "Hola, esto es una prueba. ¿Funciona bien?"
    assert manifest["parameters"]["zoom"] == 1.12  # defaults are recorded too
    assert {"narration", "captions", "encode", "papermill"} <= set(manifest["stages"])
    assert manifest["versions"]["neuroshorts"]
    assert Path(manifest["srt"]).read_text().startswith("1\n00:00:00,")
    executed = nbformat.read(manifest["notebook"], as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "Hola, esto es una prueba." in injected[0].source
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    assert any("application/json" in o.get("data", {}) for o in outputs)  # manifest shown


@pytest.mark.render
def test_a_failing_template_reports_the_cell_and_writes_no_video(tmp_path):
    result = run_cli(
        "render", "explainer", "-p", "background", "solid:nocolour", "-o", str(tmp_path / "x.mp4")
    )
    assert result.returncode == 1
    assert "failed in cell" in result.stderr and "background" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.ipynb"]


@pytest.mark.render
def test_a_video_background_can_bring_its_own_sound_into_the_mix(tmp_path):
    clip = tmp_path / "hum.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
         "testsrc=size=90x160:rate=10:duration=2", "-f", "lavfi", "-i",
         "sine=frequency=5000:duration=2", "-c:v", "libx264", "-c:a", "aac", str(clip)],
        check=True,
    )  # fmt: skip
    out = tmp_path / "hum_short.mp4"
    values = {"script": "Listen.", "quality": "draft", "music": "none"}
    templates.run("explainer", {**values, "background": str(clip), "background_sound": "mix"}, out)
    samples, rate = decoded_audio(out)
    spectrum = np.abs(np.fft.rfft(samples.mean(axis=1) if samples.ndim == 2 else samples))
    hz = np.fft.rfftfreq(len(samples), 1 / rate)
    tone = spectrum[np.abs(hz - 5000) < 20].max()
    around = np.median(spectrum[(np.abs(hz - 5000) > 200) & (np.abs(hz - 5000) < 1000)])
    assert tone > 6 * around  # the clip's 5 kHz hum is heard (muted, the ratio is ~1.6)

    with pytest.raises(TemplateRunError, match="background_sound: .* not a video"):
        templates.run("explainer", {**values, "background_sound": "mix"}, tmp_path / "no.mp4")
    assert not (tmp_path / "no.mp4").exists()
