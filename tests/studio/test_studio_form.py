"""The template studio's form, saving and renders, driven in plain pytest.

The form's widgets are set as the page would set them; the short it builds, the files
it saves and the videos it renders are checked as files and pixels.
"""

import html
import json
import subprocess
import sys
import time

import nbformat
import numpy as np
import pytest
from PIL import Image

from neuroshorts import studio, templates
from neuroshorts.errors import ParameterError
from neuroshorts.studio import form
from neuroshorts.templates import presets
from support.media import decoded_frames, decoded_jpeg, probe

pytestmark = pytest.mark.usefixtures("no_players_left")

RED_SKY = {"script": "Red sky.", "music": "none", "title": "Hi"}


def make(tmp_path, values=RED_SKY, **options):
    return studio.studio(
        "explainer", values, interactive=True, t=0.1, renders=tmp_path / "renders", **options
    )


def test_fields_follow_parameter_types():
    schema = templates.parameters("explainer")
    kinds = {name: type(form.Field(p).control).__name__ for name, p in schema.items()}
    assert kinds["script"] == "Textarea"
    assert kinds["title"] == "Text"
    assert kinds["caption_style"] == "Dropdown" and kinds["quality"] == "Dropdown"
    assert kinds["caption_uppercase"] == "Checkbox"
    assert kinds["caption_words"] == "Text" and kinds["zoom"] == "Text"  # typed, then checked
    assert kinds["caption_active_color"] == "ColorPicker"
    assert kinds["caption_shadow"] == "FloatSlider"  # "from 0 to 1"


def test_the_form_has_a_tab_per_section_of_the_parameters_cell(tmp_path):
    ui = make(tmp_path)
    tabs = dict(zip(ui.form.titles, ui.form.children, strict=True))
    assert list(tabs) == ["Narration", "Sound", "Visuals", "Captions", "Output"]
    names = {title: [f.parameter.name for f in box.children] for title, box in tabs.items()}
    assert names["Narration"] == ["script", "voice", "speed"]
    assert "caption_style" in names["Captions"] and names["Output"] == ["quality"]


def test_changing_a_parameter_changes_the_frame(tmp_path):
    """The explainer, built with a two-word script: the form's background turns red."""
    ui = make(tmp_path, debounce=60)
    assert "output" not in ui.form.fields
    before = decoded_jpeg(ui.player.frame_jpeg(3))
    assert not (before[..., 0] > 200).mean() > 0.5  # the aurora photo is not red
    ui.player.loop_in, ui.player.loop_out, ui.player.looping = 0.1, 0.5, True
    version = ui.player.version
    ui.form.fields["background"].set("solid:#ff0000")
    assert ui.player.version == version  # debounced: not yet
    ui.flush()
    assert ui.player.position == pytest.approx(0.1), "the playhead stays"
    assert (ui.player.loop_in, ui.player.loop_out, ui.player.looping) == (0.1, 0.5, True)
    after = decoded_jpeg(ui.player.frame_jpeg(3))
    red = (after[..., 0] > 230) & (after[..., 1] < 30) & (after[..., 2] < 30)
    assert red.mean() > 0.7
    corner = after[5:40, 5:40].reshape(-1, 3).mean(axis=0)
    assert corner == pytest.approx([255, 0, 0], abs=12)


def test_a_build_error_shows_at_the_field_it_names_and_the_short_stays(tmp_path):
    ui = make(tmp_path, debounce=60)
    version = ui.player.version
    ui.form.fields["background"].set("solid:nocolour")
    ui.flush()
    assert "'solid:nocolour'" in html.unescape(ui.form.fields["background"].error.value)
    assert ui.form.selected_index == ui.form.titles.index("Visuals")
    assert ui.player.version == version
    ui.form.fields["background"].set("solid:#00ff00")
    ui.flush()
    assert ui.form.fields["background"].error.value == "" and ui.player.version > version


def test_a_refused_value_shows_the_validators_message_and_nothing_builds_or_renders(tmp_path):
    ui = make(tmp_path)
    version = ui.player.version
    ui.form.fields["zoom"].set("big")
    message = str(ParameterError("zoom", "big", "a float"))
    assert message in html.unescape(ui.form.fields["zoom"].error.value)
    time.sleep(0.2)
    assert ui.player.version == version
    assert ui.renders.start() is None and "zoom" in ui.renders.status.value
    assert ui.save(tmp_path / "x.json") is None and not (tmp_path / "x.json").exists()
    assert not (tmp_path / "renders").exists()


def test_changes_apply_after_the_debounce_delay(tmp_path):
    ui = make(tmp_path, debounce=0.05)
    version = ui.player.version
    ui.form.fields["background"].set("solid:#00ff00")
    deadline = time.monotonic() + 20
    while ui.player.version == version and time.monotonic() < deadline:
        time.sleep(0.02)
    green = decoded_jpeg(ui.player.frame_jpeg(3))[5:40, 5:40].reshape(-1, 3).mean(axis=0)
    assert green == pytest.approx([0, 255, 0], abs=12)


