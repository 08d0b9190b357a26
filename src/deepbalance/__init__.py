"""deepbalance: deep oversampling for imbalanced image data."""

from ._version import __version__

__all__ = ["__version__"]
