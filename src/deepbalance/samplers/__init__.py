"""Data-level samplers: ``fit_resample`` on images."""

from .base import BaseImageSampler, ImageLayout, check_images, check_labels
from .provenance import Provenance

__all__ = ["BaseImageSampler", "ImageLayout", "Provenance", "check_images", "check_labels"]
