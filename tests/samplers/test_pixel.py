import numpy as np
import pytest
from imblearn.over_sampling import SMOTE, BorderlineSMOTE
from imblearn.pipeline import Pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestNeighbors

from deepbalance.samplers import (
    SAMPLERS,
    PixelADASYN,
    PixelOversampler,
    PixelSMOTE,
    RandomOversampler,
    WeightedCalibration,
)


def test_registry_names():
    assert SAMPLERS.get("random") is RandomOversampler
    assert SAMPLERS.get("pixel-smote") is PixelSMOTE
    assert SAMPLERS.get("pixel-adasyn") is PixelADASYN


def test_pixel_smote_rows_interpolate_real_images(tiny_images):
    X, y = tiny_images
    X = (X / 255.0).astype(np.float32)
    s = PixelSMOTE(random_state=0)
    Xr, yr = s.fit_resample(X, y)
    p = s.provenance_
    expected = X[p.base_index] + p.lam[:, None, None, None] * (
        X[p.neighbor_index] - X[p.base_index]
    )
    np.testing.assert_allclose(Xr[len(X) :], expected, atol=1e-6)
    assert (y[p.neighbor_index] == yr[len(X) :]).all() and s.strategy_.name == "smote"


def test_in_an_imblearn_pipeline(tiny_images):
    X, y = tiny_images
    flat = (X.reshape(len(X), -1) / 255.0).astype(np.float32)
    pipe = Pipeline(
        [
            ("balance", PixelSMOTE(image_shape=(1, 8, 8), random_state=0)),
            ("clf", LogisticRegression(max_iter=500)),
        ]
    )
    pipe.fit(flat, y)
    assert pipe.named_steps["balance"].synthetic_mask_.sum() == 41
    assert pipe.score(flat, y) > 0.9
    assert pipe.predict(flat[:3]).shape == (3,)


def test_string_labels_and_nn_object(tiny_images):
    X, y = tiny_images
    ys = np.array(["zero", "one", "two"])[y]
    s = PixelSMOTE(k_neighbors=NearestNeighbors(n_neighbors=6), random_state=0)
    _, yr = s.fit_resample(X, ys)
    assert sorted(set(yr[len(X) :])) == ["one", "two"] and s.sampling_strategy_ == {
        "one": 18,
        "two": 23,
    }
    assert (ys[s.provenance_.base_index] == s.provenance_.class_label).all()


def test_k_neighbors_checks(tiny_images):
    X, y = tiny_images
    keep = np.r_[0:42, 42:46]  # class 2 keeps 4 images
    with pytest.warns(UserWarning, match="k=3"):
        PixelSMOTE(k_neighbors="auto", random_state=0).fit_resample(X[keep], y[keep])
    with pytest.raises(ValueError, match="class 2 has 4 samples; k_neighbors=5 needs at least 6"):
        PixelSMOTE(random_state=0).fit_resample(X[keep], y[keep])
    # random over-sampling needs no neighbours, so one image is enough
    _, yr = RandomOversampler(random_state=0).fit_resample(X[:43], y[:43])
    assert np.bincount(yr).tolist() == [30, 30, 30]


@pytest.mark.filterwarnings("ignore:strategy .* made fewer rows:UserWarning")
def test_pixel_oversampler_takes_any_strategy(tiny_images):
    X, y = tiny_images
    for strategy, name in [
        (BorderlineSMOTE(kind="borderline-2"), "borderline-smote"),
        ("random", "random"),
        (SMOTE(), "smote"),
        (WeightedCalibration(k=2), "calibration"),
    ]:
        s = PixelOversampler(strategy=strategy, random_state=0)
        Xr, yr = s.fit_resample(X, y)
        assert np.bincount(yr).tolist() == [30, 30, 30], name
        assert s.strategy_.name == name and s.strategy_ is not strategy
        assert set(s.provenance_.strategy) <= {name, "smote"}
    assert not PixelOversampler(strategy="random")._uses_neighbors
    assert PixelOversampler(strategy="adasyn")._uses_neighbors


def test_verbose_prints_counts(tiny_images, capsys):
    X, y = tiny_images
    RandomOversampler(random_state=0, verbose=True).fit_resample(X, y)
    out = capsys.readouterr().out
    assert "RandomOversampler" in out and "class 1: +18" in out and "class 2: +23" in out


