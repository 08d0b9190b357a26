"""The sampler contract, shared by every data-level method.

A sampler is an imbalanced-learn-style estimator: a keyword-only constructor
that only stores parameters, and ``fit_resample(X, y)`` that returns the real
rows first, unchanged, followed by synthetic rows. Subclasses implement one
method, :meth:`BaseImageSampler._generate`, on float32 images in [0, 1] with
integer-encoded labels; everything else (layouts, dtypes, label mapping,
``sampling_strategy`` forms, ``k_neighbors`` checks) lives here.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
from imblearn.utils import check_sampling_strategy
from sklearn.base import BaseEstimator

from .._checks import check_random_state
from .provenance import Provenance

STRATEGY_NAMES = ("auto", "minority", "not minority", "not majority", "all")


@dataclass(frozen=True)
class ImageLayout:
    """How the caller's ``X`` was laid out, so outputs can be returned alike."""

    ndim: int
    dtype: np.dtype
    image_shape: tuple[int, int, int]

    def restore(self, images01: np.ndarray) -> np.ndarray:
        """Float images in [0, 1], shape (n, C, H, W), back to the caller's layout/dtype."""
        x = np.clip(images01, 0.0, 1.0)
        if self.dtype == np.uint8:
            x = np.rint(x * 255.0).astype(np.uint8)
        else:
            x = x.astype(self.dtype, copy=False)
        n = len(x)
        if self.ndim == 2:
            return x.reshape(n, -1)
        if self.ndim == 3:
            return x.reshape(n, *self.image_shape[1:])
        return x.reshape(n, *self.image_shape)


def _normalise_image_shape(image_shape) -> tuple[int, int, int]:
    try:
        shape = tuple(int(s) for s in image_shape)
    except TypeError:
        raise TypeError(
            f"image_shape={image_shape!r} must be a tuple (C, H, W) or (H, W); "
            "pass e.g. image_shape=(1, 28, 28)"
        ) from None
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"image_shape={image_shape!r} must be (C, H, W) or (H, W) with positive sizes; "
            "pass e.g. image_shape=(1, 28, 28)"
        )
    return shape  # type: ignore[return-value]


def check_images(X, image_shape=None, *, name: str = "X") -> tuple[np.ndarray, ImageLayout]:
    """Validate images and return them as float32 (N, C, H, W) in [0, 1] plus their layout.

    Accepts (N, C, H, W), (N, H, W), or (N, C*H*W) when ``image_shape`` is given;
    uint8 in [0, 255] or float in [0, 1].
    """
    if not hasattr(X, "__array__") and not isinstance(X, (list, tuple)):
        raise TypeError(f"{name} must be an array of images, got {type(X).__name__}")
    X = np.asarray(X)
    if X.dtype == object or not (
        np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)
    ):
        raise TypeError(f"{name} has dtype {X.dtype}; pass uint8 in [0, 255] or float in [0, 1]")
    if X.ndim == 2:
        if image_shape is None:
            raise ValueError(
                f"{name} is 2-D with shape {X.shape}; pass image_shape=(C, H, W) to use flattened "
                "images, or pass X as (N, C, H, W) / (N, H, W)"
            )
        shape = _normalise_image_shape(image_shape)
        if X.shape[1] != int(np.prod(shape)):
            raise ValueError(
                f"{name} has {X.shape[1]} features but image_shape={shape} needs "
                f"{int(np.prod(shape))}; pass the image_shape the rows were flattened from"
            )
        X4 = X.reshape(len(X), *shape)
    elif X.ndim == 3:
        X4 = X[:, None]
    elif X.ndim == 4:
        X4 = X
    else:
        raise ValueError(
            f"{name} has ndim={X.ndim} (shape {X.shape}); pass (N, C, H, W), (N, H, W), "
            "or (N, C*H*W) with image_shape"
        )
    if len(X4) == 0:
        raise ValueError(f"{name} is empty; pass at least one image per class")
    layout = ImageLayout(X.ndim, X.dtype, tuple(X4.shape[1:]))
    if X.dtype == np.uint8:
        return X4.astype(np.float32) / 255.0, layout
    if np.issubdtype(X.dtype, np.integer):
        raise TypeError(
            f"{name} has integer dtype {X.dtype}; pass uint8 in [0, 255] or float in [0, 1] "
            "(e.g. X.astype(np.uint8))"
        )
    if not np.all(np.isfinite(X4)):
        bad = int(np.size(X4) - np.isfinite(X4).sum())
        raise ValueError(f"{name} contains {bad} NaN/inf values; clean or impute them first")
    lo, hi = float(X4.min()), float(X4.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"float {name} spans [{lo:.4g}, {hi:.4g}] but must lie in [0, 1]; "
            "rescale (e.g. X / 255) or pass uint8"
        )
    return X4.astype(np.float32, copy=False), layout


