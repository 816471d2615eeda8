"""Grimnir Radio: broadcast automation for radio stations."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("grimnir-radio")
except PackageNotFoundError:  # NOTE: running from a source tree without an install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
