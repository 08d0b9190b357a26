import numpy as np
import pytest

from deepbalance.samplers import WeightedCalibration, calibrated_moments, make_strategy
from deepbalance.samplers.calibration import calibration_weights, paper_component_counts

MEANS = np.array([[1.0, 0.0], [0.0, 2.0], [10.0, 10.0]])
FULL = np.array([np.diag([1.0, 2.0]), [[2.0, 1.0], [1.0, 2.0]], np.eye(2) * 9.0])


def test_calibrated_moments_by_hand_full():
    # eq. 4.1/4.2 of Mandal 2024 as printed: x = 0, the two nearest means at d = 1 and d = 2, so
    # sum 1/d = 3/2 and the denominator is 1 + 3/2 = 5/2
    mu, sigma = calibrated_moments(np.zeros(2), MEANS, FULL, np.eye(2), k=2)
    # ((1/1)(1, 0) + (1/2)(0, 2) + (0, 0)) / (5/2) = (1, 1) * 2/5
    np.testing.assert_allclose(mu, [2 / 5, 2 / 5])
    # ((1/1) diag(1, 2) + (1/2) [[2, 1], [1, 2]] + I) / (5/2)
    np.testing.assert_allclose(sigma, np.array([[3.0, 0.5], [0.5, 4.0]]) * 2 / 5)


def test_calibrated_moments_by_hand_far_and_near_components():
    # the weights are not normalised away: far components (d = 10, 20) barely move x_c,
    # close ones (d = 0.1, 0.2) dominate it
    means = np.array([[10.0, 0.0], [0.0, 20.0]])
    covs = np.array([np.eye(2) * 4.0, np.eye(2) * 9.0])
    mu, sigma = calibrated_moments(np.zeros(2), means, covs, np.eye(2), k=2)
    denom = 1 + 1 / 10 + 1 / 20  # 1.15
    np.testing.assert_allclose(mu, [1.0 / denom, 1.0 / denom])
    np.testing.assert_allclose(sigma, np.eye(2) * (0.4 + 0.45 + 1.0) / denom)
    mu, sigma = calibrated_moments(np.zeros(2), means / 100, covs, np.eye(2), k=2)
    denom = 1 + 10 + 5
    np.testing.assert_allclose(mu, [0.1 * 10 / denom, 0.2 * 5 / denom])
    np.testing.assert_allclose(sigma, np.eye(2) * (40 + 45 + 1) / denom)


def test_calibrated_moments_by_hand_diag_and_batch():
    diag = np.array([[1.0, 2.0], [2.0, 2.0], [9.0, 9.0]])
    mu, sigma = calibrated_moments(np.zeros(2), MEANS, diag, np.ones(2), k=2)
    np.testing.assert_allclose(mu, [2 / 5, 2 / 5])
    # ((1, 2) + (1/2)(2, 2) + (1, 1)) / (5/2)
    np.testing.assert_allclose(sigma, [3 * 2 / 5, 4 * 2 / 5])
    X = np.array([[0.0, 0.0], [9.0, 9.0], [1.0, 0.0]])
    mus, sigmas = calibrated_moments(X, MEANS, FULL, np.eye(2), k=2)
    for i, x in enumerate(X):
        m, s = calibrated_moments(x, MEANS, FULL, np.eye(2), k=2)
        np.testing.assert_allclose(mus[i], m) and np.testing.assert_allclose(sigmas[i], s)
    # x on a mean: the d -> 0 limit puts all weight on that component
    np.testing.assert_allclose(mus[2], [1.0, 0.0])
    np.testing.assert_allclose(sigmas[2], FULL[0])


def test_calibration_weights():
    w, w_self = calibration_weights([[1.0, 2.0, 4.0]])
    # 1/d = 1, 1/2, 1/4; 1 + sum = 11/4
    np.testing.assert_allclose(w, [[4 / 11, 2 / 11, 1 / 11]])
    np.testing.assert_allclose(w_self, [4 / 11])
    w, w_self = calibration_weights([[0.0, 0.0, 3.0]])
    np.testing.assert_allclose(w, [[0.5, 0.5, 0.0]]) and np.testing.assert_allclose(w_self, [0])
    with pytest.raises(ValueError, match="distances"):
        calibration_weights([[-1.0, 2.0]])


