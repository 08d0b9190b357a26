"""The dataset registry: ``load_dataset`` and ``list_datasets``.

A dataset is registered as a :class:`DatasetLoader`, a callable
``loader(split, data_dir=None, download=False, **options) -> ImageSet`` that validates the
common arguments, then calls the format's reader. ``probe`` lets ``list_datasets`` report where
the files are and how many images each split has without decoding them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from .._checks import check_choice
from ..registry import Registry
from .imageset import ImageSet
from .locations import check_data_dir

DATASETS: Registry = Registry("dataset")


@dataclass(frozen=True)
class DatasetInfo:
    """What ``list_datasets`` reports about one dataset.

    Parameters
    ----------
    name : str
    description : str
    available : bool
        Whether the files were found here (or the data is embedded).
    location : str or None
        Folder (or other source) the files were found in.
    n_images : dict or None
        Number of images per available split, e.g. ``{"train": 60000, "test": 10000}``.
    """

    name: str
    description: str
    available: bool
    location: str | None
    n_images: dict[str, int] | None


Probe = Callable[..., "tuple[str, dict[str, int]] | None"]


class DatasetLoader:
    """A registered dataset: checks ``split``/``data_dir``/``download``/options, then reads.

    Parameters
    ----------
    name : str
        Registry name.
    read : callable
        ``read(split, *, data_dir, download, **options) -> ImageSet``; ``data_dir`` arrives as a
        ``Path`` or ``None``.
    description : str
        One line for ``deepbalance datasets``.
    splits : tuple of str
        Accepted ``split`` values.
    probe : callable, optional
        ``probe(data_dir) -> (location, {split: n_images}) | None``, cheap (headers only).
    """

    def __init__(
        self,
        name: str,
        read: Callable[..., ImageSet],
        *,
        description: str,
        splits: tuple[str, ...],
        probe: Probe | None = None,
    ):
        self.name = name
        self.read = read
        self.description = description
        self.splits = tuple(splits)
        self.probe = probe
        self.__doc__ = read.__doc__
        params = inspect.signature(read).parameters.values()
        self._any_option = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
        self.options = tuple(
            p.name
            for p in params
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in ("data_dir", "download")
        )

    def __call__(self, split: str = "train", data_dir=None, download=False, **options) -> ImageSet:
        check_choice(split, "split", self.splits)
        data_dir = check_data_dir(data_dir)
        if not isinstance(download, bool):
            raise TypeError(f"download={download!r} must be True or False")
        unknown = sorted(set(options) - set(self.options))
        if unknown and not self._any_option:
            known = ", ".join(self.options) or "none"
            raise TypeError(
                f"dataset {self.name!r} has no option {unknown[0]!r}; its options are: {known}"
            )
        return self.read(split, data_dir=data_dir, download=download, **options)

    def info(self, data_dir=None) -> DatasetInfo:
        """Where the dataset is and how many images each split has (no image decoding)."""
        found = None
        if self.probe is not None:
            try:
                found = self.probe(check_data_dir(data_dir))
            except (OSError, ValueError):
                found = None  # unreadable files count as unavailable; load_dataset says why
        if found is None:
            return DatasetInfo(self.name, self.description, False, None, None)
        location, counts = found
        return DatasetInfo(self.name, self.description, True, location, dict(counts))

    def __repr__(self) -> str:
        return f"DatasetLoader({self.name!r}, splits={self.splits})"


def register_dataset(
    name: str, *, description: str, splits: tuple[str, ...], probe: Probe | None = None
):
    """Decorator: register ``read`` as dataset ``name``; returns the :class:`DatasetLoader`."""

    def wrap(read: Callable[..., ImageSet]) -> DatasetLoader:
        loader = DatasetLoader(name, read, description=description, splits=splits, probe=probe)
        DATASETS.register(name, loader)
        return loader

    return wrap


def load_dataset(
    name: str, split: str = "train", *, data_dir=None, download: bool = False, **options
) -> ImageSet:
    """Load a registered dataset as an :class:`ImageSet` (uint8 ``(N, C, H, W)``).

    Parameters
    ----------
    name : str
        Registered name, see ``list_datasets()`` (e.g. ``"fashion-mnist"``, ``"digits"``).
    split : str
        ``"train"``, ``"test"`` and, where the dataset has them, ``"all"``, ``"valid"``,
        ``"extra"``.
    data_dir : str or Path, optional
        Folder holding the files. Default: ``$DEEPBALANCE_DATA``, system folders, the cache.
    download : bool
        Fetch missing files from the official mirrors (MD5-checked). Never implicit.
    **options
        Dataset-specific options, e.g. ``size`` and ``mode`` for ``"image-folder"``.
    """
    loader = DATASETS.get(name)
    return loader(split, data_dir=data_dir, download=download, **options)


def list_datasets(*, data_dir=None) -> list[DatasetInfo]:
    """Every registered dataset: whether it is available here, where, images per split.

    Parameters
    ----------
    data_dir : str or Path, optional
        Look only in this folder (and its ``<name>`` sub-folders) instead of the default places.
    """
    check_data_dir(data_dir)
    infos = []
    for name, loader in DATASETS.items():
        if isinstance(loader, DatasetLoader):
            infos.append(loader.info(data_dir))
        else:  # a plain loader callable: nothing cheap to ask it
            doc = (inspect.getdoc(loader) or name).splitlines()[0]
            infos.append(DatasetInfo(name, doc, False, None, None))
    return infos
