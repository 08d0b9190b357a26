"""The autoencoder a latent sampler trains: one settings type, a nested estimator.

:class:`Autoencoder` holds everything about the network and its training; a
:class:`~deepbalance.samplers.latent.LatentOversampler` takes one as its ``autoencoder``
parameter, scikit-learn style, so ``get_params(deep=True)`` lists ``autoencoder__epochs``
and ``GridSearchCV`` can tune it. It builds the internal
:class:`~deepbalance.nets.autoencoders.AutoencoderConfig` (architecture, once the image
shape is known) and :class:`~deepbalance.nets.autoencoder_training.TrainSettings`
(training), which validate every value when the sampler is fitted.
"""

from __future__ import annotations

from dataclasses import fields

from sklearn.base import BaseEstimator

from ..nets.autoencoder_training import TrainSettings
from ..nets.autoencoders import AutoencoderConfig

#: the parameters that build :class:`AutoencoderConfig`, beside ``variant`` (its fields but the
#: image shape, which the fitted images give)
ARCHITECTURE_PARAMS = tuple(
    f.name for f in fields(AutoencoderConfig) if f.name not in ("image_shape", "variant")
)
#: the parameters that build :class:`TrainSettings` (its fields)
TRAINING_PARAMS = tuple(f.name for f in fields(TrainSettings))