def test_paper_component_counts_deepsmote_mnist():
    # Mandal 2024 §4.5.2 on the DeepSMOTE MNIST counts: m = 4000, minority when 10 c < 4000 (350 and
    # below), s = 40, n_i = floor(c_i / 40) for 4000, 2000, 1000, 750, 500
    counts = [4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40]
    assert paper_component_counts(counts) == {0: 100, 1: 50, 2: 25, 3: 18, 4: 12}
    y = np.repeat(np.arange(10), counts)
    assert WeightedCalibration().component_counts(y) == {0: 100, 1: 50, 2: 25, 3: 18, 4: 12}
    # the capped approximation: ceil(c_i / 100), at most 10
    capped = WeightedCalibration(components="capped").component_counts(y)
    assert capped == {0: 10, 1: 10, 2: 10, 3: 8, 4: 5}
    # no minority class, nothing to calibrate
    assert paper_component_counts([100, 50, 20]) == {}
    with pytest.raises(ValueError, match="counts"):
        paper_component_counts([10, -1])


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.zeros(2), MEANS, FULL, np.eye(2), 4), "k=4 is too large"),
        ((np.zeros(3), MEANS, FULL, np.eye(2), 2), "x has shape"),
        ((np.zeros(2), MEANS, FULL[:2], np.eye(2), 2), "covariances has shape"),
        ((np.zeros(2), MEANS, FULL, np.ones(2), 2), "sigma_c has shape"),
    ],
)
def test_calibrated_moments_checks(args, match):
    with pytest.raises(ValueError, match=match):
        calibrated_moments(*args)


