"""Small argument checks shared by every public function.

Each check raises a ``ValueError`` or ``TypeError`` whose message names the
argument, the bad value and how to fix it.
"""

from __future__ import annotations

import math
import numbers
import os
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state as sklearn_check_random_state

#: Integer pixel dtypes and the value that maps to 1.0 (the samplers' and autoencoders' contract).
INTEGER_SCALES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def check_int(
    value, name: str, *, min_value: int | None = None, max_value: int | None = None
) -> int:
    """Return ``value`` as an int, or raise naming ``name`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}={value!r} must be an integer; pass e.g. {name}=5")
    value = int(value)
    if min_value is not None and value < min_value:
        raise ValueError(f"{name}={value} is too small; pass {name}>={min_value}")
    if max_value is not None and value > max_value:
        raise ValueError(f"{name}={value} is too large; pass {name}<={max_value}")
    return value


def check_positive(value, name: str, *, meaning: str, example) -> float:
    """``value`` as a finite float > 0; the errors say what it is (``meaning``) and give
    ``name=example`` as the fix."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name}={value!r} must be a number > 0 ({meaning}); pass e.g. {name}={example}"
        )
    if not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"{name}={value} must be a finite number > 0 ({meaning}); pass e.g. {name}={example}"
        )
    return float(value)


def check_float(
    value,
    name: str,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
) -> float:
    """Return ``value`` as a finite float within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}={value!r} must be a number; pass e.g. {name}=0.5")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name}={value} must be finite; pass a finite number")
    if min_value is not None:
        bad = value < min_value if min_inclusive else value <= min_value
        if bad:
            op = ">=" if min_inclusive else ">"
            raise ValueError(f"{name}={value} is out of range; pass {name}{op}{min_value}")
    if max_value is not None:
        bad = value > max_value if max_inclusive else value >= max_value
        if bad:
            op = "<=" if max_inclusive else "<"
            raise ValueError(f"{name}={value} is out of range; pass {name}{op}{max_value}")
    return value


def check_choice(value, name: str, choices: Iterable):
    """Return ``value`` if it is one of ``choices``; otherwise list them."""
    choices = list(choices)
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}={value!r} is not supported; choose one of {listed}")
    return value


def check_random_state(seed) -> np.random.RandomState:
    """Turn ``None``, an int or a ``RandomState`` into a ``RandomState``, as scikit-learn does.

    ``None`` gives numpy's global ``RandomState`` (so ``np.random.seed`` makes runs
    repeatable), an int a new ``RandomState`` seeded with it, and a ``RandomState``
    itself; see :func:`sklearn.utils.check_random_state`.

    Parameters
    ----------
    seed : None, int in [0, 2**32) or numpy RandomState

    Returns
    -------
    numpy.random.RandomState
    """
    if isinstance(seed, bool) or not (
        seed is None or isinstance(seed, (numbers.Integral, np.random.RandomState))
    ):
        raise TypeError(
            f"random_state={seed!r} must be None, an int or a numpy RandomState; "
            "pass e.g. random_state=0"
        )
    if isinstance(seed, numbers.Integral) and not 0 <= int(seed) < 2**32:
        raise ValueError(f"random_state={seed} must be in [0, 2**32); pass e.g. random_state=0")
    return sklearn_check_random_state(seed)


def seed_from(random_state: np.random.RandomState) -> int:
    """Draw one int seed (for torch or a library) from ``random_state``."""
    return int(random_state.randint(0, 2**31 - 1))


def fsync_file(path: str | os.PathLike) -> None:
    """Flush the file at ``path`` to disk (``os.fsync``)."""
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(path: str | os.PathLike) -> None:
    """Flush folder ``path`` (its entries: a rename into it) to disk, where the OS allows.

    POSIX only; a file system that cannot sync folders is skipped, as the rename
    itself is still atomic there.
    """
    if os.name == "nt":  # Windows cannot open folders; NTFS journals renames itself
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ""):
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    Nothing is left half-written: the temporary file is flushed to disk (fsync)
    before the rename and the folder after it, so after a crash ``path`` holds the
    old or the new content, whole; on error the temporary file is removed.

    Parameters
    ----------
    path : str or path-like
        Destination; its folder is created if needed.
    suffix : str, default=""
        Ending of the temporary name (e.g. ".safetensors" for writers that check it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
    try:
        yield Path(tmp)
        fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    fsync_directory(path.parent)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + rename)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (temp file + rename)."""
    atomic_write_bytes(path, text.encode("utf-8"))
