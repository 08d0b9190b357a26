"""The seed papers' latent samplers, by name.

Each preset is a :class:`~deepbalance.samplers.latent.LatentOversampler` with a fixed
autoencoder variant and latent strategy; it takes every other keyword of
``LatentOversampler`` (same defaults unless listed). Importing this module
registers them, and ``LatentOversampler`` itself as ``"latent"``, in
``deepbalance.samplers.registry.SAMPLERS``.

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
``penalty="deepsmote"`` adds it back (docs/benchmarks.md measures what it changes).

``DeepDenoisingCalibration`` uses :class:`~deepbalance.samplers.calibration.WeightedCalibration`
with its defaults; for other calibration settings use
``LatentOversampler(autoencoder="denoising", strategy=WeightedCalibration(...))``.
"""

from __future__ import annotations

import inspect

from .latent import LatentOversampler
from .persistence import register_saveable
from .registry import SAMPLERS

_FIXED = ("autoencoder", "strategy")


def _preset(name: str, *, autoencoder: str, strategy: str, doc: str, **defaults) -> type:
    """A ``LatentOversampler`` subclass whose autoencoder and strategy are fixed.

    Its ``__init__`` takes the remaining ``LatentOversampler`` keywords (with
    ``defaults`` overriding theirs) and only stores them, and advertises them in
    its signature, so ``get_params``/``set_params``/``sklearn.base.clone`` see
    exactly those parameters.
    """
    base = inspect.signature(LatentOversampler.__init__).parameters
    params = [
        p.replace(default=defaults.pop(p.name, p.default))
        for n, p in base.items()
        if n != "self" and n not in _FIXED
    ]
    if defaults:
        raise ValueError(f"unknown preset defaults {sorted(defaults)}")  # a programming error
    names = [p.name for p in params]

    def __init__(self, **kwargs):
        unknown = sorted(set(kwargs) - set(names))
        if unknown:
            raise TypeError(
                f"{name}() got unexpected keyword argument(s) {unknown}; its autoencoder and "
                f"strategy are fixed — use LatentOversampler(autoencoder=..., strategy=...) to "
                "choose them"
            )
        for p in params:
            setattr(self, p.name, kwargs.get(p.name, p.default))

    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    __init__.__signature__ = inspect.Signature([self_param, *params])
    __init__.__qualname__ = f"{name}.__init__"
    namespace = {
        "__init__": __init__,
        "__doc__": doc
        + "\n\nTakes every keyword of :class:`LatentOversampler` except ``autoencoder`` "
        "and ``strategy``, which are fixed.",
        "__module__": __name__,
        "autoencoder": autoencoder,
        "strategy": strategy,
    }
    return register_saveable(type(name, (LatentOversampler,), namespace))


_DISSERTATION = {"penalty": None}  # Mandal 2024 §4.2-4.4: the regularised autoencoders' own losses


