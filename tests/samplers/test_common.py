"""Checks every registered sampler must pass (latent presets join once registered)."""

import inspect

import numpy as np
import pytest
from sklearn.base import clone

from deepbalance.samplers import SAMPLERS, BaseImageSampler

NAMES = SAMPLERS.names()

# pixel ADASYN on well separated digits falls back to SMOTE for some classes, with warnings
pytestmark = [
    pytest.mark.filterwarnings("ignore:ADASYN cannot weight class:UserWarning"),
    pytest.mark.filterwarnings("ignore:strategy 'adasyn' made fewer rows:UserWarning"),
]

#: constructor overrides that make a sampler fit in well under a second on 8x8 images
FAST = {
    "deepsmote": dict(epochs=2, dim_h=4),
}
#: applied to every sampler that has the parameter
FAST_ANY = {"epochs": 2, "dim_h": 4}
#: parameters that make fitting slow; a sampler having one must get a fast value above
SLOW_PARAMS = (
    "epochs",
    "n_epochs",
    "max_epochs",
    "dim_h",
    "n_iter",
    "iterations",
    "pretrain_epochs",
)

STRATEGY_FORMS = {
    "auto": ("auto", [30, 30, 30]),
    "not majority": ("not majority", [30, 30, 30]),
    "all": ("all", [30, 30, 30]),
    "minority": ("minority", [30, 12, 30]),
    "not minority": ("not minority", [30, 30, 7]),
    "dict": ({1: 20, 2: 10}, [30, 20, 10]),
    "callable": (lambda y: {2: 15}, [30, 12, 15]),
}


def _leaf(key: str) -> str:
    return key.rsplit("__", 1)[-1]  # autoencoder__epochs -> epochs


def _leaves(sampler) -> dict:
    """Every parameter, nested ones included, but not the nested estimators themselves
    (which compare by identity)."""
    return {k: v for k, v in sampler.get_params(deep=True).items() if not hasattr(v, "get_params")}


def build(name, **params):
    cls = SAMPLERS.get(name)
    sampler = cls(**params)
    fast = {**FAST_ANY, **FAST.get(name, {})}
    nested = sampler.get_params(deep=True)  # a latent sampler's autoencoder__epochs, ...
    return sampler.set_params(
        **{k: fast[_leaf(k)] for k in nested if _leaf(k) in fast and k not in params}
    )


@pytest.mark.parametrize("name", NAMES)
def test_is_a_fast_buildable_image_sampler(name):
    cls = SAMPLERS.get(name)
    assert issubclass(cls, BaseImageSampler)
    sig = inspect.signature(cls.__init__)
    positional = [p.name for p in list(sig.parameters.values())[1:] if p.kind != p.KEYWORD_ONLY]
    assert not positional, f"{name}: constructor parameters {positional} must be keyword-only"
    params = cls().get_params(deep=False)
    for needed in ("sampling_strategy", "random_state", "image_shape", "verbose"):
        assert needed in params, f"{name} lacks the {needed!r} parameter"
    leaves = {_leaf(k) for k in cls().get_params(deep=True)}
    slow = [p for p in SLOW_PARAMS if p in leaves and p not in FAST_ANY]
    slow = [p for p in slow if p not in FAST.get(name, {})]
    assert not slow, f"add fast values for {slow} of {name!r} to FAST in this file"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("layout", ["nchw", "nhw", "flat"])
def test_layouts(name, layout, tiny_images):
    X, y = tiny_images
    shape = None
    if layout == "nhw":
        X = X[:, 0]
    elif layout == "flat":
        X, shape = X.reshape(len(X), -1), (1, 8, 8)
    Xr, yr = build(name, random_state=0, image_shape=shape).fit_resample(X, y)
    assert Xr.shape == (90, *X.shape[1:]) and Xr.dtype == X.dtype
    assert np.array_equal(Xr[: len(X)], X) and np.array_equal(yr[: len(y)], y)
    assert np.bincount(yr).tolist() == [30, 30, 30]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("form", list(STRATEGY_FORMS))
