import numpy as np
import pytest
from imblearn.over_sampling import (
    ADASYN,
    SMOTE,
    SVMSMOTE,
    BorderlineSMOTE,
    KMeansSMOTE,
    RandomOverSampler,
)
from imblearn.under_sampling import RandomUnderSampler
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestNeighbors

from deepbalance.samplers import (
    STRATEGIES,
    ImblearnStrategy,
    LatentStrategy,
    WeightedCalibration,
    make_strategy,
)
from deepbalance.samplers.provenance import Provenance
from deepbalance.samplers.strategies import segment_provenance

# shortfall warnings are allowed where they are not the subject (tested on their own below)
SHORTFALL_OK = pytest.mark.filterwarnings("ignore:strategy .* made fewer rows:UserWarning")


def blobs(dtype=np.float64, seed=0):
    """Three overlapping classes (40/12/8 rows) in 4-D."""
    rng = np.random.RandomState(seed)
    y = np.repeat([0, 1, 2], [40, 12, 8])
    Z = rng.randn(60, 4) + 0.8 * y[:, None]
    return Z.astype(dtype), y


def assert_interpolates(Z, y, Z_new, y_new, prov, *, same_class_neighbor=True):
    b, n, lam = prov.base_index, prov.neighbor_index, prov.lam
    assert len(prov) == len(Z_new) == len(y_new)
    assert (y[b] == y_new).all()
    assert (n >= 0).all() and np.isfinite(lam).all()
    if same_class_neighbor:
        assert (y[n] == y_new).all()
    expected = Z[b].astype(np.float64) + lam[:, None] * (Z[n] - Z[b].astype(np.float64))
    np.testing.assert_allclose(Z_new, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_smote_provenance_is_exact(dtype):
    Z, y = blobs(dtype)
    Z_new, y_new, prov = make_strategy("smote").sample(Z, y, {1: 28, 2: 32}, k_neighbors=5, rng=0)
    assert Z_new.dtype == dtype and np.bincount(y_new).tolist() == [0, 28, 32]
    assert_interpolates(Z, y, Z_new, y_new, prov)
    assert ((prov.lam >= 0) & (prov.lam < 1)).all() and set(prov.strategy) == {"smote"}
    # the neighbour is one of the base's 5 nearest rows of its class
    for c in (1, 2):
        rows = np.flatnonzero(y == c)
        nn = NearestNeighbors(n_neighbors=6).fit(Z[rows]).kneighbors(Z[rows])[1][:, 1:]
        pick = y_new == c
        local_b = np.searchsorted(rows, prov.base_index[pick])
        local_n = np.searchsorted(rows, prov.neighbor_index[pick])
        assert all(n in nn[i] for i, n in zip(local_b, local_n, strict=True))


def test_duplicate_rows_still_interpolate():
    Z, y = blobs()
    Z[41] = Z[40]  # duplicate inside class 1
    Z_new, y_new, prov = make_strategy("smote").sample(Z, y, {1: 30}, k_neighbors=3, rng=1)
    assert_interpolates(Z, y, Z_new, y_new, prov)


@pytest.mark.parametrize(
    "spec, constructed",
    [
        ("adasyn", True),
        ("borderline-smote", False),
        (BorderlineSMOTE(kind="borderline-2"), False),
        (SVMSMOTE(), False),
        (
            KMeansSMOTE(
                kmeans_estimator=KMeans(n_clusters=2, n_init=1), cluster_balance_threshold=0.0
            ),
            False,
        ),
    ],
    ids=["adasyn", "borderline1", "borderline2", "svmsmote", "kmeanssmote"],
)
@SHORTFALL_OK
def test_imblearn_variants_give_exact_counts_and_provenance(spec, constructed):
    """ADASYN runs through the kernel (provenance by construction); the others run unchanged
    and their provenance is recovered from their rows where they lie on a same-class
    segment, else it names the nearest row of the class as base."""
    Z, y = blobs()
    Z_new, y_new, prov = make_strategy(spec).sample(Z, y, {1: 28, 2: 32}, k_neighbors=3, rng=0)
    assert np.bincount(y_new).tolist() == [0, 28, 32]
    name = make_strategy(spec).name
    from_spec = prov.strategy == name
    assert from_spec.sum() > 0 and set(prov.strategy) <= {name, "smote"}
    if constructed:
        assert_interpolates(Z, y, Z_new, y_new, prov)
        return
    on_segment = prov.neighbor_index >= 0
    assert on_segment.any()
    part = np.flatnonzero(on_segment)
    assert_interpolates(
        Z,
        y,
        Z_new[part],
        y_new[part],
        Provenance(*(getattr(prov, f)[part] for f in Provenance.FIELDS)),
    )
    rest = np.flatnonzero(~on_segment)
    assert (y[prov.base_index[rest]] == y_new[rest]).all() and np.isnan(prov.lam[rest]).all()


@SHORTFALL_OK
def test_svmsmote_steps_are_recovered_within_its_range():
    """SVMSMOTE runs unchanged; its rows here interpolate, so every step is recovered (an
    extrapolated row, lam < 0, would lie on no segment and get lam NaN)."""
    Z, y = blobs()
    _, _, prov = make_strategy(SVMSMOTE(out_step=0.5)).sample(
        Z, y, {1: 28, 2: 32}, k_neighbors=3, rng=0
    )
    lam = prov.lam[prov.strategy == "svm-smote"]
    assert len(lam) and np.isfinite(lam).all()
    assert (lam >= -0.5).all() and (lam < 1).all()


def test_shortfall_is_reported_and_completed():
    Z, y = blobs()
    spec = SVMSMOTE()
    with pytest.warns(UserWarning, match=r"made fewer rows than asked \(class 1: \d+ of 28"):
        _, y_new, prov = ImblearnStrategy(spec).sample(Z, y, {1: 28, 2: 32}, k_neighbors=3, rng=0)
    assert np.bincount(y_new).tolist() == [0, 28, 32] and "smote" in set(prov.strategy)
    with pytest.warns(UserWarning, match="fewer rows"):
        _, y_new, _ = ImblearnStrategy(spec, shortfall="warn").sample(
            Z, y, {1: 28, 2: 32}, k_neighbors=3, rng=0
        )
    assert (np.bincount(y_new, minlength=3)[1:] < [28, 32]).any()
    with pytest.raises(ValueError, match="shortfall='smote'"):
        ImblearnStrategy(spec, shortfall="raise").sample(Z, y, {1: 28, 2: 32}, k_neighbors=3, rng=0)


@SHORTFALL_OK
def test_adasyn_without_other_class_neighbours_falls_back():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], [30, 10, 10])
    Z = rng.randn(50, 3) * 0.1 + 50.0 * y[:, None]  # far apart: ADASYN weights are 0/0
    Z[40:] = rng.randn(10, 3) * 0.1 + 0.1  # class 2 sits inside class 0
    with pytest.warns(UserWarning, match="cannot weight class 1"):
        _, y_new, prov = make_strategy("adasyn").sample(Z, y, {1: 20, 2: 20}, k_neighbors=3, rng=0)
    assert np.bincount(y_new).tolist() == [0, 20, 20]
    assert set(prov.strategy[y_new == 1]) == {"smote"}
    assert set(prov.strategy[y_new == 2]) == {"adasyn"}


