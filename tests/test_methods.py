"""Every registered method trains on digits; get_method overrides; run_method's records."""

import re

import numpy as np
import pytest
from sklearn.datasets import load_digits

from deepbalance import samplers
from deepbalance.data.imageset import ImageSet
from deepbalance.methods import METHODS, Method, RunResult, get_method, run_method
from deepbalance.samplers import BaseImageSampler, Provenance
from deepbalance.training import Recipe, TrainConfig

#: the default recipe (SGD, one-cycle, label smoothing, shifts) on a narrow fast-cnn
CONFIG = TrainConfig(classifier="fast-cnn", classifier_params={"channels": (8, 16)}, batch_size=16)
#: autoencoder settings small enough for 8x8 digits in a fraction of a second
TINY_AUTOENCODER = {"epochs": 2, "dim_h": 4, "latent_dim": 8}


@pytest.fixture(scope="module")
def digits():
    """Imbalanced train (classes 0/1/2 at 60/20/10) and a balanced, disjoint test set."""
    d = load_digits()
    X = np.rint(d.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    y = d.target.astype(np.int64)
    train = np.concatenate([np.flatnonzero(y == c)[:n] for c, n in enumerate((60, 20, 10))])
    test = np.concatenate([np.flatnonzero(y == c)[-20:] for c in range(3)])
    names = ("0", "1", "2")
    return ImageSet(X[train], y[train], names, "digits"), ImageSet(X[test], y[test], names)


def _is_latent(method: Method) -> bool:
    return method.sampler is not None and "latent_dim" in _sampler_params(method)


def _sampler_params(method: Method) -> set:
    import inspect

    from deepbalance.methods import _sampler_class

    return set(inspect.signature(_sampler_class(method.sampler)).parameters)


@pytest.mark.parametrize("name", METHODS.names())
def test_every_method_beats_chance_on_digits(name, digits, tmp_path):
    train, test = digits
    method = get_method(name)
    if _is_latent(method):
        method = get_method(name, sampler_params=TINY_AUTOENCODER)
    if method.recipe.pretrain:
        method = method.with_params(pretrain_epochs=2)
    # a method that chooses on validation gets a split carved from the training rows
    config = CONFIG.replace(val_fraction=0.2) if method.recipe.needs_validation else CONFIG
    result = run_method(
        method, train, {"test": test}, config=config, seed=0, cache_dir=tmp_path, progress=False
    )
    assert result.final["test"]["acsa"] > 0.5  # chance is 1/3
    if method.sampler is None:
        assert result.sampler is None and result.n_synthetic == 0
    else:
        assert type(result.sampler).__name__ == method.sampler
        assert result.n_synthetic == int(result.sampler.synthetic_mask_.sum()) > 0
        assert result.n_train == len(train) + result.n_synthetic


def test_registry_holds_the_issue_methods():
    expected = {
        "none", "random-oversampling", "class-weighted", "class-weighted-effective",
        "logit-adjustment", "balanced-softmax", "drw", "pixel-smote", "deepsmote",
        "deep-denoising-smote", "deep-sparse-smote", "beta-vae-smote", "beta-vae-smote-2",
        "deep-adasyn", "deep-denoising-calibration", "cle-smote", "cle-constant-cap",
        "cle-no-pretrain", "cle-batch-average", "cle-euclidean", "cle-v1",
        "deepsmote-published", "deepsmote-published+cap",
        "deepsmote-published+cap+logit-adjustment", "deepsmote-residual", "deepsmote-official",
        "mixup", "mixup-drw", "remix-drw", "cmo", "cmo-drw", "ldam", "ldam-drw", "drs", "crt",
        "tau-norm", "deepsmote-drs", "deepsmote-cmo",
        "latent-mixup", "latent-mixup-drs",
    }  # fmt: skip
    assert set(METHODS.names()) == expected


def test_cle_smote_and_its_ablations_differ_in_one_setting():
    full = get_method("cle-smote")
    assert full.sampler == "PixelSMOTE" and full.sampler_params == {"k_neighbors": 5}
    assert full.recipe == Recipe(pretrain=True, cap="class-cosine")
    changes = {
        "cle-constant-cap": {"cap": "constant"},
        "cle-no-pretrain": {"pretrain": False},
        # App. A: Batch Avg and Euclidean are Class Avg variants without pretraining
        "cle-batch-average": {"cap": "batch-cosine", "pretrain": False},
        "cle-euclidean": {"cap": "class-euclidean", "pretrain": False},
        "cle-v1": {"triplet_anchors": "real"},
    }
    for name, change in changes.items():
        assert get_method(name).recipe == full.recipe.replace(**change), name


def test_get_method_overrides_recipe_and_sampler_params():
    m = get_method("cle-smote", beta=2.0, margin=0.3, sampler_params={"k_neighbors": 3})
    assert m.recipe.beta == 2.0 and m.recipe.margin == 0.3
    assert m.sampler_params == {"k_neighbors": 3}
    assert get_method("cle-smote").recipe.beta == 1.0  # the registered method is unchanged
    vae = get_method("beta-vae-smote", beta=4.0)
    assert vae.sampler_params == {"beta": 4.0} and vae.recipe.beta == 1.0
    assert get_method("beta-vae-smote-2").sampler_params == {"beta": 2.0}


def test_tuned_loss_baselines():
    assert get_method("logit-adjustment").recipe.tau == 1.0
    assert get_method("logit-adjustment").recipe.smoothing == "none"
    assert get_method("deepsmote-published+cap+logit-adjustment").recipe.tau == 0.75
    assert get_method("balanced-softmax").recipe.tau == 1.0
    assert get_method("drw").recipe.drw_start == 0.5
    residual = get_method("deepsmote-residual").sampler_params
    assert residual == {"residual": True, "copy_fraction": 0.0}


def test_deepsmote_method_is_the_class_with_its_defaults():
    from deepbalance.samplers import DeepSMOTE

    method = get_method("deepsmote")
    assert method.sampler == "DeepSMOTE" and method.sampler_params == {}
    sampler = method.make_sampler(random_state=0)
    assert sampler.get_params() == DeepSMOTE(random_state=0).get_params()
    assert (sampler.residual, sampler.copy_fraction) == (True, 0.5)


def test_the_published_variant_says_so_in_its_name():
    published = {"residual": False, "copy_fraction": 0.0}
    names = (
        "deepsmote-published",
        "deepsmote-published+cap",
        "deepsmote-published+cap+logit-adjustment",
    )
    for name in names:
        method = get_method(name)
        assert method.sampler == "DeepSMOTE" and method.sampler_params == published, name
        sampler = method.make_sampler(random_state=0)
        assert (sampler.residual, sampler.copy_fraction) == (False, 0.0), name
    assert get_method("deepsmote-published+cap").recipe.cap == "class-cosine"


@pytest.mark.parametrize(
    "old, new",
    [
        ("deepsmote-residual+copies", "deepsmote"),
        ("deepsmote+cap", "deepsmote-published+cap"),
        ("deepsmote+cap+logit-adjustment", "deepsmote-published+cap+logit-adjustment"),
    ],
)
def test_a_former_name_still_works_and_names_the_new_one(old, new):
    with pytest.warns(FutureWarning, match=re.escape(f"method {old!r} is now called {new!r}")):
        method = get_method(old)
    assert method is get_method(new)
    assert old in METHODS and old not in METHODS.names()
    assert METHODS.renamed()[old] == new


def test_stored_names_keep_the_names_runs_were_hashed_under():
    from deepbalance.methods import STORED_AS, current_name, stored_name

    assert stored_name("deepsmote") == "deepsmote-residual+copies"
    assert stored_name("deepsmote-published") == "deepsmote"
    assert stored_name("cle-smote") == "cle-smote"
    assert current_name("deepsmote") == "deepsmote-published"  # what "deepsmote" ran before
    assert current_name("deepsmote-residual+copies") == "deepsmote"
    for new, old in STORED_AS.items():
        assert new in METHODS.names() and current_name(old) == new
        # a former name that still works is hashed as it was
        if old in METHODS.renamed():
            assert METHODS.renamed()[old] == new


@pytest.mark.parametrize(
    "name, kwargs, error, match",
    [
        ("cle-smote", {"gamma": 1}, TypeError, "no parameter 'gamma'"),
        ("cle-smote", {"beta": 0.0}, ValueError, "beta=0.0 must be > 0"),
        ("cle-smote", {"margin": -1.0}, ValueError, "margin=-1.0 must be >= 0"),
        ("none", {"sampler_params": {"k": 1}}, ValueError, "uses no sampler"),
        ("pixel-smote", {"sampler_params": {"k": 1}}, TypeError, r"no parameter\(s\) \['k'\]"),
        ("cle_smote", {}, ValueError, "did you mean 'cle-smote'"),
    ],
)
def test_bad_method_parameters_are_named(name, kwargs, error, match):
    with pytest.raises(error, match=match):
        get_method(name, **kwargs)


def test_same_seed_same_results(digits):
    train, test = digits
    config = CONFIG.replace(epochs=2)
    a, b = (
        run_method("pixel-smote", train, {"test": test}, config=config, seed=5, progress=False)
        for _ in range(2)
    )
    assert isinstance(a, RunResult)
    assert a.history == b.history and a.losses == b.losses
    assert set(a.timings) == {"resample", "train", "total"}
    d = a.to_dict()
    assert d["method"]["name"] == "pixel-smote" and "model" not in d and "sampler" not in d


def test_val_split_is_carved_before_resampling(digits):
    train, test = digits
    config = CONFIG.replace(epochs=2, val_fraction=0.2)
    r = run_method(
        "random-oversampling", train, {"test": test}, config=config, seed=0, progress=False
    )
    n_real = int((~r.sampler.synthetic_mask_).sum())
    assert n_real == len(train) - 18  # 20% of 90 rows went to "val", none of them resampled
    assert {h["split"] for h in r.history} == {"test", "val"}
    assert r.selected is not None and r.selected_epoch == r.best_epoch["val"]


class _RecordingLatent(BaseImageSampler):
    """A sampler shaped like a latent one: records the cache_dir and device it gets."""

    _uses_neighbors = False
    seen: list = []

    def __init__(self, *, cache_dir=None, device="cpu", sampling_strategy="auto", random_state=0):
        self.cache_dir = cache_dir
        self.device = device
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state

    def _generate(self, X, y, n_new, *, k_neighbors, rng):
        type(self).seen.append((self.cache_dir, self.device, self.random_state))
        parts = [np.flatnonzero(y == c)[:1].repeat(n) for c, n in n_new.items()]
        rows = np.concatenate(parts)
        return X[rows], y[rows], Provenance.build(y[rows], rows, strategy="copy")


def test_run_method_passes_cache_dir_device_and_seed(digits, monkeypatch, tmp_path):
    train, test = digits
    monkeypatch.setattr(samplers, "_RecordingLatent", _RecordingLatent, raising=False)
    _RecordingLatent.seen.clear()
    method = Method("recording", "_RecordingLatent", recipe=Recipe(cap="class-cosine"))
    config = CONFIG.replace(epochs=1)
    for seed in (0, 0, 1):
        run_method(
            method,
            train,
            {"test": test},
            config=config,
            seed=seed,
            cache_dir=tmp_path,
            progress=False,
        )
    (c0, d0, s0), (_, _, s0b), (_, _, s1) = _RecordingLatent.seen
    assert c0 == tmp_path and d0 == "cpu"
    assert s0 == s0b != s1


def test_run_method_checks_its_arguments(digits):
    train, test = digits
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        run_method("none", train, {"test": test}, config={"epochs": 1}, seed=0)
    with pytest.raises(TypeError, match="train must be an ImageSet"):
        run_method("none", train.images, {"test": test}, config=CONFIG, seed=0)
    with pytest.raises(ValueError, match="already has a 'val' split"):
        run_method("none", train, {"val": test}, config=CONFIG.replace(val_fraction=0.1), seed=0)


def test_run_result_wraps_the_train_result_and_keeps_examples_and_diagnostics(digits):
    from deepbalance.training import TrainResult

    train, test = digits
    config = CONFIG.replace(epochs=2, val_fraction=0.2)
    result = run_method(
        "pixel-smote", train, {"test": test}, config=config, seed=0, progress=False, diagnose=True
    )
    assert isinstance(result.train, TrainResult)
    assert result.final is result.train.final and result.model is result.train.model
    assert result.selected is result.train.selected and result.history is result.train.history
    images, labels = result.synthetic_examples
    assert images.dtype == np.uint8 and sorted(set(labels.tolist())) == [1, 2]
    assert np.bincount(labels, minlength=3).max() <= 8
    assert [row["class"] for row in result.diagnostics] == [1, 2]
    assert all(0 <= row["fidelity"] <= 1 for row in result.diagnostics)
    assert "diagnostics" in result.timings and result.to_dict()["diagnostics"] == result.diagnostics
    plain = run_method(
        "none",
        train,
        {"test": test},
        config=CONFIG.replace(epochs=1),
        seed=0,
        progress=False,
        diagnose=True,
    )
    assert plain.diagnostics is None and plain.synthetic_examples is None
    with pytest.raises(TypeError, match="diagnose='yes' must be True or False"):
        run_method("none", train, {"test": test}, config=CONFIG, seed=0, diagnose="yes")
