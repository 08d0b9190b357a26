"""Latent over-sampling: train an autoencoder, over-sample its codes, decode them.

:class:`LatentOversampler` is the general form (autoencoder variant × latent
strategy); :mod:`deepbalance.samplers.presets` gives the seed papers' combinations
their names (``DeepSMOTE``, ``DeepDenoisingCalibration``, ...).
"""

from __future__ import annotations

import os

import numpy as np

from .._checks import check_float, check_int, check_random_state, seed_from
from ..nets.autoencoder_training import TrainSettings, train_autoencoder
from ..nets.autoencoders import (
    AutoencoderConfig,
    autoencoder_activation_count,
    autoencoder_parameter_count,
    decode_latents,
    encode_images,
    unit_rows,
)
from ..nets.device import resolve_device
from .autoencoder_cache import cache_key, load_cached_autoencoder, store_cached_autoencoder
from .base import BaseImageSampler, ImageLayout, LazyRows, check_rows, python_value
from .mixup import mixed_targets
from .persistence import load_sampler, register_saveable, save_sampler
from .provenance import Provenance
from .strategies import make_strategy

#: codes decoded per forward pass when generating
DECODE_BATCH = 512


@register_saveable
class LatentOversampler(BaseImageSampler):
    """Over-sample images in the latent space of a convolutional autoencoder.

    ``fit_resample`` trains the autoencoder on all real images (every class),
    encodes them, asks the latent strategy for new codes of the classes to grow,
    and decodes those codes into images. The autoencoder's architecture and
    variants are described in :mod:`deepbalance.nets.autoencoders`, its training
    and the penalties in :mod:`deepbalance.nets.autoencoder_training`.

    Parameters
    ----------
    autoencoder : {"plain", "denoising", "sparse", "vae"}, default="plain"
    strategy : str, imblearn over-sampler instance or LatentStrategy, default="smote"
        How new codes are made: "smote", "adasyn", "calibration" (or any name of
        ``deepbalance.samplers.STRATEGIES``), e.g. ``BorderlineSMOTE()``, or
        ``WeightedCalibration(...)``.
    latent_dim : int or None, default=None
        Code size; None uses DeepSMOTE's: 300 for images up to 28 px, 600 above.
    dim_h : int, default=16
        Width of the first convolution (widths double per stage up to 8·dim_h).
        DeepSMOTE used 64. On Fashion-MNIST-LT one epoch costs about 6 / 14 / 43 CPU-seconds
        at dim_h = 16 / 32 / 64 (batches of 128; 100 at 64) and the held-out error after the
        same number of epochs is nearly the same at 16 and 32 (docs/benchmarks.md,
        "Autoencoders").
    epochs : int, default=20
        Training epochs (DeepSMOTE used 200 on a GPU; see :class:`DeepSMOTEOfficial`).
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
        None for files that cannot write a null (TOML specs). The
        official DeepSMOTE penalty is the default (the paper's objective, Dablain et al.
        2022 §3): on 5-fold cross-validation of Fashion-MNIST-LT's training set a
        ``DeepSMOTE()`` without it was level with it (−0.001 ACSA, p = 0.88; spec
        ``deepsmote-defaults-cv``), and "permute"'s class-mean pull blurs reconstructions
        (``benchmarks/penalty_choice.py``). The dissertation's presets
        (:mod:`deepbalance.samplers.presets`) default to None, as Mandal 2024 §4.2–4.4.
    penalty_batch : int, default=64
        Images of one class per penalty batch; DeepSMOTE's script uses 100, its batch size
        (here the main batch's size, 64, keeps the penalty's share of the work the same).
    penalty_batchnorm : {"running", "batch"}, default="running"
        How BatchNorm treats the penalty's single-class batch: "running" normalises it with
        the running statistics and leaves them unchanged; "batch" (DeepSMOTE's script,
        :class:`DeepSMOTEOfficial`) normalises it by its own statistics and folds those into
        the running averages. On Fashion-MNIST-LT "running" lowered the reconstruction MSE
        of held-out training images from 0.0099 to 0.0086 at the same cost (of test images
        0.0136 to 0.0117; docs/benchmarks.md); a classifier cannot tell them apart.
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
    first_batchnorm : bool, default=False
        BatchNorm after the encoder's first convolution too, as the dissertation's
        autoencoders (Mandal 2024 §5.3: every convolution is followed by batch
        normalization); False is DeepSMOTE's official encoder.
    residual : bool, default=False
        Add back the detail the autoencoder loses: each synthetic image becomes
        ``clip(x_base + D(z_new) - D(z_base), 0, 1)``, its base image plus the change the
        decoder makes between the base's code and the new code (rows without a base image
        keep ``D(z_new)``). Not in DeepSMOTE or the dissertation, whose images are the plain
        decodings ``D(z_new)`` (the default here; :class:`DeepSMOTE` defaults to True);
        measured in docs/benchmarks.md. The sampler then keeps the fitted images
        (``images_``) for :meth:`generate`, and :meth:`save` stores them.
    copy_fraction : float in [0, 1], default=0.0
        Share of each class's new rows that are copies of its real images drawn at random
        with replacement (random over-sampling) instead of decoded codes: a class asked for
        n rows gets ``round(copy_fraction * n)`` copies and the rest from ``strategy``. Not
        in DeepSMOTE or the dissertation (0, the default here, is their method;
        :class:`DeepSMOTE` defaults to 0.5); the mix of
        DeepSMOTE with random over-sampling is measured in docs/benchmarks.md. Copies are
        placed after the decoded rows, with provenance strategy "random". Only
        ``fit_resample`` makes copies; :meth:`generate` always decodes.
    cache_dir : str, path or None, default=None
        Folder where trained autoencoders are kept, keyed by a hash of the
        autoencoder settings, the training images and labels and the seed; a later
        sampler with the same key loads the autoencoder instead of training it.
    sampling_strategy, random_state, k_neighbors, image_shape
        As in every deepbalance sampler (see :class:`BaseImageSampler`).
    device : str or torch.device, default="cpu"
        "cpu", "cuda", "cuda:N" or "auto".
    verbose : bool, default=False
        Show a progress bar while training.

    Attributes
    ----------
    autoencoder_ : ConvAutoencoder
        The trained autoencoder (eval mode).
    history_ : list of dict
        Per-epoch losses of its training (from the cache when it was reused).
    autoencoder_from_cache_ : bool
        Whether the autoencoder was loaded from ``cache_dir`` rather than trained.
    latent_ : float32 ndarray (N, latent_dim)
        Codes of the fitted images (what :meth:`generate` interpolates).
    latent_labels_ : int64 ndarray (N,)
        Their encoded labels (indices into ``classes_``).
    images_ : ndarray (N, C, H, W) or None
        With ``residual=True``, the fitted images in their own dtype (a view of ``X`` where
        possible, not a copy), whose detail :meth:`generate` adds back; None otherwise.
    strategy_ : LatentStrategy
        The strategy used by the last ``fit_resample``.
    layout_ : ImageLayout
        Layout and dtype of the fitted ``X``, used by :meth:`generate`.
    """

    def __init__(
        self,
        *,
        autoencoder="plain",
        strategy="smote",
        latent_dim=None,
        dim_h=16,
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
        noise_std=0.1,
        denoising_weight=1.0,
        sparsity=1e-3,
        sparse_layers="hidden",
        beta=1.0,
        vae_scale="dissertation",
        first_batchnorm=False,
        residual=False,
        copy_fraction=0.0,
        cache_dir=None,
        sampling_strategy="auto",
        random_state=None,
        k_neighbors=5,
        image_shape=None,
        device="cpu",
        verbose=False,
    ):
        self.autoencoder = autoencoder
        self.strategy = strategy
        self.latent_dim = latent_dim
        self.dim_h = dim_h
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
        self.noise_std = noise_std
        self.denoising_weight = denoising_weight
        self.sparsity = sparsity
        self.sparse_layers = sparse_layers
        self.beta = beta
        self.vae_scale = vae_scale
        self.first_batchnorm = first_batchnorm
        self.residual = residual
        self.copy_fraction = copy_fraction
        self.cache_dir = cache_dir
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.image_shape = image_shape
        self.device = device
        self.verbose = verbose

    # presets fix these two; everything else reads them through here
    def _autoencoder_kind(self):
        return self.autoencoder

    def _strategy_spec(self):
        return self.strategy

    def autoencoder_config(self, image_shape) -> AutoencoderConfig:
        """The :class:`AutoencoderConfig` this sampler builds for images of ``image_shape``."""
        return AutoencoderConfig(
            image_shape=tuple(int(s) for s in image_shape),
            variant=self._autoencoder_kind(),
            latent_dim=self.latent_dim,
            dim_h=self.dim_h,
            noise_std=self.noise_std,
            sparsity=self.sparsity,
            beta=self.beta,
            denoising_weight=self.denoising_weight,
            sparse_layers=self.sparse_layers,
            vae_scale=self.vae_scale,
            first_batchnorm=self.first_batchnorm,
        )

    def train_settings(self) -> TrainSettings:
        """The :class:`TrainSettings` this sampler trains its autoencoder with."""
        return TrainSettings(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            patience=self.patience,
            min_delta=self.min_delta,
            min_epochs=self.min_epochs,
            # "none" spells None where a value cannot be null (TOML specs, --method-params)
            penalty=None if self.penalty == "none" else self.penalty,
            validation_fraction=self.validation_fraction,
            schedule=self.schedule,
            penalty_batch=self.penalty_batch,
            penalty_batchnorm=self.penalty_batchnorm,
        )

    _FITTED = (
        "autoencoder_",
        "history_",
        "autoencoder_from_cache_",
        "latent_",
        "latent_labels_",
        "images_",
        "strategy_",
        "soft_labels_",
    )

    def fit_resample(self, X, y):
        for name in self._FITTED:  # nothing stale survives a refit (e.g. with nothing to make)
            self.__dict__.pop(name, None)
        X_arr = np.asarray(X)
        result = super().fit_resample(X, y)
        self.layout_ = ImageLayout(X_arr.ndim, X_arr.dtype, self.image_shape_)
        if getattr(self.__dict__.get("strategy_"), "mixes_labels", False):
            self.soft_labels_ = mixed_targets(
                self.latent_labels_, len(X_arr), self.provenance_, len(self.classes_)
            )
        return result

    fit_resample.__doc__ = BaseImageSampler.fit_resample.__doc__

    def _neighbor_classes(self, y, n_new):
        decoded, _ = self._split_copies(n_new)
        return make_strategy(self._strategy_spec())._neighbor_classes(y, decoded)

    def _split_copies(self, n_new: dict[int, int]) -> tuple[dict[int, int], dict[int, int]]:
        """``n_new`` split into rows the strategy makes and copies of real images."""
        fraction = check_float(self.copy_fraction, "copy_fraction", min_value=0.0, max_value=1.0)
        copies = {c: int(round(fraction * n)) for c, n in n_new.items()}
        decoded = {c: n - copies[c] for c, n in n_new.items() if n > copies[c]}
        return decoded, {c: n for c, n in copies.items() if n > 0}

    def _memory_estimate(self, X, layout, counts, n_new):
        config = self.autoencoder_config(X.shape[1:])
        n_syn = sum(n_new.values())
        n_params = autoencoder_parameter_count(config)
        acts = autoencoder_activation_count(config)
        batch = max(1, min(int(self.batch_size), len(X)))
        return {
            # weights, gradients, Adam's two moments and the penalty replica's gradients;
            # activations kept for the backward pass of a training batch (twice for the
            # penalty's extra pass)
            "autoencoder training": 5 * n_params * 4 + 2 * 3 * batch * acts * 4,
            "latent codes": (len(X) + n_syn) * config.latent_dim * 4 * 3,
            "decoding batch": 2 * DECODE_BATCH * (acts + X.n_features) * 4,
        }

    #: ``_generate`` gets the caller's array (uint8 stays uint8; rows become floats a batch
    #: at a time), so large sets are never copied as floats
    _lazy_rows = True

    def _generate(self, X, y, n_new, *, k_neighbors, rng):
        X = X.raw  # PixelRows: the caller's (N, C, H, W) values, checked to be in [0, 1]
        if not isinstance(self.residual, bool):
            raise TypeError(f"residual={self.residual!r} must be True or False")
        n_decoded, n_copies = self._split_copies(n_new)
        config = self.autoencoder_config(X.shape[1:])
        settings = self.train_settings()
        device = resolve_device(self.device)
        if self.cache_dir is not None and not isinstance(self.cache_dir, (str, os.PathLike)):
            raise TypeError(f"cache_dir={self.cache_dir!r} must be None, a str or a path")
        strategy = make_strategy(self._strategy_spec())
        # the torch seed is the first draw, so samplers differing only in strategy share it
        # (and their cached autoencoder)
        seed = seed_from(rng)
        model, history, from_cache = None, None, False
        if self.cache_dir is not None:
            key = cache_key(config, settings, seed, X, y)
            cached = load_cached_autoencoder(self.cache_dir, key, device)
            if cached is not None:
                (model, history), from_cache = cached, True
        if model is None:
            model, history = train_autoencoder(
                config, X, y, settings, seed=seed, device=device, verbose=bool(self.verbose)
            )
            if self.cache_dir is not None:
                store_cached_autoencoder(self.cache_dir, key, model, history)
        Z = encode_images(model, X, batch_size=DECODE_BATCH)
        Z_new, y_new, prov = strategy.sample(Z, y, n_decoded, k_neighbors=k_neighbors, rng=rng)
        # decoded (and written into the output) DECODE_BATCH rows at a time
        residual = _residual(strategy, X, Z, prov) if self.residual else None
        X_new = _decoded_rows(model, Z_new, residual=residual)
        if n_copies:
            X_new, y_new, prov = _with_copies(X, y, n_copies, rng, (X_new, y_new, prov))
        self.autoencoder_ = model
        self.history_ = history
        self.autoencoder_from_cache_ = from_cache
        self.latent_ = Z
        self.latent_labels_ = np.asarray(y, dtype=np.int64)
        self.images_ = X if self.residual else None
        self.strategy_ = strategy
        return X_new, y_new, prov

    def generate(self, n, class_label, *, random_state=None, X=None):
        """Make ``n`` new images of ``class_label`` from the stored latent codes.

        Works on a fitted or a loaded sampler, without retraining: the strategy
        runs on the stored codes (SMOTE between the class's codes, or the
        calibration distribution) and the new codes are decoded. Every image is decoded
        (``copy_fraction`` only applies to ``fit_resample``).

        Parameters
        ----------
        n : int
            Number of images, >= 1.
        class_label
            One of ``classes_``.
        random_state : None, int or RandomState
            Source of the random choices; None uses the sampler's ``random_state``.
        X : array, optional
            The images the sampler was fitted on, in the same order, used with
            ``residual=True`` in place of the kept ones (``images_``); needed only when the
            sampler has none (saved with ``include_images=False``), ignored with
            ``residual=False``. The base rows are encoded again and must give the stored
            codes.

        Returns
        -------
        images : array
            ``n`` images in the dtype and layout of the fitted ``X``.
        """
        if not hasattr(self, "latent_"):
            raise ValueError(
                f"{type(self).__name__} is not fitted; call fit_resample(X, y) or "
                f"{type(self).__name__}.load(path) before generate()"
            )
        n = check_int(n, "n", min_value=1)
        lookup = {python_value(c): i for i, c in enumerate(self.classes_)}
        key = (
            python_value(np.asarray(class_label).item())
            if np.ndim(class_label) == 0
            else class_label
        )
        if not isinstance(key, (str, int, float, bool)) or key not in lookup:
            raise ValueError(
                f"class_label={class_label!r} is not a fitted class; choose one of "
                f"{self.classes_.tolist()}"
            )
        c = lookup[key]
        if self.residual and not isinstance(self.residual, bool):
            raise TypeError(f"residual={self.residual!r} must be True or False")
        images = self._fitted_images(X) if self.residual else None
        strategy = make_strategy(self._strategy_spec())
        rng = check_random_state(self.random_state if random_state is None else random_state)
        # the strategy checks k_neighbors against the class sizes itself
        Z_new, _, prov = strategy.sample(
            self.latent_, self.latent_labels_, {c: n}, k_neighbors=self.k_neighbors, rng=rng
        )
        residual = None
        if images is not None:
            self._check_same_images(images, prov.base_index)
            residual = _residual(strategy, images, self.latent_, prov)
        rows = _decoded_rows(self.autoencoder_, Z_new, residual=residual)
        layout = self.layout_
        shape = layout.restore(np.zeros((0, *layout.image_shape), np.float32)).shape[1:]
        out = np.empty((len(rows), *shape), np.dtype(layout.dtype))
        rows.write_into(out, layout)
        return out

    def _fitted_images(self, X) -> np.ndarray:
        """``X`` (else the kept ``images_``) as the (N, C, H, W) rows ``fit_resample`` gave
        the autoencoder."""
        if X is None:
            kept = getattr(self, "images_", None)
            if kept is not None:
                return kept
            raise ValueError(
                "residual=True adds each base image's detail, and this sampler has no fitted "
                "images (it was fitted with residual=False, or saved with "
                "save(path, include_images=False)): pass X=<the images it was fitted on, in the "
                "same order> to generate(), or set sampler.residual = False for plain decodings"
            )
        rows, _ = check_rows(X, self.image_shape_, "X", any_range=False)
        if len(rows) != len(self.latent_) or tuple(rows.shape[1:]) != tuple(self.image_shape_):
            raise ValueError(
                f"X has {len(rows)} images of shape {tuple(rows.shape[1:])}; the sampler was "
                f"fitted on {len(self.latent_)} of shape {tuple(self.image_shape_)}: pass those "
                "images, in the same order"
            )
        return rows.raw

    def _check_same_images(self, images, base_index) -> None:
        base = np.unique(base_index[base_index >= 0])
        if not len(base):
            return
        again = encode_images(self.autoencoder_, unit_rows(images, base), batch_size=DECODE_BATCH)
        if not np.allclose(again, self.latent_[base], rtol=1e-3, atol=1e-4):
            raise ValueError(
                "X is not the set of images the sampler was fitted on (their codes differ from "
                "the stored ones): pass the fitted images, in the same order"
            )

    def save(self, path, *, include_images=True):
        """Save the fitted sampler to folder ``path`` (safetensors + JSON; see
        :mod:`deepbalance.samplers.persistence`).

        Parameters
        ----------
        path : str or path-like
            Folder to write (an existing save there is replaced).
        include_images : bool, default=True
            With ``residual=True``, also store the fitted images, so that the loaded
            sampler's :meth:`generate` needs no ``X``. They cost one byte per pixel value
            for uint8 images (their dtype's size otherwise): 7.1 MB for Fashion-MNIST-LT's
            9,000 28×28 images, beside 10.8 MB of latent codes (300 float32 each) and
            1.7 MB of autoencoder weights at the default width. False leaves them out;
            the loaded sampler's ``generate`` then needs ``X=``. Without ``residual`` no
            images are stored.

        Returns
        -------
        Path
            The folder.
        """
        return save_sampler(self, path, include_images=include_images)

    @classmethod
    def load(cls, path, *, device="cpu"):
        """Load a sampler written by :meth:`save`; it can :meth:`generate` at once."""
        sampler = load_sampler(path, device=device)
        if not isinstance(sampler, cls):
            raise ValueError(
                f"{str(path)!r} holds a {type(sampler).__name__}, not a {cls.__name__}; "
                f"load it with {type(sampler).__name__}.load or LatentOversampler.load"
            )
        return sampler