def test_bad_strategy_is_reported(tiny_images):
    X, y = tiny_images
    with pytest.raises(TypeError, match="over-sampler instance"):
        PixelOversampler(strategy=3).fit_resample(X, y)


PIXEL_SAMPLERS = [RandomOversampler, PixelSMOTE, PixelADASYN, PixelOversampler]


@pytest.mark.filterwarnings("ignore:ADASYN cannot weight class:UserWarning")
@pytest.mark.filterwarnings("ignore:strategy 'adasyn' made fewer rows:UserWarning")
@pytest.mark.parametrize("cls", PIXEL_SAMPLERS)
def test_any_float_range_keeps_values_dtype_and_layout(cls, tiny_images):
    X, y = tiny_images
    # already-normalised tensors: zero mean, unit variance, float64, negative values
    Xn = (X - X.mean()) / X.std()
    assert Xn.dtype == np.float64 and Xn.min() < 0
    s = cls(random_state=0)
    Xr, yr = s.fit_resample(Xn, y)
    assert Xr.dtype == np.float64 and Xr.shape == (90, 1, 8, 8)
    assert np.array_equal(Xr[: len(X)], Xn)
    assert Xr.min() >= Xn.min() and Xr.max() <= Xn.max()
    assert Xr[len(X) :].min() < 0  # not clipped to [0, 1]
    # the same rows as on the [0, 1] images, mapped back by the same affine map
    X01 = X / 255.0
    Xr01, _ = cls(random_state=0).fit_resample(X01, y)
    np.testing.assert_allclose(Xr, (Xr01 * 255.0 - X.mean()) / X.std(), atol=1e-9)


@pytest.mark.filterwarnings("ignore:ADASYN cannot weight class:UserWarning")
@pytest.mark.filterwarnings("ignore:strategy 'adasyn' made fewer rows:UserWarning")
@pytest.mark.parametrize("cls", PIXEL_SAMPLERS)
def test_plain_rows_without_image_shape(cls, tiny_images):
    X, y = tiny_images
    rows = X.reshape(len(X), -1).astype(np.float32) * 3.0 - 100.0
    s = cls(random_state=0)
    Xr, yr = s.fit_resample(rows, y)
    assert Xr.shape == (90, 64) and Xr.dtype == np.float32
    assert np.bincount(yr).tolist() == [30, 30, 30]
    assert s.image_shape_ == (1, 1, 64) and s.n_features_in_ == 64
    assert Xr.min() >= rows.min() and Xr.max() <= rows.max()


def test_uint8_and_unit_floats_are_unchanged_by_the_wider_range(tiny_images):
    X, y = tiny_images
    Xr, _ = PixelSMOTE(random_state=0).fit_resample(X, y)
    Xf, _ = PixelSMOTE(random_state=0).fit_resample((X / 255.0).astype(np.float32), y)
    assert Xr.dtype == np.uint8 and Xf.dtype == np.float32
    assert Xf.min() >= 0.0 and Xf.max() <= 1.0
    np.testing.assert_array_equal(Xr, np.rint(Xf * 255.0).astype(np.uint8))


def test_pixel_samplers_are_imblearn_over_samplers():
    from imblearn.over_sampling.base import BaseOverSampler

    for cls in PIXEL_SAMPLERS:
        assert isinstance(cls(), BaseOverSampler)
    # deepbalance's samplers are not latent strategies
    with pytest.raises(TypeError, match="must be a name"):
        PixelOversampler(strategy=PixelSMOTE()).fit_resample(np.zeros((4, 2)), [0, 0, 0, 1])


@pytest.mark.parametrize(
    "X, message",
    [
        (np.full((4, 16), np.inf), "NaN/inf"),
        (np.zeros((4, 16), np.int64), "rescale rather than cast"),
        (np.zeros((4, 0)), "non-empty"),
        (np.array([["a"] * 2] * 4), "dtype <U1"),
    ],
)
def test_pixel_samplers_still_refuse_bad_values(X, message):
    with pytest.raises((ValueError, TypeError), match=message):
        PixelSMOTE(k_neighbors=1).fit_resample(X, [0, 0, 1, 1])
