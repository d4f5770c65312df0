"""The package version, read once from the installed package's metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("makemore")
except PackageNotFoundError:          # imported from a source tree that was never installed
    __version__ = "0+unknown"