def test_a_value_set_back_shows_its_short_again_unbuilt_and_a_few_shorts_are_kept(tmp_path):
    """Trying colours and going back to one is instant: its short is not built again.
    Values changed quicker than the debounce delay make one rebuild, of the last one."""
    ui = make(tmp_path, debounce=60)
    aurora = ui.player.short  # the template's default background
    colours = ["#00ff00", "#0000ff", "#ffff00", "#00ffff", "#ff00ff"]
    shown = []
    for colour in colours:
        version = ui.player.version
        ui.form.fields["background"].set("solid:#123456")  # replaced before it applies
        ui.form.fields["background"].set(f"solid:{colour}")
        ui.flush()
        assert ui.player.version == version + 1, "one new short, of the last value"
        shown.append(ui.player.short)
    assert len({id(short) for short in shown}) == len(colours)
    ui.form.fields["background"].set("solid:#0000ff")  # four shorts back: still kept
    ui.flush()
    assert ui.player.short is shown[1]
    ui.form.fields["background"].set("builtin:aurora")  # six shorts back: built again
    ui.flush()
    assert ui.player.short is not aurora


def test_saved_values_are_a_request_the_cli_and_the_api_take(tmp_path):
    ui = make(tmp_path)
    ui.form.fields["caption_size"].set("80")
    saved = ui.save(tmp_path / "saved.json")
    body = json.loads(saved.read_text())
    assert body["template"] == "explainer"
    assert body["parameters"] == {**ui.values(), "caption_size": 80}
    assert presets.load(saved, "explainer") == body["parameters"]


def test_making_defaults_rewrites_only_the_parameters_cell(tmp_path):
    copy = tmp_path / "mine.ipynb"
    copy.write_bytes(templates.find("explainer").read_bytes())
    before = nbformat.read(copy, as_version=4)
    ui = studio.studio(copy, RED_SKY, interactive=True, renders=tmp_path / "renders")
    ui.form.fields["caption_style"].set("pop")
    assert ui.make_defaults() == ui.values()
    schema = templates.parameters(copy)
    assert {name: schema[name].default for name in ui.values()} == ui.values()
    after = nbformat.read(copy, as_version=4)
    changed = [i for i, (a, b) in enumerate(zip(before.cells, after.cells, strict=True)) if a != b]
    assert [after.cells[i].metadata.get("tags") for i in changed] == [["parameters"]]


@pytest.mark.render
def test_a_render_from_the_studio_reports_its_progress_and_is_listed(tmp_path):
    ui = make(tmp_path, {**RED_SKY, "quality": "draft"})
    assert ui.renders.button.description == "Render draft"
    seen = []
    ui.renders.bar.observe(lambda change: seen.append(change["new"]), names="value")
    thread = ui.renders.start()
    thread.join(300)
    assert ui.renders.bar.value == 1.0 and "100%" in ui.renders.status.value
    assert len(set(seen)) >= 5 and seen == sorted(seen)
    (manifest,) = ui.renders.done
    info = probe(manifest.video)
    assert (info.video_codec, info.width, info.height) == ("h264", 540, 960)
    assert ui.renders.video.value == (tmp_path / "renders" / "explainer-1-draft.mp4").read_bytes()
    assert manifest.notebook.endswith(".ipynb")
    assert "title='Hi'" in html.unescape(ui.renders.listing.value)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255**2 / error)


@pytest.mark.render
def test_saved_values_render_from_the_cli_with_the_studios_frames(tmp_path):
    """Save, render with the CLI at final quality: its frames scaled to the studio's size
    are the frames the studio showed. The same values made the template's defaults
    render the same frames with no parameters."""
    values = {"script": "Two hearts pump blood through the gills.", "caption_style": "pop"}
    ui = make(tmp_path, {**values, "title": "Saved"})
    saved = ui.save(tmp_path / "saved.json")
    final = tmp_path / "final.mp4"
    cli = [sys.executable, "-m", "neuroshorts", "render", "explainer", "-f", str(saved)]
    subprocess.run([*cli, "-p", "quality", "final", "-o", str(final), "--no-progress"],
                   check=True, timeout=300)  # fmt: skip
    indices = {15, 45, round(ui.player.duration * 30) - 10}
    encoded = decoded_frames(final, indices)
    for index in sorted(indices):
        shown = decoded_jpeg(ui.player.frame_jpeg(index))
        scaled = Image.fromarray(encoded[index]).resize((540, 960), Image.Resampling.BOX)
        assert psnr(np.asarray(scaled), shown) >= 35, index

    copy = tmp_path / "mine.ipynb"
    copy.write_bytes(templates.find("explainer").read_bytes())
    mine = studio.studio(copy, {**values, "title": "Saved"}, interactive=True)
    mine.make_defaults()
    again = tmp_path / "defaults.mp4"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "neuroshorts",
            "render",
            str(copy),
            "-o",
            str(again),
            "--no-progress",
        ],
        check=True,
        timeout=300,
    )
    repeated = decoded_frames(again, indices)
    assert all(psnr(repeated[i], encoded[i]) >= 50 for i in indices)
