"""Turn an asset reference from a template parameter into a local file path.

Every engine that reads media goes through `resolve`, so adding remote schemes later
(http, s3, gs through a local cache) changes one function, not every caller.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

BUILTIN = "builtin:"


def builtin_dir() -> Path:
    """The media bundled with the package (backgrounds, fonts)."""
    return Path(str(files("neuroshorts").joinpath("assets")))


def resolve(reference: str, *, field: str = "asset") -> Path:
    """A local path for `reference`: a file path, `file://` URL or `builtin:NAME`.

    `field` names the parameter the reference came from, so the error a user sees says
    which of their inputs is wrong.
    """
    if reference.startswith(BUILTIN):
        name = reference.removeprefix(BUILTIN)
        matches = sorted(builtin_dir().glob(f"*/{name}.*")) if name else []
        if not matches:
            available = sorted(p.stem for p in builtin_dir().glob("backgrounds/*"))
            raise FileNotFoundError(
                f"{field}: no bundled asset {reference!r}; bundled backgrounds: "
                + ", ".join(f"{BUILTIN}{stem}" for stem in available)
            )
        return matches[0]
    path = Path(reference.removeprefix("file://")).expanduser()
    if "://" in reference and not reference.startswith("file://"):
        raise ValueError(f"{field}: {reference!r} uses a scheme that is not supported yet")
    if not path.is_file():
        raise FileNotFoundError(f"{field}: file {str(path)!r} does not exist")
    return path
