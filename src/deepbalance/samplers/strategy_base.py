"""The latent-strategy contract and imbalanced-learn's over-samplers as strategies.

:class:`LatentStrategy` (the contract) and :class:`ImblearnStrategy` (any
imbalanced-learn over-sampler, with the provenance of each new row) live here, so
that strategies built on them (:mod:`deepbalance.samplers.calibration`) and the
registry (:mod:`deepbalance.samplers.strategies`, which re-exports these names)
import them without importing each other. What the provenance of each
imbalanced-learn sampler gives is described in :mod:`deepbalance.samplers.strategies`.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from imblearn.over_sampling import (
    ADASYN,
    SMOTE,
    SVMSMOTE,
    BorderlineSMOTE,
    KMeansSMOTE,
    RandomOverSampler,
)
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_neighbors_object
from sklearn.base import BaseEstimator, clone
from sklearn.neighbors import NearestNeighbors

from .._checks import check_choice, check_random_state, seed_from
from .base import BaseImageSampler, LazyRows, PixelRows, resolve_k_neighbors
from .provenance import Provenance

SHORTFALL_CHOICES = ("smote", "warn", "raise")


def check_latent_inputs(Z, y, n_new) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
    """Validate the arguments of :meth:`LatentStrategy.sample`.

    Returns ``Z`` as a float32/float64 C-contiguous array, ``y`` as int64 and
    ``n_new`` as ``{class: rows}`` without zero entries.
    """
    if not hasattr(Z, "__array__") and not isinstance(Z, (list, tuple)):
        raise TypeError(f"Z must be a 2-D array of rows, got {type(Z).__name__}")
    Z = np.asarray(Z)
    if Z.dtype == object or not (
        np.issubdtype(Z.dtype, np.floating) or np.issubdtype(Z.dtype, np.integer)
    ):
        raise TypeError(f"Z has dtype {Z.dtype}; pass a float array (n, d)")
    if Z.ndim != 2 or Z.shape[0] == 0 or Z.shape[1] == 0:
        raise ValueError(
            f"Z has shape {Z.shape}; pass a non-empty 2-D array (n, d) — flatten images first"
        )
    Z = np.ascontiguousarray(Z, dtype=Z.dtype if Z.dtype == np.float32 else np.float64)
    if not np.all(np.isfinite(Z)):
        raise ValueError("Z contains NaN/inf values; clean them before sampling")
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(Z):
        raise ValueError(
            f"y has shape {y.shape} but Z has {len(Z)} rows; pass one encoded label per row"
        )
    if not np.issubdtype(y.dtype, np.integer) or (len(y) and y.min() < 0):
        raise ValueError(
            "y must hold encoded labels 0..K-1 (non-negative ints); encode them first, "
            "e.g. with np.unique(y, return_inverse=True)"
        )
    y = y.astype(np.int64)
    if not isinstance(n_new, dict):
        raise TypeError(f"n_new={n_new!r} must be a dict {{class: rows to make}}")
    counts = np.bincount(y)
    clean = {}
    for c, n in n_new.items():
        if isinstance(c, bool) or not isinstance(c, numbers.Integral):
            raise TypeError(f"n_new key {c!r} must be an encoded class (int)")
        if not 0 <= int(c) < len(counts) or counts[int(c)] == 0:
            raise ValueError(
                f"n_new names class {c!r}, which has no rows in y; pass classes present in y"
            )
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"n_new[{c}]={n!r} must be a non-negative int number of rows")
        if n:
            clean[int(c)] = int(n)
    return Z, y, dict(sorted(clean.items()))


class LatentStrategy(BaseEstimator):
    """A rule that makes new rows of a 2-D array for given classes.

    Subclasses store their parameters in a keyword-only ``__init__`` and
    implement :meth:`_sample`; :meth:`sample` validates the inputs first.
    """

    #: name written in the provenance of the rows this strategy makes
    name = "strategy"
    #: whether ``k_neighbors`` matters (it is checked against class sizes when it does)
    uses_neighbors = True

    def sample(self, Z, y, n_new, *, k_neighbors=5, rng=None):
        """Make ``n_new[c]`` new rows for each class ``c``.

        Parameters
        ----------
        Z : array (n, d)
            Rows to grow from (flattened pixels or latent codes).
        y : int array (n,)
            Encoded labels 0..K-1.
        n_new : dict
            ``{class: number of rows to make}``.
        k_neighbors : int, 'auto', object with ``kneighbors`` or None
            Neighbours for neighbour-based rules; None keeps the rule's own setting.
        rng : None, int or numpy RandomState
            Source of every random choice.

        Returns
        -------
        Z_new : array (m, d), same float dtype as ``Z``
        y_new : int64 array (m,)
        provenance : Provenance with indices into the rows of ``Z``
        """
        Z, y, n_new = check_latent_inputs(Z, y, n_new)
        rng = check_random_state(rng)
        if self.uses_neighbors and k_neighbors is not None:
            counts = np.bincount(y)
            grow = self._neighbor_classes(y, n_new)
            k_neighbors = resolve_k_neighbors(k_neighbors, counts, grow, np.arange(len(counts)))
        if not n_new:
            return np.zeros((0, Z.shape[1]), Z.dtype), np.zeros(0, np.int64), Provenance.empty()
        Z_new, y_new, prov = self._sample(Z, y, n_new, k_neighbors=k_neighbors, rng=rng)
        return np.asarray(Z_new, dtype=Z.dtype), np.asarray(y_new, dtype=np.int64), prov

    def _neighbor_classes(self, y, n_new) -> dict[int, int]:
        """The part of ``n_new`` made from neighbours (``k_neighbors`` is checked on it)."""
        return n_new

    def _sample(self, Z, y, n_new, *, k_neighbors, rng):
        raise NotImplementedError


IMBLEARN_NAMES = {
    SMOTE: "smote",
    ADASYN: "adasyn",
    BorderlineSMOTE: "borderline-smote",
    SVMSMOTE: "svm-smote",
    KMeansSMOTE: "kmeans-smote",
    RandomOverSampler: "random",
}


class ImblearnStrategy(LatentStrategy):
    """Any imbalanced-learn over-sampler as a :class:`LatentStrategy`.

    The sampler is cloned for each call and given a dict ``sampling_strategy``
    of target counts (current + ``n_new``), the caller's ``k_neighbors`` (as
    ``k_neighbors`` or ``n_neighbors``, whichever it takes) and a random state
    drawn from ``rng``. See the module docstring for what the provenance gives.

    Parameters
    ----------
    sampler : imblearn over-sampler instance
        e.g. ``SMOTE()``, ``ADASYN()``, ``BorderlineSMOTE(kind="borderline-2")``.
    shortfall : {"smote", "warn", "raise"}, default="smote"
        What to do when the sampler makes fewer rows than asked (``SVMSMOTE`` and
        ``BorderlineSMOTE`` can): "smote" warns with the counts and makes the rest
        with plain SMOTE, "warn" warns and returns fewer rows, "raise" raises.
        Rows beyond the request (``KMeansSMOTE`` rounds up; ``ADASYN`` is asked for
        a little more than needed because its per-row rounding can fall short) are
        dropped at random.
    """

    def __init__(self, sampler, *, shortfall="smote"):
        self.sampler = sampler
        self.shortfall = shortfall

    @property
    def name(self) -> str:
        kind = type(self.sampler)
        return IMBLEARN_NAMES.get(kind, kind.__name__.lower())

    @property
    def uses_neighbors(self) -> bool:
        params = self.sampler.get_params(deep=False) if is_oversampler(self.sampler) else {}
        return "k_neighbors" in params or "n_neighbors" in params

    def _sample(self, Z, y, n_new, *, k_neighbors, rng):
        return self._flow(Z, y, n_new, k_neighbors, rng, self._run, planned=False)

    @property
    def plannable(self) -> bool:
        """Whether :meth:`sample_rows` can make this sampler's rows without a float array.

        True for plain ``SMOTE``, ``ADASYN`` and ``RandomOverSampler`` (without shrinkage),
        whose rows are copies or interpolations between two rows.
        """
        kind = type(self.sampler)
        if kind is RandomOverSampler:
            return self.sampler.shrinkage is None
        return kind in (SMOTE, ADASYN)

    def sample_rows(self, rows, y, n_new, *, k_neighbors=5, rng=None):
        """:meth:`sample` for rows read on demand, returning a plan instead of an array.

        Makes the same rows, provenance and random draws as :meth:`sample` on the whole
        float array, while only one class's rows are held as floats at a time (plus, for
        ADASYN, one float copy of all rows for its density weights).

        Parameters
        ----------
        rows : PixelRows or array (n, d)
            Rows converted on demand (:class:`deepbalance.samplers.base.PixelRows`), or
            a plain float array.
        y, n_new, k_neighbors, rng
            As in :meth:`sample`.

        Returns
        -------
        plan : PlannedRows
            ``base + step * (neighbour - base)`` per new row; ``plan.lazy(rows)`` makes them.
        y_new : int64 array (m,)
        provenance : Provenance
        """
        if not self.plannable:
            raise ValueError(
                f"strategy {self.name!r} ({type(self.sampler).__name__}) cannot be planned; "
                "call sample() on the whole array instead"
            )
        if not (hasattr(rows, "take") and hasattr(rows, "n_features")):
            Z, _, _ = check_latent_inputs(rows, y, {})  # a plain 2-D array works too
            rows = PixelRows(Z, Z.dtype, None)
        _, y, n_new = check_latent_inputs(np.zeros((len(y), 1)), y, n_new)
        if len(y) != len(rows):
            raise ValueError(f"y has {len(y)} labels but rows has {len(rows)}; pass one per row")
        rng = check_random_state(rng)
        if self.uses_neighbors and k_neighbors is not None:
            counts = np.bincount(y)
            k_neighbors = resolve_k_neighbors(k_neighbors, counts, n_new, np.arange(len(counts)))
        if not n_new:
            return PlannedRows.empty(), np.zeros(0, np.int64), Provenance.empty()
        cache: dict = {}

        def run(rows, y, n_new, k_neighbors, rng):
            return self._run_planned(rows, y, n_new, k_neighbors, rng, cache)

        plan, y_new, prov = self._flow(rows, y, n_new, k_neighbors, rng, run, planned=True)
        return plan, np.asarray(y_new, dtype=np.int64), prov

    def _flow(self, Z, y, n_new, k_neighbors, rng, run, *, planned):
        """Run the sampler (``run``), per class when ADASYN cannot weight a class, then
        :meth:`_fix_counts`; ``Z`` is an array or, when ``planned``, a :class:`PixelRows`."""
        if not is_oversampler(self.sampler):
            raise TypeError(
                f"sampler={self.sampler!r} must be an imbalanced-learn over-sampler instance, "
                "e.g. SMOTE()"
            )
        check_choice(self.shortfall, "shortfall", SHORTFALL_CHOICES)
        try:
            parts = [run(Z, y, n_new, k_neighbors, rng)]
        except RuntimeError as err:
            if not isinstance(self.sampler, ADASYN):
                raise RuntimeError(f"strategy {self.name!r} failed: {err}") from err
            # ADASYN stops at the first class none of whose rows has a neighbour of another
            # class (its density weights are 0/0); run the classes one by one instead and
            # leave those classes to the shortfall handling
            parts = []
            for c, n in n_new.items():
                if len(n_new) > 1:
                    try:
                        parts.append(run(Z, y, {c: n}, k_neighbors, rng))
                        continue
                    except RuntimeError:
                        pass
                warnings.warn(
                    f"ADASYN cannot weight class {c}: none of its rows has a neighbour "
                    "of another class",
                    UserWarning,
                    stacklevel=4 if planned else 3,
                )
        if planned:
            Z_syn = PlannedRows.concat([p[0] for p in parts])
        else:
            Z_syn = np.concatenate([p[0] for p in parts]) if parts else Z[:0]
        y_syn = np.concatenate([p[1] for p in parts]) if parts else y[:0]
        prov = Provenance.concat([p[2] for p in parts])
        return self._fix_counts(Z, y, Z_syn, y_syn, prov, n_new, k_neighbors, rng, planned=planned)

    def _run(self, Z, y, n_new, k_neighbors, rng):
        """One run of the sampler on the whole array; the new rows and their provenance.

        ``SMOTE``, ``ADASYN`` and ``RandomOverSampler`` (the plannable ones) run through the
        interpolation kernel of :meth:`_run_planned`, which records base, neighbour and
        ``lam`` as it makes each row and makes the rows imbalanced-learn's ``fit_resample``
        makes, bit for bit. Any other over-sampler runs unchanged; its provenance is what it
        exposes (``sample_indices_``) or else what :func:`segment_provenance` recovers from
        the rows it returned.
        """
        if self.plannable:
            rows = PixelRows(Z, Z.dtype, None)
            plan, y_syn, prov = self._run_planned(rows, y, n_new, k_neighbors, rng, {})
            return plan.render(rows, 0, len(plan)), y_syn, prov
        est, _ = self._configured(y, n_new, k_neighbors, rng)
        try:
            Z_res, y_res = est.fit_resample(Z, y)
        except ValueError as err:
            raise ValueError(f"strategy {self.name!r} failed: {err}") from err
        Z_syn = np.asarray(Z_res[len(Z) :], dtype=Z.dtype)
        y_syn = np.asarray(y_res[len(Z) :], dtype=np.int64)
        if hasattr(est, "sample_indices_"):
            base = np.asarray(est.sample_indices_[len(Z) :], dtype=np.int64)
            if len(base) == len(Z_syn):
                return Z_syn, y_syn, Provenance.build(y_syn, base, strategy=self.name)
        prov = segment_provenance(Z, y, Z_syn, y_syn, self.name, k_neighbors=k_neighbors)
        return Z_syn, y_syn, prov

    def _configured(self, y, n_new, k_neighbors, rng):
        """The clone of the sampler that :meth:`_run` fits: targets, random state, k."""
        counts = np.bincount(y)
        est = clone(self.sampler)
        params = est.get_params(deep=False)
        ask = dict(n_new)
        if isinstance(est, ADASYN):
            # ADASYN rounds each row's share (np.rint), losing up to half a row per class row;
            # ask for that much more and drop the surplus at random afterwards
            ask = {c: n + (int(counts[c]) + 1) // 2 for c, n in n_new.items()}
        update = {"sampling_strategy": {c: int(counts[c] + n) for c, n in ask.items()}}
        if "random_state" in params:
            # a RandomState (not an int) so successive classes get fresh draws
            update["random_state"] = np.random.RandomState(seed_from(rng))
        if k_neighbors is not None:
            for key in ("k_neighbors", "n_neighbors"):
                if key in params:
                    update[key] = k_neighbors
        est.set_params(**update)
        return est, dict(sorted(ask.items()))

    def _run_planned(self, rows, y, n_new, k_neighbors, rng, cache):
        """:meth:`_run` without the float array: which rows each new row is made from.

        ``RandomOverSampler`` runs as itself on a column of row numbers (its draws do not
        depend on the values). ``SMOTE`` and ``ADASYN`` are re-enacted step by step: the
        same neighbour searches (the neighbours object of imbalanced-learn's
        ``check_neighbors_object`` fitted on the class's rows, and for ADASYN's weights on
        all rows), the same draws from the same ``RandomState`` in the same order (SMOTE's
        ``_make_samples``: ``randint`` over the neighbour table, then ``uniform`` steps;
        ADASYN: ``np.rint`` shares, ``choice`` of neighbour columns, then ``uniform``), so
        the rows rendered by :class:`PlannedRows` equal imbalanced-learn's ``fit_resample``
        output bit for bit (tests/samplers/test_pixel_scale.py checks it against outputs of
        the whole-array implementation).
        """
        est, ask = self._configured(y, n_new, k_neighbors, rng)
        if isinstance(est, RandomOverSampler):
            try:
                est.fit_resample(np.arange(len(y))[:, None], y)
            except ValueError as err:
                raise ValueError(f"strategy {self.name!r} failed: {err}") from err
            base = np.asarray(est.sample_indices_[len(y) :], dtype=np.int64)
            y_syn = y[base]
            nan = np.full(len(base), np.nan)
            plan = PlannedRows(base, np.full(len(base), -1, np.int64), nan)
            return plan, y_syn, Provenance.build(y_syn, base, strategy=self.name)
        rs = est.random_state
        adasyn = isinstance(est, ADASYN)
        k_spec = est.n_neighbors if adasyn else est.k_neighbors
        if adasyn:
            shares = self._adasyn_shares(rows, y, ask, k_spec, cache)
        bases, nbs, steps, labels = [], [], [], []
        for c, n in ask.items():
            own = np.flatnonzero(y == c)
            nns = self._class_neighbors(rows, own, c, k_spec, cache)
            if adasyn:
                ratio_nn = shares[c].copy()
                ratio_nn /= np.sum(ratio_nn)
                n_generate = np.rint(ratio_nn * n).astype(int)
                n = int(np.sum(n_generate))
                if not n:
                    raise ValueError(
                        f"strategy {self.name!r} failed: No samples will be generated with "
                        "the provided ratio settings."
                    )
                local = np.repeat(np.arange(len(own)), n_generate)
                cols = rs.choice(nns.shape[1], size=n)
                step = rs.uniform(size=(n, 1)).ravel()
            else:
                picks = rs.randint(low=0, high=nns.size, size=n)
                step = 1.0 * rs.uniform(size=n)
                local = np.floor_divide(picks, nns.shape[1])
                cols = np.mod(picks, nns.shape[1])
            bases.append(own[local])
            nbs.append(own[nns[local, cols]])
            steps.append(step)
            labels.append(np.full(n, c, np.int64))
        base, nb, lam = np.concatenate(bases), np.concatenate(nbs), np.concatenate(steps)
        y_syn = np.concatenate(labels)
        prov = Provenance.build(y_syn, base, neighbor_index=nb, lam=lam, strategy=self.name)
        return PlannedRows(base, nb, lam), y_syn, prov

    def _class_neighbors(self, rows, own, c, k_spec, cache) -> np.ndarray:
        """``kneighbors`` of the class's rows among themselves, without the row itself."""
        key = ("class", int(c), k_spec if isinstance(k_spec, numbers.Integral) else id(k_spec))
        if key not in cache:
            nn = check_neighbors_object("k_neighbors", k_spec, additional_neighbor=1)
            Xc = rows.take(own)
            try:
                nn.fit(Xc)
                cache[key] = nn.kneighbors(Xc, return_distance=False)[:, 1:]
            except ValueError as err:
                raise ValueError(f"strategy {self.name!r} failed: {err}") from err
            del Xc, nn
        return cache[key]

    def _adasyn_shares(self, rows, y, ask, k_spec, cache) -> dict:
        """Per class row, the share of its neighbours among all rows that are of another
        class (ADASYN's unnormalised weights); raises RuntimeError like ADASYN when a
        class's shares are all 0."""
        missing = [c for c in ask if ("share", c) not in cache]
        if missing:
            nn = check_neighbors_object("n_neighbors", k_spec, additional_neighbor=1)
            X_all = rows.take(np.arange(len(rows)))
            try:
                nn.fit(X_all)
                for c in missing:
                    own = np.flatnonzero(y == c)
                    nns = nn.kneighbors(X_all[own], return_distance=False)[:, 1:]
                    cache[("share", c)] = np.sum(y[nns] != c, axis=1) / (nn.n_neighbors - 1)
            except ValueError as err:
                raise ValueError(f"strategy {self.name!r} failed: {err}") from err
            del X_all, nn
        for c in ask:
            if not np.sum(cache[("share", c)]):
                raise RuntimeError(
                    "Not any neigbours belong to the majority class. This case will induce a "
                    "NaN case with a division by zero. ADASYN is not suited for this specific "
                    "dataset. Use SMOTE instead."
                )
        return {c: cache[("share", c)] for c in ask}

    def _fix_counts(self, Z, y, Z_syn, y_syn, prov, n_new, k_neighbors, rng, *, planned=False):
        """Drop rows beyond the request; handle a shortfall per ``self.shortfall``."""
        keep, missing = [], {}
        for c, want in n_new.items():
            rows = np.flatnonzero(y_syn == c)
            if len(rows) > want:
                rows = np.sort(rng.choice(rows, size=want, replace=False))
            elif len(rows) < want:
                missing[c] = (len(rows), want)
            keep.append(rows)
        keep = np.concatenate(keep) if keep else np.zeros(0, np.int64)
        Z_syn, y_syn, prov = Z_syn[keep], y_syn[keep], _take(prov, keep)
        if not missing:
            return Z_syn, y_syn, prov
        detail = ", ".join(f"class {c}: {got} of {want}" for c, (got, want) in missing.items())
        if self.shortfall == "raise":
            raise ValueError(
                f"strategy {self.name!r} made fewer rows than asked ({detail}); pass "
                "shortfall='smote' to complete them with SMOTE or use another strategy"
            )
        if self.shortfall == "warn":
            warnings.warn(
                f"strategy {self.name!r} made fewer rows than asked ({detail})",
                UserWarning,
                stacklevel=4,
            )
            return Z_syn, y_syn, prov
        warnings.warn(
            f"strategy {self.name!r} made fewer rows than asked ({detail}); the rest come "
            "from SMOTE",
            UserWarning,
            stacklevel=4,
        )
        rest = {c: want - got for c, (got, want) in missing.items()}
        if not (isinstance(k_neighbors, numbers.Integral) or hasattr(k_neighbors, "kneighbors")):
            k_neighbors = "auto"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            smote = ImblearnStrategy(SMOTE())
            complete = smote.sample_rows if planned else smote.sample
            Z2, y2, prov2 = complete(Z, y, rest, k_neighbors=k_neighbors, rng=rng)
        return (
            PlannedRows.concat([Z_syn, Z2]) if planned else np.concatenate([Z_syn, Z2]),
            np.concatenate([y_syn, y2]),
            Provenance.concat([prov, prov2]),
        )


