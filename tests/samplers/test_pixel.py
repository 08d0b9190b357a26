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
