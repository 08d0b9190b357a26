"""Pixel-space samplers: imbalanced-learn's over-samplers on flattened images."""

from __future__ import annotations

import numpy as np
from imblearn.over_sampling import ADASYN, RandomOverSampler
from sklearn.base import clone

from .base import BaseImageSampler
from .strategies import ImblearnStrategy, LatentStrategy, make_strategy
from .strategy_base import RENDER_CHUNK_VALUES


class _PixelSampler(BaseImageSampler):
    """Flattens images, runs a :class:`LatentStrategy` on the pixels, reshapes back.

    Takes what imbalanced-learn's samplers take as well as images: finite floats in
    any range (e.g. normalised tensors) and plain rows (N, D) without ``image_shape``;
    the output keeps the input's dtype, range and layout. After fitting,
    ``strategy_`` holds the strategy that made the rows.

    Memory: SMOTE, ADASYN and random over-sampling (plain imbalanced-learn samplers) never
    hold the images as one float array. The neighbour search converts one class at a time
    (ADASYN's density weights also need one float copy of all rows), the new rows are
    planned as (base, neighbour, step) and then computed a few thousand values at a time,
    straight into the preallocated output in the input's dtype. The rows and their random
    draws are those of imbalanced-learn's ``fit_resample`` on the whole float array, bit
    for bit. Other strategies run on the whole float array. ``fit_resample`` refuses,
    before starting, a request whose estimated memory exceeds what is available
    (:mod:`deepbalance.samplers.memory`).
    """

    _any_range = True
    _lazy_rows = True

    def _strategy(self) -> LatentStrategy:
        raise NotImplementedError

    def _planned(self, strategy) -> bool:
        return isinstance(strategy, ImblearnStrategy) and strategy.plannable

    def _neighbor_classes(self, y, n_new):
        return self._strategy()._neighbor_classes(y, n_new)

    def _memory_estimate(self, X, layout, counts, n_new):
        strategy = self._strategy()
        d, w = X.n_features, X.dtype.itemsize
        n_syn = sum(n_new.values())
        if not self._planned(strategy):
            # whole-array path: the float copy, imbalanced-learn's stacked output and copies,
            # the float64 intermediate of the new rows and the restored rows' temporaries
            return {
                "float copies of X": 3 * len(X) * d * w,
                "float synthetic rows and temporaries": n_syn * d * (6 * w + 8),
            }
        if isinstance(strategy.sampler, RandomOverSampler):
            return {"rendering temporaries": 2 * RENDER_CHUNK_VALUES * 8, "plan": n_syn * 8 * 4}
        largest = max(int(counts[c]) for c in n_new)
        parts = {
            "float copy of the largest growing class": largest * d * w,
            "neighbour search": 2 * 256 * d * 8 + 256 * largest * 8,
            "rendering temporaries": 6 * RENDER_CHUNK_VALUES * 8,
            "plan": n_syn * 8 * 4,
        }
        if isinstance(strategy.sampler, ADASYN):
            parts["float copy of all rows (ADASYN's weights)"] = len(X) * d * w
        return parts

    def _memory_options(self):
        options = [
            "pass smaller images (e.g. --size 112, or resize X)",
            "make fewer rows per call (a sampling_strategy dict with a few classes at a time, "
            "concatenating the synthetic rows of each call)",
        ]
        if not self._planned(self._strategy()):
            options.append("or use PixelSMOTE, PixelADASYN or RandomOversampler, which stream")
        else:
            options.append("or use RandomOversampler (no float copies at all)")
        return options

    def _generate(self, X, y, n_new, *, k_neighbors, rng):
        strategy = self.strategy_ = self._strategy()
        if self._planned(strategy):
            plan, y_new, prov = strategy.sample_rows(X, y, n_new, k_neighbors=k_neighbors, rng=rng)
            X_new = plan.lazy(X)
        else:
            Z = X.materialize().reshape(len(X), -1)
            Z_new, y_new, prov = strategy.sample(Z, y, n_new, k_neighbors=k_neighbors, rng=rng)
            del Z
            X_new = Z_new.reshape(len(Z_new), *X.shape[1:])
        if self.verbose:
            made = np.bincount(y_new, minlength=len(np.bincount(y)))
            summary = ", ".join(f"class {c}: +{int(made[c])}" for c in n_new)
            print(f"{type(self).__name__} ({strategy.name} on pixels): {summary}")
        return X_new, y_new, prov


class RandomOversampler(_PixelSampler):
    """Random over-sampling: repeat randomly chosen images of each class.

    Wraps imbalanced-learn's ``RandomOverSampler``; provenance gives the copied row.

    Parameters
    ----------
    sampling_strategy : str, dict, float or callable, default="auto"
        Which classes grow and to what size, as in imbalanced-learn.
    random_state : None, int or RandomState
    image_shape : tuple, optional
        ``(C, H, W)`` when ``X`` is passed flattened (e.g. in a pipeline).
    verbose : bool, default=False
        Print how many rows each class got.
    """

    _uses_neighbors = False

    def __init__(
        self, *, sampling_strategy="auto", random_state=None, image_shape=None, verbose=False
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.image_shape = image_shape
        self.verbose = verbose

    def _strategy(self):
        return make_strategy("random")


class PixelSMOTE(_PixelSampler):
    """SMOTE on flattened pixels (imbalanced-learn's ``SMOTE``), as in CLE-SMOTE.

    Parameters
    ----------
    sampling_strategy : str, dict, float or callable, default="auto"
    random_state : None, int or RandomState
    k_neighbors : int, 'auto' or object with ``kneighbors``, default=5
        Neighbours within the class; an object must have ``n_neighbors = k + 1``.
    image_shape : tuple, optional
        ``(C, H, W)`` when ``X`` is passed flattened.
    verbose : bool, default=False
    """

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        k_neighbors=5,
        image_shape=None,
        verbose=False,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.image_shape = image_shape
        self.verbose = verbose

    def _strategy(self):
        return make_strategy("smote")


class PixelADASYN(_PixelSampler):
    """ADASYN on flattened pixels (imbalanced-learn's ``ADASYN``).

    Parameters are those of :class:`PixelSMOTE`.
    """

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        k_neighbors=5,
        image_shape=None,
        verbose=False,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.image_shape = image_shape
        self.verbose = verbose

    def _strategy(self):
        return make_strategy("adasyn")


class PixelOversampler(_PixelSampler):
    """Any imbalanced-learn over-sampler (or latent strategy) on flattened pixels.

    Parameters
    ----------
    strategy : str, imblearn over-sampler instance or LatentStrategy, default="smote"
        e.g. ``BorderlineSMOTE(kind="borderline-2")``; see :func:`make_strategy`.
        Its own ``sampling_strategy``/``random_state`` are replaced by this sampler's,
        and its ``k_neighbors``/``n_neighbors`` by ``k_neighbors`` unless that is None.
    sampling_strategy : str, dict, float or callable, default="auto"
    random_state : None, int or RandomState
    k_neighbors : int, 'auto', object with ``kneighbors`` or None, default=5
    image_shape : tuple, optional
    verbose : bool, default=False
    """

    def __init__(
        self,
        *,
        strategy="smote",
        sampling_strategy="auto",
        random_state=None,
        k_neighbors=5,
        image_shape=None,
        verbose=False,
    ):
        self.strategy = strategy
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.image_shape = image_shape
        self.verbose = verbose

    @property
    def _uses_neighbors(self) -> bool:
        return self.k_neighbors is not None and self._strategy().uses_neighbors

    def _strategy(self):
        return clone(make_strategy(self.strategy))
