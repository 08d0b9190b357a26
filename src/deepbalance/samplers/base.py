"""The sampler contract, shared by every data-level method.

A sampler is an imbalanced-learn-style estimator: a keyword-only constructor
that only stores parameters, and ``fit_resample(X, y)`` that returns the real
rows first, unchanged, followed by synthetic rows. Subclasses implement one
method, :meth:`BaseImageSampler._generate`, on float images (in [0, 1] for latent
samplers, in the caller's own range for pixel samplers) with integer-encoded
labels; everything else (layouts, dtypes, label mapping, ``sampling_strategy``
forms, ``k_neighbors`` checks, the memory estimate) lives here.

Memory: ``fit_resample`` validates ``X`` in bounded chunks without copying it (a
memory map stays on disk), estimates what the call will need
(:meth:`BaseImageSampler._memory_estimate`) and refuses it before starting when that
exceeds the memory available (:mod:`deepbalance.samplers.memory`), then allocates the
returned array once and fills it in place, chunk by chunk when ``_generate`` returns
:class:`LazyRows`.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_sampling_strategy
from imblearn.utils import check_target_type as imblearn_check_target_type
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import type_of_target

from .._checks import INTEGER_SCALES, check_random_state
from .memory import check_memory
from .provenance import Provenance

STRATEGY_NAMES = ("auto", "minority", "not minority", "not majority", "all")


@dataclass(frozen=True)
class ImageLayout:
    """How the caller's ``X`` was laid out, so outputs can be returned alike.

    Parameters
    ----------
    ndim : int
        ``X.ndim`` (2 for flattened rows, 3 for (N, H, W), 4 for (N, C, H, W)).
    dtype : numpy dtype
        ``X.dtype``; uint8 and uint16 are worked on as floats in [0, 1].
    image_shape : tuple
        ``(C, H, W)`` of one image (``(1, 1, D)`` for plain rows of D values).
    value_range : tuple of float, default=(0.0, 1.0)
        Synthetic values are clipped to it, in working units.
    """

    ndim: int
    dtype: np.dtype
    image_shape: tuple[int, int, int]
    value_range: tuple[float, float] = (0.0, 1.0)

    def restore(self, values: np.ndarray) -> np.ndarray:
        """Working values, shape (n, C, H, W), back to the caller's layout, dtype and range."""
        lo, hi = self.value_range
        x = np.clip(values, lo, hi)
        dtype = np.dtype(self.dtype)
        if dtype in INTEGER_SCALES:
            x *= INTEGER_SCALES[dtype]  # x is clip's copy: scaled and rounded in place
            x = np.rint(x, out=x).astype(dtype)
        else:
            x = x.astype(dtype, copy=False)
        n = len(x)
        if self.ndim == 2:
            return x.reshape(n, int(np.prod(self.image_shape)))
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


def _integer_advice(name: str, dtype) -> str:
    return (
        f"{name} has integer dtype {dtype}; pass uint8 in [0, 255], uint16 in [0, 65535] or "
        f"float in [0, 1] — rescale rather than cast, e.g. {name} / {name}.max() "
        f"(a plain {name}.astype(np.uint8) wraps values above 255)"
    )


#: values examined per step when checking or converting large inputs (bounded temporaries)
_CHECK_CHUNK = 1 << 24


