import numpy as np
import pytest
import torch
from imblearn.over_sampling import SMOTE
from sklearn.base import clone

from deepbalance.nets.autoencoders import decode_latents
from deepbalance.samplers import Autoencoder
from deepbalance.samplers import latent as latent_module
from deepbalance.samplers.presets import (
    BetaVAESMOTE,
    DeepADASYN,
    DeepDenoisingCalibration,
    DeepDenoisingSMOTE,
    DeepSMOTE,
    DeepSparseSMOTE,
    LatentOversampler,
)
from deepbalance.samplers.registry import SAMPLERS

TINY = {"dim_h": 4, "latent_dim": 8, "epochs": 2, "batch_size": 16}


def tiny(cls, base=TINY, **changes):
    """``cls``'s default autoencoder with the tiny settings ``base`` (and ``changes``)."""
    return cls.default_autoencoder().set_params(**{**base, **changes})


#: DeepSMOTE as published (its defaults add the residual and the copies)
PUBLISHED = {"residual": False, "copy_fraction": 0.0}
PRESETS = {
    "latent": LatentOversampler,
    "deepsmote": DeepSMOTE,
    "deep-denoising-smote": DeepDenoisingSMOTE,
    "deep-sparse-smote": DeepSparseSMOTE,
    "beta-vae-smote": BetaVAESMOTE,
    "deep-adasyn": DeepADASYN,
    "deep-denoising-calibration": DeepDenoisingCalibration,
}


pytestmark = pytest.mark.usefixtures("one_thread")


def test_presets_are_registered():
    for name, cls in PRESETS.items():
        assert SAMPLERS.get(name) is cls


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_balances_digits(tiny_images, name):
    X, y = tiny_images
    cls = SAMPLERS.get(name)
    sampler = cls(random_state=0, k_neighbors=3, autoencoder=tiny(cls))
    X_res, y_res = sampler.fit_resample(X, y)
    assert X_res.dtype == np.uint8 and X_res.shape[1:] == X.shape[1:]
    assert np.bincount(y_res).tolist() == [30, 30, 30]
    assert np.array_equal(X_res[: len(X)], X)
    assert sampler.synthetic_mask_.sum() == 41 and len(sampler.provenance_) == 41
    assert len(sampler.history_) == 2 and not sampler.autoencoder_from_cache_
    assert sampler.latent_.shape == (len(X), 8)


@pytest.mark.parametrize("cls", list(PRESETS.values())[1:])
def test_presets_are_subclasses_with_a_nested_autoencoder(cls):
    sampler = cls(random_state=1, autoencoder=cls.default_autoencoder().set_params(dim_h=8))
    assert set(sampler.get_params(deep=False)) == set(LatentOversampler().get_params(deep=False))
    assert sampler.get_params(deep=True)["autoencoder__dim_h"] == 8
    twin = clone(sampler)
    assert type(twin) is cls and twin.autoencoder is not sampler.autoencoder
    assert twin.autoencoder.get_params() == sampler.autoencoder.get_params()
    assert twin.set_params(autoencoder__epochs=4).train_settings().epochs == 4
    assert sampler.train_settings().epochs == cls.default_autoencoder().epochs  # a copy changed
    # without an autoencoder the class's default nests: grids can name autoencoder__epochs
    fresh = cls()
    assert fresh.get_params()["autoencoder__epochs"] == cls.default_autoencoder().epochs
    fresh.set_params(autoencoder__epochs=3)
    expected = cls.default_autoencoder().set_params(epochs=3)
    assert fresh.train_settings() == expected.train_settings()
    assert cls().autoencoder is None and cls.default_autoencoder().epochs != 3
    other = "plain" if cls._VARIANT != "plain" else "vae"
    with pytest.raises(ValueError, match=f"{cls.__name__} trains a {cls._VARIANT!r} autoencoder"):
        cls(autoencoder=other).train_settings()
    with pytest.raises(ValueError, match="default_autoencoder"):
        cls(autoencoder=Autoencoder(other)).train_settings()
    with pytest.raises(TypeError):
        cls(1)
    assert "dim_h=8" in repr(sampler)


def test_the_autoencoder_settings_cover_both_internal_types():
    names = set(Autoencoder().get_params())
    assert names == {"variant", *LatentOversampler.AUTOENCODER_PARAMS}
    assert len(names) == 1 + len(LatentOversampler.AUTOENCODER_PARAMS)  # no name in both


