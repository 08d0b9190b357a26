"""The seed papers' latent samplers, by name.

Each preset is a small subclass of :class:`~deepbalance.samplers.latent.LatentOversampler`:
its autoencoder variant is fixed, and it has its own default autoencoder
(:meth:`~deepbalance.samplers.latent.LatentOversampler.default_autoencoder`), latent
strategy and, for two of them, ``residual`` / ``copy_fraction``; it takes every keyword of
``LatentOversampler``. Importing this module registers them, and ``LatentOversampler``
itself as ``"latent"``, in ``deepbalance.samplers.registry.SAMPLERS``.

=============================  =================  ===============  ===============
preset (registry name)         autoencoder        strategy         own defaults
=============================  =================  ===============  ===============
DeepSMOTE ("deepsmote")        plain              SMOTE            residual, copies
DeepSMOTEOfficial              plain              SMOTE            official script
DeepDenoisingSMOTE             denoising          SMOTE            no penalty
DeepSparseSMOTE                sparse             SMOTE            no penalty
BetaVAESMOTE                   vae                SMOTE            no penalty
DeepADASYN ("deep-adasyn")     denoising          ADASYN           no penalty
DeepDenoisingCalibration       denoising          calibration      no penalty
LatentMixup ("latent-mixup")   plain              mixup            residual, copies
=============================  =================  ===============  ===============

``DeepSMOTE``'s own defaults, ``residual=True`` and ``copy_fraction=0.5``, are not the
paper's (see its docstring). The method ``"deepsmote"`` (:mod:`deepbalance.methods`) builds it
with these defaults; the method ``"deepsmote-published"`` with the paper's ``residual=False,
copy_fraction=0.0``.

The dissertation's presets (Mandal 2024: denoising, sparse, β-VAE, ADASYN, calibration)
train their autoencoders with their own objectives only (eq. 3.3, §3.5, eq. 3.11; §4.2–4.4),
without DeepSMOTE's permutation penalty: their default is ``penalty=None``, and
``DeepDenoisingSMOTE.default_autoencoder().set_params(penalty="deepsmote")`` adds it back
(docs/benchmarks.md measures what it changes).

``DeepDenoisingCalibration`` uses :class:`~deepbalance.samplers.calibration.WeightedCalibration`
with its defaults; for other calibration settings use
``LatentOversampler(autoencoder="denoising", strategy=WeightedCalibration(...))``.
"""

from __future__ import annotations

from .latent import LatentOversampler
from .persistence import register_saveable
from .registry import SAMPLERS

_DISSERTATION = {"penalty": None}  # Mandal 2024 §4.2-4.4: the regularised autoencoders' own losses


def _init_with_strategy(default: str, *, residual=False, copy_fraction=0.0):
    """``LatentOversampler.__init__`` with other defaults for ``strategy``, ``residual`` and
    ``copy_fraction``, written out (scikit-learn reads the parameters from the signature)."""

    def __init__(
        self,
        *,
        autoencoder=None,
        strategy=default,
        residual=residual,
        copy_fraction=copy_fraction,
        cache_dir=None,
        sampling_strategy="auto",
        random_state=None,
        k_neighbors=5,
        image_shape=None,
        device="cpu",
        verbose=False,
    ):
        LatentOversampler.__init__(
            self,
            autoencoder=autoencoder,
            strategy=strategy,
            residual=residual,
            copy_fraction=copy_fraction,
            cache_dir=cache_dir,
            sampling_strategy=sampling_strategy,
            random_state=random_state,
            k_neighbors=k_neighbors,
            image_shape=image_shape,
            device=device,
            verbose=verbose,
        )

    return __init__


@register_saveable
class DeepSMOTE(LatentOversampler):
    """DeepSMOTE (Dablain et al. 2022, Algorithm 1): a plain autoencoder trained with
    reconstruction + the DeepSMOTE penalty ("Enhanced loss function"), SMOTE in its latent
    space, the new codes decoded ("Artificial image generation").

    **Its defaults depart from the paper** where the paper's images hurt a classifier:
    ``residual=True`` (each synthetic image is its base image plus the decoder's change
    between the base's code and the new one) and ``copy_fraction=0.5`` (half of each class's
    new rows are copies of its real images). Chosen again without the test set by 5-fold
    cross-validation of Fashion-MNIST-LT's training set (spec ``deepsmote-defaults-cv``,
    docs/benchmarks.md): ACSA on the held-out folds 0.874 against 0.785 as published, 0.861
    with either alone and 0.876 for random oversampling; on the balanced test set (5 seeds)
    the published decodings trained a worse classifier than no oversampling at all, these
    defaults one as good as random oversampling. The method ``"deepsmote"`` is this class
    with these defaults; the paper's method is ``DeepSMOTE(residual=False,
    copy_fraction=0.0)`` (the method ``"deepsmote-published"``), or
    :class:`DeepSMOTEOfficial` with the official script's autoencoder training as well.
    With ``residual=True`` the fitted images are kept (``images_``) and saved with the
    sampler (:meth:`save`), so a loaded sampler generates without them being passed.

    Takes every keyword of :class:`LatentOversampler`; the autoencoder is "plain".
    """

    _VARIANT = "plain"
    __init__ = _init_with_strategy("smote", residual=True, copy_fraction=0.5)