DeepSMOTE = _preset(
    "DeepSMOTE",
    autoencoder="plain",
    strategy="smote",
    doc="DeepSMOTE (Dablain et al. 2022, Algorithm 1): a plain autoencoder "
    'trained with reconstruction + the DeepSMOTE penalty ("Enhanced loss function"), SMOTE '
    'in its latent space, the new codes decoded ("Artificial image generation").\n\n'
    "**Its defaults depart from the paper** where the paper's images hurt a classifier: "
    "``residual=True`` (each synthetic image is its base image plus the decoder's change "
    "between the base's code and the new one) and ``copy_fraction=0.5`` (half of each "
    "class's new rows are copies of its real images). Chosen again without the test set by 5-fold "
    "cross-validation of Fashion-MNIST-LT's training set (spec ``deepsmote-defaults-cv``, "
    "docs/benchmarks.md): ACSA on the held-out folds 0.874 against 0.785 as published, "
    "0.861 with either alone and 0.876 for random oversampling; on the balanced test set "
    "(5 seeds) the published decodings trained a worse classifier than no oversampling at "
    "all, these defaults one as good as random oversampling. "
    'The method ``"deepsmote"`` is this class with these defaults; the '
    "paper's method is ``DeepSMOTE(residual=False, copy_fraction=0.0)`` (the method "
    '``"deepsmote-published"``), or :class:`DeepSMOTEOfficial` with the official '
    "script's autoencoder training as well. With ``residual=True`` the fitted images are "
    "kept (``images_``) and saved with the sampler (:meth:`save`), so a loaded sampler "
    "generates without them being passed.",
    residual=True,
    copy_fraction=0.5,
)
DeepSMOTEOfficial = _preset(
    "DeepSMOTEOfficial",
    autoencoder="plain",
    strategy="smote",
    doc="DeepSMOTE with its official script's autoencoder training (Dablain et al., 2022, "
    "§3 and the released code): width 64, Adam 2e-4 at a constant rate, batches of 100, "
    "200 epochs, the DeepSMOTE penalty on 100 images of one class per step, normalised by "
    "their own BatchNorm statistics; synthetic images are the plain decodings of the "
    "interpolated codes, as published. About 43 "
    "CPU-seconds per epoch on Fashion-MNIST-LT: meant for a GPU.",
    dim_h=64,
    epochs=200,
    batch_size=100,
    lr=2e-4,
    schedule="constant",
    patience=None,
    penalty_batch=100,
    penalty_batchnorm="batch",
)
DeepDenoisingSMOTE = _preset(
    "DeepDenoisingSMOTE",
    autoencoder="denoising",
    strategy="smote",
    doc="DeepDenoisingSmote (Mandal 2024, §4.2.1): a denoising autoencoder trained with "
    "eq. 3.3 (clean reconstruction + ``denoising_weight`` · reconstruction from the input with "
    "Gaussian noise ``noise_std``), latent SMOTE. No DeepSMOTE penalty, as the dissertation "
    '(``penalty="deepsmote"`` adds it).',
    **_DISSERTATION,
)
DeepSparseSMOTE = _preset(
    "DeepSparseSMOTE",
    autoencoder="sparse",
    strategy="smote",
    doc="DeepSparseSmote (Mandal 2024, §4.2.2): a sparse autoencoder (L1 weight "
    "``sparsity`` on every hidden layer's activations, §3.5), latent SMOTE; no DeepSMOTE "
    "penalty, as the dissertation.",
    **_DISSERTATION,
)
BetaVAESMOTE = _preset(
    "BetaVAESMOTE",
    autoencoder="vae",
    strategy="smote",
    doc="βVAE + SMOTE (Mandal 2024, §4.3): a β-VAE with per-element reconstruction + "
    "``beta`` · KL (eq. 3.11; beta = 1 by default, Table 5.1's first βVAE row); SMOTE between "
    "the encoder means; no DeepSMOTE penalty, as the dissertation.",
    **_DISSERTATION,
)
DeepADASYN = _preset(
    "DeepADASYN",
    autoencoder="denoising",
    strategy="adasyn",
    doc="DeepAdasyn (Mandal 2024, §4.4): ADASYN in the latent space of the denoising "
    "autoencoder (no DeepSMOTE penalty, as the dissertation). ADASYN on the plain (DeepSMOTE) "
    "autoencoder is "
    '``LatentOversampler(autoencoder="plain", strategy="adasyn")``.',
    **_DISSERTATION,
)
DeepDenoisingCalibration = _preset(
    "DeepDenoisingCalibration",
    autoencoder="denoising",
    strategy="calibration",
    doc="DeepDenoising with Weighted Calibration (Mandal 2024, §4.5, Algorithm 4): a "
    "denoising autoencoder (no DeepSMOTE penalty) with Weighted Calibration Balancing in its "
    "latent space.",
    **_DISSERTATION,
)
LatentMixup = _preset(
    "LatentMixup",
    autoencoder="plain",
    strategy="mixup",
    doc="Latent mixup (:mod:`deepbalance.samplers.mixup`; not in the seed papers): DeepSMOTE's "
    "autoencoder, each new row of a class interpolated from one of its codes towards a code "
    "of another class by ``lam`` in [0, 0.5], with the target ``(1 - lam)`` its class and "
    "``lam`` the other's (``soft_labels_``, which :func:`deepbalance.methods.run_method` "
    "trains on). Defaults as ``DeepSMOTE()``: ``residual=True`` (the base's and the "
    "partner's detail blended by ``lam``) and ``copy_fraction=0.5``.",
    residual=True,
    copy_fraction=0.5,
)

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