def test_flat_autoencoder_parameters_fold_into_the_default():
    folded = DeepDenoisingSMOTE.fold_autoencoder_params({"epochs": 3, "residual": True})
    assert folded["residual"] is True
    # the preset's own defaults (no DeepSMOTE penalty) survive a change of epochs
    assert folded["autoencoder"].get_params() == {
        **DeepDenoisingSMOTE.default_autoencoder().get_params(),
        "epochs": 3,
    }
    vae = LatentOversampler.fold_autoencoder_params({"autoencoder": "vae", "beta": 2.0})
    assert (vae["autoencoder"].variant, vae["autoencoder"].beta) == ("vae", 2.0)
    with pytest.raises(ValueError, match=r"autoencoder parameters \['epochs'\] beside it"):
        DeepSMOTE.fold_autoencoder_params({"autoencoder": Autoencoder(), "epochs": 3})
    with pytest.raises(TypeError, match="must be None, a variant name"):
        DeepSMOTE(autoencoder=3).train_settings()


def test_grid_search_tunes_the_nested_autoencoder(tiny_images):
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    X, y = tiny_images
    rows = (X.reshape(len(X), -1) / 255.0).astype(np.float32)
    pipe = Pipeline(
        [
            ("sampler", DeepSMOTE(random_state=0, k_neighbors=2, image_shape=(1, 8, 8))),
            ("clf", LogisticRegression(max_iter=200)),
        ]
    )
    grid = {"sampler__autoencoder__epochs": [1, 2], "sampler__autoencoder__dim_h": [4]}
    search = GridSearchCV(pipe, grid, cv=2, error_score="raise").fit(rows, y)
    assert search.best_params_["sampler__autoencoder__epochs"] in (1, 2)
    best = search.best_estimator_.named_steps["sampler"]
    assert len(best.history_) == search.best_params_["sampler__autoencoder__epochs"]
    assert best.autoencoder_config((1, 8, 8)).dim_h == 4
    assert pipe.named_steps["sampler"].autoencoder is None  # the template is not changed


def test_presets_follow_the_dissertation():
    # Mandal 2024 §4.4: DeepAdasyn runs ADASYN in the denoising autoencoder's latent space
    assert DeepADASYN().autoencoder_config((1, 8, 8)).variant == "denoising"
    assert DeepADASYN()._strategy_spec() == "adasyn"
    # eq. 3.11 on the dissertation's scale, beta = 1 (Table 5.1); eq. 3.3 with lambda = 1;
    # §3.5 over the hidden layers
    config = BetaVAESMOTE().autoencoder_config((1, 8, 8))
    assert (config.beta, config.vae_scale) == (1.0, "dissertation")
    config = DeepDenoisingSMOTE(
        autoencoder=DeepDenoisingSMOTE.default_autoencoder().set_params(denoising_weight=0.5)
    ).autoencoder_config((1, 8, 8))
    assert (config.variant, config.denoising_weight) == ("denoising", 0.5)
    assert DeepSparseSMOTE().autoencoder_config((1, 8, 8)).sparse_layers == "hidden"
    # DeepSMOTE keeps the official script's plain objective and penalty
    assert DeepSMOTE().autoencoder_config((1, 8, 8)).variant == "plain"
    assert DeepSMOTE().train_settings().penalty == "deepsmote"


def test_latent_oversampler_clone_with_strategy_instance():
    sampler = LatentOversampler(strategy=SMOTE(k_neighbors=2), autoencoder="vae")
    twin = clone(sampler)
    assert twin.strategy is not sampler.strategy
    assert twin.strategy.get_params() == sampler.strategy.get_params()


def test_provenance_is_latent_smote(tiny_images):
    X, y = tiny_images
    X01 = (X / 255.0).astype(np.float32)
    sampler = DeepSMOTE(random_state=0, k_neighbors=3, **PUBLISHED, autoencoder=tiny(DeepSMOTE))
    X_res, _ = sampler.fit_resample(X01, y)
    prov = sampler.provenance_
    Z = sampler.latent_
    assert (prov.neighbor_index >= 0).all() and np.all((prov.lam >= 0) & (prov.lam <= 1))
    assert (y[prov.base_index] == prov.class_label).all()
    assert (y[prov.neighbor_index] == prov.class_label).all()
    Z_new = Z[prov.base_index] + prov.lam[:, None] * (Z[prov.neighbor_index] - Z[prov.base_index])
    decoded = decode_latents(sampler.autoencoder_, Z_new)
    np.testing.assert_allclose(X_res[len(X) :], decoded, atol=1e-4)


