"""Plain data: any parameter value as what JSON holds (dicts, lists, numbers, strings)."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence

import numpy as np

UNKNOWN = ("keep", "str")


def plain(value, *, unknown: str = "keep", nan_as_none: bool = False):
    """A JSON-friendly copy of ``value``.

    Dataclass instances and mappings become dicts (keys as ``str``), lists, tuples and arrays
    become lists, NumPy scalars Python ones, paths strings.

    Parameters
    ----------
    value
        Any value.
    unknown : {"keep", "str"}
        What becomes of a value of another type: kept as it is, or ``str(value)``.
    nan_as_none : bool
        Turn a NaN float into None (JSON has no NaN).
    """
    if unknown not in UNKNOWN:
        raise ValueError(f"unknown={unknown!r} is not one of {UNKNOWN}; pass 'keep' or 'str'")
    return _plain(value, unknown, nan_as_none)


def _plain(value, unknown: str, nan_as_none: bool):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name), unknown, nan_as_none)
            for f in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return {str(k): _plain(v, unknown, nan_as_none) for k, v in value.items()}
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if nan_as_none and math.isnan(value) else value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Sequence | np.ndarray) and not isinstance(value, bytes | bytearray):
        return [_plain(v, unknown, nan_as_none) for v in value]
    return str(value) if unknown == "str" else value
