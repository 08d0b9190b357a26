"""Opt-in downloads (``download=True``) from official mirrors, MD5-checked, written atomically.

Nothing here runs unless a user passes ``download=True``.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .._checks import atomic_path

log = logging.getLogger(__name__)

# The one function that touches the network; tests replace it to serve local files.
urlopen = urllib.request.urlopen

_CHUNK = 1 << 20


class DownloadError(OSError):
    """No mirror delivered a file with the expected MD5 checksum."""


@dataclass(frozen=True)
class Remote:
    """A file published at one or more mirrors.

    Parameters
    ----------
    filename : str
        Name the file is saved under.
    md5 : str
        Expected MD5 hex digest of the published file.
    urls : tuple of str
        Mirrors, tried in order.
    """

    filename: str
    md5: str
    urls: tuple[str, ...]


def file_md5(path: str | Path) -> str:
    """MD5 hex digest of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_url(url: str, dest: Path, timeout: float) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with urlopen(url, timeout=timeout) as response, open(dest, "wb") as out:
        while chunk := response.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def fetch(remote: Remote, directory: str | Path, *, timeout: float = 60.0) -> Path:
    """Download ``remote`` into ``directory`` and return the file's path.

    An existing file with the right checksum is kept. The file is written to a temporary name
    and renamed only once its MD5 matches, so a failed or corrupt download leaves nothing.

    Raises
    ------
    DownloadError
        When every mirror failed or served a file with the wrong checksum.
    """
    target = Path(directory) / remote.filename
    if target.is_file() and file_md5(target) == remote.md5:
        return target
    failures = []
    for url in remote.urls:
        log.info("downloading %s to %s", url, target)
        try:
            with atomic_path(target) as tmp:
                got = _copy_url(url, tmp, timeout)
                if got != remote.md5:
                    raise ValueError(f"MD5 mismatch: got {got}, expected {remote.md5}")
            return target
        except (OSError, http.client.HTTPException, ValueError) as exc:  # URLError is an OSError
            failures.append(f"  - {url}: {exc}")
    raise DownloadError(
        f"could not download {remote.filename} into {directory}:\n"
        + "\n".join(failures)
        + "\nCheck the network connection, or fetch the file by hand and pass data_dir=..."
    )