def test_random_oversampler_provenance_is_the_copied_row():
    Z, y = blobs()
    Z_new, y_new, prov = make_strategy("random").sample(Z, y, {2: 10}, k_neighbors=None, rng=0)
    assert np.array_equal(Z_new, Z[prov.base_index]) and (y[prov.base_index] == 2).all()
    assert (prov.neighbor_index == -1).all() and np.isnan(prov.lam).all()
    assert not make_strategy("random").uses_neighbors


def test_nn_object_as_k_neighbors():
    Z, y = blobs()
    nn = NearestNeighbors(n_neighbors=6)
    Z_new, y_new, prov = make_strategy("smote").sample(Z, y, {1: 20}, k_neighbors=nn, rng=0)
    assert_interpolates(Z, y, Z_new, y_new, prov)
    assert not hasattr(nn, "n_samples_fit_")  # the caller's object is cloned, not fitted


def test_determinism():
    Z, y = blobs()
    for spec in ("smote", "adasyn"):
        a = make_strategy(spec).sample(Z, y, {1: 20, 2: 9}, k_neighbors=3, rng=5)
        b = make_strategy(spec).sample(
            Z, y, {1: 20, 2: 9}, k_neighbors=3, rng=np.random.RandomState(5)
        )
        c = make_strategy(spec).sample(Z, y, {1: 20, 2: 9}, k_neighbors=3, rng=6)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[2].base_index, b[2].base_index)
        assert not np.array_equal(a[0], c[0])


def test_auto_k_is_capped_with_a_warning():
    Z, y = blobs()
    keep = np.r_[0:52, 52:55]  # class 2 keeps 3 rows
    with pytest.warns(UserWarning, match="k=2"):
        Z_new, y_new, prov = make_strategy("smote").sample(
            Z[keep], y[keep], {2: 5}, k_neighbors="auto", rng=0
        )
    assert_interpolates(Z[keep], y[keep], Z_new, y_new, prov)


