"""Weighted Calibration Balancing (Mandal 2024, §4.5 and Algorithm 4).

Classes are split by size (§4.5.1, m = largest class count): a class with count c is a
*minority* class when ``minority_ratio * c < m`` (10 in the dissertation); the others are
non-minority (the majority class(es) and the *median* classes). Each non-minority class i is
summarised by a Gaussian mixture of ``n_i = c_i / s`` components, s the smallest minority count
(§4.5.2); each minority row borrows the statistics of the k mixture components nearest to it
(§4.5.3, eq. 4.1, 4.2) and new rows are drawn around it from a multivariate Cauchy (Student t
with df=1, §4.5.4). Median (and majority) classes asked to grow get latent SMOTE (§4.5.5).
"""

from __future__ import annotations

import math

import numpy as np
from imblearn.over_sampling import SMOTE
from scipy.linalg import LinAlgError, cholesky
from scipy.stats import multivariate_t
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors

from .._checks import check_choice, check_float, check_int, seed_from
from .provenance import Provenance
from .strategy_base import ImblearnStrategy, LatentStrategy

COVARIANCE_TYPES = ("full", "diag")
#: ``"paper"``: n_i = floor(c_i / s) (§4.5.2); ``"capped"``: ceil(c_i / components_per_sample),
#: at most ``max_components`` (a faster approximation)
COMPONENT_RULES = ("paper", "capped")


