"""deepbalance: deep oversampling for imbalanced image data.

Balance an imbalanced image set the way imbalanced-learn balances a table, then train::

    from deepbalance import DeepSMOTE, load_dataset, make_imbalanced
    train = make_imbalanced(load_dataset("digits"), "longtail", rho=10, seed=0)
    X_res, y_res = DeepSMOTE(random_state=0).fit_resample(train.images, train.labels)

Names are imported on first use, so ``import deepbalance`` stays light (no torch) until a
sampler, network or method is asked for.
"""

from __future__ import annotations

import importlib

from ._version import __version__

_EXPORTS = {
    "deepbalance.data": ("ImageSet", "load_dataset", "list_datasets", "DATASETS"),
    "deepbalance.data.profiles": ("make_imbalanced", "list_profiles", "PROFILES"),
    "deepbalance.metrics": ("evaluate",),
    "deepbalance.samplers": (
        "SAMPLERS",
        "RandomOversampler",
        "PixelSMOTE",
        "PixelADASYN",
        "PixelOversampler",
        "LatentOversampler",
        "Autoencoder",
        "DeepSMOTE",
        "DeepSMOTEOfficial",
        "DeepDenoisingSMOTE",
        "DeepSparseSMOTE",
        "BetaVAESMOTE",
        "DeepADASYN",
        "DeepDenoisingCalibration",
        "WeightedCalibration",
        "image_grid",
    ),
    "deepbalance.training": ("TrainConfig", "Trainer"),
    "deepbalance.methods": ("METHODS", "get_method", "run_method"),
    "deepbalance.workflows": ("compare_images", "resample_folder"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["__version__", *_WHERE]


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'deepbalance' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
