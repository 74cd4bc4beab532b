"""The studio: a short playing in JupyterLab with its sound, and a template's form.

`preview(short)` shows the player (`player.Player`): the soundtrack plays in the page,
the picture is `Short.frame(t)` (the very pixels the encoder gets) at the audio's time,
and a timeline shows when every layer, caption page and spoken word happens.
`studio(template)` puts the template's parameter form beside it, with saving and
rendering (`workbench.Studio`).

Templates run headlessly under papermill with the same cells a designer runs in the
lab, so every call here first asks whether a person is looking. Under papermill,
nbclient or nbval (and in plain Python) `preview` and `studio` return None at once,
import no widget library and open no comms: a production render pays nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroshorts.scene import Short
from neuroshorts.settings import settings

if TYPE_CHECKING:
    from neuroshorts.studio.player import Player
    from neuroshorts.studio.workbench import Studio

__all__ = ["HEADLESS_ENV", "is_interactive", "preview", "studio"]

log = logging.getLogger(__name__)

#: Set to 1 to force headless behaviour (e.g. a CI run of notebooks in a real kernel).
HEADLESS_ENV = "NEUROSHORTS_HEADLESS"

#: The player each notebook cell showed, so running the cell again updates it in place.
_players: dict[str, Player] = {}


def is_interactive() -> bool:
    """Whether a person with a notebook frontend is running this code.

    papermill, nbclient and nbval execute cells with `allow_stdin=False`, while JupyterLab,
    Notebook and VS Code allow stdin (so `input()` works there). The kernel records that
    flag for the request it is executing, so it tells a headless run from a person without
    any help from the runner. papermill itself exposes no environment variable to the kernel.
    Outside a kernel (plain Python, terminal IPython) there is no widget frontend either.
    """
    if settings().headless:
        return False
    kernel = _kernel()
    return kernel is not None and bool(getattr(kernel, "_allow_stdin", False))


def _kernel() -> Any | None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return None
    return getattr(get_ipython(), "kernel", None)


def _wants_ui(interactive: bool | None) -> bool:
    return is_interactive() if interactive is None else interactive


def _cell() -> str:
    """The id of the notebook cell being run (JupyterLab sends it with the request)."""
    kernel = _kernel()
    parent = kernel.get_parent("shell") if kernel is not None else {}
    return str((parent or {}).get("metadata", {}).get("cellId", ""))


def preview(
    short: Short,
    *,
    t: float | None = None,
    size: str = "540x960",
    key: str | None = None,
    interactive: bool | None = None,
) -> Player | None:
    """The player on `short`, or None (at no cost) when no person is looking.

    A cell run again (or any call with the same `key`) gets its earlier player back,
    showing the new short at the same playhead and loop; `t` moves the playhead. Sizes:
    `540x960` or the lighter `360x640`. `interactive=None` asks the kernel (see
    `is_interactive`); True forces the widget (tests), False forces headless.
    """
    if not _wants_ui(interactive):
        log.debug("studio.preview: headless, nothing to show")
        return None
    from neuroshorts.studio.player import Player, place_key

    key = _cell() if key is None else key
    player = _players.get(key)
    if player is None or player.comm is None:
        player = _players[key] = Player(short, t=t, size=size, key=place_key(key))
        return player
    player.size = size
    player.set_short(short)
    if t is not None:
        player.position = t
    return player


def studio(
    template: str | Path,
    values: Mapping[str, Any] | None = None,
    *,
    t: float = 1.5,
    size: str = "540x960",
    debounce: float = 0.0,
    renders: str | Path = "renders",
    interactive: bool | None = None,
) -> Studio | None:
    """A parameter form for `template` beside the player of its short, or None headless.

    `values` start the form somewhere other than the template's defaults (a short script
    builds in a moment where the default narration takes seconds).

    Renders from the studio go to the folder `renders` (relative to the kernel's working
    directory). Headless (papermill, nbval, plain Python) it returns at once without
    reading or running the template; `interactive` overrides the detection as in
    `preview`.
    """
    if not _wants_ui(interactive):
        log.debug("studio.studio: headless, nothing to show")
        return None
    from neuroshorts.studio.workbench import Studio

    return Studio(template, values, t=t, size=size, debounce=debounce, renders=renders)
