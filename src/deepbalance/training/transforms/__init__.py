"""Batch transforms: changes to a training batch after augmentation that may mix its labels
(mixup, Remix, CutMix and context-rich minority oversampling).

Each transform is one file here and one :data:`BATCH_TRANSFORMS` line; see
:class:`~deepbalance.training.transforms.base.BatchTransform` for the contract.
"""

from .base import BATCH_TRANSFORMS, BatchTransform, TrainingRows, build_batch_transform, one_hot
from .cmo import CMO, minority_row_weights
from .cutmix import CutMix, paste_box, random_box
from .mixup import Mixup
from .remix import Remix, remix_label_weights

__all__ = [
    "BATCH_TRANSFORMS",
    "CMO",
    "BatchTransform",
    "CutMix",
    "Mixup",
    "Remix",
    "TrainingRows",
    "build_batch_transform",
    "minority_row_weights",
    "one_hot",
    "paste_box",
    "random_box",
    "remix_label_weights",
]