def test_same_seed_same_images(tiny_images):
    X, y = tiny_images
    a = DeepDenoisingSMOTE(
        random_state=5, k_neighbors=3, autoencoder=tiny(DeepDenoisingSMOTE)
    ).fit_resample(X, y)[0]
    b = DeepDenoisingSMOTE(
        random_state=5, k_neighbors=3, autoencoder=tiny(DeepDenoisingSMOTE)
    ).fit_resample(X, y)[0]
    c = DeepDenoisingSMOTE(
        random_state=6, k_neighbors=3, autoencoder=tiny(DeepDenoisingSMOTE)
    ).fit_resample(X, y)[0]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_cache_dir_reuses_the_autoencoder(tiny_images, tmp_path, monkeypatch):
    X, y = tiny_images
    first = DeepSMOTE(
        random_state=0, k_neighbors=3, cache_dir=tmp_path, autoencoder=tiny(DeepSMOTE)
    )
    X1, _ = first.fit_resample(X, y)
    assert not first.autoencoder_from_cache_
    assert len(list(tmp_path.glob("autoencoder-*.safetensors"))) == 1

    def no_training(*args, **kwargs):
        raise AssertionError("the cached autoencoder should have been reused")

    monkeypatch.setattr(latent_module, "train_autoencoder", no_training)
    second = DeepSMOTE(
        random_state=0, k_neighbors=3, cache_dir=str(tmp_path), autoencoder=tiny(DeepSMOTE)
    )
    X2, _ = second.fit_resample(X, y)
    assert second.autoencoder_from_cache_ and second.history_ == first.history_
    assert np.array_equal(X1, X2)
    # another strategy on the same autoencoder settings, data and seed shares it too
    adasyn = LatentOversampler(
        strategy="adasyn",
        random_state=0,
        k_neighbors=3,
        cache_dir=tmp_path,
        autoencoder=tiny(LatentOversampler),
    )
    adasyn.fit_resample(X, y)
    assert adasyn.autoencoder_from_cache_
    # a different seed, setting or data is a different key
    with pytest.raises(AssertionError, match="reused"):
        DeepSMOTE(
            random_state=1, k_neighbors=3, cache_dir=tmp_path, autoencoder=tiny(DeepSMOTE)
        ).fit_resample(X, y)
    with pytest.raises(AssertionError, match="reused"):
        DeepSMOTE(
            random_state=0, k_neighbors=3, cache_dir=tmp_path, autoencoder=tiny(DeepSMOTE, epochs=1)
        ).fit_resample(X, y)
    with pytest.raises(AssertionError, match="reused"):
        DeepSMOTE(
            random_state=0, k_neighbors=3, cache_dir=tmp_path, autoencoder=tiny(DeepSMOTE)
        ).fit_resample(X[::-1], y[::-1])


def test_a_changed_architecture_is_a_different_cache_key(tiny_images, monkeypatch):
    from deepbalance.samplers import autoencoder_cache
    from deepbalance.samplers.autoencoder_cache import cache_key

    X, y = tiny_images
    sampler = DeepSMOTE(random_state=0, k_neighbors=3, autoencoder=tiny(DeepSMOTE))
    config, settings = sampler.autoencoder_config(X.shape[1:]), sampler.train_settings()
    X01 = X.astype(np.float32) / 255
    before = cache_key(config, settings, 0, X01, y)
    state = torch.random.get_rng_state()
    assert cache_key(config, settings, 0, X01, y) == before  # stable, and the RNG untouched
    assert torch.equal(torch.random.get_rng_state(), state)
    original = autoencoder_cache.build_autoencoder

    def wider_decoder(cfg):  # the same config, but the code builds another network
        model = original(cfg)
        model.extra = torch.nn.Linear(1, 1)
        return model

    monkeypatch.setattr(autoencoder_cache, "build_autoencoder", wider_decoder)
    assert cache_key(config, settings, 0, X01, y) != before


