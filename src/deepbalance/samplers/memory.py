"""Memory estimates, and refusing a request that cannot fit before any work starts.

Every sampler estimates the memory a ``fit_resample`` call will add on top of its input (the
returned array and the working copies its method needs) from the shapes alone. When that
estimate exceeds the memory available, the call stops at once with a
:class:`InsufficientMemoryError` that gives the estimate, what it is made of and the ways out,
instead of being killed by the operating system halfway.

The memory available is, in order:

1. ``$DEEPBALANCE_MAX_MEMORY``: a size such as ``8G``, ``512M``, ``2.5GB`` or plain bytes
   (``none`` or ``off`` turns the check off);
2. the smaller of ``MemAvailable`` in ``/proc/meminfo`` and the free part of a cgroup v2
   limit (``/sys/fs/cgroup/memory.max`` minus ``memory.current``);
3. ``os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")`` where ``/proc`` is absent.

If none of them can be read, nothing is refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ENV_VAR = "DEEPBALANCE_MAX_MEMORY"
_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_OFF = ("none", "off", "no", "false")


class InsufficientMemoryError(MemoryError, ValueError):
    """A request whose estimated memory exceeds what is available; raised before it starts.

    Both a ``MemoryError`` and a ``ValueError`` (the request's size is the bad argument).

    Attributes
    ----------
    estimate : int
        Bytes the request is estimated to need.
    available : int
        Bytes available (or the ``$DEEPBALANCE_MAX_MEMORY`` limit).
    """

    def __init__(self, message: str, *, estimate: int, available: int):
        super().__init__(message)
        self.estimate = int(estimate)
        self.available = int(available)


def parse_size(text, *, name: str = ENV_VAR) -> int | None:
    """Bytes in a size such as ``"8G"``, ``"512 MiB"``, ``"2.5GB"`` or ``"1000000"``.

    Returns None for ``"none"``/``"off"`` (no limit).

    Parameters
    ----------
    text : str or int
    name : str
        What the value is called in error messages.
    """
    if isinstance(text, bool):
        raise TypeError(f"{name}={text!r} must be a size such as '8G' or a number of bytes")
    if isinstance(text, int):
        value = text
    else:
        if not isinstance(text, str):
            raise TypeError(f"{name}={text!r} must be a size such as '8G' or a number of bytes")
        s = text.strip()
        if s.lower() in _OFF:
            return None
        m = re.fullmatch(r"([0-9]*\.?[0-9]+(?:[eE][0-9]+)?)\s*([KMGTkmgt]?)(?:i?[Bb])?", s)
        if m is None:
            raise ValueError(
                f"{name}={text!r} is not a size; pass e.g. 8G, 512M, 2.5GB, a number of bytes, "
                "or 'none' to turn the memory check off"
            )
        value = int(float(m.group(1)) * _UNITS[m.group(2).upper()])
    if value <= 0:
        raise ValueError(f"{name}={text!r} must be a positive size, e.g. 8G (or 'none')")
    return value


def _meminfo_available() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    m = re.search(r"^MemAvailable:\s+(\d+)\s*kB", text, re.MULTILINE)
    return int(m.group(1)) * 1024 if m else None


def _cgroup_available() -> int | None:
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        return max(int(limit) - used, 0)
    except (OSError, ValueError):
        return None


def _sysconf_available() -> int | None:
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def available_memory() -> tuple[int | None, str]:
    """Bytes available to a new request and where the number came from.

    Returns
    -------
    available : int or None
        None when the check is off (``$DEEPBALANCE_MAX_MEMORY=none``) or nothing is readable.
    source : str
        e.g. ``"DEEPBALANCE_MAX_MEMORY=8G"`` or ``"MemAvailable in /proc/meminfo"``.
    """
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return parse_size(env), f"{ENV_VAR}={env}"
    found = [
        (v, src)
        for v, src in (
            (_meminfo_available(), "MemAvailable in /proc/meminfo"),
            (_cgroup_available(), "the cgroup memory limit"),
        )
        if v is not None
    ]
    if found:
        return min(found)
    value = _sysconf_available()
    return value, "os.sysconf(SC_AVPHYS_PAGES)"


def format_bytes(n: float) -> str:
    """``1536 -> '1.5 KiB'``, in binary units."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def check_memory(parts: dict[str, float], *, what: str, options: list[str]) -> int:
    """Refuse a request whose estimated memory exceeds what is available.

    Parameters
    ----------
    parts : dict
        ``{description: bytes}``; their sum is the estimate.
    what : str
        The request, for the message (e.g. ``"PixelSMOTE.fit_resample on 9000 images of
        (1, 224, 224)"``).
    options : list of str
        Ways to make it fit, listed in the message (the override is always added).

    Returns
    -------
    int
        The estimate in bytes.

    Raises
    ------
    InsufficientMemoryError
        When the estimate exceeds :func:`available_memory`.
    """
    estimate = int(sum(max(float(v), 0.0) for v in parts.values()))
    available, source = available_memory()
    if available is None or estimate <= available:
        return estimate
    detail = ", ".join(f"{k} {format_bytes(v)}" for k, v in parts.items() if v > 0)
    ways = "; ".join(
        [*options, f"or set {ENV_VAR} (e.g. {ENV_VAR}=64G, or 'none') to go ahead anyway"]
    )
    raise InsufficientMemoryError(
        f"{what} needs an estimated {format_bytes(estimate)} ({detail}) but only "
        f"{format_bytes(available)} is available ({source}); nothing was started. "
        f"To make it fit: {ways}.",
        estimate=estimate,
        available=available,
    )
