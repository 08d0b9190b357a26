"""Latent over-sampling: train an autoencoder, over-sample its codes, decode them.

:class:`LatentOversampler` is the general form (autoencoder variant × latent
strategy); :mod:`deepbalance.samplers.presets` gives the seed papers' combinations
their names (``DeepSMOTE``, ``DeepDenoisingCalibration``, ...).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from .._checks import check_float, check_int, check_random_state, seed_from
from ..nets.autoencoder_training import TrainSettings, train_autoencoder
from ..nets.autoencoders import (
    VARIANTS,
    AutoencoderConfig,
    autoencoder_activation_count,
    autoencoder_parameter_count,
    decode_latents,
    encode_images,
    unit_rows,
)
from ..nets.device import resolve_device
from .autoencoder import ARCHITECTURE_PARAMS, TRAINING_PARAMS, Autoencoder
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
    autoencoder : Autoencoder, str or None, default=None
        The autoencoder to train (:class:`~deepbalance.samplers.autoencoder.Autoencoder`:
        architecture and training). None is the class's own,
        :meth:`default_autoencoder` (a preset's differs: see
        :mod:`deepbalance.samplers.presets`); a variant name ("plain", "denoising",
        "sparse", "vae") is that default with this variant. A nested estimator:
        ``get_params(deep=True)`` lists ``autoencoder__epochs`` and the rest, and
        ``set_params(autoencoder__epochs=5)`` changes the default's epochs alone.
    strategy : str, imblearn over-sampler instance or LatentStrategy, default="smote"
        How new codes are made: "smote", "adasyn", "calibration" (or any name of
        ``deepbalance.samplers.STRATEGIES``), e.g. ``BorderlineSMOTE()``, or
        ``WeightedCalibration(...)``. An instance's parameters are nested too
        (``strategy__k_neighbors``).
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
        autoencoder=None,
        strategy="smote",
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
        self.residual = residual
        self.copy_fraction = copy_fraction
        self.cache_dir = cache_dir
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.image_shape = image_shape
        self.device = device
        self.verbose = verbose

    #: the :class:`Autoencoder` parameters :meth:`fold_autoencoder_params` takes flat
    AUTOENCODER_PARAMS = (*ARCHITECTURE_PARAMS, *TRAINING_PARAMS)
    #: the variant a preset fixes (None: any); a preset's other defaults for its autoencoder
    _VARIANT: str | None = None
    _AUTOENCODER_DEFAULTS: dict = {}

    @classmethod
    def default_autoencoder(cls) -> Autoencoder:
        """A new :class:`Autoencoder` with this class's defaults: what ``autoencoder=None``
        trains, and a starting point for one with other settings
        (``DeepSMOTEOfficial.default_autoencoder().set_params(epochs=50)``)."""
        return Autoencoder(**{"variant": cls._VARIANT or "plain", **cls._AUTOENCODER_DEFAULTS})

    @classmethod
    def fold_autoencoder_params(cls, params: Mapping) -> dict:
        """``params`` with flat autoencoder keywords folded into ``autoencoder``.

        Methods, specs and ``--sampler-param`` name them flat (``epochs=5``,
        ``autoencoder="vae"``); this turns them into
        ``autoencoder=cls.default_autoencoder().set_params(...)``, so ``{"epochs": 5}``
        changes the class's default autoencoder in its epochs alone.
        """
        params = dict(params)
        flat = {k: params.pop(k) for k in cls.AUTOENCODER_PARAMS if k in params}
        given = params.get("autoencoder")
        if isinstance(given, str):
            flat["variant"] = params.pop("autoencoder")
        elif flat and given is not None:
            raise ValueError(
                f"{cls.__name__} got autoencoder={given!r} and the autoencoder parameters "
                f"{sorted(flat)} beside it; set them on the Autoencoder "
                f"(Autoencoder(..., {next(iter(flat))}=...)) or drop autoencoder="
            )
        if flat:
            params["autoencoder"] = cls.default_autoencoder().set_params(**flat)
        return params

    def autoencoder_settings(self) -> Autoencoder:
        """The :class:`Autoencoder` this sampler trains (``autoencoder`` resolved)."""
        given = self.autoencoder
        if given is None:
            chosen = self.default_autoencoder()
        elif isinstance(given, str):
            chosen = self.default_autoencoder().set_params(variant=given)
        elif isinstance(given, Autoencoder):
            chosen = given
        else:
            raise TypeError(
                f"autoencoder={given!r} must be None, a variant name ({', '.join(VARIANTS)}) "
                "or an Autoencoder(...) from deepbalance.samplers"
            )
        if self._VARIANT is not None and chosen.variant != self._VARIANT:
            name = type(self).__name__
            raise ValueError(
                f"{name} trains a {self._VARIANT!r} autoencoder, but autoencoder={given!r} "
                f"is {chosen.variant!r}; start from {name}.default_autoencoder().set_params(...) "
                "or choose the variant with LatentOversampler(autoencoder=...)"
            )
        return chosen

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        if deep and not isinstance(self.autoencoder, Autoencoder):
            try:  # the default's parameters, so that grids can name autoencoder__epochs
                nested = self.autoencoder_settings().get_params()
            except (TypeError, ValueError):
                return params
            params.update({f"autoencoder__{k}": v for k, v in nested.items()})
        return params

    def set_params(self, **params):
        if "autoencoder" not in params and any(k.startswith("autoencoder__") for k in params):
            if not isinstance(self.autoencoder, Autoencoder):
                self.autoencoder = self.autoencoder_settings()  # a new copy of the default
        return super().set_params(**params)

    def _strategy_spec(self):
        return self.strategy

    def autoencoder_config(self, image_shape) -> AutoencoderConfig:
        """The :class:`AutoencoderConfig` this sampler builds for images of ``image_shape``."""
        return self.autoencoder_settings().config(image_shape)

    def train_settings(self) -> TrainSettings:
        """The :class:`TrainSettings` this sampler trains its autoencoder with."""
        return self.autoencoder_settings().train_settings()

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
        batch = max(1, min(int(self.train_settings().batch_size), len(X)))
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
