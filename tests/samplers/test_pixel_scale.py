"""Pixel samplers at scale: same rows as the whole-array implementation, bounded memory,
and refusal of requests that cannot fit."""

import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler
from sklearn.neighbors import NearestNeighbors

from deepbalance.samplers import (
    PixelADASYN,
    PixelOversampler,
    PixelSMOTE,
    RandomOversampler,
    strategy_base,
)
from deepbalance.samplers.memory import (
    ENV_VAR,
    InsufficientMemoryError,
    available_memory,
    check_memory,
    format_bytes,
    parse_size,
)

REFERENCE = Path(__file__).parent / "data" / "pixel_reference.npz"
CASES = {
    "smote": lambda s: PixelSMOTE(random_state=s),
    "adasyn": lambda s: PixelADASYN(random_state=s),
    "random": lambda s: RandomOversampler(random_state=s),
    "smote_k3": lambda s: PixelSMOTE(
        random_state=s, k_neighbors=3, sampling_strategy={1: 30, 2: 20}
    ),
}


@pytest.fixture(scope="module")
def ref():
    return dict(np.load(REFERENCE))


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("xname", ["X8", "Xf", "Xf32"])
@pytest.mark.parametrize("seed", [0, 1])
def test_same_rows_as_the_whole_array_implementation(ref, name, xname, seed):
    # the fixture holds imbalanced-learn's fit_resample output on the whole float array
    # (tests/samplers/data/make_pixel_reference.py, run on the previous implementation)
    key = f"{name}-{xname}-{seed}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = CASES[name](seed)
        Xr, yr = s.fit_resample(ref[xname], ref["y"])
    assert Xr.dtype == ref[key + "-X"].dtype and Xr.shape == ref[key + "-X"].shape
    np.testing.assert_array_equal(Xr, ref[key + "-X"])
    np.testing.assert_array_equal(yr, ref[key + "-y"])
    p = s.provenance_
    if name == "adasyn":
        # the old provenance of ADASYN was recovered by a segment search, which may swap
        # base and neighbour (lam -> 1 - lam); the planned one is exact
        same = p.base_index == ref[key + "-base"]
        swapped = (p.base_index == ref[key + "-nb"]) & (p.neighbor_index == ref[key + "-base"])
        assert (same | swapped).all()
        lam = np.where(same, ref[key + "-lam"], 1 - ref[key + "-lam"])
        np.testing.assert_allclose(p.lam, lam, atol=1e-6)
    else:
        np.testing.assert_array_equal(p.base_index, ref[key + "-base"])
        np.testing.assert_array_equal(p.neighbor_index, ref[key + "-nb"])
        np.testing.assert_array_equal(p.lam, ref[key + "-lam"])


def test_provenance_rebuilds_every_row_exactly(ref):
    X = ref["X8"]
    s = PixelSMOTE(random_state=3)
    Xr, _ = s.fit_resample(X, ref["y"])
    p = s.provenance_
    Xf = (X / np.float32(255)).astype(np.float32).reshape(len(X), -1)
    expected = Xf[p.base_index] + p.lam[:, None] * (Xf[p.neighbor_index] - Xf[p.base_index])
    expected = np.rint(np.clip(expected.astype(np.float32), 0, 1) * 255.0).astype(np.uint8)
    np.testing.assert_array_equal(Xr[len(X) :].reshape(len(p), -1), expected)


def test_same_rows_as_imblearn_smote_on_float64_rows(ref):
    # an explicit re-run of imbalanced-learn's own SMOTE on float64 rows, seeded as
    # ImblearnStrategy seeds it
    from deepbalance._checks import check_random_state, seed_from

    X, y = ref["Xf"], ref["y"]
    s = PixelSMOTE(random_state=5)
    Xr, yr = s.fit_resample(X, y)
    counts = np.bincount(y)
    rs = np.random.RandomState(seed_from(check_random_state(5)))
    sm = SMOTE(sampling_strategy={c: int(counts.max()) for c in range(1, 4)}, random_state=rs)
    Xi, yi = sm.fit_resample(X, y)
    np.testing.assert_array_equal(Xr, Xi)
    np.testing.assert_array_equal(yr, yi)


def test_neighbours_object_is_used(ref):
    class Counting(NearestNeighbors):
        calls = 0

        def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
            type(self).calls += 1
            return super().kneighbors(X, n_neighbors, return_distance)

    X, y = ref["X8"], ref["y"]
    a, _ = PixelSMOTE(random_state=0, k_neighbors=Counting(n_neighbors=6)).fit_resample(X, y)
    b, _ = PixelSMOTE(random_state=0).fit_resample(X, y)
    assert Counting.calls == 3  # one search per growing class
    np.testing.assert_array_equal(a, b)


