"""The sampler registry: name -> sampler class (used by methods, the CLI and the bench)."""

from __future__ import annotations

from ..registry import Registry
from .pixel import PixelADASYN, PixelSMOTE, RandomOversampler

#: name -> :class:`~deepbalance.samplers.base.BaseImageSampler` subclass
SAMPLERS: Registry = Registry("sampler")

SAMPLERS.register("random", RandomOversampler)
SAMPLERS.register("pixel-smote", PixelSMOTE)
SAMPLERS.register("pixel-adasyn", PixelADASYN)