class Autoencoder(BaseEstimator):
    """Architecture and training of a latent sampler's convolutional autoencoder.

    The architecture and variants are described in :mod:`deepbalance.nets.autoencoders`,
    the training and its penalties in :mod:`deepbalance.nets.autoencoder_training`. Values
    are checked when a sampler is fitted with it (errors name the parameter).

    Parameters
    ----------
    variant : {"plain", "denoising", "sparse", "vae"}, default="plain"
    latent_dim : int or None, default=None
        Code size; None uses DeepSMOTE's: 300 for images up to 28 px, 600 above.
    dim_h : int, default=16
        Width of the first convolution (widths double per stage up to 8·dim_h).
        DeepSMOTE used 64. On Fashion-MNIST-LT one epoch costs about 6 / 14 / 43 CPU-seconds
        at dim_h = 16 / 32 / 64 (batches of 128; 100 at 64) and the held-out error after the
        same number of epochs is nearly the same at 16 and 32 (docs/benchmarks.md,
        "Autoencoders").
    first_batchnorm : bool, default=False
        BatchNorm after the encoder's first convolution too, as the dissertation's
        autoencoders (Mandal 2024 §5.3: every convolution is followed by batch
        normalization); False is DeepSMOTE's official encoder.
    noise_std : float, default=0.1
        Input noise of the "denoising" autoencoder, in [0, 1] pixel units.
    denoising_weight : float, default=1.0
        λ of the "denoising" objective, eq. 3.3 of the dissertation (Mandal 2024): clean
        reconstruction + λ · reconstruction of the clean image from the noisy input.
    sparsity : float, default=1e-3
        λ of the "sparse" autoencoder's L1 penalty (Mandal 2024, §3.5).
    sparse_layers : {"hidden", "code"}, default="hidden"
        Activations the L1 penalty covers: the mean absolute activation of every hidden
        layer, summed over the layers (§3.5), or "code", the latent code alone (the older
        penalty).
    beta : float, default=1.0
        KL weight of the "vae" autoencoder. With ``vae_scale="dissertation"`` the objective
        is the per-element reconstruction MSE (in [0, 1] units) + beta · KL (Mandal 2024, eq.
        3.4/3.11), so beta = 1 and beta = 2 are the dissertation's βVAE rows (Tables
        5.1, 5.3). At that scale the KL dominates: on 8×8 digits beta = 1 decoded little
        more than the mean image (see :mod:`deepbalance.nets.autoencoders`).
    vae_scale : {"dissertation", "per-pixel"}, default="dissertation"
        "per-pixel" is the older, much weaker scaling ``MSE + beta · KL / D`` (D = values per
        image; see :mod:`deepbalance.nets.autoencoders`); on Fashion-MNIST-LT after 6 epochs
        its held-out MSE was 0.020 / 0.021 / 0.031 / 0.055 for beta = 0.01 / 0.1 / 1 / 4.
    epochs : int, default=20
        Training epochs (DeepSMOTE used 200 on a GPU; see
        :class:`~deepbalance.samplers.presets.DeepSMOTEOfficial`).
    batch_size : int, default=64
    lr : float, default=2e-3
        Adam learning rate: the peak of the one-cycle schedule (DeepSMOTE: 2e-4, constant).
    schedule : {"onecycle", "constant"}, default="onecycle"
        Learning-rate schedule (``deepbalance.nets.autoencoder_training.SCHEDULES``). With
        these defaults DeepSMOTE's autoencoder reaches a held-out reconstruction MSE of 0.0120
        on Fashion-MNIST-LT in 68 s of ``fit_resample`` on 2 cores, where the former defaults
        (width 32, Adam 2e-4, 30 epochs) took 226 s for 0.0123 (docs/benchmarks.md).
    patience : int or None, default=None
        Stop after this many epochs without improving the monitored loss by more
        than ``min_delta``; None always trains ``epochs`` (the one-cycle schedule must run to
        its end to anneal).
    min_delta : float, default=1e-4
    min_epochs : int or None, default=None
        Train at least this many epochs before ``patience`` may stop (the dissertation trains
        "50 to 350 epochs, stopping once the training loss plateaued", Mandal 2024 §5.3).
    validation_fraction : float, default=0.0
        Share of the images held out to monitor reconstruction; 0 monitors the
        training loss. Held-out images are still encoded and over-sampled.
    penalty : {"deepsmote", "permute", None, "none"}, default="deepsmote"
        Extra training term (see :mod:`deepbalance.nets.autoencoder_training`); "none" is
        None for files that cannot write a null (TOML specs). The official DeepSMOTE penalty
        is the default (the paper's objective, Dablain et al. 2022 §3): on 5-fold
        cross-validation of Fashion-MNIST-LT's training set a ``DeepSMOTE()`` without it was
        level with it (−0.001 ACSA, p = 0.88; spec ``deepsmote-defaults-cv``), and
        "permute"'s class-mean pull blurs reconstructions (``benchmarks/penalty_choice.py``).
        The dissertation's presets (:mod:`deepbalance.samplers.presets`) default to None, as
        Mandal 2024 §4.2–4.4.
    penalty_batch : int, default=64
        Images of one class per penalty batch; DeepSMOTE's script uses 100, its batch size
        (here the main batch's size, 64, keeps the penalty's share of the work the same).
    penalty_batchnorm : {"running", "batch"}, default="running"
        How BatchNorm treats the penalty's single-class batch: "running" normalises it with
        the running statistics and leaves them unchanged; "batch" (DeepSMOTE's script,
        :class:`~deepbalance.samplers.presets.DeepSMOTEOfficial`) normalises it by its own
        statistics and folds those into the running averages. On Fashion-MNIST-LT "running"
        lowered the reconstruction MSE of held-out training images from 0.0099 to 0.0086 at
        the same cost (of test images 0.0136 to 0.0117; docs/benchmarks.md); a classifier
        cannot tell them apart.

    Examples
    --------
    >>> from deepbalance.samplers import Autoencoder, DeepSMOTE
    >>> sampler = DeepSMOTE(autoencoder=Autoencoder(epochs=5, dim_h=8))
    >>> sampler.get_params(deep=True)["autoencoder__epochs"]
    5
    """

    def __init__(
        self,
        variant="plain",
        *,
        latent_dim=None,
        dim_h=16,
        first_batchnorm=False,
        noise_std=0.1,
        denoising_weight=1.0,
        sparsity=1e-3,
        sparse_layers="hidden",
        beta=1.0,
        vae_scale="dissertation",
        epochs=20,
        batch_size=64,
        lr=2e-3,
        schedule="onecycle",
        patience=None,
        min_delta=1e-4,
        min_epochs=None,
        validation_fraction=0.0,
        penalty="deepsmote",
        penalty_batch=64,
        penalty_batchnorm="running",
    ):
        self.variant = variant
        self.latent_dim = latent_dim
        self.dim_h = dim_h
        self.first_batchnorm = first_batchnorm
        self.noise_std = noise_std
        self.denoising_weight = denoising_weight
        self.sparsity = sparsity
        self.sparse_layers = sparse_layers
        self.beta = beta
        self.vae_scale = vae_scale
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.schedule = schedule
        self.patience = patience
        self.min_delta = min_delta
        self.min_epochs = min_epochs
        self.validation_fraction = validation_fraction
        self.penalty = penalty
        self.penalty_batch = penalty_batch
        self.penalty_batchnorm = penalty_batchnorm

    def config(self, image_shape) -> AutoencoderConfig:
        """The checked architecture for images of ``image_shape`` (C, H, W)."""
        return AutoencoderConfig(
            image_shape=tuple(int(s) for s in image_shape),
            variant=self.variant,
            **{name: getattr(self, name) for name in ARCHITECTURE_PARAMS},
        )

    def train_settings(self) -> TrainSettings:
        """The checked training settings."""
        values = {name: getattr(self, name) for name in TRAINING_PARAMS}
        # "none" spells None where a value cannot be null (TOML specs, --method-params)
        if values["penalty"] == "none":
            values["penalty"] = None
        return TrainSettings(**values)