class PixelRows:
    """The caller's images, converted to working values only when rows are asked for.

    Holds a view of ``X`` (no copy; a memory map stays on disk) and converts the rows
    asked for exactly as a whole-array conversion would: uint8/uint16 to float32 in
    [0, 1] (``X / float32(255)``), float32/float64 unchanged, other floats to float32.

    Parameters
    ----------
    raw : ndarray (N, C, H, W)
        The caller's values.
    dtype : numpy dtype
        Working dtype (float32 or float64).
    scale : float or None
        Value that maps to 1.0 for integer input, else None.
    """

    def __init__(self, raw: np.ndarray, dtype, scale: float | None):
        self.raw = raw
        self.dtype = np.dtype(dtype)
        self.scale = scale

    def __len__(self) -> int:
        return len(self.raw)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.raw.shape

    @property
    def n_features(self) -> int:
        return int(np.prod(self.raw.shape[1:]))

    @property
    def nbytes(self) -> int:
        """Bytes of the whole array in working units."""
        return len(self.raw) * self.n_features * self.dtype.itemsize

    def _convert(self, values: np.ndarray) -> np.ndarray:
        if self.scale is not None:
            return (values / np.float32(self.scale)).astype(np.float32, copy=False)
        return values.astype(self.dtype, copy=False)

    def take(self, index) -> np.ndarray:
        """Working values of rows ``index`` as a 2-D array ``(len(index), C*H*W)``."""
        index = np.asarray(index, dtype=np.int64)
        values = self._convert(np.asarray(self.raw[index]))
        return values.reshape(len(index), -1)

    def materialize(self) -> np.ndarray:
        """All rows in working units, shape (N, C, H, W) (one allocation of :attr:`nbytes`)."""
        if self.scale is None and self.raw.dtype == self.dtype:
            return np.asarray(self.raw)
        out = np.empty(self.raw.shape, self.dtype)
        step = max(1, _CHECK_CHUNK // max(self.n_features, 1))
        for start in range(0, len(out), step):
            out[start : start + step] = self._convert(np.asarray(self.raw[start : start + step]))
        return out


class LazyRows:
    """Synthetic rows made chunk by chunk, so that all of them never exist as floats at once.

    A :meth:`BaseImageSampler._generate` may return one in place of an array; the base
    class writes each chunk, restored to the caller's dtype, into the preallocated output.

    Parameters
    ----------
    n : int
        Number of rows.
    chunks : callable
        ``chunks()`` yields ``(start, stop, values)``, covering ``0..n`` in order, with
        ``values`` the working values of rows ``start:stop`` (any shape with that many rows).
    """

    def __init__(self, n: int, chunks):
        self.n = int(n)
        self.chunks = chunks

    def __len__(self) -> int:
        return self.n

    def write_into(self, out: np.ndarray, layout: ImageLayout) -> None:
        """Write every chunk, restored to ``layout``, into ``out`` (``n`` rows)."""
        expected = 0
        for start, stop, values in self.chunks():
            if start != expected:
                raise RuntimeError(f"LazyRows chunk starts at {start}, expected {expected}")
            n = stop - start
            out[start:stop] = layout.restore(np.asarray(values).reshape(n, *layout.image_shape))
            expected = stop
        if expected != self.n:
            raise RuntimeError(f"LazyRows made {expected} rows, announced {self.n}")


def _chunked_reduce(X4: np.ndarray):
    """(number of non-finite values, min, max) of a float array, in bounded chunks."""
    step = max(1, _CHECK_CHUNK // max(int(np.prod(X4.shape[1:])), 1))
    bad, lo, hi = 0, np.inf, -np.inf
    for start in range(0, len(X4), step):
        part = np.asarray(X4[start : start + step])
        finite = np.isfinite(part)
        bad += int(part.size - finite.sum())
        if not bad:
            lo, hi = min(lo, float(part.min())), max(hi, float(part.max()))
    return bad, lo, hi


def _row_bytes(X: np.ndarray) -> int:
    return int(np.prod(X.shape[1:])) * X.dtype.itemsize


def check_rows(X, image_shape, name: str, *, any_range: bool):
    """Validate ``X`` without converting it: a :class:`PixelRows` view and its layout."""
    if not hasattr(X, "__array__") and not isinstance(X, (list, tuple)):
        raise TypeError(f"{name} must be an array of images, got {type(X).__name__}")
    X = np.asarray(X)
    if X.dtype == object or not (
        np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)
    ):
        raise TypeError(
            f"{name} has dtype {X.dtype}; pass uint8 in [0, 255], uint16 or float "
            f"{'values' if any_range else 'in [0, 1]'}"
        )
    if X.ndim == 2:
        if image_shape is not None:
            shape = _normalise_image_shape(image_shape)
            if X.shape[1] != int(np.prod(shape)):
                raise ValueError(
                    f"{name} has {X.shape[1]} features but image_shape={shape} needs "
                    f"{int(np.prod(shape))}; pass the image_shape the rows were flattened from"
                )
        elif any_range:
            shape = (1, 1, X.shape[1])
        else:
            raise ValueError(
                f"{name} is 2-D with shape {X.shape}; pass image_shape=(C, H, W) to use flattened "
                "images, or pass X as (N, C, H, W) / (N, H, W)"
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
    if len(X4) == 0 or X4[0].size == 0:
        raise ValueError(f"{name} has shape {X.shape}; pass at least one non-empty image")
    layout = ImageLayout(X.ndim, X.dtype, tuple(X4.shape[1:]))
    if X.dtype in INTEGER_SCALES:
        return PixelRows(X4, np.float32, INTEGER_SCALES[X.dtype]), layout
    if np.issubdtype(X.dtype, np.integer):
        raise TypeError(_integer_advice(name, X.dtype))
    bad, lo, hi = _chunked_reduce(X4)
    if bad:
        raise ValueError(f"{name} contains {bad} NaN/inf values; clean or impute them first")
    inside = lo >= 0.0 and hi <= 1.0
    if not any_range:
        if not inside:
            raise ValueError(
                f"float {name} spans [{lo:.4g}, {hi:.4g}] but must lie in [0, 1] for a latent "
                "(autoencoder) sampler; rescale (e.g. (X - X.min()) / (X.max() - X.min())) or "
                "pass uint8"
            )
        return PixelRows(X4, np.float32, None), layout
    work = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    value_range = (0.0, 1.0) if inside else (lo, hi)
    return PixelRows(X4, work, None), ImageLayout(X.ndim, X.dtype, layout.image_shape, value_range)


def _check_array(X, image_shape, name: str, *, any_range: bool):
    rows, layout = check_rows(X, image_shape, name, any_range=any_range)
    return rows.materialize(), layout


def check_images(X, image_shape=None, *, name: str = "X") -> tuple[np.ndarray, ImageLayout]:
    """Validate images and return them as float32 (N, C, H, W) in [0, 1] plus their layout.

    The contract of the latent (autoencoder) samplers.

    Parameters
    ----------
    X : array of shape (N, C, H, W), (N, H, W), or (N, C*H*W) with ``image_shape``
        uint8 in [0, 255], uint16 in [0, 65535] (both scaled to [0, 1]) or float in [0, 1].
    image_shape : tuple, optional
        ``(C, H, W)`` or ``(H, W)`` of flattened rows.
    name : str, default="X"
        Argument name used in error messages.

    Returns
    -------
    images : float32 ndarray (N, C, H, W) in [0, 1]
    layout : ImageLayout
    """
    return _check_array(X, image_shape, name, any_range=False)


def check_pixels(X, image_shape=None, *, name: str = "X") -> tuple[np.ndarray, ImageLayout]:
    """Validate the input of a pixel-space sampler: any finite float values, rows or images.

    Unlike :func:`check_images`, float values keep their own range (e.g. normalised
    tensors with negative values) and dtype (float32 or float64; other floats become
    float32), and 2-D ``X`` without ``image_shape`` is taken as plain rows (N, D).

    Parameters
    ----------
    X : array of shape (N, C, H, W), (N, H, W) or (N, D)
        uint8 / uint16 (scaled to [0, 1]) or finite floats.
    image_shape : tuple, optional
        ``(C, H, W)`` or ``(H, W)`` when 2-D rows are flattened images.
    name : str, default="X"
        Argument name used in error messages.

    Returns
    -------
    values : float ndarray (N, C, H, W) (``(N, 1, 1, D)`` for plain rows)
    layout : ImageLayout
        Its ``value_range`` is [0, 1] for integer input or float input inside [0, 1],
        else the input's own [min, max].
    """
    return _check_array(X, image_shape, name, any_range=True)


def _check_label_types(y, arr: np.ndarray, name: str) -> None:
    """Refuse labels that mix strings with numbers (numpy would turn the numbers into text)."""
    if arr.dtype == object:
        values = arr.ravel().tolist()
    elif isinstance(y, (list, tuple)) and arr.dtype.kind in "US" and arr.ndim == 1:
        values = list(y)
    else:
        return
    is_str = [isinstance(v, (str, bytes, np.str_, np.bytes_)) for v in values]
    if any(is_str) and not all(is_str):
        text = values[is_str.index(True)]
        other = values[is_str.index(False)]
        raise ValueError(
            f"{name} mixes string and non-string labels (e.g. {text!r} and {other!r} of type "
            f"{type(other).__name__}); pass labels of one type, e.g. [str(v) for v in {name}] "
            "or integer codes"
        )


def check_target(y, *, name: str = "y") -> tuple[np.ndarray, int | None]:
    """Return ``y`` as a 1-D label array, and the column count when it was one-hot encoded.

    Accepts what imbalanced-learn accepts (:func:`imblearn.utils.check_target_type`):
    binary or multiclass labels, a column vector, or a one-hot (one-vs-all) matrix.

    Parameters
    ----------
    y : array-like of shape (N,), (N, 1) or (N, K) one-hot
    name : str, default="y"
        Argument name used in error messages.

    Returns
    -------
    labels : ndarray (N,)
    n_one_hot : int or None
        K when ``y`` was one-hot (the output is encoded back), else None.
    """
    if not hasattr(y, "__array__") and not isinstance(y, (list, tuple)):
        raise TypeError(f"{name} must be an array of labels, got {type(y).__name__}")
    arr = np.asarray(y)
    _check_label_types(y, arr, name)
    if arr.ndim == 0 or arr.size == 0:
        raise ValueError(f"{name} has shape {arr.shape}; pass one label per image")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN/inf labels; drop or fix those rows")
    try:
        kind = type_of_target(arr, input_name=name)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} is not a label array ({err}); pass one label per image") from None
    if kind in ("continuous", "continuous-multioutput"):
        flat = arr.ravel()
        example = python_value(flat[np.flatnonzero(flat != np.round(flat))[0]])
        raise ValueError(
            f"{name} holds continuous values (e.g. {example!r}), an unknown label type for "
            "over-sampling; pass class labels (ints or strings), not a regression target"
        )
    if kind not in ("binary", "multiclass", "multilabel-indicator") and arr.ndim == 2:
        raise ValueError(
            f"{name} has shape {arr.shape} ({kind} target); multilabel and multioutput targets "
            "are not supported — pass one label per image"
        )
    try:
        with warnings.catch_warnings():  # a column vector is fine, as in imbalanced-learn
            warnings.simplefilter("ignore", DataConversionWarning)
            labels, one_hot = imblearn_check_target_type(arr, indicate_one_vs_all=True)
    except ValueError as err:
        raise ValueError(f"{name}: {err} Pass one label per image.") from None
    return np.asarray(labels), (arr.shape[1] if one_hot else None)


def check_labels(y, n_samples: int, *, name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Return ``(classes, y_encoded)``; any hashable, sortable labels (ints, strings) work.

    Parameters
    ----------
    y : array-like of shape (N,)
        Labels of one type (ints or strings, not a mix).
    n_samples : int
        Number of images the labels belong to.
    name : str, default="y"

    Returns
    -------
    classes : ndarray
        Sorted distinct labels.
    y_encoded : int64 ndarray (N,)
        Index of each label in ``classes``.
    """
    if not hasattr(y, "__array__") and not isinstance(y, (list, tuple)):
        raise TypeError(f"{name} must be an array of labels, got {type(y).__name__}")
    arr = np.asarray(y)
    _check_label_types(y, arr, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}; pass one label per image")
    if len(arr) != n_samples:
        raise ValueError(
            f"{name} has {len(arr)} labels but X has {n_samples} images; pass one label per image"
        )
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN/inf labels; drop or fix those rows")
    try:
        classes, y_enc = np.unique(arr, return_inverse=True)
    except TypeError as err:
        raise ValueError(
            f"{name} holds labels that cannot be sorted ({err}); pass ints or strings"
        ) from None
    if len(classes) < 2:
        raise ValueError(
            f"{name} has a single class {classes.tolist()}; over-sampling needs at least two"
        )
    return classes, y_enc.reshape(-1).astype(np.int64)


def python_value(value):
    """A numpy scalar as the plain Python value (for messages and dict keys)."""
    return value.item() if isinstance(value, np.generic) else value


def _to_encoded_dict(mapping: dict, classes: np.ndarray, name: str) -> dict[int, int]:
    lookup = {python_value(c): i for i, c in enumerate(classes)}
    out = {}
    for key, value in mapping.items():
        k = python_value(key)
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
                    f"{name}[{python_value(classes[k])!r}]={target!r} must be an int target count"
                )
            if target < counts[k]:
                raise ValueError(
                    f"{name}[{python_value(classes[k])!r}]={target} is below the {counts[k]} "
                    f"images class {python_value(classes[k])!r} already has; over-sampling only "
                    f"adds rows, pass a target >= {counts[k]}"
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
                f"class {python_value(classes[smallest])!r} has 1 sample; neighbour-based "
                "sampling needs at least 2 — add images or use RandomOversampler"
            )
        k = min(5, n_min - 1)
        if k < 5:
            warnings.warn(
                f"k_neighbors='auto' uses k={k} because class "
                f"{python_value(classes[smallest])!r} has {n_min} samples",
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
            f"class {python_value(classes[smallest])!r} has {n_min} samples; k_neighbors={k} "
            f"needs at least {k + 1} — pass k_neighbors<={max(n_min - 1, 1)} or k_neighbors='auto'"
        )
    return k


class BaseImageSampler(BaseOverSampler):
    """Base class of every deepbalance sampler.

    An imbalanced-learn over-sampler (``isinstance(s, BaseOverSampler)``, tagged as a
    sampler), so it is a step of ``imblearn.pipeline.Pipeline`` and passes
    imbalanced-learn's sampler checks on dense data. Subclasses declare their
    parameters as keyword-only ``__init__`` arguments that are stored unchanged
    (so ``sklearn.base.clone`` works), and implement :meth:`_generate`.

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
        ``(C, H, W)`` of the fitted images (``(1, 1, D)`` for plain rows).
    n_features_in_ : int
        Values per image (``C * H * W``), as in scikit-learn.
    """

    #: whether ``_generate`` uses neighbours (so ``k_neighbors`` is checked)
    _uses_neighbors = True
    #: whether ``_generate`` works on the caller's values in any float range
    #: (pixel space, :func:`check_pixels`) or needs [0, 1] (:func:`check_images`)
    _any_range = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.two_d_array = True
        if hasattr(tags.input_tags, "dataframe"):
            tags.input_tags.dataframe = False
        if hasattr(tags.input_tags, "three_d_array"):
            tags.input_tags.three_d_array = True
        return tags

    def fit_resample(self, X, y):
        """Resample ``X, y`` so the classes chosen by ``sampling_strategy`` grow.

        Parameters
        ----------
        X : array of shape (N, C, H, W), (N, H, W) or (N, C*H*W) with ``image_shape``
            uint8 in [0, 255], uint16 in [0, 65535] or float in [0, 1]. Pixel samplers
            also take finite floats in any range and plain rows (N, D).
        y : array of shape (N,)
            Class labels of one type (ints or strings); a column vector or a one-hot
            matrix also works, as in imbalanced-learn.

        Returns
        -------
        X_resampled : array (a list when ``X`` is a list)
            ``X`` unchanged, followed by synthetic rows; same dtype, range and layout.
        y_resampled : array (a list when ``y`` is a list)
            Labels of the returned rows, in ``y``'s label space (one-hot if ``y`` was).
        """
        X_rows, layout = check_rows(
            X, getattr(self, "image_shape", None), "X", any_range=self._any_range
        )
        y_arr, n_one_hot = check_target(y)
        classes, y_enc = check_labels(y_arr, len(X_rows))
        n_new = resolve_sampling_strategy(self.sampling_strategy, y_enc, classes)
        counts = np.bincount(y_enc, minlength=len(classes))
        k = getattr(self, "k_neighbors", None)
        if self._uses_neighbors:
            k = resolve_k_neighbors(k, counts, self._neighbor_classes(y_enc, n_new), classes)
        X_arr = np.asarray(X)
        if sum(n_new.values()):
            parts = self._memory_estimate(X_rows, layout, counts, n_new)
            parts = {
                "returned array": (len(X_rows) + sum(n_new.values())) * _row_bytes(X_arr),
                **parts,
            }
            check_memory(parts, what=self._memory_request(X_rows), options=self._memory_options())
        rng = check_random_state(self.random_state)
        self.classes_ = classes
        self.image_shape_ = layout.image_shape
        self.n_features_in_ = int(np.prod(layout.image_shape))
        X01 = X_rows if self._lazy_rows else X_rows.materialize()
        if sum(n_new.values()):
            X_syn, y_syn, prov = self._generate(X01, y_enc, n_new, k_neighbors=k, rng=rng)
        else:
            X_syn = np.zeros((0, *layout.image_shape), X_rows.dtype)
            y_syn = np.zeros(0, np.int64)
            prov = Provenance.empty()
        del X01
        y_syn = np.asarray(y_syn, dtype=np.int64)
        if len(X_syn) != len(y_syn) or len(prov) != len(y_syn):
            raise RuntimeError(
                f"{type(self).__name__}._generate returned {len(X_syn)} images, {len(y_syn)} "
                f"labels and {len(prov)} provenance records"
            )
        y_syn_user = classes[y_syn].astype(y_arr.dtype, copy=False)
        made = np.bincount(y_syn, minlength=len(classes))
        self.sampling_strategy_ = {python_value(classes[c]): int(made[c]) for c in n_new}
        self.synthetic_mask_ = np.r_[np.zeros(len(X_rows), bool), np.ones(len(X_syn), bool)]
        self.provenance_ = prov.with_labels(y_syn_user)
        # the output is allocated once and filled in place (no concatenated temporaries)
        X_out = np.empty((len(X_arr) + len(X_syn), *X_arr.shape[1:]), X_arr.dtype)
        X_out[: len(X_arr)] = X_arr
        if isinstance(X_syn, LazyRows):
            X_syn.write_into(X_out[len(X_arr) :], layout)
        else:
            X_out[len(X_arr) :] = layout.restore(X_syn)
        del X_syn
        y_out = np.concatenate([y_arr, y_syn_user])
        if n_one_hot is not None:  # back to one-vs-all columns, as given
            one_hot = np.zeros((len(y_out), n_one_hot), np.asarray(y).dtype)
            one_hot[np.arange(len(y_out)), y_out.astype(np.int64)] = 1
            y_out = one_hot
        if isinstance(X, list):
            X_out = X_out.tolist()
        if isinstance(y, list):
            y_out = y_out.tolist()
        return X_out, y_out

    def _fit_resample(self, X, y):
        """imbalanced-learn's hook; deepbalance samplers do all their work in
        :meth:`fit_resample`, which this calls."""
        return self.fit_resample(X, y)

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

    #: whether ``_generate`` takes the input as :class:`PixelRows` (converted on demand)
    #: rather than as one float array
    _lazy_rows = False

    def _memory_estimate(self, X: PixelRows, layout: ImageLayout, counts, n_new) -> dict:
        """Bytes ``_generate`` needs besides the returned array, as ``{what: bytes}``.

        The default counts the float copy of the input and the synthetic rows as floats
        (what a sampler that makes an array in :meth:`_generate` holds at once).
        """
        n_syn = sum(n_new.values())
        work = X.n_features * X.dtype.itemsize
        parts = {"float synthetic rows": n_syn * work}
        if not self._lazy_rows:
            parts = {"float copy of X": X.nbytes, **parts}
        return parts

    def _memory_request(self, X: PixelRows) -> str:
        return (
            f"{type(self).__name__}.fit_resample on {len(X)} images of shape {tuple(X.shape[1:])}"
        )

    def _memory_options(self) -> list[str]:
        return [
            "pass smaller images (e.g. --size 112, or resize X)",
            "make fewer rows per call (a sampling_strategy dict with a few classes at a time, "
            "concatenating the synthetic rows of each call)",
            "or use a sampler that streams its rows (RandomOversampler, PixelSMOTE, PixelADASYN)",
        ]

    def _generate(self, X, y, n_new, *, k_neighbors, rng):
        """Make synthetic images.

        Parameters
        ----------
        X : float ndarray (N, C, H, W)
            In [0, 1] for latent samplers; pixel samplers (``_any_range``) get the
            caller's float values, or uint8/uint16 scaled to [0, 1].
        y : int64 ndarray (N,), encoded labels 0..n_classes-1
        n_new : dict {encoded class: number of rows to make}
        k_neighbors : int or object with ``kneighbors`` (already checked), or None
        rng : numpy RandomState

        Returns
        -------
        X_syn : float ndarray (M, C, H, W) in the units of ``X``, or :class:`LazyRows`
            that make them a chunk at a time (written straight into the output)
        y_syn : int ndarray (M,), encoded labels
        provenance : Provenance with indices into ``X``

        Samplers with ``_lazy_rows = True`` get ``X`` as :class:`PixelRows` (rows converted
        on demand) instead of one float array.
        """
        raise NotImplementedError
