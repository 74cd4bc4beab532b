"""Logging: rotation at the configured size, JSON lines, and a failing job's lines tagged."""

import json
import logging
import re
import threading

import pytest

from neuroshorts import templates
from neuroshorts.apps import logs
from neuroshorts.errors import TemplateRunError

#: A text record starts with its timestamp; lines that don't (tracebacks) continue it.
RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


@pytest.fixture
def restore_logging(tmp_path):
    """Give `neuroshorts` and `papermill` their default logging back after a test.

    Every setting is passed explicitly: the test's environment may still be a bad one.
    """
    yield
    logs.configure(
        logging.INFO, tmp_path / "reset.log", max_bytes=0, backups=0, log_format="text", loggers=()
    )
    for name in ("neuroshorts", "papermill"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


def text_records(text: str) -> list[str]:
    """Whole records of a text log, a traceback joined to the line that logged it."""
    records: list[str] = []
    for line in text.splitlines():
        if RECORD_START.match(line) or not records:
            records.append(line)
        else:
            records[-1] += "\n" + line
    return records


def test_files_rotate_at_the_size_and_count_set_in_the_environment(
    tmp_path, monkeypatch, restore_logging
):
    monkeypatch.setenv("NEUROSHORTS_LOG_MAX_BYTES", "2000")
    monkeypatch.setenv("NEUROSHORTS_LOG_BACKUPS", "2")
    path = logs.configure(log_file=tmp_path / "logs" / "neuroshorts.log")
    log = logging.getLogger("neuroshorts.test")
    for number in range(200):
        log.info("line %03d %s", number, "x" * 60)

    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["neuroshorts.log", "neuroshorts.log.1", "neuroshorts.log.2"]
    for kept in path.parent.iterdir():
        assert 0 < kept.stat().st_size <= 2000
    assert "line 199" in path.read_text(encoding="utf-8")
    assert "line 000" not in "".join(p.read_text(encoding="utf-8") for p in path.parent.iterdir())


def test_arguments_win_over_the_environment(tmp_path, monkeypatch, restore_logging):
    monkeypatch.setenv("NEUROSHORTS_LOG_MAX_BYTES", "2000")
    path = logs.configure(log_file=tmp_path / "n.log", max_bytes=1_000_000, backups=1)
    for number in range(200):
        logging.getLogger("neuroshorts.test").info("line %03d %s", number, "x" * 60)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.log"]
    assert path.stat().st_size > 2000


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("NEUROSHORTS_LOG_MAX_BYTES", "5MB", "whole number"),
        ("NEUROSHORTS_LOG_BACKUPS", "-1", "whole number"),
        ("NEUROSHORTS_LOG_FORMAT", "xml", "text, json"),
    ],
)
def test_a_bad_setting_names_the_variable_its_value_and_what_fits(
    tmp_path, monkeypatch, restore_logging, variable, value, expected
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError) as raised:
        logs.configure(log_file=tmp_path / "n.log")
    message = str(raised.value)
    assert variable in message
    assert repr(value) in message
    assert expected in message


def test_json_format_writes_one_object_per_line_on_console_and_file(
    tmp_path, monkeypatch, capsys, restore_logging
):
    monkeypatch.setenv("NEUROSHORTS_LOG_FORMAT", "json")
    path = logs.configure(log_file=tmp_path / "n.log")
    log = logging.getLogger("neuroshorts.apps.service.worker")
    log.info("idle")
    with logs.job_scope("job-7f3a"):
        log.warning("rendering «%s»", "¿Qué?")
        try:
            raise RuntimeError("kernel died")
        except RuntimeError:
            log.exception("render failed")

    for stream in (path.read_text(encoding="utf-8"), capsys.readouterr().err):
        entries = [json.loads(line) for line in stream.splitlines()]
        assert [e["message"] for e in entries] == ["idle", "rendering «¿Qué?»", "render failed"]
        assert [e["job_id"] for e in entries] == [None, "job-7f3a", "job-7f3a"]
        assert [e["level"] for e in entries] == ["INFO", "WARNING", "ERROR"]
        assert {e["logger"] for e in entries} == {"neuroshorts.apps.service.worker"}
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", e["time"]) for e in entries)
        assert "RuntimeError: kernel died" in entries[2]["exception"]


@pytest.fixture(scope="module")
def failed_job(tmp_path_factory):
    """A real render that fails inside the kernel (missing background), run in a job scope.

    Meanwhile another thread, outside the job, logs too: its lines must stay untagged.
    """
    folder = tmp_path_factory.mktemp("failed-job")
    shared = folder / "logs" / "neuroshorts.log"
    per_job = folder / "out" / "short.log"
    logs.configure(logging.INFO, shared, loggers=("neuroshorts", "papermill"))
    log = logging.getLogger("neuroshorts.apps.service.worker")
    log.info("worker ready")
    with logs.job_scope("job-42", per_job):
        bystander = threading.Thread(
            target=lambda: logging.getLogger("neuroshorts.api").info("another request")
        )
        bystander.start()
        bystander.join()
        with pytest.raises(TemplateRunError) as raised:
            templates.run(
                "explainer",
                {
                    "script": "Hi.",
                    "quality": "draft",
                    "background": str(folder / "missing.jpg"),
                },
                folder / "out" / "short.mp4",
                progress=False,
            )
        log.error("job failed: %s", raised.value)
    log.info("worker idle")
    yield shared.read_text(encoding="utf-8"), per_job.read_text(encoding="utf-8")
    logs.configure(logging.INFO, shared, loggers=())


@pytest.mark.render
def test_every_line_of_a_failing_job_carries_its_id_in_both_logs(failed_job, restore_logging):
    shared, per_job = failed_job
    in_job = [r for r in text_records(shared) if "[job job-42]" in r]
    outside = [r for r in text_records(shared) if "[job job-42]" not in r]

    assert [r.split(": ", 1)[1] for r in outside] == [
        "worker ready",
        "another request",
        "worker idle",
    ]
    assert any(" papermill [job job-42]: " in r for r in in_job), "papermill's lines are routed"
    assert any("neuroshorts.templates [job job-42]: rendering explainer" in r for r in in_job)
    assert any("job failed: template 'explainer' failed" in r for r in in_job)
    assert "missing.jpg' does not exist" in in_job[-1]

    assert text_records(per_job) == in_job
