"""Weighted Calibration Balancing: minority rows drawn from calibrated multivariate Cauchys.

Classes are split by size (m = largest class count): a class with count c is a
*minority* class when ``minority_ratio * c < m``; the others are non-minority
(the majority class(es) and the *median* classes). Each non-minority class is
summarised by a Gaussian mixture; each minority row borrows the statistics of
the mixture components nearest to it (eq. 4.1, 4.2) and new rows are drawn
around it from a multivariate Cauchy (Student t with df=1). Median (and
majority) classes asked to grow get latent SMOTE.
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


def nearest_components(X, means, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Distances and indices of the ``k`` component means nearest to each row of ``X``.

    Returns ``(distances, indices)``, both of shape (n, k), nearest first.
    """
    nn = NearestNeighbors(n_neighbors=k).fit(means)
    return nn.kneighbors(np.atleast_2d(X))


def inverse_distance_weights(distances) -> np.ndarray:
    """Weights ``1/d_j`` normalised to sum 1 per row.

    A row with a zero distance gives all its weight to the component(s) at
    distance zero (the limit of ``1/d``).
    """
    d = np.atleast_2d(np.asarray(distances, dtype=np.float64))
    zero = d == 0
    with np.errstate(divide="ignore"):
        w = np.where(zero.any(axis=1, keepdims=True), zero.astype(np.float64), 1.0 / d)
    return w / w.sum(axis=1, keepdims=True)


def calibrated_moments(x, means, covariances, sigma_c, k: int):
    """Calibrated mean and covariance of a minority row (eq. 4.1 and 4.2).

    With ``d_j`` the distance from ``x`` to the ``k`` nearest component means
    ``mu_j`` and ``w_j = (1/d_j) / sum_l (1/d_l)``::

        mu'    = (x + sum_j w_j mu_j) / 2                          (4.1)
        Sigma' = (Sigma_c + sum_j w_j Sigma_j) / 2                 (4.2)

    This halving form is our reading of the dissertation's eq. 4.1/4.2: it follows
    distribution calibration (Yang et al., 2021), which averages a sample with the
    statistics of the nearest base classes, here with ``1/d`` weights.
    ``Sigma_c`` is the covariance of the minority class.

    Parameters
    ----------
    x : array (d,) or (n, d)
        Minority row(s).
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
    w = inverse_distance_weights(dist)
    mu = (X + np.einsum("nk,nkd->nd", w, means[idx])) / 2.0
    sigma = (sigma_c + np.einsum("nk,nk...->n...", w, covariances[idx])) / 2.0
    if x.ndim == 1:
        return mu[0], sigma[0]
    return mu, sigma


class WeightedCalibration(LatentStrategy):
    """Weighted Calibration Balancing (dissertation §4.5) as a latent strategy.

    Steps, with m the largest class count and ``minority_ratio * c < m`` marking a
    minority class:

    1. Each non-minority class i gets a ``GaussianMixture`` with
       ``ceil(c_i / components_per_sample)`` components (at most ``max_components``).
    2. Each minority class gets ``Sigma_c``, the covariance of a one-component
       ``GaussianMixture`` (``reg_covar * I`` for a single row).
    3. Each minority row x gets ``mu'`` and ``Sigma'`` from its ``k`` nearest
       components (:func:`calibrated_moments`) and about ``(m - c) / c`` new rows
       (exactly ``n_new[c] // c``, the remainder going to rows chosen at random so
       the class gets ``n_new[c]``), drawn from ``multivariate_t(loc=mu',
       shape=Sigma', df=1)``, the multivariate Cauchy.
    4. Non-minority classes asked to grow get latent SMOTE.

    Sampling draws standard variates ``t`` from SciPy's ``multivariate_t(0, I, df=1)``
    once and maps them as ``mu' + L t`` with ``L L^T = Sigma'`` (Cholesky), which is
    the same distribution and avoids one decomposition per call. ``Sigma'`` is
    positive definite by construction: every mixture covariance carries
    ``reg_covar`` on its diagonal and ``Sigma'`` averages them; it is symmetrised,
    and an eigenvalue floor at ``reg_covar`` only guards rounding.

    Parameters
    ----------
    k : int, default=5
        Nearest components per minority row (capped at the number of components).
    components_per_sample : int, default=100
        ``s`` in ``n_i = ceil(c_i / s)``.
    max_components : int or None, default=10
        Cap on ``n_i``. EM time grows linearly with the components and a full
        covariance in d dimensions needs well over d rows to be more than
        ``reg_covar``; 10 components per class keep a 4,000-row class at 400 rows
        each while the k=5 nearest components still give each minority row local
        statistics. None applies ``ceil(c_i / s)`` uncapped.
    covariance_type : {"full", "diag"}, default="full"
        Form of every covariance. "full" keeps the correlations of the latent
        codes, as a scikit-learn mixture does by default; "diag" is about 3x faster.
        Measured on 9,000 random 300-d latents with the deepsmote-mnist counts,
        balancing every class (19,250 calibrated + 11,750 SMOTE rows), one CPU
        thread: full 6 s, diag 1.8 s (uncapped components: 10.5 s and 2 s).
    reg_covar : float, default=1e-4
        Added to every covariance diagonal (as in scikit-learn); keeps them positive
        definite. It is absolute, so it should be small against the latent variances.
    minority_ratio : float, default=10
        A class with count c is minority when ``minority_ratio * c < m``.
    max_iter : int, default=100
        EM iterations per mixture.

    Attributes (after :meth:`sample`)
    ---------------------------------
    means_, covariances_ : arrays
        All fitted components, stacked; provenance ``component`` indexes them.
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
        components_per_sample=100,
        max_components=10,
        covariance_type="full",
        reg_covar=1e-4,
        minority_ratio=10,
        max_iter=100,
    ):
        self.k = k
        self.components_per_sample = components_per_sample
        self.max_components = max_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.minority_ratio = minority_ratio
        self.max_iter = max_iter

    def partition(self, y) -> tuple[list[int], list[int], list[int]]:
        """``(minority, median, majority)`` encoded classes of ``y``."""
        ratio = check_float(self.minority_ratio, "minority_ratio", min_value=1.0)
        counts = np.bincount(np.asarray(y, dtype=np.int64))
        m = counts.max()
        present = np.flatnonzero(counts)
        minority = [int(c) for c in present if ratio * counts[c] < m]
        majority = [int(c) for c in present if counts[c] == m]
        median = [int(c) for c in present if c not in minority and c not in majority]
        return minority, median, majority

    def _neighbor_classes(self, y, n_new):
        minority = set(self.partition(y)[0])
        return {c: n for c, n in n_new.items() if c not in minority}

    def _check_params(self):
        check_int(self.k, "k", min_value=1)
        check_int(self.components_per_sample, "components_per_sample", min_value=1)
        if self.max_components is not None:
            check_int(self.max_components, "max_components", min_value=1)
        check_choice(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        check_float(self.reg_covar, "reg_covar", min_value=0.0, min_inclusive=False)
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
            self._fit_components(Z, y, [c for c in np.unique(y) if c not in minority], rng)
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

    def _fit_components(self, Z, y, classes, rng):
        means, covs, owner = [], [], []
        for c in classes:
            Zc = Z[y == c].astype(np.float64)
            n_comp = math.ceil(len(Zc) / self.components_per_sample)
            if self.max_components is not None:
                n_comp = min(n_comp, self.max_components)
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