def test_segment_provenance_recovers_smote_rows():
    Z, y = blobs()
    Z_new, y_new, exact = make_strategy("smote").sample(Z, y, {1: 15}, k_neighbors=3, rng=2)
    found = segment_provenance(Z, y, Z_new, y_new, "x", k_neighbors=3)
    assert_interpolates(Z, y, Z_new, y_new, found)
    off = Z_new + 0.5  # not on any segment: nearest row of the class, no neighbour
    lost = segment_provenance(Z, y, off, y_new, "x", k_neighbors=3)
    assert (lost.neighbor_index == -1).all() and np.isnan(lost.lam).all()
    assert (y[lost.base_index] == 1).all()


def test_make_strategy_specs():
    assert isinstance(make_strategy("calibration"), WeightedCalibration)
    s = make_strategy("smote")
    assert make_strategy(s) is s and isinstance(s, LatentStrategy)
    wrapped = make_strategy(ADASYN(n_neighbors=3))
    assert isinstance(wrapped, ImblearnStrategy) and wrapped.name == "adasyn"
    assert make_strategy(RandomOverSampler()).name == "random"
    assert set(STRATEGIES.names()) >= {"smote", "adasyn", "borderline-smote", "svm-smote"}
    with pytest.raises(ValueError, match="did you mean 'smote'"):
        make_strategy("smot")
    with pytest.raises(TypeError, match="over-sampler instance"):
        make_strategy(42)
    with pytest.raises(TypeError, match="over-sampler instance"):
        make_strategy(SMOTE)  # the class, not an instance
    with pytest.raises(TypeError, match="over-sampler instance"):
        ImblearnStrategy(RandomUnderSampler()).sample(*blobs(), {1: 3})


@pytest.mark.parametrize(
    "Z, y, n_new, match",
    [
        (np.zeros(5), np.zeros(5, int), {0: 1}, "2-D"),
        (np.full((4, 2), np.nan), np.array([0, 0, 1, 1]), {1: 1}, "NaN"),
        (np.zeros((4, 2)), np.array([0, 0, 1]), {1: 1}, "one encoded label"),
        (np.zeros((4, 2)), np.array(["a", "a", "b", "b"]), {1: 1}, "encoded labels"),
        (np.zeros((4, 2)), np.array([0, 0, 1, 1]), {3: 1}, "no rows"),
        (np.zeros((4, 2)), np.array([0, 0, 1, 1]), {1: -2}, "non-negative"),
        (np.zeros((4, 2)), np.array([0, 0, 1, 1]), [1], "dict"),
        (np.array([["a", "b"]]), np.array([0]), {0: 1}, "dtype"),
    ],
)
def test_bad_inputs(Z, y, n_new, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make_strategy("smote").sample(Z, y, n_new, k_neighbors=1, rng=0)


def test_k_too_large_names_the_fix():
    Z, y = blobs()
    with pytest.raises(ValueError, match="class 2 has 8 samples; k_neighbors=9 needs at least 10"):
        make_strategy("smote").sample(Z, y, {2: 3}, k_neighbors=9, rng=0)


def test_nothing_to_make():
    Z, y = blobs(np.float32)
    Z_new, y_new, prov = make_strategy("smote").sample(Z, y, {1: 0}, k_neighbors=5, rng=0)
    assert Z_new.shape == (0, 4) and Z_new.dtype == np.float32 and len(y_new) == len(prov) == 0


def test_segment_provenance_with_a_single_row_class():
    Z, y = blobs()
    Z, y = np.r_[Z, [[9.0, 9.0, 9.0, 9.0]]], np.r_[y, 3]
    prov = segment_provenance(Z, y, Z[-1:] + 1.0, np.array([3]), "x", k_neighbors=5)
    assert prov.base_index.tolist() == [60] and prov.neighbor_index.tolist() == [-1]


def test_k_neighbors_none_keeps_the_samplers_own():
    Z, y = blobs()
    _, _, prov = ImblearnStrategy(SMOTE(k_neighbors=1)).sample(
        Z, y, {1: 30}, k_neighbors=None, rng=0
    )
    rows = np.flatnonzero(y == 1)
    nearest = NearestNeighbors(n_neighbors=2).fit(Z[rows]).kneighbors(Z[rows])[1][:, 1]
    local_b = np.searchsorted(rows, prov.base_index)
    assert np.array_equal(rows[nearest[local_b]], prov.neighbor_index)