def _with_copies(X, y, n_copies: dict[int, int], rng, decoded):
    """``decoded`` (rows, labels, provenance) followed by ``n_copies[c]`` real images of each
    class ``c`` drawn with replacement, as random over-sampling draws them."""
    rows_new, y_new, prov = decoded
    picked = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), n, replace=True) for c, n in sorted(n_copies.items())]
    )
    y_copies = np.asarray(y, dtype=np.int64)[picked]
    prov_copies = Provenance.build(y_copies, picked, strategy="random")
    n_decoded = len(rows_new)

    def chunks():
        yield from rows_new.chunks()
        for start in range(0, len(picked), DECODE_BATCH):
            stop = min(len(picked), start + DECODE_BATCH)
            yield n_decoded + start, n_decoded + stop, unit_rows(X, picked[start:stop])

    return (
        LazyRows(n_decoded + len(picked), chunks),
        np.concatenate([y_new, y_copies]),
        Provenance.concat([prov, prov_copies]),
    )


def _residual(strategy, X, Z, prov: Provenance) -> tuple:
    """The ``residual`` argument of :func:`_decoded_rows` for ``strategy``'s rows: the base's
    detail, or (a strategy that ``blends_residuals``, latent mixup) base and neighbour detail
    weighted ``1 - lam`` and ``lam``."""
    if getattr(strategy, "blends_residuals", False):
        return X, Z, prov.base_index, prov.neighbor_index, prov.lam
    return X, Z, prov.base_index