def nearest_components(X, means, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances and indices of the ``k`` component means nearest to each row of ``X``.

    Returns ``(distances, indices)``, both of shape (n, k), nearest first.
    """
    nn = NearestNeighbors(n_neighbors=k).fit(means)
    return nn.kneighbors(np.atleast_2d(X))


def calibration_weights(distances) -> tuple[np.ndarray, np.ndarray]:
    """Weights of eq. 4.1/4.2 (Mandal 2024, §4.5.3): components and the row itself.

    With ``d_i`` the distances to the k nearest component means::

        w_i    = (1 / d_i) / (1 + sum_l 1 / d_l)     (weight of component i)
        w_self =     1     / (1 + sum_l 1 / d_l)     (weight of x_c, or of Sigma_c)

    so that ``mu' = w_self * x_c + sum_i w_i mu_i`` is eq. 4.1 and
    ``Sigma' = w_self * Sigma_c + sum_i w_i Sigma_i`` is eq. 4.2; the weights sum to 1.
    A row at distance zero from some component(s) takes the limit ``d -> 0`` of the
    formula: those components share the weight equally and ``w_self = 0``.

    Parameters
    ----------
    distances : array (n, k) or (k,)
        Non-negative distances.

    Returns
    -------
    w : array (n, k)
    w_self : array (n,)
    """
    d = np.atleast_2d(np.asarray(distances, dtype=np.float64))
    if d.ndim != 2 or not np.all(np.isfinite(d)) or (d < 0).any():
        raise ValueError(
            f"distances has shape {np.shape(distances)} or negative/non-finite values; "
            "pass non-negative distances of shape (n, k)"
        )
    zero = d == 0
    on_mean = zero.any(axis=1)
    with np.errstate(divide="ignore"):
        inv = np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, d))
    denom = 1.0 + inv.sum(axis=1)
    w = inv / denom[:, None]
    w_self = 1.0 / denom
    if on_mean.any():
        hit = zero[on_mean].astype(np.float64)
        w[on_mean] = hit / hit.sum(axis=1, keepdims=True)
        w_self[on_mean] = 0.0
    return w, w_self


def calibrated_moments(x, means, covariances, sigma_c, k: int):
    """Calibrated mean and covariance of a minority row (Mandal 2024, eq. 4.1 and 4.2).

    With ``d_i`` the Euclidean distance from ``x_c`` to the i-th of its ``k`` nearest component
    means ``mu_i`` (covariance ``Sigma_i``)::

        mu'    = (sum_i mu_i / d_i    + x_c    ) / (1 + sum_i 1 / d_i)      (4.1)
        Sigma' = (sum_i Sigma_i / d_i + Sigma_c) / (1 + sum_i 1 / d_i)      (4.2)

    exactly as printed in §4.5.3 and Algorithm 4 (weights in :func:`calibration_weights`;
    a row lying on a component mean takes the ``d -> 0`` limit). Note that the weights are
    not normalised away: ``x_c`` (and ``Sigma_c``) weigh 1 against ``1/d_i``, so the mix
    depends on the scale of the latent space — close components (d < 1) dominate, far ones
    (d >> 1) leave ``x_c`` and ``Sigma_c`` nearly unchanged.

    ``Sigma_c`` (§4.5.3: "the covariance matrix of a minority class after taking one
    component from the Gaussian mixture distribution") is read as the covariance of a
    one-component ``GaussianMixture`` fitted to the minority class's latent codes: the
    maximum-likelihood covariance of the class plus ``reg_covar`` on the diagonal
    (``reg_covar * I`` for a class of one row). It is the same for every row of the class.

    Parameters
    ----------
    x : array (d,) or (n, d)
        Minority row(s) ``x_c``.
    means : array (K, d)
        Component means of the non-minority classes.
    covariances : array (K, d, d) or (K, d)
        Their full or diagonal covariances.
    sigma_c : array (d, d) or (d,)
        Minority-class covariance, in the same form as ``covariances``.
    k : int
        Number of nearest components, 1 <= k <= K.

    Returns
    -------
    mu : array (d,) or (n, d)
    sigma : array like ``sigma_c``, with a leading (n,) axis when ``x`` is 2-D
    """
    x = np.asarray(x, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    covariances = np.asarray(covariances, dtype=np.float64)
    sigma_c = np.asarray(sigma_c, dtype=np.float64)
    if means.ndim != 2:
        raise ValueError(f"means has shape {means.shape}; pass (n_components, d)")
    n_comp, dim = means.shape
    if x.ndim not in (1, 2) or x.shape[-1] != dim:
        raise ValueError(f"x has shape {x.shape}; pass ({dim},) or (n, {dim}) like the means")
    full = covariances.ndim == 3
    want = (n_comp, dim, dim) if full else (n_comp, dim)
    if covariances.shape != want:
        raise ValueError(
            f"covariances has shape {covariances.shape}; pass {(n_comp, dim, dim)} (full) or "
            f"{(n_comp, dim)} (diagonal) for {n_comp} components"
        )
    if sigma_c.shape != want[1:]:
        raise ValueError(
            f"sigma_c has shape {sigma_c.shape}; pass {want[1:]}, the same form as covariances"
        )
    k = check_int(k, "k", min_value=1, max_value=n_comp)
    X = np.atleast_2d(x)
    dist, idx = nearest_components(X, means, k)
    w, w_self = calibration_weights(dist)
    mu = w_self[:, None] * X + np.einsum("nk,nkd->nd", w, means[idx])
    w_self_cov = w_self.reshape((-1,) + (1,) * sigma_c.ndim)
    sigma = w_self_cov * sigma_c + np.einsum("nk,nk...->n...", w, covariances[idx])
    if x.ndim == 1:
        return mu[0], sigma[0]
    return mu, sigma


def paper_component_counts(counts, *, minority_ratio=10) -> dict[int, int]:
    """Mixture components per non-minority class, ``n_i = floor(c_i / s)`` (Mandal 2024, §4.5.2).

    ``s`` is the smallest minority-class count (a class is minority when
    ``minority_ratio * c < m``, m the largest count). The dissertation prints ``n_i = c_i / s``
    without saying how a fraction is rounded; the floor keeps at least ``s`` rows per
    component on average and is at least 1 (a non-minority class has ``c_i >= m /
    minority_ratio > s``). Without a minority class there is nothing to calibrate and the
    result is empty.

    Parameters
    ----------
    counts : sequence of int
        Rows per class (index = class); zero counts are absent classes.
    minority_ratio : float, default=10

    Returns
    -------
    dict
        ``{class: n_i}`` for every present non-minority class (empty without a minority class).
    """
    ratio = check_float(minority_ratio, "minority_ratio", min_value=1.0)
    counts = np.asarray(counts)
    if counts.ndim != 1 or not np.issubdtype(counts.dtype, np.integer) or (counts < 0).any():
        raise ValueError(
            f"counts={counts.tolist()!r} must be a 1-D list of non-negative ints (rows per class)"
        )
    present = np.flatnonzero(counts)
    if not len(present):
        return {}
    m = counts.max()
    minority = [c for c in present if ratio * counts[c] < m]
    if not minority:
        return {}
    s = int(min(counts[c] for c in minority))
    return {int(c): int(counts[c]) // s for c in present if c not in minority}


class WeightedCalibration(LatentStrategy):
    """Weighted Calibration Balancing (Mandal 2024, §4.5, Algorithm 4) as a latent strategy.

    Steps, with m the largest class count and ``minority_ratio * c < m`` marking a
    minority class (§4.5.1):

    1. Each non-minority class i gets a ``GaussianMixture`` (§4.5.2). With
       ``components="paper"`` (default) it has ``n_i = floor(c_i / s)`` components, s the
       smallest minority count (:func:`paper_component_counts`; the dissertation prints
       ``c_i / s`` and leaves the rounding open). ``components="capped"`` is a faster
       approximation: ``ceil(c_i / components_per_sample)`` components, at most
       ``max_components``.
    2. Each minority class gets ``Sigma_c``, the covariance of a one-component
       ``GaussianMixture`` fitted to its rows (``reg_covar * I`` for a single row) — our
       reading of "the covariance matrix of a minority class after taking one component from
       the Gaussian mixture distribution" (§4.5.3).
    3. Each minority row x_c gets ``mu'`` and ``Sigma'`` from its ``k`` nearest component
       means by eq. 4.1/4.2 as printed (:func:`calibrated_moments`) and about ``(m - c) / c``
       new rows (§4.5.4; exactly ``n_new[c] // c``, the remainder going to rows chosen at
       random so the class gets the ``n_new[c]`` that ``sampling_strategy`` asks for, which is
       ``m - c`` when balancing), drawn from ``multivariate_t(loc=mu', shape=Sigma', df=1)``,
       the multivariate Cauchy.
    4. Non-minority classes asked to grow get latent SMOTE (§4.5.5).

    Sampling draws standard variates ``t`` from SciPy's ``multivariate_t(0, I, df=1)``
    once and maps them as ``mu' + L t`` with ``L L^T = Sigma'`` (Cholesky), which is
    the same distribution and avoids one decomposition per call. ``Sigma'`` is
    positive definite by construction: every mixture covariance carries
    ``reg_covar`` on its diagonal and ``Sigma'`` is a convex combination of them; it is
    symmetrised, and an eigenvalue floor at ``reg_covar`` only guards rounding.

    Parameters
    ----------
    k : int, default=5
        Nearest components per minority row (capped at the number of components). The
        dissertation does not give k; 5 is SMOTE's usual neighbourhood.
    components : {"paper", "capped"}, default="paper"
        How many mixture components each non-minority class gets (step 1). "paper" is
        §4.5.2. "capped" uses ``components_per_sample`` and ``max_components``: on 9,000
        random 300-d latents with the deepsmote-mnist counts (19,250 calibrated rows) it
        fits 5 x 10 instead of 100 + 50 + 25 + 18 + 12 = 205 full-covariance components,
        several times faster (numbers in ``docs/benchmarks.md``).
    components_per_sample : int, default=100
        ``components="capped"`` only: rows per component, ``n_i = ceil(c_i / s)``.
    max_components : int or None, default=10
        ``components="capped"`` only: cap on ``n_i``; None applies
        ``ceil(c_i / components_per_sample)`` uncapped.
    covariance_type : {"full", "diag"}, default="full"
        Form of every covariance. "full" keeps the correlations of the latent codes, as the
        dissertation's covariance matrices and a scikit-learn mixture by default; "diag" is a
        faster approximation.
    reg_covar : float, default=1e-4
        Added to every covariance diagonal (as in scikit-learn); keeps them positive
        definite. It is absolute, so it should be small against the latent variances.
    minority_ratio : float, default=10
        A class with count c is minority when ``minority_ratio * c < m`` (10 in §4.5.1).
    max_iter : int, default=100
        EM iterations per mixture.

    Attributes (after :meth:`sample`)
    ---------------------------------
    means_, covariances_ : arrays
        All fitted components, stacked in increasing class order (§4.5.2); provenance
        ``component`` indexes them.
    component_class_ : int array
        Class of each component.
    minority_covariances_ : dict
        ``Sigma_c`` of each calibrated minority class.
    minority_classes_, median_classes_ : lists of int
        The partition (majority classes are neither).
    """

    name = "calibration"

    def __init__(
        self,
        *,
        k=5,
        components="paper",
        components_per_sample=100,
        max_components=10,
        covariance_type="full",
        reg_covar=1e-4,
        minority_ratio=10,
        max_iter=100,
    ):
        self.k = k
        self.components = components
        self.components_per_sample = components_per_sample
        self.max_components = max_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.minority_ratio = minority_ratio
        self.max_iter = max_iter

    def partition(self, y) -> tuple[list[int], list[int], list[int]]:
        """``(minority, median, majority)`` encoded classes of ``y`` (Mandal 2024, §4.5.1)."""
        ratio = check_float(self.minority_ratio, "minority_ratio", min_value=1.0)
        counts = np.bincount(np.asarray(y, dtype=np.int64))
        m = counts.max()
        present = np.flatnonzero(counts)
        minority = [int(c) for c in present if ratio * counts[c] < m]
        majority = [int(c) for c in present if counts[c] == m]
        median = [int(c) for c in present if c not in minority and c not in majority]
        return minority, median, majority

    def component_counts(self, y) -> dict[int, int]:
        """Mixture components of each non-minority class of encoded labels ``y``.

        ``components="paper"``: :func:`paper_component_counts` (Mandal 2024, §4.5.2).
        ``components="capped"``: ``min(ceil(c_i / components_per_sample), max_components)``.
        Either way at most ``c_i``. Empty when ``y`` has no minority class.
        """
        self._check_params()
        counts = np.bincount(np.asarray(y, dtype=np.int64))
        paper = paper_component_counts(counts, minority_ratio=self.minority_ratio)
        if self.components == "paper":
            return paper
        out = {}
        for c in paper:
            n = math.ceil(counts[c] / self.components_per_sample)
            if self.max_components is not None:
                n = min(n, self.max_components)
            out[c] = int(min(n, counts[c]))
        return out

    def _neighbor_classes(self, y, n_new):
        minority = set(self.partition(y)[0])
        return {c: n for c, n in n_new.items() if c not in minority}

    def _check_params(self):
        check_int(self.k, "k", min_value=1)
        check_choice(self.components, "components", COMPONENT_RULES)
        check_int(self.components_per_sample, "components_per_sample", min_value=1)
        if self.max_components is not None:
            check_int(self.max_components, "max_components", min_value=1)
        check_choice(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        check_float(self.reg_covar, "reg_covar", min_value=0.0, min_inclusive=False)
        check_float(self.minority_ratio, "minority_ratio", min_value=1.0)
        check_int(self.max_iter, "max_iter", min_value=1)

    def _sample(self, Z, y, n_new, *, k_neighbors, rng):
        self._check_params()
        minority, median, _ = self.partition(y)
        self.minority_classes_, self.median_classes_ = minority, median
        calibrate = {c: n for c, n in n_new.items() if c in minority}
        interpolate = {c: n for c, n in n_new.items() if c not in minority}
        parts = []
        self.minority_covariances_ = {}
        if calibrate:
            self._fit_components(Z, y, self.component_counts(y), rng)
            for c, n in calibrate.items():
                parts.append(self._calibrate_class(Z, y, c, n, rng))
        if interpolate:
            k = k_neighbors if k_neighbors is not None else "auto"
            Z2, y2, prov2 = ImblearnStrategy(SMOTE()).sample(
                Z, y, interpolate, k_neighbors=k, rng=rng
            )
            parts.append((Z2, y2, prov2))
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            Provenance.concat([p[2] for p in parts]),
        )

    def _fit_components(self, Z, y, n_components: dict[int, int], rng):
        means, covs, owner = [], [], []
        for c, n_comp in sorted(n_components.items()):
            Zc = Z[y == c].astype(np.float64)
            mu, cov = self._fit_gmm(Zc, min(n_comp, len(Zc)), rng)
            means.append(mu)
            covs.append(cov)
            owner.append(np.full(len(mu), c, np.int64))
        self.means_ = np.concatenate(means)
        self.covariances_ = np.concatenate(covs)
        self.component_class_ = np.concatenate(owner)

    def _fit_gmm(self, Zc, n_components, rng):
        """Means and covariances of a mixture; a single row gives itself and ``reg_covar*I``."""
        if len(Zc) < 2:
            eye = np.ones(Zc.shape[1]) if self.covariance_type == "diag" else np.eye(Zc.shape[1])
            return Zc[:1].copy(), (self.reg_covar * eye)[None]
        gmm = GaussianMixture(
            n_components=n_components,
            covariance_type=self.covariance_type,
            reg_covar=self.reg_covar,
            max_iter=self.max_iter,
            random_state=seed_from(rng),
        ).fit(Zc)
        return gmm.means_, gmm.covariances_

    def _calibrate_class(self, Z, y, c, n, rng):
        rows = np.flatnonzero(y == c)
        Zc = Z[rows].astype(np.float64)
        sigma_c = self.minority_covariances_[c] = self._fit_gmm(Zc, 1, rng)[1][0]
        per_row = np.full(len(rows), n // len(rows))
        per_row[rng.choice(len(rows), size=n % len(rows), replace=False)] += 1
        k = min(self.k, len(self.means_))
        idx = nearest_components(Zc, self.means_, k)[1]
        dim = Z.shape[1]
        t = multivariate_t.rvs(np.zeros(dim), np.eye(dim), df=1, size=n, random_state=rng)
        t = np.asarray(t, dtype=np.float64).reshape(n, dim)
        owner = np.repeat(np.arange(len(rows)), per_row)
        moments = (self.means_, self.covariances_, sigma_c, k)
        if self.covariance_type == "diag":
            mu, sigma = calibrated_moments(Zc, *moments)
            new = mu[owner] + np.sqrt(sigma[owner]) * t
        else:
            new = np.empty((n, dim))
            start = 0
            used = np.flatnonzero(per_row)
            for chunk in np.array_split(used, max(1, len(used) // 16)):
                mu, sigma = calibrated_moments(Zc[chunk], *moments)
                for i, row in enumerate(chunk):
                    stop = start + per_row[row]
                    new[start:stop] = mu[i] + t[start:stop] @ self._cholesky(sigma[i]).T
                    start = stop
        prov = Provenance.build(
            np.full(n, c), rows[owner], component=idx[owner, 0], strategy=self.name
        )
        return new.astype(Z.dtype), np.full(n, c, np.int64), prov

    def _cholesky(self, sigma):
        sigma = (sigma + sigma.T) / 2.0
        try:
            return cholesky(sigma, lower=True)
        except LinAlgError:
            vals, vecs = np.linalg.eigh(sigma)
            return vecs * np.sqrt(np.maximum(vals, self.reg_covar))