def check_labels(y, n_samples: int, *, name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Return ``(classes, y_encoded)``; any hashable, sortable labels (ints, strings) work."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {y.shape}; pass one label per image")
    if len(y) != n_samples:
        raise ValueError(
            f"{name} has {len(y)} labels but X has {n_samples} images; pass one label per image"
        )
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError(f"{name} contains NaN/inf labels; drop or fix those rows")
    classes, y_enc = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"{name} has a single class {classes.tolist()}; over-sampling needs at least two"
        )
    return classes, y_enc.astype(np.int64)


def _py(value):
    """A numpy scalar as the plain Python value (for messages and dict keys)."""
    return value.item() if isinstance(value, np.generic) else value


def _to_encoded_dict(mapping: dict, classes: np.ndarray, name: str) -> dict[int, int]:
    lookup = {_py(c): i for i, c in enumerate(classes)}
    out = {}
    for key, value in mapping.items():
        k = _py(key)
        if k not in lookup:
            raise ValueError(
                f"{name} names class {key!r}, which is not in y (classes: {classes.tolist()}); "
                "use the labels of y as keys"
            )
        out[lookup[k]] = value
    return out


def resolve_sampling_strategy(sampling_strategy, y_enc: np.ndarray, classes: np.ndarray):
    """Number of synthetic rows to make per encoded class, as ``{class_index: n_new}``."""
    strategy = sampling_strategy
    name = "sampling_strategy"
    if isinstance(strategy, str):
        if strategy not in STRATEGY_NAMES:
            raise ValueError(
                f"{name}={strategy!r} is unknown; choose one of {', '.join(STRATEGY_NAMES)}, "
                "a dict {label: target count}, a float (binary) or a callable"
            )
    elif isinstance(strategy, dict):
        strategy = _to_encoded_dict(strategy, classes, name)
        counts = np.bincount(y_enc, minlength=len(classes))
        for k, target in strategy.items():
            if isinstance(target, bool) or not isinstance(target, numbers.Integral):
                raise TypeError(
                    f"{name}[{_py(classes[k])!r}]={target!r} must be an int target count"
                )
            if target < counts[k]:
                raise ValueError(
                    f"{name}[{_py(classes[k])!r}]={target} is below the {counts[k]} images class "
                    f"{_py(classes[k])!r} already has; over-sampling only adds rows, pass a target "
                    f">= {counts[k]}"
                )
    elif callable(strategy):
        user = strategy(classes[y_enc])
        if not isinstance(user, dict):
            raise TypeError(f"{name} callable must return a dict, got {type(user).__name__}")
        strategy = _to_encoded_dict(user, classes, name)
    elif isinstance(strategy, numbers.Real) and not isinstance(strategy, bool):
        if len(classes) != 2:
            raise ValueError(
                f"{name}={strategy} (a float) only works for two classes, y has "
                f"{len(classes)}; pass a dict of target counts instead"
            )
    else:
        raise TypeError(f"{name}={sampling_strategy!r} must be a str, dict, float or callable")
    try:
        targets = check_sampling_strategy(strategy, y_enc, "over-sampling")
    except ValueError as err:
        raise ValueError(f"{name}={sampling_strategy!r}: {err}") from None
    return {int(k): int(v) for k, v in targets.items() if v > 0}


def resolve_k_neighbors(k_neighbors, counts: np.ndarray, n_new: dict[int, int], classes):
    """Check ``k_neighbors`` against the classes that will grow.

    Returns an int or the caller's nearest-neighbours object. ``"auto"`` caps k at
    the smallest growing class size minus one, with a warning.
    """
    if hasattr(k_neighbors, "kneighbors"):
        return k_neighbors
    growing = [c for c in n_new if n_new[c] > 0]
    if not growing:
        return 5 if k_neighbors == "auto" else k_neighbors
    smallest = min(growing, key=lambda c: counts[c])
    n_min = int(counts[smallest])
    if isinstance(k_neighbors, str):
        if k_neighbors != "auto":
            raise ValueError(
                f"k_neighbors={k_neighbors!r} is unknown; pass an int, 'auto' or an object "
                "with a kneighbors method"
            )
        if n_min < 2:
            raise ValueError(
                f"class {_py(classes[smallest])!r} has 1 sample; neighbour-based sampling needs at "
                "least 2 — add images or use RandomOversampler"
            )
        k = min(5, n_min - 1)
        if k < 5:
            warnings.warn(
                f"k_neighbors='auto' uses k={k} because class {_py(classes[smallest])!r} has "
                f"{n_min} samples",
                UserWarning,
                stacklevel=3,
            )
        return k
    if isinstance(k_neighbors, bool) or not isinstance(k_neighbors, numbers.Integral):
        raise TypeError(
            f"k_neighbors={k_neighbors!r} must be an int, 'auto' or an object with kneighbors"
        )
    k = int(k_neighbors)
    if k < 1:
        raise ValueError(f"k_neighbors={k} must be >= 1; pass e.g. k_neighbors=5")
    if n_min < k + 1:
        raise ValueError(
            f"class {_py(classes[smallest])!r} has {n_min} samples; k_neighbors={k} needs at least "
            f"{k + 1} — pass k_neighbors<={max(n_min - 1, 1)} or k_neighbors='auto'"
        )
    return k