def test_damaged_cache_entry_is_retrained(tiny_images, tmp_path):
    X, y = tiny_images
    DeepSMOTE(
        random_state=0, k_neighbors=3, cache_dir=tmp_path, autoencoder=tiny(DeepSMOTE)
    ).fit_resample(X, y)
    (entry,) = tmp_path.glob("autoencoder-*.safetensors")
    entry.write_bytes(b"not a safetensors file")
    sampler = DeepSMOTE(
        random_state=0, k_neighbors=3, cache_dir=tmp_path, autoencoder=tiny(DeepSMOTE)
    )
    with pytest.warns(UserWarning, match="unreadable autoencoder cache"):
        sampler.fit_resample(X, y)
    assert not sampler.autoencoder_from_cache_
    assert entry.stat().st_size > 1000  # rewritten


def test_generate_after_fit(tiny_images):
    X, y = tiny_images
    labels = np.array(["zero", "one", "two"])[y]
    # enough steps (60) for the decoder to tell codes apart: after TINY's 6 it decodes
    # nearly one image for every code
    kw = {
        "random_state": 0,
        "k_neighbors": 3,
        "autoencoder": tiny(DeepSMOTE, epochs=10, batch_size=8),
    }
    sampler = DeepSMOTE(**PUBLISHED, **kw)
    sampler.fit_resample(X[:, 0], labels)
    images = sampler.generate(4, "two")
    assert images.shape == (4, 8, 8) and images.dtype == np.uint8
    assert np.array_equal(images, sampler.generate(4, "two"))
    assert not np.array_equal(images, sampler.generate(4, "two", random_state=9))
    # the default adds back the base images' detail: it keeps the fitted images (a view)
    default = DeepSMOTE(**kw)
    fitted = X[:, 0].copy()
    default.fit_resample(fitted, labels)
    assert np.shares_memory(default.images_, fitted)
    residual = default.generate(4, "two")
    np.testing.assert_array_equal(residual, default.generate(4, "two", X=X[:, 0]))
    fitted[:] = 255 - fitted  # changed in place after fitting: refused, not silently used
    with pytest.raises(ValueError, match="not the set of images the sampler was fitted on"):
        default.generate(4, "two")
    fitted[:] = X[:, 0]
    sampler.residual = True  # fitted without the residual: no images kept
    with pytest.raises(ValueError, match="pass X=<the images it was fitted on"):
        sampler.generate(4, "two")
    sampler.residual = False
    default.residual = False
    plain = default.generate(4, "two")  # same codes (same draws), plain decodings
    assert residual.shape == plain.shape and not np.array_equal(residual, plain)
    default.residual = True
    with pytest.raises(ValueError, match="fitted on 49 of shape"):
        default.generate(4, "two", X=X[:10, 0])
    with pytest.raises(ValueError, match="not the set of images the sampler was fitted on"):
        default.generate(4, "two", X=X[::-1, 0])
    with pytest.raises(ValueError, match="class_label='three' is not a fitted class"):
        sampler.generate(2, "three")
    with pytest.raises(ValueError, match="n=0"):
        sampler.generate(0, "two")
    with pytest.raises(ValueError, match="not fitted"):
        DeepSMOTE().generate(2, "two")


def test_strategies_and_variants_are_wired(tiny_images):
    X, y = tiny_images
    sampler = LatentOversampler(
        strategy=SMOTE(),
        random_state=0,
        k_neighbors=3,
        autoencoder=tiny(LatentOversampler, variant="sparse"),
    )
    sampler.fit_resample(X, y)
    assert sampler.autoencoder_.config.variant == "sparse"
    assert set(sampler.provenance_.strategy) == {"smote"}
    assert DeepDenoisingCalibration().strategy == "calibration"
    with pytest.raises(ValueError, match="autoencoder='gan'"):
        LatentOversampler(autoencoder=tiny(LatentOversampler, variant="gan")).fit_resample(X, y)
    with pytest.raises(ValueError, match="penalty='always'"):
        LatentOversampler(autoencoder=tiny(LatentOversampler, penalty="always")).fit_resample(X, y)
    with pytest.raises(TypeError, match="strategy=42"):
        LatentOversampler(strategy=42, autoencoder=tiny(LatentOversampler)).fit_resample(X, y)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda' but no CUDA GPU"):
            LatentOversampler(device="cuda", autoencoder=tiny(LatentOversampler)).fit_resample(X, y)


