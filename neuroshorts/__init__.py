"""NeuroShorts: vertical short videos from a script, designed as Jupyter notebooks."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("neuroshorts")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
