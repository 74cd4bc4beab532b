"""The `neuroshorts` command: a thin shell over `neuroshorts.templates`.

It parses arguments, sets up logging and turns known failures into one clear line and
an exit status (2 for bad input, 1 for a failed render) instead of a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from neuroshorts import __version__, templates
from neuroshorts.apps import bars, batch, logs, watch
from neuroshorts.errors import ApiError, BatchError, InputError, RunError, VoiceError, WatchError
from neuroshorts.settings import Settings
from neuroshorts.templates import presets, scaffold

log = logging.getLogger("neuroshorts.apps.cli")

EXIT_FAILED, EXIT_BAD_INPUT = 1, 2
#: Long-running commands whose Celery, papermill and uvicorn lines share the log.
SERVICE_COMMANDS = ("serve", "api", "worker")
EXIT_INTERRUPTED = 130  # the shell's convention for a command stopped by Ctrl-C


def _parameter_option(command: argparse.ArgumentParser, help_text: str) -> None:
    """`-p NAME VALUE`, repeatable: how every command that renders takes parameters."""
    command.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help=help_text,
    )


def _quiet_options(command: argparse.ArgumentParser) -> None:
    """`--no-progress` hides the bar; `-q` hides it and the console's info lines too."""
    command.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    command.add_argument(
        "-q", "--quiet", action="store_true", help="no bar; only warnings and errors on the console"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neuroshorts", description="Render vertical shorts from template notebooks."
    )
    parser.add_argument("--version", action="version", version=f"neuroshorts {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.add_argument("--log-file", type=Path, help="rotating log file (default: data dir)")
    commands = parser.add_subparsers(dest="command", required=True)

    render = commands.add_parser("render", help="render a template to an MP4")
    render.add_argument("template", help="template name (e.g. explainer) or notebook path")
    _parameter_option(
        render, "set a parameter (repeatable); VALUE is converted to the parameter's type"
    )
    render.add_argument(
        "-f",
        "--parameters-file",
        type=Path,
        help="JSON of parameters, or a saved render request (-p wins)",
    )
    render.add_argument(
        "-o", "--output", required=True, help="MP4 to write: a path, or an s3:// or gs:// URL"
    )
    _quiet_options(render)

    listing = commands.add_parser("templates", help="list templates or show one's parameters")
    listing.add_argument("name", nargs="?", help="show this template's parameters")

    new = commands.add_parser("new", help="scaffold a new template notebook")
    new.add_argument("name", help="the new template's name, a plain word (e.g. my_short)")
    new.add_argument(
        "--dir",
        type=Path,
        default=Path("templates"),
        help="folder to write NAME.ipynb into (default: ./templates)",
    )

    rows = commands.add_parser(
        "batch", help="render one template for every row of a CSV/JSONL/JSON file, in parallel"
    )
    rows.add_argument("template", help="template name (e.g. explainer) or notebook path")
    rows.add_argument("rows", type=Path, help="rows.csv (header = parameter names), .jsonl, .json")
    rows.add_argument(
        "-o",
        "--output",
        required=True,
        help="output pattern: {row} is the row number, {NAME} a parameter (out/{row}.mp4)",
    )
    rows.add_argument("-j", "--jobs", type=int, help="renders at a time (default: one per core)")
    _parameter_option(rows, "a parameter for every row (repeatable); a row's own value wins")
    _quiet_options(rows)

    folder = commands.add_parser(
        "watch", help="render each job .json dropped in a folder, then file it in done/ or failed/"
    )
    folder.add_argument("directory", type=Path, help="the folder to watch")
    folder.add_argument("--output-dir", type=Path, help="where videos go (default: DIR/out)")
    folder.add_argument("--once", action="store_true", help="process the jobs there now and exit")
    folder.add_argument(
        "--interval", type=float, default=2.0, help="seconds between polls (default: 2)"
    )
    folder.add_argument(
        "--settle",
        type=float,
        default=10.0,
        help="seconds a file that is not valid JSON must stay unchanged before it is "
        "failed rather than waited for (default: 10)",
    )
    _service_parsers(commands)
    _voices_parser(commands)
    _cache_parser(commands)
    return parser


def _cache_parser(commands: Any) -> None:
    """`cache info|prune|clear`: the shared cache of assets, narration and music beds."""
    cache = commands.add_parser("cache", help="show, prune or clear the shared cache")
    actions = cache.add_subparsers(dest="action", required=True)
    actions.add_parser("info", help="entries and bytes on disk per kind, and the budget")
    prune = actions.add_parser("prune", help="remove least recently used entries to the budget")
    prune.add_argument("--max-bytes", help="prune to this size instead (500MB, 2G...)")
    actions.add_parser("clear", help="remove every entry not in use by a running render")


def _voices_parser(commands: Any) -> None:
    """`voices list|install|remove|say`: Piper voices by name (see voice_catalogue.py)."""
    voices = commands.add_parser("voices", help="list, install, remove and try Piper voices")
    actions = voices.add_subparsers(dest="action", required=True)
    listing = actions.add_parser(
        "list", help="bundled and installed voices, and those the catalogue offers"
    )
    listing.add_argument("--lang", help="only voices of this language: es, es_MX, en_US...")
    install = actions.add_parser("install", help="download a voice from Piper's catalogue")
    install.add_argument("name", help="voice name, e.g. es_ES-davefx-medium")
    remove = actions.add_parser("remove", help="delete an installed voice")
    remove.add_argument("name", help="voice name")
    say = actions.add_parser("say", help="speak TEXT with a voice into a WAV file")
    say.add_argument("name", help="a Piper voice name, or a voice string such as espeak:es")
    say.add_argument("text", help="what to say")
    say.add_argument("-o", "--output", type=Path, required=True, help="WAV file to write")


def _service_parsers(commands: Any) -> None:
    """`serve`, `api`, `worker` and `submit`; settings come from NEUROSHORTS_* variables."""
    for name, text in (
        ("serve", "the API and one worker in one process tree (embedded, no servers needed)"),
        ("api", "the REST API only (workers run apart: neuroshorts worker)"),
    ):
        server = commands.add_parser(name, help=text)
        server.add_argument("--host", help="interface to listen on (default: 127.0.0.1)")
        server.add_argument("--port", type=int, help="port to listen on (default: 8000)")
    worker = commands.add_parser("worker", help="a render worker consuming the job queue")
    worker.add_argument("-c", "--concurrency", type=int, help="renders at once (default: 1)")
    worker.add_argument("-n", "--name", help="Celery node name (default: celery@HOST)")

    submit = commands.add_parser("submit", help="send a render to a running API")
    submit.add_argument("template", help="template name (e.g. explainer)")
    _parameter_option(submit, "set a parameter (repeatable); the API converts VALUE to its type")
    submit.add_argument(
        "-f", "--parameters-file", type=Path, help="JSON of parameters, or a saved render request"
    )
    submit.add_argument("-o", "--output", help="MP4 path under the server's output dir, or URL")
    submit.add_argument("--callback-url", help="URL the server POSTs the finished job to")
    submit.add_argument("--idempotency-key", help="the same key returns the same job")
    submit.add_argument("--wait", action="store_true", help="follow the job; print the video")
    submit.add_argument("--url", help="API base URL (default: NEUROSHORTS_API_URL or local)")


def _read_parameters(args: argparse.Namespace) -> dict[str, Any]:
    values = presets.load(args.parameters_file, args.template) if args.parameters_file else {}
    values.update(dict(args.parameter))
    return values


def _bar_off(args: argparse.Namespace) -> bool | None:
    """True when asked to hide the bar, else None: tqdm draws it only on a terminal."""
    return True if args.no_progress or args.quiet else None


def _render(args: argparse.Namespace) -> int:
    values = _read_parameters(args)
    bar = bars.RenderBar(Path(args.template).stem, disable=_bar_off(args))
    with bar, bars.logs_above(bar.bar):
        manifest = templates.run(args.template, values, args.output, on_progress=bar)
    print(manifest.video)
    if manifest.share_url:
        print(manifest.share_url)
    return 0


def _templates(args: argparse.Namespace) -> int:
    if not args.name:
        for template in templates.list_templates():
            print(f"{template.name:<16} {template.description}")
        return 0
    print(f"{templates.find(args.name)}\n")
    for parameter in templates.parameters(args.name).values():
        kind = "|".join(parameter.choices) or parameter.type
        print(f"  {parameter.name:<12} {kind:<12} default {parameter.default!r}")
        if parameter.help:
            print(f"  {'':<12} {parameter.help}")
    return 0


def _new(args: argparse.Namespace) -> int:
    print(scaffold.create(args.name, args.dir))
    return 0


def _batch(args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        log.error("--jobs: got %d, expected 1 or more", args.jobs)
        return EXIT_BAD_INPUT
    common = dict(args.parameter)
    try:
        rows = batch.read_rows(args.rows)
        batch.plan(args.template, rows, args.output, common)  # refuse bad input before the bar
    except BatchError as error:
        log.error("%s", error)
        return EXIT_BAD_INPUT
    bar = bars.BatchBar(len(rows), disable=_bar_off(args))
    rendered = 0

    def finished(result: batch.RowResult) -> None:
        nonlocal rendered
        rendered += result.ok
        bar.finished(result.row)

    try:
        with bar, bars.logs_above(bar.bar):
            results = batch.run_batch(
                args.template,
                rows,
                args.output,
                args.jobs,
                common=common,
                on_result=finished,
                on_progress=bar.progress,
            )
    except KeyboardInterrupt:
        log.error("interrupted: %d of %d rows rendered", rendered, len(rows))
        return EXIT_INTERRUPTED
    for result in results:
        status = "ok" if result.ok else f"failed: {result.error}"
        print(f"row {result.row}\t{result.output}\t{status}")
    return EXIT_FAILED if any(not result.ok for result in results) else 0


def _voices(args: argparse.Namespace) -> int:
    from neuroshorts.audio import narrate, voice_catalogue

    try:
        if args.action == "list":
            return _list_voices(args.lang)
        if args.action == "install":
            print(voice_catalogue.install(args.name))
        elif args.action == "remove":
            for path in voice_catalogue.remove(args.name):
                print(f"removed {path}")
        else:
            if args.output.suffix.lower() != ".wav":
                log.error("--output: got %r, expected a path ending in .wav", str(args.output))
                return EXIT_BAD_INPUT
            voice = args.name if ":" in args.name else f"piper:{args.name}"
            narration = narrate(args.text, args.output, voice)
            print(f"{narration.path}\t{narration.duration:.2f} s")
    except VoiceError as error:
        log.error("%s", error)
        return EXIT_FAILED
    except ValueError as error:  # narrate's own checks: an empty text
        log.error("%s", error)
        return EXIT_BAD_INPUT
    return 0


def _list_voices(language: str | None) -> int:
    from neuroshorts.audio import voice_catalogue

    voices = voice_catalogue.local_voices()
    try:
        listed = {voice.name for voice in voices}
        offered = voice_catalogue.available(voice_catalogue.catalogue())
        voices += [voice for voice in offered if voice.name not in listed]
    except VoiceError as error:
        log.warning("%s; listing the bundled and installed voices only", error)
    shown = [voice for voice in voices if not language or voice.speaks(language)]
    for voice in shown:
        print(
            f"{voice.name:<32} {voice.language:<7} {voice.quality:<7} "
            f"{voice.where:<10} {voice.size / 1e6:6.1f} MB"
        )
    if not shown:
        log.warning("no voice speaks %r", language)
    return 0


def _cache(args: argparse.Namespace) -> int:
    from neuroshorts.media.cache import KINDS, MAX_BYTES_ENV, Cache
    from neuroshorts.media.policy import parse_size

    try:
        cache = Cache.default()
        limit = (
            parse_size("--max-bytes", args.max_bytes, cache.max_bytes)
            if (getattr(args, "max_bytes", None))
            else cache.max_bytes
        )
    except ValueError as error:
        log.error("%s", error)
        return EXIT_BAD_INPUT
    if args.action == "prune":
        removed = cache.evict(limit, wait=True)
        print(f"removed {len(removed)} entries ({sum(e.size for e in removed)} bytes)")
    elif args.action == "clear":
        removed, kept = cache.clear()
        print(f"removed {len(removed)} entries ({sum(e.size for e in removed)} bytes)")
        if kept:
            print(f"kept {len(kept)} entries in use by running renders")
    entries = cache.entries()
    for kind in KINDS:
        count, size = sum(entry.kind == kind for entry in entries), cache.usage(kind)
        print(f"{kind:<10} {count:>6} entries {size:>14} bytes ({size / 1e6:.1f} MB)")
    total = cache.usage()
    print(
        f"{'total':<10} {len(entries):>6} entries {total:>14} bytes ({total / 1e6:.1f} MB) "
        f"of a {cache.max_bytes / 1e6:.0f} MB budget ({MAX_BYTES_ENV}) in {cache.root}"
    )
    return 0


def _watch(args: argparse.Namespace) -> int:
    # `docker stop` sends SIGTERM: stop like Ctrl-C, so papermill shuts its kernel down
    # and the job in hand stays in processing/ for the next watcher to render.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    failed = 0
    try:
        jobs = watch.watch(
            args.directory,
            args.output_dir,
            once=args.once,
            interval=args.interval,
            settle=args.settle,
        )
        for outcome in jobs:
            failed += not outcome.ok
            detail = outcome.video if outcome.ok else f"failed: {outcome.error}"
            print(f"{outcome.job}\t{detail}", flush=True)
    except WatchError as error:
        log.error("%s", error)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        log.info("stopped; a job being rendered is rendered again by the next watcher")
        return 0
    return EXIT_FAILED if failed else 0


def _settings(args: argparse.Namespace) -> Settings:
    """Settings from NEUROSHORTS_* variables, with the command line's flags on top."""
    overrides = {
        name: value
        for name in ("host", "port", "concurrency")
        if (value := getattr(args, name, None)) is not None
    }
    if getattr(args, "name", None):
        overrides["worker_name"] = args.name
    return Settings(**overrides)


def _service(args: argparse.Namespace) -> int:
    from neuroshorts.apps.service import server

    settings = _settings(args)
    if args.command == "serve":
        return server.serve(settings)
    if args.command == "api":
        server.run_api(settings)
    else:
        server.run_worker(settings)
    return 0


def _submit(args: argparse.Namespace) -> int:
    import httpx

    from neuroshorts.apps.service.client import Client

    settings = _settings(argparse.Namespace())
    url = args.url or settings.api_url or f"http://{settings.host}:{settings.port}"
    try:
        with Client(url, settings.api_key) as client:
            job = client.submit(
                args.template,
                _read_parameters(args),
                output=args.output,
                callback_url=args.callback_url,
                idempotency_key=args.idempotency_key,
            )
            if args.wait:
                job = client.wait(job["id"])
    except ApiError as error:
        log.error("%s", error)
        return EXIT_BAD_INPUT if 400 <= error.status < 500 else EXIT_FAILED
    except httpx.HTTPError as error:
        log.error("cannot reach the API at %s: %s", url, error)
        return EXIT_FAILED
    if not args.wait:
        print(json.dumps(job, indent=2))
        return 0
    if job["state"] != "succeeded":
        log.error("job %s %s: %s", job["id"], job["state"], job.get("error") or "")
        return EXIT_FAILED
    print(job.get("share_url") or job["manifest"]["video"])
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    routed = ("celery", "papermill", "uvicorn") if args.command in SERVICE_COMMANDS else ()
    handler = {
        "render": _render,
        "templates": _templates,
        "new": _new,
        "batch": _batch,
        "watch": _watch,
        "serve": _service,
        "api": _service,
        "worker": _service,
        "submit": _submit,
        "voices": _voices,
        "cache": _cache,
    }[args.command]
    try:  # the logs read the settings first, so a bad one is reported like the others
        logs.configure(
            logging.DEBUG if args.verbose else logging.INFO, args.log_file, loggers=routed
        )
        if getattr(args, "quiet", False):
            for stream in logging.getLogger("neuroshorts").handlers:
                if type(stream) is logging.StreamHandler:
                    stream.setLevel(logging.WARNING)
        return handler(args)
    except InputError as error:  # a parameter, a template, a media reference...
        log.error("%s", error)
        return EXIT_BAD_INPUT
    except ValidationError as error:
        log.error("bad NEUROSHORTS_* setting: %s", error)
        return EXIT_BAD_INPUT
    except RunError as error:  # the notebook, ffmpeg, publishing
        log.error("%s", error)
        return EXIT_FAILED