def test_calibration_strategy_makes_minority_from_cauchy(tiny_images):
    X, y = tiny_images
    y = y.copy()
    keep = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1), np.flatnonzero(y == 2)[:2]]
    X, y = X[keep], y[keep]  # class 2: 2 images, so 10 * 2 < 30 makes it a minority class
    sampler = DeepDenoisingCalibration(
        random_state=0, k_neighbors=1, autoencoder=tiny(DeepDenoisingCalibration)
    )
    _, y_res = sampler.fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [30, 30, 30]
    strategies = set(sampler.provenance_.strategy)
    assert "calibration" in strategies


def test_calibration_takes_minority_classes_smaller_than_k_neighbors(tiny_images):
    X, y = tiny_images
    keep = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1), np.flatnonzero(y == 2)[:2]]
    X, y = np.r_[X[keep], X[y == 2][2:3]], np.r_[y[keep], [3]]  # classes 2, 3: 2 and 1 images
    sampler = DeepDenoisingCalibration(
        random_state=0, autoencoder=tiny(DeepDenoisingCalibration)
    )  # default k_neighbors=5
    _, y_res = sampler.fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [30, 30, 30, 30]
    minority = sampler.provenance_.class_label >= 2
    assert set(sampler.provenance_.strategy[minority]) == {"calibration"}
    assert sampler.generate(3, 3).shape == (3, *X.shape[1:])


def test_latent_samplers_keep_the_unit_range_contract(tiny_images):
    X, y = tiny_images
    normalised = (X - X.mean()) / X.std()
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\] for a latent .*rescale"):
        DeepSMOTE(random_state=0, autoencoder=tiny(DeepSMOTE)).fit_resample(normalised, y)
    with pytest.raises(ValueError, match="pass image_shape"):
        DeepSMOTE(random_state=0, autoencoder=tiny(DeepSMOTE)).fit_resample(
            X.reshape(len(X), -1), y
        )
    assert not hasattr(DeepSMOTE(), "autoencoder_")


def test_verbose_shows_progress(tiny_images, capsys):
    X, y = tiny_images
    DeepSMOTE(
        random_state=0, k_neighbors=3, verbose=True, autoencoder=tiny(DeepSMOTE, epochs=1)
    ).fit_resample(X, y)
    assert "autoencoder" in capsys.readouterr().out


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fit_resample_on_cuda(tiny_images, tmp_path):
    X, y = tiny_images
    sampler = BetaVAESMOTE(
        random_state=0, k_neighbors=3, device="cuda", autoencoder=tiny(BetaVAESMOTE)
    )
    X_res, y_res = sampler.fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [30, 30, 30]
    assert next(sampler.autoencoder_.parameters()).is_cuda
    sampler.save(tmp_path / "s")
    loaded = BetaVAESMOTE.load(tmp_path / "s", device="cuda")
    assert loaded.generate(3, 1).shape == (3, 1, 8, 8)


def test_uint8_images_reach_the_autoencoder_without_a_float_copy(
    tiny_images, tmp_path, monkeypatch
):
    import tracemalloc

    X, y = tiny_images
    # decoding batches bound the temporaries (the residual's base images and decodings)
    monkeypatch.setattr(latent_module, "DECODE_BATCH", 256)
    DeepSMOTE(random_state=0, k_neighbors=3, autoencoder=tiny(DeepSMOTE)).fit_resample(
        X, y
    )  # imports first
    # 48 x 48 uint8 images in a read-only memory map, as the image cache hands them out
    big = np.kron(np.repeat(X, 40, axis=0), np.ones((6, 6), dtype=np.uint8))
    labels = np.repeat(y, 40)
    np.save(tmp_path / "big.npy", big)
    mapped = np.load(tmp_path / "big.npy", mmap_mode="r")
    float_copy = big.size * 4
    quick = {**TINY, "epochs": 1, "batch_size": 64}
    sampler = DeepSMOTE(random_state=0, k_neighbors=3, autoencoder=tiny(DeepSMOTE, base=quick))
    tracemalloc.start()
    X_out, _ = sampler.fit_resample(mapped, labels)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # the returned uint8 array is most of the peak; a float32 copy of the input is 4x the input
    assert peak < X_out.nbytes + float_copy / 2, (peak, X_out.nbytes, float_copy)
    same, _ = DeepSMOTE(
        random_state=0, k_neighbors=3, autoencoder=tiny(DeepSMOTE, base=quick)
    ).fit_resample(big, labels)
    assert np.array_equal(X_out, same)
