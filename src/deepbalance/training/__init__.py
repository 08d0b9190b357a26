"""Training: classifier training loop, loss-level pieces for imbalance, CLE-SMOTE stages."""

from .callbacks import Callback, RichProgress, TrainState
from .cle import CAPS, BatchMeanCap, ClassMeanCap, ConstantCap
from .config import TrainConfig
from .data import InputPipeline, channel_stats, random_crop_flip, split_validation
from .ldam import LDAMLoss, ldam_margins
from .losses import (
    LOGIT_ADJUSTMENTS,
    LOSS_HEADS,
    WEIGHTINGS,
    BalancedSoftmax,
    CappedLoss,
    ClassWeights,
    LogitAdjustment,
    Objective,
    effective_number_weights,
    inverse_frequency_weights,
)
from .posthoc import POST_HOC, TauNormalisation
from .recipe import Recipe
from .trainer import Trainer, TrainResult
from .triplet import TripletPretraining, TripletSampler, triplet_loss

__all__ = [
    "CAPS",
    "LOGIT_ADJUSTMENTS",
    "LOSS_HEADS",
    "POST_HOC",
    "WEIGHTINGS",
    "BalancedSoftmax",
    "BatchMeanCap",
    "Callback",
    "CappedLoss",
    "ClassMeanCap",
    "ClassWeights",
    "ConstantCap",
    "InputPipeline",
    "LDAMLoss",
    "LogitAdjustment",
    "Objective",
    "Recipe",
    "RichProgress",
    "TrainConfig",
    "TrainResult",
    "TauNormalisation",
    "TrainState",
    "Trainer",
    "TripletPretraining",
    "TripletSampler",
    "channel_stats",
    "effective_number_weights",
    "inverse_frequency_weights",
    "ldam_margins",
    "random_crop_flip",
    "split_validation",
    "triplet_loss",
]