def latents(counts=(200, 60, 25, 8, 3), dim=6, seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    centers = rng.randn(len(counts), dim) * 3
    return (centers[y] + rng.randn(len(y), dim)).astype(np.float32), y


def test_partition():
    _, y = latents()
    # m = 200: minority when 10 c < 200, i.e. c < 20
    assert WeightedCalibration().partition(y) == ([3, 4], [1, 2], [0])
    assert WeightedCalibration(minority_ratio=3).partition(y) == ([1, 2, 3, 4], [], [0])


@pytest.mark.parametrize(
    "covariance_type, components, n_components",
    [
        # paper (Mandal 2024 §4.5.2): s = 3, floor(200/3) = 66, floor(60/3) = 20, floor(25/3) = 8
        ("full", "paper", [66, 20, 8]),
        ("diag", "paper", [66, 20, 8]),
        # capped: ceil(200/20) = 10 (at the cap of 10), ceil(60/20) = 3, ceil(25/20) = 2
        ("full", "capped", [10, 3, 2]),
    ],
)
def test_counts_partition_and_provenance(covariance_type, components, n_components):
    Z, y = latents()
    wc = WeightedCalibration(
        k=3, components=components, components_per_sample=20, covariance_type=covariance_type
    )
    n_new = {1: 140, 2: 175, 3: 192, 4: 197}
    Z_new, y_new, prov = wc.sample(Z, y, n_new, k_neighbors=5, rng=0)
    assert Z_new.dtype == np.float32 and np.isfinite(Z_new).all()
    assert np.bincount(y_new).tolist() == [0, 140, 175, 192, 197]
    assert (y[prov.base_index] == y_new).all()
    cal = prov.strategy == "calibration"
    assert set(y_new[cal]) == {3, 4} and set(prov.strategy[~cal]) == {"smote"}
    assert np.bincount(wc.component_class_).tolist() == n_components
    assert (prov.component[~cal] == -1).all() and np.isnan(prov.lam[cal]).all()
    assert (prov.neighbor_index[cal] == -1).all()
    # the recorded component is the nearest one to the base row
    d = np.linalg.norm(Z[prov.base_index[cal], None] - wc.means_[None], axis=2)
    assert np.array_equal(prov.component[cal], d.argmin(axis=1))
    # each minority row grows 192 // 8 = 24 or 25 rows (remainder spread), 197 // 3 = 65 or 66
    for c, lo in [(3, 24), (4, 65)]:
        per_base = np.unique(prov.base_index[y_new == c], return_counts=True)[1]
        assert set(per_base) <= {lo, lo + 1} and per_base.sum() == n_new[c]


def test_covariances_positive_definite_with_more_dims_than_rows():
    Z, y = latents(counts=(40, 12, 3), dim=30)
    wc = WeightedCalibration(k=2, reg_covar=1e-3)
    wc.sample(Z, y, {2: 37}, k_neighbors=None, rng=0)
    assert wc.covariances_.shape == (17, 30, 30)  # floor(40/3) + floor(12/3)
    sigma_c = wc.minority_covariances_[2]
    assert np.linalg.eigvalsh(sigma_c).min() >= 1e-3 * 0.999
    _, sigmas = calibrated_moments(Z[y == 2], wc.means_, wc.covariances_, sigma_c, k=2)
    for s in sigmas:
        assert np.allclose(s, s.T) and np.linalg.eigvalsh(s).min() >= 1e-3 * 0.999


def test_draws_follow_the_calibrated_cauchy():
    # one minority row, many draws: coordinate medians -> mu', half IQR -> sqrt(Sigma'_jj)
    rng = np.random.RandomState(0)
    Z = np.r_[rng.randn(300, 2) * [1.0, 3.0] + [4.0, 0.0], [[0.0, 1.0]]]
    y = np.r_[np.zeros(300, int), [1]]
    for covariance_type in ("full", "diag"):
        wc = WeightedCalibration(
            k=2, components="capped", components_per_sample=150, covariance_type=covariance_type
        )
        Z_new, _, _ = wc.sample(Z, y, {1: 8000}, rng=1)
        sigma_c = wc.minority_covariances_[1]  # a single row: reg_covar * I
        eye = np.eye(2) if covariance_type == "full" else np.ones(2)
        np.testing.assert_allclose(sigma_c, wc.reg_covar * eye)
        mu, sigma = calibrated_moments(Z[-1], wc.means_, wc.covariances_, sigma_c, k=2)
        scale = np.sqrt(np.diag(sigma) if covariance_type == "full" else sigma)
        np.testing.assert_allclose(np.median(Z_new, axis=0), mu, atol=0.1 * scale.max())
        q1, q3 = np.percentile(Z_new, [25, 75], axis=0)
        np.testing.assert_allclose((q3 - q1) / 2, scale, rtol=0.1)


def test_minority_classes_do_not_need_k_neighbors_rows():
    Z, y = latents(counts=(100, 3))
    Z_new, y_new, _ = WeightedCalibration(k=2).sample(Z, y, {1: 97}, k_neighbors=5, rng=0)
    assert np.bincount(y_new).tolist() == [0, 97]


def test_determinism():
    Z, y = latents()
    n_new = {2: 50, 3: 40, 4: 20}
    a = WeightedCalibration(k=3).sample(Z, y, n_new, k_neighbors=3, rng=4)
    b = WeightedCalibration(k=3).sample(Z, y, n_new, k_neighbors=3, rng=4)
    c = WeightedCalibration(k=3).sample(Z, y, n_new, k_neighbors=3, rng=5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[2].base_index, b[2].base_index)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(covariance_type="spherical"), "covariance_type"),
        (dict(k=0), "k=0"),
        (dict(components_per_sample=0), "components_per_sample"),
        (dict(components="uncapped"), "components='uncapped'"),
        (dict(reg_covar=0.0), "reg_covar"),
        (dict(minority_ratio=0.5), "minority_ratio"),
    ],
)
def test_bad_params(params, match):
    Z, y = latents()
    with pytest.raises(ValueError, match=match):
        WeightedCalibration(**params).sample(Z, y, {4: 5}, k_neighbors=None, rng=0)


def test_registered_as_a_strategy():
    s = make_strategy("calibration")
    assert isinstance(s, WeightedCalibration) and s.name == "calibration"
    assert s.get_params()["covariance_type"] == "full"


def _one_and_two_image_classes():
    Z, y = latents(counts=(60, 20, 2, 1), dim=16)
    return np.clip((Z - Z.min()) / (Z.max() - Z.min()), 0, 1).reshape(-1, 1, 4, 4), y


def test_sampler_k_neighbors_is_checked_only_on_interpolated_classes():
    from deepbalance.samplers import PixelOversampler

    X, y = _one_and_two_image_classes()  # m = 60: classes 2 and 3 are minority, 1 is median
    sampler = PixelOversampler(strategy="calibration", k_neighbors=5, random_state=0)
    _, y_res = sampler.fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [60, 60, 60, 60]
    prov = sampler.provenance_
    assert set(prov.strategy[prov.class_label >= 2]) == {"calibration"}
    # a median class (SMOTE-interpolated) still needs k_neighbors + 1 rows
    with pytest.raises(ValueError, match="class 1 has 20 samples; k_neighbors=25"):
        PixelOversampler(strategy="calibration", k_neighbors=25).fit_resample(X, y)
