"""Data-level samplers: ``fit_resample`` on images."""

from .autoencoder import Autoencoder
from .base import BaseImageSampler, ImageLayout, check_images, check_labels
from .calibration import WeightedCalibration, calibrated_moments
from .grid import image_grid, sampler_grid
from .latent import LatentOversampler
from .memory import InsufficientMemoryError
from .pixel import PixelADASYN, PixelOversampler, PixelSMOTE, RandomOversampler
from .presets import (
    BetaVAESMOTE,
    DeepADASYN,
    DeepDenoisingCalibration,
    DeepDenoisingSMOTE,
    DeepSMOTE,
    DeepSMOTEOfficial,
    DeepSparseSMOTE,
    LatentMixup,
)
from .provenance import Provenance
from .registry import SAMPLERS
from .strategies import (
    STRATEGIES,
    ImblearnStrategy,
    LatentStrategy,
    make_strategy,
)

__all__ = [
    "Autoencoder",
    "InsufficientMemoryError",
    "SAMPLERS",
    "BetaVAESMOTE",
    "DeepADASYN",
    "DeepDenoisingCalibration",
    "DeepDenoisingSMOTE",
    "DeepSMOTE",
    "DeepSMOTEOfficial",
    "DeepSparseSMOTE",
    "LatentMixup",
    "LatentOversampler",
    "image_grid",
    "sampler_grid",
    "STRATEGIES",
    "BaseImageSampler",
    "ImageLayout",
    "ImblearnStrategy",
    "LatentStrategy",
    "PixelADASYN",
    "PixelOversampler",
    "PixelSMOTE",
    "Provenance",
    "RandomOversampler",
    "WeightedCalibration",
    "calibrated_moments",
    "check_images",
    "check_labels",
    "make_strategy",
]
