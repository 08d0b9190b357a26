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
from sklearn.base import BaseEstimator, clone
from sklearn.neighbors import NearestNeighbors

from .._checks import check_choice, check_random_state, seed_from
from .base import BaseImageSampler, resolve_k_neighbors
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


_IMBLEARN_NAMES = {
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
        return _IMBLEARN_NAMES.get(kind, kind.__name__.lower())

    @property
    def uses_neighbors(self) -> bool:
        params = self.sampler.get_params(deep=False) if _is_oversampler(self.sampler) else {}
        return "k_neighbors" in params or "n_neighbors" in params

    def _sample(self, Z, y, n_new, *, k_neighbors, rng):
        if not _is_oversampler(self.sampler):
            raise TypeError(
                f"sampler={self.sampler!r} must be an imbalanced-learn over-sampler instance, "
                "e.g. SMOTE()"
            )
        check_choice(self.shortfall, "shortfall", SHORTFALL_CHOICES)
        try:
            parts = [self._run(Z, y, n_new, k_neighbors, rng)]
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
                        parts.append(self._run(Z, y, {c: n}, k_neighbors, rng))
                        continue
                    except RuntimeError:
                        pass
                warnings.warn(
                    f"ADASYN cannot weight class {c}: none of its rows has a neighbour "
                    "of another class",
                    UserWarning,
                    stacklevel=3,
                )
        Z_syn = np.concatenate([p[0] for p in parts]) if parts else Z[:0]
        y_syn = np.concatenate([p[1] for p in parts]) if parts else y[:0]
        prov = Provenance.concat([p[2] for p in parts])
        return self._fix_counts(Z, y, Z_syn, y_syn, prov, n_new, k_neighbors, rng)

    def _run(self, Z, y, n_new, k_neighbors, rng):
        """One call of the imbalanced-learn sampler; the new rows and their provenance."""
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
        recorder = _SmoteRecorder(est) if hasattr(est, "_generate_samples") else None
        try:
            Z_res, y_res = est.fit_resample(Z, y)
        except ValueError as err:
            raise ValueError(f"strategy {self.name!r} failed: {err}") from err
        Z_syn = np.asarray(Z_res[len(Z) :], dtype=Z.dtype)
        y_syn = np.asarray(y_res[len(Z) :], dtype=np.int64)
        prov = None
        if recorder is not None:
            prov = recorder.provenance(_RowIndex(Z, y), Z_syn, y_syn, self.name)
        elif hasattr(est, "sample_indices_"):
            base = np.asarray(est.sample_indices_[len(Z) :], dtype=np.int64)
            if len(base) == len(Z_syn):
                prov = Provenance.build(y_syn, base, strategy=self.name)
        if prov is None:
            prov = segment_provenance(Z, y, Z_syn, y_syn, self.name, k_neighbors=k_neighbors)
        return Z_syn, y_syn, prov

    def _fix_counts(self, Z, y, Z_syn, y_syn, prov, n_new, k_neighbors, rng):
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
            Z2, y2, prov2 = ImblearnStrategy(SMOTE()).sample(
                Z, y, rest, k_neighbors=k_neighbors, rng=rng
            )
        return (
            np.concatenate([Z_syn, Z2]),
            np.concatenate([y_syn, y2]),
            Provenance.concat([prov, prov2]),
        )


def _is_oversampler(obj) -> bool:
    """An imbalanced-learn over-sampler instance (deepbalance's own image samplers are not
    strategies, though they are over-samplers too)."""
    return (
        isinstance(obj, BaseOverSampler)
        and not isinstance(obj, type)
        and not isinstance(obj, BaseImageSampler)
    )


def _take(prov: Provenance, rows: np.ndarray) -> Provenance:
    return Provenance(*(getattr(prov, f)[rows] for f in Provenance.FIELDS))


class _RowIndex:
    """Finds the row of ``Z`` holding exactly given values (bitwise).

    imbalanced-learn passes copies of row subsets to ``_generate_samples`` rather
    than their indices, so rows are recognised by content: a 64-bit hash of each
    row's bits (integer arithmetic, so it is exact and order-independent of BLAS),
    confirmed by an equality check. Duplicate rows resolve to the lowest index.
    """

    def __init__(self, Z: np.ndarray, y: np.ndarray):
        self.Z, self.y = Z, y
        self.keys = _row_keys(Z)

    def lookup(self, rows: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Index into ``Z`` of each of ``rows`` among ``candidates`` (-1 where absent)."""
        rows = np.ascontiguousarray(rows, dtype=self.Z.dtype)
        out = np.full(len(rows), -1, np.int64)
        if not len(rows) or not len(candidates):
            return out
        order = candidates[np.argsort(self.keys[candidates], kind="stable")]
        sorted_keys = self.keys[order]
        qkeys = _row_keys(rows)
        pos = np.searchsorted(sorted_keys, qkeys)
        for i in range(len(rows)):
            p = pos[i]
            while p < len(order) and sorted_keys[p] == qkeys[i]:
                if np.array_equal(self.Z[order[p]], rows[i]):
                    out[i] = order[p]
                    break
                p += 1
        return out


def _row_keys(A: np.ndarray) -> np.ndarray:
    A = np.ascontiguousarray(A)
    bits = A.view(np.uint32 if A.itemsize == 4 else np.uint64)
    mult = np.random.RandomState(20240607).randint(1, 2**62, size=A.shape[1], dtype=np.uint64)
    mult |= np.uint64(1)
    keys = np.empty(len(A), np.uint64)
    for start in range(0, len(A), 2048):
        chunk = bits[start : start + 2048].astype(np.uint64)
        keys[start : start + 2048] = (chunk * mult).sum(axis=1, dtype=np.uint64)  # wraps mod 2**64
    return keys


class _SmoteRecorder:
    """Records the pairs and steps of every ``_generate_samples`` call of a SMOTE-type sampler.

    Every ``BaseSMOTE`` subclass funnels its interpolation through
    ``_generate_samples(X, nn_data, nn_num, rows, cols, steps, ...)``, where the base
    is ``X[rows]`` and the neighbour ``nn_data[nn_num[rows, cols]]``; ``X`` and
    ``nn_data`` are copied subsets whose meaning differs per class (SMOTE: the
    class, BorderlineSMOTE: its danger rows, SVMSMOTE: support vectors, KMeansSMOTE:
    the class within a cluster). Recording the rows' values (not the local indices)
    and finding them in ``Z`` works for all of them. The hook wraps the instance's
    own method on the clone, so subclasses that override it keep their behaviour.
    """

    def __init__(self, est):
        self.calls: list[tuple] = []
        original = est._generate_samples

        def recording(X, nn_data, nn_num, rows, cols, steps, *args, **kwargs):
            X_new = original(X, nn_data, nn_num, rows, cols, steps, *args, **kwargs)
            y_type = args[0] if args else kwargs.get("y_type")
            base = np.asarray(X[rows])
            neighbor = np.asarray(nn_data[nn_num[rows, cols]])
            self.calls.append((base, neighbor, np.ravel(steps), y_type, np.asarray(X_new)))
            return X_new

        est._generate_samples = recording

    def provenance(self, index: _RowIndex, Z_syn, y_syn, name) -> Provenance | None:
        """Provenance of the recorded rows, or None if they are not the returned rows."""
        if not self.calls:
            return None if len(Z_syn) else Provenance.empty()
        made = np.concatenate([c[4] for c in self.calls]).astype(Z_syn.dtype, copy=False)
        if made.shape != Z_syn.shape or not np.array_equal(made, Z_syn):
            return None
        Z, y = index.Z, index.y
        bases, neighbors, lams = [], [], []
        for base_rows, nb_rows, steps, y_type, _ in self.calls:
            own = np.flatnonzero(y == y_type)
            bases.append(index.lookup(base_rows, own))
            nb = index.lookup(nb_rows, own)
            lost = nb < 0  # BorderlineSMOTE-2 interpolates towards other classes too
            if lost.any():
                nb[lost] = index.lookup(nb_rows[lost], np.arange(len(Z)))
            neighbors.append(nb)
            lams.append(steps.astype(np.float64))
        base, nb, lam = np.concatenate(bases), np.concatenate(neighbors), np.concatenate(lams)
        if (base < 0).any() or (nb < 0).any():
            return None
        lam = _check_interpolation(Z, Z_syn, base, nb, lam)
        return Provenance.build(y_syn, base, neighbor_index=nb, lam=lam, strategy=name)


def _interp_ok(Z, Z_syn, base, nb, lam) -> np.ndarray:
    """Rows where ``Z_syn == Z[base] + lam * (Z[nb] - Z[base])`` up to rounding."""
    tol = _tolerance(Z)
    ok = np.empty(len(Z_syn), bool)
    for start in range(0, len(Z_syn), 512):  # chunks keep the temporaries small
        sl = slice(start, start + 512)
        b = Z[base[sl]].astype(np.float64)
        diff = Z[nb[sl]] - b
        ok[sl] = _interp_ok_values(Z_syn[sl], b, diff, lam[sl], tol)
    return ok


def _tolerance(Z) -> float:
    """Absolute rounding slack for rows built from ``Z`` (float32 or float64)."""
    return (1e-6 if Z.dtype == np.float32 else 1e-10) * (1.0 + float(np.abs(Z).max()))


def _interp_ok_values(S, A, diff, lam, tol) -> np.ndarray:
    pred = A + lam[:, None] * diff
    return np.all(np.abs(pred - S) <= tol + 1e-5 * np.abs(pred), axis=1)


def _check_interpolation(Z, Z_syn, base, nb, lam) -> np.ndarray:
    """Keep ``lam`` where the identity holds, re-fit it by projection where it does not
    (BorderlineSMOTE-2 shrinks steps towards other classes), NaN where neither holds."""
    ok = _interp_ok(Z, Z_syn, base, nb, lam)
    if ok.all():
        return lam
    bad = np.flatnonzero(~ok)
    b = Z[base[bad]].astype(np.float64)
    diff = Z[nb[bad]].astype(np.float64) - b
    denom = np.einsum("ij,ij->i", diff, diff)
    num = np.einsum("ij,ij->i", Z_syn[bad].astype(np.float64) - b, diff)
    lam = lam.copy()
    lam[bad] = np.where(denom > 0, num / np.where(denom > 0, denom, 1.0), 0.0)
    still = ~_interp_ok(Z, Z_syn[bad], base[bad], nb[bad], lam[bad])
    lam[bad[still]] = np.nan
    return lam


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
    ``lam`` NaN. Used for samplers that build rows inline (ADASYN) or expose nothing.
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
