"""Neural networks: autoencoders for latent oversampling and image classifiers."""

# --- classifiers ----------------------------------------------------------------------------
from .classifiers import CLASSIFIERS, HEADS, Classifier, CosineHead, create_classifier

# isort: split
# --- autoencoders and devices ---------------------------------------------------------------
from .autoencoder_training import PENALTIES, TrainSettings, train_autoencoder
from .autoencoders import (
    VARIANTS,
    AutoencoderConfig,
    ConvAutoencoder,
    build_autoencoder,
    decode_latents,
    default_latent_dim,
    encode_images,
)
from .device import resolve_device

__all__ = [
    # classifiers
    "CLASSIFIERS",
    "HEADS",
    "Classifier",
    "CosineHead",
    "create_classifier",
    # autoencoders and devices
    "PENALTIES",
    "VARIANTS",
    "AutoencoderConfig",
    "ConvAutoencoder",
    "TrainSettings",
    "build_autoencoder",
    "decode_latents",
    "default_latent_dim",
    "encode_images",
    "resolve_device",
    "train_autoencoder",
]
