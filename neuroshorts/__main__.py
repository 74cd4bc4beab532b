"""Start-up of the `neuroshorts` command (and `python -m neuroshorts`), then the CLI.

jsonschema, which nbformat imports under papermill, loads `rfc3987_syntax` whenever it
is installed (jupyter-events asks for it) and builds that package's IRI grammar with
Lark at import: 2.2 s of every command's start on a 2-core machine, more than half of
it. It serves only the "iri" format check, which no notebook schema uses, so the
command marks the module absent before anything imports jsonschema. Library users and
kernels are left alone: this runs only as the command.

`render` launches its kernel first (`kernels.prestart`), so the kernel's own start and
imports run on the other core while the command imports papermill and checks the
parameters.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)

if sys.argv[1:2] == ["render"] and not {"-h", "--help"} & set(sys.argv):
    from neuroshorts.kernels import prestart

    prestart.prepare(until_launched=True)

from neuroshorts.apps.cli import main  # noqa: E402  (after the line above, on purpose)


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