def test_other_strategies_still_run_on_the_whole_array(ref):
    X, y = ref["X8"], ref["y"]
    s = PixelOversampler(strategy=BorderlineSMOTE(), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Xr, yr = s.fit_resample(X, y)
    assert Xr.dtype == np.uint8 and len(Xr) == 160 and np.bincount(yr).tolist() == [40] * 4


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("make", [PixelSMOTE, RandomOversampler, PixelADASYN])
def test_memory_stays_near_input_plus_output(make, monkeypatch):
    # 2 classes of 64x64 uint8 images, 300 and 60 rows -> 600 rows: input + output are
    # 3.9 MB; the whole-array implementation held over 40 MB (float32 copies of everything)
    monkeypatch.setattr(strategy_base, "RENDER_CHUNK_VALUES", 32 * 4096)
    rs = np.random.RandomState(0)
    y = np.r_[np.zeros(300, int), np.ones(60, int)]
    X = rs.randint(0, 256, size=(len(y), 1, 64, 64)).astype(np.uint8)
    out_bytes = 600 * X[0].nbytes
    peak = _peak_bytes(lambda: make(random_state=0).fit_resample(X, y))
    float_class = 60 * X[0].size * 4
    float_all = len(X) * X[0].size * 4 if make is PixelADASYN else 0
    render = 6 * 32 * 4096 * 8  # a few temporaries of one rendering chunk
    assert peak < 2 * (X.nbytes + out_bytes) + float_class + float_all + render


def test_refuses_before_starting_with_the_estimate_and_options(monkeypatch, ref):
    monkeypatch.setenv(ENV_VAR, "10K")
    X, y = ref["X8"], ref["y"]
    with pytest.raises(InsufficientMemoryError) as info:
        PixelSMOTE(random_state=0).fit_resample(np.repeat(X, 4, axis=2), y)
    msg = str(info.value)
    assert "PixelSMOTE.fit_resample on 70 images of shape (1, 24, 5)" in msg
    assert "needs an estimated" in msg and "10.0 KiB is available" in msg
    assert "smaller images" in msg and ENV_VAR in msg
    assert isinstance(info.value, MemoryError) and isinstance(info.value, ValueError)
    assert info.value.estimate > info.value.available == 10 * 1024
    monkeypatch.setenv(ENV_VAR, "none")
    assert len(PixelSMOTE(random_state=0).fit_resample(X, y)[0]) == 160


def test_whole_array_strategies_suggest_streaming_samplers(monkeypatch, ref):
    monkeypatch.setenv(ENV_VAR, "1K")
    with pytest.raises(InsufficientMemoryError, match="PixelSMOTE, PixelADASYN or Random"):
        PixelOversampler(strategy=BorderlineSMOTE()).fit_resample(ref["X8"], ref["y"])


def test_nothing_to_make_is_never_refused(monkeypatch, ref):
    monkeypatch.setenv(ENV_VAR, "1")
    X, y = ref["X8"][:20], np.r_[np.zeros(10, int), np.ones(10, int)]
    assert len(PixelSMOTE().fit_resample(X, y)[0]) == 20


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8G", 8 * 2**30), ("512 MiB", 512 * 2**20), ("2.5GB", int(2.5 * 2**30)), ("1000", 1000)],
)
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["lots", "-3G", "0"])
def test_parse_size_refuses_bad_values(bad):
    with pytest.raises(ValueError, match=ENV_VAR):
        parse_size(bad)


def test_available_memory_reads_the_machine_or_the_override(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    value, source = available_memory()
    assert value is None or value > 0
    monkeypatch.setenv(ENV_VAR, "3G")
    assert available_memory() == (3 * 2**30, f"{ENV_VAR}=3G")
    monkeypatch.setenv(ENV_VAR, "off")
    assert available_memory()[0] is None
    assert check_memory({"x": 10**15}, what="w", options=[]) == 10**15


def test_format_bytes():
    assert format_bytes(1536) == "1.5 KiB" and format_bytes(3) == "3 B"


def test_a_memory_map_is_read_in_place(ref, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, ref["X8"])
    mapped = np.load(path, mmap_mode="r")
    a, ya = PixelSMOTE(random_state=0).fit_resample(mapped, ref["y"])
    b, yb = PixelSMOTE(random_state=0).fit_resample(ref["X8"], ref["y"])
    assert type(a) is np.ndarray and a.flags.writeable
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)


@pytest.mark.parametrize("sampler", [SMOTE(), ADASYN(), RandomOverSampler()])
def test_sample_rows_on_an_array_matches_sample(ref, sampler):
    from deepbalance.samplers.strategies import ImblearnStrategy

    Z, y = ref["Xf"], ref["y"]
    n_new = {1: 25, 2: 31}
    strategy = ImblearnStrategy(sampler)
    Z_a, y_a, prov_a = strategy.sample(Z, y, n_new, k_neighbors=5, rng=4)
    plan, y_b, prov_b = strategy.sample_rows(Z, y, n_new, k_neighbors=5, rng=4)
    lazy = plan.lazy(strategy_base.PixelRows(Z, Z.dtype, None), chunk_values=50)
    rows = np.concatenate([values for _, _, values in lazy.chunks()])
    np.testing.assert_array_equal(rows, Z_a)
    np.testing.assert_array_equal(y_b, y_a)
    # sample() recovers ADASYN's pairs by a segment search, which may swap their roles
    pairs_a = np.sort(np.c_[prov_a.base_index, prov_a.neighbor_index], axis=1)
    pairs_b = np.sort(np.c_[prov_b.base_index, prov_b.neighbor_index], axis=1)
    np.testing.assert_array_equal(pairs_b, pairs_a)


def test_sample_rows_refuses_strategies_it_cannot_plan(ref):
    from deepbalance.samplers.strategies import ImblearnStrategy

    with pytest.raises(ValueError, match="cannot be planned; call sample"):
        ImblearnStrategy(BorderlineSMOTE()).sample_rows(ref["Xf"], ref["y"], {1: 3})
