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

import atexit
import os
import sys
import threading

sys.modules.setdefault("rfc3987_syntax", None)

if sys.argv[1:2] == ["render"] and not {"-h", "--help"} & set(sys.argv):
    from neuroshorts.kernels import prestart

    prestart.prepare(until_launched=True)

from neuroshorts.apps.cli import main  # noqa: E402  (after the line above, on purpose)


def run() -> None:
    """Run the CLI, then exit without the interpreter's teardown when nothing still runs.

    Freeing every module and object of papermill, pydantic, numpy and the rest took
    0.2-0.3 s of each command after its work was done. The exit handlers still run
    (logging's flush, coverage's save); a command that leaves a thread working exits
    the usual way, which waits for it.
    """
    code = main()
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if any(not thread.daemon for thread in others):
        sys.exit(code)
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
