"""Training: classifier training loop, loss-level pieces for imbalance, CLE-SMOTE stages.

The submodules are imported on first use (PEP 562), so that ``deepbalance.training.config``
(``TrainConfig``, which reading a benchmark spec needs) imports without torch.
"""

from __future__ import annotations

import importlib

#: Public name -> the submodule that defines it.
_WHERE = {
    "Callback": "callbacks",
    "RichProgress": "callbacks",
    "TrainState": "callbacks",
    "BatchMeanCap": "cle",
    "CAPS": "cle",
    "ClassMeanCap": "cle",
    "ConstantCap": "cle",
    "TrainConfig": "config",
    "InputPipeline": "data",
    "channel_stats": "data",
    "random_crop_flip": "data",
    "split_validation": "data",
    "LDAMLoss": "ldam",
    "ldam_margins": "ldam",
    "BalancedSoftmax": "losses",
    "CappedLoss": "losses",
    "ClassWeights": "losses",
    "LOGIT_ADJUSTMENTS": "losses",
    "LOSS_HEADS": "losses",
    "LogitAdjustment": "losses",
    "Objective": "losses",
    "WEIGHTINGS": "losses",
    "effective_number_weights": "losses",
    "inverse_frequency_weights": "losses",
    "POST_HOC": "posthoc",
    "TauNormalisation": "posthoc",
    "Recipe": "recipe",
    "TrainResult": "trainer",
    "Trainer": "trainer",
    "TripletPretraining": "triplet",
    "TripletSampler": "triplet",
    "triplet_loss": "triplet",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if module != "config":
        # the trainer imports every other submodule, so the registries (loss heads, phases,
        # batch transforms, caps) are complete whichever name is asked for first
        importlib.import_module(".trainer", __name__)
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