def _detail(model, X, Z, rows) -> np.ndarray:
    """``x - D(E(x))`` of rows ``rows``: what the decoder loses of each image."""
    return unit_rows(X, rows) - decode_latents(model, Z[rows], batch_size=DECODE_BATCH)


def _decoded_rows(model, Z_new: np.ndarray, *, residual=None) -> LazyRows:
    """Images decoded from ``Z_new`` ``DECODE_BATCH`` codes at a time, as
    :class:`~deepbalance.samplers.base.LazyRows` (the caller writes each batch into its
    output, so the decoded float images never exist all at once).

    ``residual=(X, Z, base)`` makes ``clip(x_base + D(z_new) - D(z_base), 0, 1)`` for the
    rows with a base image (``base >= 0``); ``residual=(X, Z, base, neighbor, lam)`` adds
    ``(1 - lam)`` of the base's detail and ``lam`` of the neighbour's instead, for the rows
    with both (the others keep the base's).
    """

    def chunks():
        for start in range(0, len(Z_new), DECODE_BATCH):
            stop = min(len(Z_new), start + DECODE_BATCH)
            images = decode_latents(model, Z_new[start:stop], batch_size=DECODE_BATCH)
            if residual is not None:
                X, Z, base = residual[:3]
                has = base[start:stop] >= 0
                if has.any():
                    detail = _detail(model, X, Z, base[start:stop][has])
                    if len(residual) == 5:
                        neighbor, lam = residual[3][start:stop], residual[4][start:stop]
                        both = (neighbor[has] >= 0) & np.isfinite(lam[has])
                        if both.any():
                            w = lam[has][both].astype(np.float32).reshape(-1, 1, 1, 1)
                            other = _detail(model, X, Z, neighbor[has][both])
                            detail[both] = (1.0 - w) * detail[both] + w * other
                    images[has] = np.clip(images[has] + detail, 0.0, 1.0)
            yield start, stop, images

    return LazyRows(len(Z_new), chunks)
