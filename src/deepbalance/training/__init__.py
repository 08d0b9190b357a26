"""Training: classifier training loop, loss-level pieces for imbalance, CLE-SMOTE stages."""

from .callbacks import Callback, RichProgress, TrainState
from .cle import CAPS, BatchMeanCap, ClassMeanCap, ConstantCap
from .config import TrainConfig
from .data import InputPipeline, channel_stats, random_crop_flip, split_validation
from .losses import (
    LOGIT_ADJUSTMENTS,
    WEIGHTINGS,
    BalancedSoftmax,
    CappedLoss,
    ClassWeights,
    LogitAdjustment,
    Objective,
    effective_number_weights,
    inverse_frequency_weights,
)
from .recipe import Recipe
from .trainer import Trainer, TrainResult
from .triplet import TripletPretraining, TripletSampler, triplet_loss

__all__ = [
    "CAPS",
    "LOGIT_ADJUSTMENTS",
    "WEIGHTINGS",
    "BalancedSoftmax",
    "BatchMeanCap",
    "Callback",
    "CappedLoss",
    "ClassMeanCap",
    "ClassWeights",
    "ConstantCap",
    "InputPipeline",
    "LogitAdjustment",
    "Objective",
    "Recipe",
    "RichProgress",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "Trainer",
    "TripletPretraining",
    "TripletSampler",
    "channel_stats",
    "effective_number_weights",
    "inverse_frequency_weights",
    "random_crop_flip",
    "split_validation",
    "triplet_loss",
]