def test_sampling_strategy_forms(name, form, tiny_images):
    X, y = tiny_images
    strategy, expected = STRATEGY_FORMS[form]
    s = build(name, random_state=0, sampling_strategy=strategy)
    _, yr = s.fit_resample(X, y)
    assert np.bincount(yr, minlength=3).tolist() == expected
    made = {
        c: n - c0 for c, (n, c0) in enumerate(zip(expected, [30, 12, 7], strict=True)) if n > c0
    }
    assert s.sampling_strategy_ == made


@pytest.mark.parametrize("name", NAMES)
def test_float_strategy_on_binary(name, tiny_images):
    X, y = tiny_images
    keep = y != 1
    _, yr = build(name, random_state=0, sampling_strategy=0.5).fit_resample(X[keep], y[keep])
    assert np.bincount(yr).tolist() == [30, 0, 15]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_dtype_and_range_kept(name, dtype, tiny_images):
    X, y = tiny_images
    if dtype == np.float32:
        X = (X / 255.0).astype(np.float32)
    Xr, _ = build(name, random_state=0).fit_resample(X, y)
    assert Xr.dtype == dtype
    hi = 255 if dtype == np.uint8 else 1.0
    assert Xr.min() >= 0 and Xr.max() <= hi
    assert np.array_equal(Xr[: len(X)], X)


@pytest.mark.parametrize("name", NAMES)
def test_determinism(name, tiny_images):
    X, y = tiny_images
    a, pa = _fit(build(name, random_state=7), X, y)
    b, pb = _fit(build(name, random_state=7), X, y)
    c, _ = _fit(build(name, random_state=8), X, y)
    assert np.array_equal(a, b)
    assert np.array_equal(pa.base_index, pb.base_index)
    assert np.array_equal(pa.lam, pb.lam, equal_nan=True)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", NAMES)
def test_random_state_none_follows_numpy_global_seed(name, tiny_images):
    X, y = tiny_images
    np.random.seed(0)  # noqa: NPY002  (the global state is what is tested)
    a, pa = _fit(build(name, random_state=None), X, y)
    np.random.seed(0)  # noqa: NPY002  (the global state is what is tested)
    b, pb = _fit(build(name, random_state=None), X, y)
    assert np.array_equal(a, b)
    assert np.array_equal(pa.base_index, pb.base_index)
    c, _ = _fit(build(name, random_state=None), X, y)  # the global state moved on
    assert not np.array_equal(a, c)


def _fit(sampler, X, y):
    Xr, _ = sampler.fit_resample(X, y)
    return Xr, sampler.provenance_


@pytest.mark.parametrize("name", NAMES)
def test_clone_get_set_params(name, tiny_images):
    s = build(name, random_state=3, sampling_strategy="minority")
    c = clone(s)
    assert c is not s and _leaves(c) == _leaves(s)
    assert s.set_params(random_state=4) is s and s.get_params()["random_state"] == 4
    X, y = tiny_images
    s.fit_resample(X, y)
    fresh = clone(s)
    assert not hasattr(fresh, "provenance_") and not hasattr(fresh, "synthetic_mask_")


@pytest.mark.parametrize("name", NAMES)
def test_mask_and_provenance(name, tiny_images):
    X, y = tiny_images
    names = np.array(["zero", "one", "two"])
    ys = names[y]
    s = build(name, random_state=0)
    Xr, yr = s.fit_resample(X, ys)
    mask, prov = s.synthetic_mask_, s.provenance_
    assert mask.shape == (len(Xr),) and not mask[: len(X)].any() and mask[len(X) :].all()
    assert len(prov) == mask.sum() == 41
    assert list(prov.class_label) == list(yr[mask])
    assert ((prov.base_index >= 0) & (prov.base_index < len(X))).all()
    assert (ys[prov.base_index] == prov.class_label).all()
    has_nb = prov.neighbor_index >= 0
    assert (prov.neighbor_index[has_nb] < len(X)).all()
    assert s.classes_.tolist() == ["one", "two", "zero"] and s.image_shape_ == (1, 8, 8)
    record = prov[0]
    assert set(record) == set(prov.FIELDS) and record["class_label"] in ("one", "two")
