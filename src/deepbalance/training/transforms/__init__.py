"""Batch transforms: changes to a training batch after augmentation that may mix its labels
(mixup; CutMix and context-rich minority oversampling are built the same way).

Each transform is one file here and one :data:`BATCH_TRANSFORMS` line; see
:class:`~deepbalance.training.transforms.base.BatchTransform` for the contract.
"""

from .base import BATCH_TRANSFORMS, BatchTransform, build_batch_transform, one_hot
from .mixup import Mixup

__all__ = ["BATCH_TRANSFORMS", "BatchTransform", "Mixup", "build_batch_transform", "one_hot"]
