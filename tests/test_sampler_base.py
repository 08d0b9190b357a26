import numpy as np
import pytest
from sklearn.base import clone

from deepbalance.samplers.base import (
    BaseImageSampler,
    check_images,
    check_labels,
    resolve_k_neighbors,
    resolve_sampling_strategy,
)
from deepbalance.samplers.provenance import Provenance


class CopySampler(BaseImageSampler):
    """Test double: each synthetic image copies the class's first image."""

    def __init__(
        self, *, sampling_strategy="auto", random_state=None, k_neighbors=5, image_shape=None
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.image_shape = image_shape

    def _generate(self, X, y, n_new, *, k_neighbors, rng):
        rows = np.concatenate([np.repeat(np.flatnonzero(y == c)[0], n) for c, n in n_new.items()])
        return X[rows], y[rows], Provenance.build(y[rows], rows, strategy="copy")


def _data(dtype=np.uint8):
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(16, 1, 4, 4)).astype(np.uint8)
    y = np.array([0] * 10 + [1] * 6)
    if dtype != np.uint8:
        X = (X / 255.0).astype(dtype)
    return X, y


def test_layouts_and_dtypes_round_trip():
    X, y = _data()
    for layout in (X, X[:, 0], X.reshape(16, -1)):
        s = CopySampler(image_shape=(1, 4, 4) if layout.ndim == 2 else None)
        Xr, yr = s.fit_resample(layout, y)
        assert Xr.shape[1:] == layout.shape[1:] and Xr.dtype == np.uint8
        assert np.array_equal(Xr[:16], layout) and np.bincount(yr).tolist() == [10, 10]
        assert s.synthetic_mask_.sum() == 4 and len(s.provenance_) == 4
    Xf, _ = _data(np.float32)
    Xr, _ = CopySampler().fit_resample(Xf, y)
    assert Xr.dtype == np.float32 and np.array_equal(Xr[16], Xf[10])


def test_string_labels_map_back():
    X, y = _data()
    ys = np.where(y == 0, "cat", "dog")
    s = CopySampler(sampling_strategy={"dog": 9})
    _, yr = s.fit_resample(X, ys)
    assert list(yr[16:]) == ["dog"] * 3 and s.sampling_strategy_ == {"dog": 3}
    assert s.provenance_[0]["class_label"] == "dog"


def test_clone_keeps_params():
    s = CopySampler(sampling_strategy="minority", random_state=3)
    c = clone(s)
    assert c.get_params() == s.get_params()


@pytest.mark.parametrize(
    "X, message",
    [
        (np.zeros((2, 2, 2, 2, 2), np.uint8), "ndim=5"),
        (np.full((3, 4, 4), np.nan, np.float32), "NaN"),
        (np.full((3, 4, 4), 2.0, np.float32), r"\[0, 1\]"),
        (np.zeros((3, 16), np.uint8), "image_shape"),
        (np.zeros((3, 4, 4), np.int32), "integer dtype"),
    ],
)
def test_bad_images(X, message):
    with pytest.raises((ValueError, TypeError), match=message):
        check_images(X)


def test_bad_labels_and_strategies():
    X, y = _data()
    with pytest.raises(ValueError, match="single class"):
        CopySampler().fit_resample(X, np.zeros(16))
    with pytest.raises(ValueError, match="15 labels"):
        CopySampler().fit_resample(X, y[:15])
    with pytest.raises(ValueError, match="below the 6"):
        CopySampler(sampling_strategy={1: 3}).fit_resample(X, y)
    with pytest.raises(ValueError, match="unknown"):
        CopySampler(sampling_strategy="balanced").fit_resample(X, y)
    with pytest.raises(ValueError, match="not in y"):
        CopySampler(sampling_strategy={7: 30}).fit_resample(X, y)


def test_strategy_forms():
    y = np.array([0] * 8 + [1] * 4 + [2] * 2)
    classes = np.array([0, 1, 2])
    assert resolve_sampling_strategy("auto", y, classes) == {1: 4, 2: 6}
    assert resolve_sampling_strategy("minority", y, classes) == {2: 6}
    assert resolve_sampling_strategy("all", y, classes) == {1: 4, 2: 6}
    assert resolve_sampling_strategy({2: 5}, y, classes) == {2: 3}
    assert resolve_sampling_strategy(lambda yy: {1: 6}, y, classes) == {1: 2}
    y2 = np.array([0] * 10 + [1] * 2)
    assert resolve_sampling_strategy(0.5, y2, np.array([0, 1])) == {1: 3}


def test_k_neighbors_checks():
    counts = np.array([10, 3])
    with pytest.raises(ValueError, match="class 1 has 3 samples; k_neighbors=5 needs at least 6"):
        resolve_k_neighbors(5, counts, {1: 7}, np.array([0, 1]))
    with pytest.warns(UserWarning, match="k=2"):
        assert resolve_k_neighbors("auto", counts, {1: 7}, np.array([0, 1])) == 2


@pytest.mark.parametrize(
    "labels",
    [
        [0] * 10 + ["a"] * 6,  # numpy would silently turn the ints into text
        np.array([0] * 10 + ["a"] * 6, dtype=object),
        (["cat"] * 10) + [1.5] * 6,
    ],
)
def test_mixed_string_and_number_labels_are_refused(labels):
    X, _ = _data()
    with pytest.raises(ValueError, match=r"y mixes string and non-string labels .*pass labels of"):
        CopySampler().fit_resample(X, labels)
    with pytest.raises(ValueError, match="y mixes string and non-string labels"):
        check_labels(labels, 16)


def test_labels_of_one_type_in_lists_come_back_as_lists():
    X, y = _data()
    Xr, yr = CopySampler().fit_resample(X, [str(v) for v in y])
    assert isinstance(yr, list) and yr[16:] == ["1"] * 4 and isinstance(Xr, np.ndarray)


def test_continuous_and_multioutput_targets_are_refused():
    X, _ = _data()
    with pytest.raises(ValueError, match=r"y holds continuous values \(e.g. 0.0666"):
        CopySampler().fit_resample(X, np.linspace(0, 1, 16))
    with pytest.raises(ValueError, match="y has shape .* multioutput targets are not supported"):
        CopySampler().fit_resample(X, np.c_[np.arange(16) % 3, np.arange(16) % 4])


def test_uint16_images_are_scaled_by_65535_not_wrapped():
    X8, y = _data()
    X16 = X8.astype(np.uint16) * 257  # the same images, full 16-bit range
    assert X16.max() > 255
    X01, layout = check_images(X16)
    np.testing.assert_allclose(X01, X8 / 255.0, atol=1e-7)
    Xr, _ = CopySampler().fit_resample(X16, y)
    assert Xr.dtype == np.uint16 and np.array_equal(Xr[16:], np.repeat(X16[10:11], 4, axis=0))
    # interpolated 16-bit rows stay 16-bit, close to the 8-bit result
    from deepbalance.samplers import PixelSMOTE

    R16, _ = PixelSMOTE(k_neighbors=3, random_state=0).fit_resample(X16, y)
    R8, _ = PixelSMOTE(k_neighbors=3, random_state=0).fit_resample(X8, y)
    assert R16.dtype == np.uint16 and R16.max() > 255
    np.testing.assert_allclose(R16[16:] / 65535.0, R8[16:] / 255.0, atol=0.5 / 255 + 1e-6)


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64, np.uint32])
def test_other_integer_images_are_refused_with_rescaling_advice(dtype):
    X8, y = _data()
    with pytest.raises(TypeError, match=r"rescale rather than cast.*wraps values above 255"):
        CopySampler().fit_resample(X8.astype(dtype), y)
