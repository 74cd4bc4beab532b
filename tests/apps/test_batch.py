"""Batch rendering: rows from CSV/JSONL/JSON, every row checked first, parallel real renders."""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from neuroshorts.apps import batch
from neuroshorts.errors import BatchError
from support.media import probe
from support.terminal import run_in_terminal

NEUROSHORTS = str(Path(sys.executable).parent / "neuroshorts")


def run_cli(*args, cwd):
    return subprocess.run(
        [NEUROSHORTS, *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


# --- reading rows ---------------------------------------------------------------------


def test_csv_rows_keep_quoted_text_and_skip_blank_lines_and_empty_cells(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(
        '\ufeffscript, title ,quality\n"Hi, there.\nTwo lines.",First,draft\n\n"Bye.",,\n',
        encoding="utf-8",
    )
    assert batch.read_rows(path) == [
        {"script": "Hi, there.\nTwo lines.", "title": "First", "quality": "draft"},
        {"script": "Bye."},  # an empty cell is "not set", not an empty string
    ]


def test_jsonl_json_and_raw_text_are_read_by_suffix_or_by_their_first_character(tmp_path):
    (tmp_path / "rows.jsonl").write_text('{"script": "a", "zoom": 1.2}\n\n{"script": "b"}\n')
    (tmp_path / "rows.json").write_text('[{"script": "a"}, {"caption_words": 2}]')
    assert batch.read_rows(tmp_path / "rows.jsonl") == [
        {"script": "a", "zoom": 1.2},
        {"script": "b"},
    ]
    assert batch.read_rows(tmp_path / "rows.json") == [{"script": "a"}, {"caption_words": 2}]
    assert batch.read_rows('{"script": "a"}\n{"script": "b"}') == [{"script": "a"}, {"script": "b"}]
    assert batch.read_rows('[{"script": "a"}]') == [{"script": "a"}]
    assert batch.read_rows("script,title\nHello,Hi\n") == [{"script": "Hello", "title": "Hi"}]
    assert batch.read_rows('{"script": "a"}', kind="jsonl") == [{"script": "a"}]


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        (
            "script,title\nHello,Hi,extra\n",
            "csv",
            "row 1 (line 2): 3 values but the header names 2",
        ),
        ("script,script\na,b\n", "csv", "header names column 'script' twice"),
        ("script,,title\na,b,c\n", "csv", "header column 2 has no name"),
        ("script\n", "csv", "no rows to render"),
        ('{"script": "a"}\n\n{"script": b}\n', "jsonl", "row 2 (line 3): not valid JSON"),
        ('{"script": "a"}\n["b"]\n', "jsonl", "row 2 (line 2): expected an object"),
        ('[{"script": "a"}, 3]', "json", "row 2: expected an object of parameter: value, got 3"),
        ('{"script": "a"}', "json", "expected a JSON list of objects, got dict"),
        ("a,b\n1,2\n", "xml", "unknown rows format 'xml'"),
    ],
)
def test_bad_rows_are_refused_naming_the_row_or_line(text, kind, message):
    with pytest.raises(BatchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        batch.read_rows(text, kind)


def test_a_missing_rows_file_is_named():
    with pytest.raises(BatchError, match="nope.csv: no such rows file"):
        batch.read_rows(Path("nope.csv"))


def test_text_is_never_taken_for_a_file_name(tmp_path):
    """Request bodies reach read_rows as text: a body naming a file must not read it."""
    secret = tmp_path / "secret.csv"
    secret.write_text("script\nprivate words\n")
    with pytest.raises(BatchError, match="no rows to render; to read a file named"):
        batch.read_rows(str(secret))
    with pytest.raises(BatchError) as error:
        batch.read_rows(str(secret), kind="jsonl")
    assert "private" not in str(error.value)


# --- planning: every row checked, outputs named, before anything renders ----------------


def test_outputs_come_from_the_pattern_with_row_numbers_and_safe_parameter_values(tmp_path):
    rows = [{"title": "Why? / Because: yes"}, {"title": "../../etc"}, {}]
    jobs = batch.plan("explainer", rows, str(tmp_path / "{row:02d}-{title}.mp4"))
    names = [job.output.name for job in jobs]
    assert names[0] == "01-Why_ _ Because_ yes.mp4"
    assert all(job.output.parent == tmp_path for job in jobs)  # no value escapes the folder
    assert names[2] == "03-Three hearts, one octopus.mp4"  # the template's default title


def test_common_values_apply_to_every_row_and_a_row_value_wins(tmp_path):
    jobs = batch.plan(
        "explainer",
        [{"title": "Own"}, {}],
        str(tmp_path / "{row}.mp4"),
        {"title": "Common", "quality": "draft"},
    )
    assert [job.values["title"] for job in jobs] == ["Own", "Common"]
    assert all(job.values["quality"] == "draft" for job in jobs)


@pytest.mark.parametrize(
    ("rows", "pattern", "common", "message"),
    [
        (
            [{}, {"zoom": "lots"}],
            "{row}.mp4",
            {},
            "row 2, column 'zoom': got 'lots', expected a float",
        ),
        ([{}, {"bogus": "1"}], "{row}.mp4", {}, "row 2, column 'bogus': got '1'"),
        ([{}, {}], "same.mp4", {}, "rows 1 and 2 would both write"),
        ([{"title": "A"}, {"title": "A"}], "{title}.mp4", {}, "rows 1 and 2 would both write"),
        ([{}], "{slug}.mp4", {}, "{slug} is neither {row} nor a parameter"),
        ([{}], "{row}.mkv", {}, "expected a path ending in .mp4"),
        ([{}], "{cta}.mp4", {}, "row 1, column 'cta': got '', expected a value usable"),
        ([{"output": "x.mp4"}], "{row}.mp4", {}, "row 1, column 'output'"),
        ([{}], "{row}.mp4", {"quality": "4k"}, "common parameter 'quality': got '4k'"),
    ],
)
def test_bad_rows_and_patterns_are_refused_naming_row_and_column(
    tmp_path, rows, pattern, common, message
):
    with pytest.raises(BatchError) as error:
        batch.plan("explainer", rows, str(tmp_path / pattern), common)
    assert message in str(error.value)


def test_cli_refuses_a_bad_row_before_rendering_any(tmp_path):
    (tmp_path / "rows.csv").write_text("script,quality\nOne.,draft\nTwo.,4k\nThree.,draft\n")
    result = run_cli("batch", "explainer", "rows.csv", "-o", "out/{row}.mp4", cwd=tmp_path)
    assert result.returncode == 2
    assert "row 2, column 'quality': got '4k', expected one of draft, final" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"]  # no out/, no notebook


def test_cli_reports_an_unreadable_rows_file_as_bad_input(tmp_path):
    (tmp_path / "rows.jsonl").write_text('{"script": "One."}\n{"script": \n')
    result = run_cli("batch", "explainer", "rows.jsonl", "-o", "{row}.mp4", cwd=tmp_path)
    assert result.returncode == 2
    assert "rows.jsonl: row 2 (line 2): not valid JSON" in result.stderr


# --- real renders ------------------------------------------------------------------------


ROW_ONE = (
    "Hello from row one. This row goes on talking for a while so that its frames are "
    "still being encoded each time the bar is drawn again and then once more."
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Three rows through the CLI: two render, the third fails inside its notebook. The
    two speak long enough for their encodes to outlast several of the bar's polls (a
    one-line row's draft encode was over between two of them)."""
    folder = tmp_path_factory.mktemp("batch")
    (folder / "rows.csv").write_text(
        "script,title,background\n"
        f"{ROW_ONE},,\n"
        f"{ROW_ONE.replace('one', 'two')},Own title,\n"
        "Hello from row three.,,missing-photo.jpg\n",
        encoding="utf-8",
    )
    result = run_in_terminal([
        NEUROSHORTS, "batch", "explainer", "rows.csv", "-o", "out/{row}.mp4",
        "-p", "quality", "draft", "-p", "title", "Common title",
    ], cwd=folder)  # fmt: skip
    return folder, result


def test_the_batch_bar_counts_rows_and_shows_each_rows_frames(rendered):
    folder, result = rendered
    bars = [segment for segment in result.screen if segment.startswith("batch ")]
    assert re.match(r"batch 100%\|[^|]*\| 3\.0/3 rows", bars[-1])
    for row in (1, 2):
        # Counted against the row's own video; tqdm draws at most every 0.1 s, so the last
        # count before the row leaves the bar may be any of them, not always the final one.
        frames = probe(folder / "out" / f"{row}.mp4").frames
        counts = [re.search(rf"row {row}: encode \d+/{frames}\b", bar) for bar in bars]
        assert any(counts), bars
    assert any("row 3: " in bar for bar in bars), "the failing row showed its stage too"


def test_rows_render_in_parallel_to_real_draft_shorts(rendered):
    folder, _ = rendered
    for row in (1, 2):
        info = probe(folder / "out" / f"{row}.mp4")
        assert (info.video_codec, info.width, info.height) == ("h264", 540, 960)
        assert info.audio_codec == "aac" and info.duration > 0.5


def test_each_render_records_its_row_values_over_the_common_ones(rendered):
    folder, _ = rendered
    first, second = (json.loads((folder / "out" / f"{n}.json").read_text()) for n in (1, 2))
    assert first["parameters"]["script"] == ROW_ONE
    assert first["parameters"]["title"] == "Common title"
    assert second["parameters"]["title"] == "Own title"
    assert first["parameters"]["quality"] == second["parameters"]["quality"] == "draft"


def test_a_row_failing_in_its_notebook_is_reported_and_the_others_still_render(rendered):
    folder, result = rendered
    assert result.returncode == 1, result.screen
    lines = result.stdout.splitlines()
    assert lines[0] == f"row 1\t{folder / 'out' / '1.mp4'}\tok"
    assert lines[1] == f"row 2\t{folder / 'out' / '2.mp4'}\tok"
    assert lines[2].startswith(f"row 3\t{folder / 'out' / '3.mp4'}\tfailed: ")
    assert "missing-photo.jpg" in lines[2]
    assert not (folder / "out" / "3.mp4").exists()
    stderr = "\n".join(result.screen)
    assert "row 3 failed" in stderr and "Traceback" not in stderr


@pytest.mark.render
@pytest.mark.slow
def test_ctrl_c_stops_the_running_renders_and_starts_no_more(tmp_path):
    (tmp_path / "rows.csv").write_text(
        "script\n" + "".join(f"Row {n} should never finish rendering.\n" for n in range(4))
    )
    command = [NEUROSHORTS, "batch", "explainer", "rows.csv", "-o", "out/{row}.mp4"]
    batch_run = subprocess.Popen(
        [*command, "-p", "quality", "draft", "--no-progress"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job,
        # which takes Ctrl-C even where pytest runs with SIGINT ignored (in the background
        # of a shell script, or as a pytest-xdist worker)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines = []
    for line in batch_run.stderr:
        lines.append(line)
        if "rendering explainer" in line:
            break
    os.killpg(batch_run.pid, signal.SIGINT)  # what Ctrl-C sends to the whole group
    rest = batch_run.stderr.read()
    batch_run.wait(timeout=120)
    stderr = "".join(lines) + rest
    assert batch_run.returncode == 130, stderr
    assert "interrupted: 0 of 4 rows rendered" in stderr
    assert "Traceback" not in stderr
    assert not list(tmp_path.glob("out/*.mp4"))