#: float64 values per rendering step of :class:`PlannedRows` (about 32 MB per temporary)
RENDER_CHUNK_VALUES = 1 << 22


class PlannedRows:
    """New rows described by the rows they are made from, made only when asked for.

    Row ``i`` is ``X[base[i]] + step[i] * (X[neighbor[i]] - X[base[i]])``, computed as
    imbalanced-learn's SMOTE and ADASYN compute it (the difference in the rows' float
    dtype, the step in float64, the result cast back), or a copy of ``X[base[i]]`` where
    ``neighbor[i]`` is -1.

    Parameters
    ----------
    base, neighbor : int64 arrays (m,)
        Rows of the input (``neighbor`` -1 for a copy).
    step : float64 array (m,)
        Interpolation step (ignored for copies).
    """

    def __init__(self, base, neighbor, step):
        self.base = np.asarray(base, dtype=np.int64)
        self.neighbor = np.asarray(neighbor, dtype=np.int64)
        self.step = np.asarray(step, dtype=np.float64)

    @classmethod
    def empty(cls) -> PlannedRows:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))

    @classmethod
    def concat(cls, parts) -> PlannedRows:
        parts = list(parts)
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls._FIELDS))

    _FIELDS = ("base", "neighbor", "step")

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, rows) -> PlannedRows:
        return PlannedRows(self.base[rows], self.neighbor[rows], self.step[rows])

    def render(self, rows, start: int, stop: int) -> np.ndarray:
        """Working values of new rows ``start:stop``, shape ``(stop - start, D)``."""
        b = rows.take(self.base[start:stop])
        nb = self.neighbor[start:stop]
        copy = nb < 0
        if copy.all():
            return b
        diffs = rows.take(np.where(copy, self.base[start:stop], nb))
        diffs -= b  # the neighbour minus the base, in the rows' dtype
        # b + step * diffs with the step in float64 (as imbalanced-learn), in place
        wide = np.multiply(diffs, self.step[start:stop, None])
        wide += b
        out = wide.astype(b.dtype, copy=False)
        if copy.any():
            out[copy] = b[copy]
        return out

    def lazy(self, rows, *, chunk_values: int | None = None) -> LazyRows:
        """A :class:`~deepbalance.samplers.base.LazyRows` rendering ``chunk_values`` values
        at a time (default :data:`RENDER_CHUNK_VALUES`)."""
        chunk_values = RENDER_CHUNK_VALUES if chunk_values is None else int(chunk_values)
        step = max(1, chunk_values // max(rows.n_features, 1))

        def chunks():
            for start in range(0, len(self), step):
                stop = min(len(self), start + step)
                yield start, stop, self.render(rows, start, stop)

        return LazyRows(len(self), chunks)


def is_oversampler(obj) -> bool:
    """An imbalanced-learn over-sampler instance (deepbalance's own image samplers are not
    strategies, though they are over-samplers too)."""
    return (
        isinstance(obj, BaseOverSampler)
        and not isinstance(obj, type)
        and not isinstance(obj, BaseImageSampler)
    )


def _take(prov: Provenance, rows: np.ndarray) -> Provenance:
    return Provenance(*(getattr(prov, f)[rows] for f in Provenance.FIELDS))


def _tolerance(Z) -> float:
    """Absolute rounding slack for rows built from ``Z`` (float32 or float64)."""
    return (1e-6 if Z.dtype == np.float32 else 1e-10) * (1.0 + float(np.abs(Z).max()))


def _interp_ok_values(S, A, diff, lam, tol) -> np.ndarray:
    pred = A + lam[:, None] * diff
    return np.all(np.abs(pred - S) <= tol + 1e-5 * np.abs(pred), axis=1)


def _k_of(k_neighbors, default: int = 5) -> int:
    if isinstance(k_neighbors, numbers.Integral) and not isinstance(k_neighbors, bool):
        return int(k_neighbors)
    n = getattr(k_neighbors, "n_neighbors", None)
    return max(int(n) - 1, 1) if isinstance(n, numbers.Integral) else default


def segment_provenance(Z, y, Z_syn, y_syn, name, *, k_neighbors=5) -> Provenance:
    """Recover base, neighbour and ``lam`` of rows made by interpolating between rows of a class.

    For each new row every pair (a, b) of its class with ``b`` among the k nearest
    rows of ``a`` is scored by the distance from the row to the segment a→b (from
    inner products, so the search is a matrix product); the best pair is accepted
    when the row lies on it up to rounding, re-checked on the rows themselves.
    Rows on no segment get their nearest class row as base, neighbour -1 and
    ``lam`` NaN. Used for imbalanced-learn samplers that run unchanged and expose nothing
    (``BorderlineSMOTE``, ``SVMSMOTE``, ``KMeansSMOTE``, ...): it works on their output only,
    so it needs none of their private methods.
    """
    n = len(y_syn)
    base = np.full(n, -1, np.int64)
    nb = np.full(n, -1, np.int64)
    lam = np.full(n, np.nan)
    k = _k_of(k_neighbors)
    tol = _tolerance(Z)
    for c in np.unique(y_syn):
        rows = np.flatnonzero(y_syn == c)
        own = np.flatnonzero(y == c)
        Zc = Z[own].astype(np.float64)
        kk = min(k, len(own) - 1)
        graph = np.zeros((len(own), 0), np.int64)
        if kk >= 1:
            nn = NearestNeighbors(n_neighbors=kk + 1).fit(Zc)
            graph = nn.kneighbors(Zc, return_distance=False)[:, 1:]
        sq = np.einsum("ij,ij->i", Zc, Zc)
        ab = np.zeros(graph.shape)  # a.b per pair
        for j in range(graph.shape[1]):
            ab[:, j] = np.einsum("ij,ij->i", Zc, Zc[graph[:, j]])
        vv = sq[:, None] - 2.0 * ab + sq[graph]  # |b - a|^2 per pair
        chunk = max(1, int(2e6 // (len(own) * max(kk, 1))))
        for start in range(0, len(rows), chunk):
            r = rows[start : start + chunk]
            S = Z_syn[r].astype(np.float64)
            G = S @ Zc.T  # s.a
            d2 = np.einsum("ij,ij->i", S, S)[:, None] - 2.0 * G + sq[None]  # |s - a|^2
            base[r] = own[d2.argmin(axis=1)]
            if kk < 1:
                continue
            uv = G[:, graph] - G[:, :, None] - ab[None] + sq[None, :, None]  # (s-a).(b-a)
            t = np.clip(uv / np.where(vv > 0, vv, 1.0), 0.0, 1.0)  # on the segment, not the line
            score = (d2[:, :, None] - 2.0 * t * uv + t * t * vv).reshape(len(r), -1)
            best = score.argmin(axis=1)
            a_loc, j = np.divmod(best, graph.shape[1])
            b_loc = graph[a_loc, j]
            found, t_best = _on_segment(S, Zc[a_loc], Zc[b_loc], tol)
            base[r[found]] = own[a_loc[found]]
            nb[r[found]] = own[b_loc[found]]
            lam[r[found]] = t_best[found]
    return Provenance.build(y_syn, base, neighbor_index=nb, lam=lam, strategy=name)


def _on_segment(S, A, B, tol):
    """Whether each row of ``S`` lies on the segment A→B (up to rounding), and its ``lam``."""
    diff = B - A
    denom = np.einsum("ij,ij->i", diff, diff)
    t = np.einsum("ij,ij->i", S - A, diff) / np.where(denom > 0, denom, 1.0)
    t = np.clip(t, 0.0, 1.0)
    return _interp_ok_values(S, A, diff, t, tol), t
