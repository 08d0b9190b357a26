"""Image datasets as :class:`ImageSet` (uint8 ``(N, C, H, W)``): ``load_dataset``,
``list_datasets`` and the ``DATASETS`` registry.
"""

# importing the format modules registers their datasets
from . import celeba, chestxray14, chexpert, cifar, digits, idx, image_folder, svhn  # noqa: F401
from .flips import HFLIP_PRESERVES_LABEL, hflip_preserves_label
from .frameworks import (
    FRAMEWORKS,
    abnormality_auroc,
    fmnist_proxy_mapping,
    list_experiments,
    make_framework_split,
)
from .imageset import ImageSet
from .locations import DatasetNotFoundError
from .registry import (
    DATASETS,
    DatasetInfo,
    DatasetLoader,
    list_datasets,
    load_dataset,
    register_dataset,
)

__all__ = [
    "DATASETS",
    "FRAMEWORKS",
    "HFLIP_PRESERVES_LABEL",
    "abnormality_auroc",
    "fmnist_proxy_mapping",
    "hflip_preserves_label",
    "list_experiments",
    "make_framework_split",
    "DatasetInfo",
    "DatasetLoader",
    "DatasetNotFoundError",
    "ImageSet",
    "list_datasets",
    "load_dataset",
    "register_dataset",
]