class BaseImageSampler(BaseEstimator):
    """Base class of every deepbalance sampler.

    Subclasses declare their parameters as keyword-only ``__init__`` arguments
    that are stored unchanged (so ``sklearn.base.clone`` works), and implement
    :meth:`_generate`.

    Attributes set by :meth:`fit_resample`
    --------------------------------------
    classes_ : ndarray
        Sorted distinct labels of ``y``.
    sampling_strategy_ : dict
        ``{label: number of synthetic rows}`` actually generated.
    synthetic_mask_ : ndarray of bool
        True for each returned row that is synthetic.
    provenance_ : Provenance
        One record per synthetic row.
    image_shape_ : tuple
        ``(C, H, W)`` of the fitted images.
    """

    #: whether ``_generate`` uses neighbours (so ``k_neighbors`` is checked)
    _uses_neighbors = True

    def fit_resample(self, X, y):
        """Resample ``X, y`` so the classes chosen by ``sampling_strategy`` grow.

        Parameters
        ----------
        X : array of shape (N, C, H, W), (N, H, W) or (N, C*H*W) with ``image_shape``
            uint8 in [0, 255] or float in [0, 1].
        y : array of shape (N,)
            Class labels; any sortable values (ints, strings).

        Returns
        -------
        X_resampled : array
            ``X`` unchanged, followed by synthetic rows; same dtype, range and layout.
        y_resampled : array
            Labels of the returned rows, in ``y``'s label space.
        """
        X01, layout = check_images(X, getattr(self, "image_shape", None))
        classes, y_enc = check_labels(y, len(X01))
        n_new = resolve_sampling_strategy(self.sampling_strategy, y_enc, classes)
        counts = np.bincount(y_enc, minlength=len(classes))
        k = getattr(self, "k_neighbors", None)
        if self._uses_neighbors:
            k = resolve_k_neighbors(k, counts, self._neighbor_classes(y_enc, n_new), classes)
        rng = check_random_state(self.random_state)
        self.classes_ = classes
        self.image_shape_ = layout.image_shape
        if sum(n_new.values()):
            X_syn, y_syn, prov = self._generate(X01, y_enc, n_new, k_neighbors=k, rng=rng)
        else:
            X_syn = np.zeros((0, *layout.image_shape), np.float32)
            y_syn = np.zeros(0, np.int64)
            prov = Provenance.empty()
        y_syn = np.asarray(y_syn, dtype=np.int64)
        if len(X_syn) != len(y_syn) or len(prov) != len(y_syn):
            raise RuntimeError(
                f"{type(self).__name__}._generate returned {len(X_syn)} images, {len(y_syn)} "
                f"labels and {len(prov)} provenance records"
            )
        y_arr = np.asarray(y)
        y_syn_user = classes[y_syn].astype(y_arr.dtype, copy=False)
        made = np.bincount(y_syn, minlength=len(classes))
        self.sampling_strategy_ = {_py(classes[c]): int(made[c]) for c in n_new}
        self.synthetic_mask_ = np.r_[np.zeros(len(X01), bool), np.ones(len(X_syn), bool)]
        self.provenance_ = prov.with_labels(y_syn_user)
        X_out = np.concatenate([np.asarray(X), layout.restore(X_syn)], axis=0)
        y_out = np.concatenate([y_arr, y_syn_user])
        return X_out, y_out

    def fit(self, X, y):
        """Fit on ``X, y`` (same as :meth:`fit_resample`, discarding the output)."""
        self.fit_resample(X, y)
        return self

    def _neighbor_classes(self, y, n_new: dict[int, int]) -> dict[int, int]:
        """The part of ``n_new`` made from neighbours, which ``k_neighbors`` is checked on.

        Every growing class by default; samplers whose strategy draws some classes
        another way (weighted calibration's minority classes) narrow it.
        """
        return n_new

    def _generate(self, X, y, n_new, *, k_neighbors, rng):
        """Make synthetic images.

        Parameters
        ----------
        X : float32 ndarray (N, C, H, W) in [0, 1]
        y : int64 ndarray (N,), encoded labels 0..n_classes-1
        n_new : dict {encoded class: number of rows to make}
        k_neighbors : int or object with ``kneighbors`` (already checked), or None
        rng : numpy RandomState

        Returns
        -------
        X_syn : float ndarray (M, C, H, W) in [0, 1]
        y_syn : int ndarray (M,), encoded labels
        provenance : Provenance with indices into ``X``
        """
        raise NotImplementedError
