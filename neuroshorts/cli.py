"""The `neuroshorts` command: a thin shell over `neuroshorts.templates`.

It parses arguments, sets up logging and turns known failures into one clear line and
an exit status (2 for bad input, 1 for a failed render) instead of a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from neuroshorts import __version__, logs, scaffold, templates
from neuroshorts.render import RenderError

log = logging.getLogger("neuroshorts.cli")

EXIT_FAILED, EXIT_BAD_INPUT = 1, 2


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
    render.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a parameter (repeatable); VALUE is converted to the parameter's type",
    )
    render.add_argument(
        "-f", "--parameters-file", type=Path, help="JSON object of parameters (-p wins)"
    )
    render.add_argument("-o", "--output", required=True, type=Path, help="MP4 to write")
    render.add_argument("--no-progress", action="store_true", help="hide the progress bar")

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
    return parser


def _read_parameters(args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if args.parameters_file:
        try:
            values = json.loads(args.parameters_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise templates.ParameterError(
                "--parameters-file", str(args.parameters_file), f"a readable JSON file ({error})"
            ) from None
        if not isinstance(values, dict):
            raise templates.ParameterError(
                "--parameters-file", str(args.parameters_file), "a JSON object of name: value"
            )
    values.update(dict(args.parameter))
    return values


def _render(args: argparse.Namespace) -> int:
    manifest = templates.run(
        args.template, _read_parameters(args), args.output, progress=not args.no_progress
    )
    print(manifest.video)
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure(logging.DEBUG if args.verbose else logging.INFO, args.log_file)
    handler = {"render": _render, "templates": _templates, "new": _new}[args.command]
    try:
        return handler(args)
    except (templates.ParameterError, templates.TemplateError) as error:
        log.error("%s", error)
        return EXIT_BAD_INPUT
    except (templates.TemplateRunError, RenderError) as error:
        log.error("%s", error)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