@register_saveable
class DeepSMOTEOfficial(LatentOversampler):
    """DeepSMOTE with its official script's autoencoder training (Dablain et al., 2022, §3
    and the released code): width 64, Adam 2e-4 at a constant rate, batches of 100, 200
    epochs, the DeepSMOTE penalty on 100 images of one class per step, normalised by their
    own BatchNorm statistics; synthetic images are the plain decodings of the interpolated
    codes, as published. About 43 CPU-seconds per epoch on Fashion-MNIST-LT: meant for a GPU.

    Takes every keyword of :class:`LatentOversampler`; the autoencoder is "plain".
    """

    _VARIANT = "plain"
    _AUTOENCODER_DEFAULTS = {
        "dim_h": 64,
        "epochs": 200,
        "batch_size": 100,
        "lr": 2e-4,
        "schedule": "constant",
        "patience": None,
        "penalty_batch": 100,
        "penalty_batchnorm": "batch",
    }


@register_saveable
class DeepDenoisingSMOTE(LatentOversampler):
    """DeepDenoisingSmote (Mandal 2024, §4.2.1): a denoising autoencoder trained with eq. 3.3
    (clean reconstruction + ``denoising_weight`` · reconstruction from the input with
    Gaussian noise ``noise_std``), latent SMOTE. No DeepSMOTE penalty, as the dissertation
    (``default_autoencoder().set_params(penalty="deepsmote")`` adds it).

    Takes every keyword of :class:`LatentOversampler`; the autoencoder is "denoising".
    """

    _VARIANT = "denoising"
    _AUTOENCODER_DEFAULTS = _DISSERTATION


@register_saveable
class DeepSparseSMOTE(LatentOversampler):
    """DeepSparseSmote (Mandal 2024, §4.2.2): a sparse autoencoder (L1 weight ``sparsity`` on
    every hidden layer's activations, §3.5), latent SMOTE; no DeepSMOTE penalty, as the
    dissertation.

    Takes every keyword of :class:`LatentOversampler`; the autoencoder is "sparse".
    """

    _VARIANT = "sparse"
    _AUTOENCODER_DEFAULTS = _DISSERTATION


@register_saveable
class BetaVAESMOTE(LatentOversampler):
    """βVAE + SMOTE (Mandal 2024, §4.3): a β-VAE with per-element reconstruction + ``beta`` ·
    KL (eq. 3.11; beta = 1 by default, Table 5.1's first βVAE row); SMOTE between the encoder
    means; no DeepSMOTE penalty, as the dissertation.

    Takes every keyword of :class:`LatentOversampler`; the autoencoder is "vae".
    """

    _VARIANT = "vae"
    _AUTOENCODER_DEFAULTS = _DISSERTATION


@register_saveable
class DeepADASYN(LatentOversampler):
    """DeepAdasyn (Mandal 2024, §4.4): ADASYN in the latent space of the denoising
    autoencoder (no DeepSMOTE penalty, as the dissertation). ADASYN on the plain (DeepSMOTE)
    autoencoder is ``LatentOversampler(strategy="adasyn")``.

    Takes every keyword of :class:`LatentOversampler` (``strategy`` defaults to "adasyn");
    the autoencoder is "denoising".
    """

    _VARIANT = "denoising"
    _AUTOENCODER_DEFAULTS = _DISSERTATION
    __init__ = _init_with_strategy("adasyn")


@register_saveable
class DeepDenoisingCalibration(LatentOversampler):
    """DeepDenoising with Weighted Calibration (Mandal 2024, §4.5, Algorithm 4): a denoising
    autoencoder (no DeepSMOTE penalty) with Weighted Calibration Balancing in its latent
    space: :class:`~deepbalance.samplers.calibration.WeightedCalibration` with its defaults
    (``strategy=WeightedCalibration(...)`` for others).

    Takes every keyword of :class:`LatentOversampler` (``strategy`` defaults to
    "calibration"); the autoencoder is "denoising".
    """

    _VARIANT = "denoising"
    _AUTOENCODER_DEFAULTS = _DISSERTATION
    __init__ = _init_with_strategy("calibration")


@register_saveable
class LatentMixup(LatentOversampler):
    """Latent mixup (:mod:`deepbalance.samplers.mixup`; not in the seed papers): DeepSMOTE's
    autoencoder, each new row of a class interpolated from one of its codes towards a code of
    another class by ``lam`` in [0, 0.5], with the target ``(1 - lam)`` its class and ``lam``
    the other's (``soft_labels_``, which :func:`deepbalance.methods.run_method` trains on).
    Defaults as ``DeepSMOTE()``: ``residual=True`` (the base's and the partner's detail
    blended by ``lam``) and ``copy_fraction=0.5``.

    Takes every keyword of :class:`LatentOversampler` (``strategy`` defaults to "mixup");
    the autoencoder is "plain".
    """

    _VARIANT = "plain"
    __init__ = _init_with_strategy("mixup", residual=True, copy_fraction=0.5)


SAMPLERS.register("latent", LatentOversampler)
SAMPLERS.register("deepsmote", DeepSMOTE)
SAMPLERS.register("deepsmote-official", DeepSMOTEOfficial)
SAMPLERS.register("deep-denoising-smote", DeepDenoisingSMOTE)
SAMPLERS.register("deep-sparse-smote", DeepSparseSMOTE)
SAMPLERS.register("beta-vae-smote", BetaVAESMOTE)
SAMPLERS.register("deep-adasyn", DeepADASYN)
SAMPLERS.register("deep-denoising-calibration", DeepDenoisingCalibration)
SAMPLERS.register("latent-mixup", LatentMixup)

__all__ = [
    "BetaVAESMOTE",
    "DeepADASYN",
    "DeepDenoisingCalibration",
    "DeepDenoisingSMOTE",
    "DeepSMOTE",
    "DeepSMOTEOfficial",
    "DeepSparseSMOTE",
    "LatentMixup",
    "LatentOversampler",
]
