"""Where dataset files are looked for, where downloads go, and the "not found" error.

Search order for a dataset called ``name``:

1. an explicit ``data_dir`` (the folder itself, then ``data_dir/<name>``) — when given, nothing
   else is searched, so a typo in ``data_dir`` is never hidden by files found elsewhere;
2. ``$DEEPBALANCE_DATA/<name>``, then ``$DEEPBALANCE_DATA`` itself;
3. the dataset's system folders (e.g. Debian's ``/usr/share/datasets/fashion-mnist``);
4. the download cache, ``$XDG_CACHE_HOME/deepbalance/<name>`` (``~/.cache/deepbalance/<name>``).

Downloads (only with ``download=True``) go to ``data_dir``, else ``$DEEPBALANCE_DATA/<name>``,
else the download cache.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

ENV_VAR = "DEEPBALANCE_DATA"


class DatasetNotFoundError(FileNotFoundError, ValueError):
    """A dataset's files were not found in any searched folder.

    Subclasses both ``FileNotFoundError`` and ``ValueError`` so either ``except`` catches it.
    """


def check_data_dir(data_dir) -> Path | None:
    """Return ``data_dir`` as an expanded ``Path`` (or ``None``), rejecting non-paths."""
    if data_dir is None:
        return None
    if isinstance(data_dir, bytes) or not isinstance(data_dir, str | os.PathLike):
        raise TypeError(
            f"data_dir={data_dir!r} must be a folder path (str or pathlib.Path) or None; "
            "pass e.g. data_dir='~/data/fashion-mnist'"
        )
    path = Path(data_dir).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(
            f"data_dir={str(data_dir)!r} is a file, not a folder; pass the folder that holds "
            "the dataset's files"
        )
    return path


def cache_root() -> Path:
    """The download cache: ``$XDG_CACHE_HOME/deepbalance`` or ``~/.cache/deepbalance``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "deepbalance"


def env_root() -> Path | None:
    """``$DEEPBALANCE_DATA`` as a path, or ``None`` when unset or empty."""
    value = os.environ.get(ENV_VAR, "").strip()
    return Path(value).expanduser() if value else None


def search_dirs(
    name: str, data_dir: Path | None = None, system_dirs: Iterable[str | Path] = ()
) -> list[Path]:
    """Folders to search for ``name``'s files, in order (see the module docstring)."""
    if data_dir is not None:
        dirs = [Path(data_dir), Path(data_dir) / name]
    else:
        env = env_root()
        dirs = [env / name, env] if env is not None else []
        dirs += [Path(d) for d in system_dirs]
        dirs.append(cache_root() / name)
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def download_dir(name: str, data_dir: Path | None = None) -> Path:
    """Folder that ``download=True`` writes ``name``'s files into."""
    if data_dir is not None:
        return Path(data_dir)
    env = env_root()
    return env / name if env is not None else cache_root() / name


def not_found(
    name: str, wanted: str, searched: Iterable[Path], how_to_get: Iterable[str] = ()
) -> DatasetNotFoundError:
    """Build the error raised when ``name``'s files are missing.

    Parameters
    ----------
    name : str
        Dataset name.
    wanted : str
        The files that were looked for, e.g. ``"train-images-idx3-ubyte[.gz]"``.
    searched : iterable of Path
        Every folder that was searched.
    how_to_get : iterable of str
        Ways to obtain the files, most convenient first.
    """
    lines = [f"{name}: could not find {wanted}. Searched:"]
    lines += [f"  - {p}" for p in searched] or ["  - (no folder: pass data_dir=...)"]
    lines.append("To get the files:")
    lines += [f"  - {h}" for h in how_to_get]
    lines.append(
        f"  - or put them in a folder and pass data_dir=..., or set ${ENV_VAR} to a folder "
        f"that holds them (or a '{name}' sub-folder with them)"
    )
    return DatasetNotFoundError("\n".join(lines))
