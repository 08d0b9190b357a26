import hashlib
import json

import numpy as np
import pytest
import torch
from imblearn.over_sampling import BorderlineSMOTE
from safetensors import safe_open

from deepbalance.samplers.calibration import WeightedCalibration
from deepbalance.samplers.persistence import (
    CONFIG_FILE,
    FORMAT,
    WEIGHTS_FILE,
    config_sha256,
    load_sampler,
)
from deepbalance.samplers.presets import DeepDenoisingCalibration, DeepSMOTE, LatentOversampler

TINY = {"dim_h": 4, "latent_dim": 8, "epochs": 2, "batch_size": 16}


def _leaves(sampler) -> dict:
    """Every parameter, the nested autoencoder's included, but not the nested estimators."""
    return {k: v for k, v in sampler.get_params().items() if not hasattr(v, "get_params")}


def tiny(cls, base=TINY, **changes):
    """``cls``'s default autoencoder with the tiny settings ``base`` (and ``changes``)."""
    return cls.default_autoencoder().set_params(**{**base, **changes})


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def fitted(tiny_images):
    X, y = tiny_images
    X01 = (X[:, 0] / 255.0).astype(np.float32)  # (N, H, W) float: the layout must come back
    sampler = DeepSMOTE(
        random_state=0, k_neighbors=3, sampling_strategy={1: 20, 2: 20}, autoencoder=tiny(DeepSMOTE)
    )
    sampler.fit_resample(X01, y)
    return sampler


def test_round_trip_keeps_weights_and_generates(fitted, tiny_images, tmp_path):
    path = fitted.save(tmp_path / "sampler")
    assert sorted(p.name for p in path.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]
    loaded = DeepSMOTE.load(path)
    assert type(loaded) is DeepSMOTE and _leaves(loaded) == _leaves(fitted)
    a, b = fitted.autoencoder_.state_dict(), loaded.autoencoder_.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert np.array_equal(loaded.latent_, fitted.latent_)
    assert np.array_equal(loaded.classes_, fitted.classes_)
    assert loaded.history_ == fitted.history_
    X01 = (tiny_images[0][:, 0] / 255.0).astype(np.float32)  # the fitted images
    images = loaded.generate(6, 2, X=X01)  # residual=True: the detail comes from X
    assert images.shape == (6, 8, 8) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    np.testing.assert_array_equal(images, fitted.generate(6, 2, X=X01))
    # any LatentOversampler.load reads it; the right class comes back
    assert type(LatentOversampler.load(path)) is DeepSMOTE
    assert type(load_sampler(path)) is DeepSMOTE


def test_save_replaces_a_previous_save(fitted, tmp_path):
    path = tmp_path / "sampler"
    fitted.save(path)
    fitted.set_params(k_neighbors=2, copy_fraction=0.25)
    fitted.save(path)
    loaded = DeepSMOTE.load(path)
    assert loaded.k_neighbors == 2 and loaded.copy_fraction == 0.25
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sampler"]  # no temporaries left


@pytest.mark.filterwarnings("ignore:strategy .borderline-smote. made fewer rows")
def test_string_labels_and_dict_params_survive(tiny_images, tmp_path):
    X, y = tiny_images
    labels = np.array(["a", "b", "c"])[y]
    sampler = LatentOversampler(
        strategy=BorderlineSMOTE(kind="borderline-2"),
        sampling_strategy={"b": 25, "c": 25},
        random_state=3,
        k_neighbors=3,
        autoencoder=tiny(LatentOversampler),
    )
    sampler.fit_resample(X, labels)
    loaded = LatentOversampler.load(sampler.save(tmp_path / "s"))
    assert loaded.sampling_strategy == {"b": 25, "c": 25}
    assert isinstance(loaded.strategy, BorderlineSMOTE)
    assert loaded.strategy.get_params() == sampler.strategy.get_params()
    assert loaded.classes_.tolist() == ["a", "b", "c"]
    images = loaded.generate(3, "c")
    assert images.shape == (3, 1, 8, 8) and images.dtype == np.uint8


def test_calibration_round_trip(tiny_images, tmp_path):
    X, y = tiny_images
    sampler = LatentOversampler(
        strategy=WeightedCalibration(k=2),
        random_state=0,
        k_neighbors=3,
        autoencoder=tiny(LatentOversampler, variant="denoising"),
    )
    sampler.fit_resample(X, y)
    loaded = LatentOversampler.load(sampler.save(tmp_path / "s"))
    assert isinstance(loaded.strategy, WeightedCalibration) and loaded.strategy.k == 2
    np.testing.assert_array_equal(loaded.generate(4, 1), sampler.generate(4, 1))
    preset = DeepDenoisingCalibration(
        random_state=0, k_neighbors=3, autoencoder=tiny(DeepDenoisingCalibration)
    )
    preset.fit_resample(X, y)
    assert DeepDenoisingCalibration.load(preset.save(tmp_path / "p")).generate(2, 2).shape[0] == 2


def test_load_errors(fitted, tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved sampler"):
        LatentOversampler.load(tmp_path / "missing")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="not a saved deepbalance sampler"):
        LatentOversampler.load(tmp_path / "foreign")
    with pytest.raises(ValueError, match="exists and is not a saved sampler"):
        fitted.save(tmp_path / "foreign")

    path = fitted.save(tmp_path / "s")
    weights = path / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupted"):
        LatentOversampler.load(path)

    path = fitted.save(tmp_path / "s")
    (path / CONFIG_FILE).write_text("{not json")
    with pytest.raises(ValueError, match="corrupted"):
        LatentOversampler.load(path)

    path = fitted.save(tmp_path / "s")
    config = json.loads((path / CONFIG_FILE).read_text())
    config["format"] = "something-else"
    (path / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ValueError, match="format marker"):
        LatentOversampler.load(path)

    path = fitted.save(tmp_path / "s")
    config = json.loads((path / CONFIG_FILE).read_text())
    config["sampler"] = "os:system"
    (path / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ValueError, match="config.json does not match its checksum"):
        LatentOversampler.load(path)

    path = fitted.save(tmp_path / "s")
    (path / WEIGHTS_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="missing"):
        LatentOversampler.load(path)


def test_save_errors(tiny_images, tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        DeepSMOTE().save(tmp_path / "s")
    X, y = tiny_images
    sampler = DeepSMOTE(random_state=0, k_neighbors=3, autoencoder=tiny(DeepSMOTE))
    sampler.fit_resample(X, y)
    sampler.set_params(sampling_strategy=lambda labels: {2: 30})
    with pytest.raises(ValueError, match="sampling_strategy=.* cannot be saved as JSON"):
        sampler.save(tmp_path / "s")
    assert not (tmp_path / "s").exists()
    sampler.set_params(sampling_strategy="auto", random_state=np.random.RandomState(0))
    with pytest.warns(UserWarning, match="saved as None"):
        sampler.save(tmp_path / "s")
    assert DeepSMOTE.load(tmp_path / "s").random_state is None
    with pytest.raises(ValueError, match="holds a DeepSMOTE"):
        DeepDenoisingCalibration.load(tmp_path / "s")


def _resign(path, config):
    """Write ``config`` with valid checksums, as a deliberately crafted save would have."""
    from safetensors.torch import load_file, save_file

    weights = path / WEIGHTS_FILE
    save_file(
        load_file(weights),
        weights,
        metadata={"format": FORMAT, "config_sha256": config_sha256(config)},
    )
    config["weights_sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    (path / CONFIG_FILE).write_text(json.dumps(config))


def _edited(fitted, path, edit):
    fitted.save(path)
    config = json.loads((path / CONFIG_FILE).read_text())
    edit(config)
    return config


def test_edited_config_fails_its_checksum(fitted, tmp_path):
    path = tmp_path / "s"
    for edit in (
        lambda c: c["params"].update(k_neighbors=1),
        lambda c: c.update(classes=[0, 1, 7]),
        lambda c: c["history"].append({"epoch": 99}),
    ):
        config = _edited(fitted, path, edit)
        (path / CONFIG_FILE).write_text(json.dumps(config))
        with pytest.raises(ValueError, match="edited or damaged after saving"):
            LatentOversampler.load(path)
    # the checksum sits in the weights, which the config's own checksum covers in turn
    fitted.save(path)
    assert len(safe_open(str(path / WEIGHTS_FILE), "pt").metadata()["config_sha256"]) == 64


def test_crafted_config_builds_only_allowed_classes(fitted, tmp_path):
    path = tmp_path / "s"
    store = tmp_path / "planted.sqlite"
    crafted = {"class": "deepbalance.bench.store:Store", "params": {"path": str(store)}}
    # a LatentOversampler (presets fix their strategy) whose strategy is a results store
    config = _edited(fitted, path, lambda c: c.update(strategy=crafted))
    config["sampler"] = "deepbalance.samplers.latent:LatentOversampler"
    config["params"]["autoencoder"] = "plain"
    _resign(path, config)
    with pytest.raises(ValueError, match="'deepbalance.bench.store:Store', which is not an all"):
        LatentOversampler.load(path)
    assert not store.exists()

    config = _edited(fitted, path, lambda c: c.update(sampler="deepbalance.bench.store:Store"))
    _resign(path, config)
    with pytest.raises(ValueError, match="not an allowed sampler class"):
        LatentOversampler.load(path)

    config = _edited(fitted, path, lambda c: c["params"].update(cache_dir_typo="x"))
    _resign(path, config)
    with pytest.raises(ValueError, match=r"unknown parameters \['cache_dir_typo'\]"):
        LatentOversampler.load(path)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda c: c.update(classes=[0, 1]), "stored labels do not index the 2 classes"),
        (lambda c: c.update(classes=[0, 1, 2, 3]), "classes \\[3\\] that no stored label has"),
        (lambda c: c.update(classes=[2, 1, 0]), "out of order"),
        (lambda c: c.update(classes=[0, 0, 1]), "distinct classes"),
        (lambda c: c.update(classes_dtype="|O"), "not a label dtype"),
        (lambda c: c["layout"].update(dtype="<i8"), "uint8, uint16 or float"),
    ],
)
def test_stored_classes_are_checked_against_the_stored_labels(fitted, tmp_path, edit, match):
    path = tmp_path / "s"
    config = _edited(fitted, path, edit)
    _resign(path, config)
    with pytest.raises(ValueError, match=match):
        LatentOversampler.load(path)


def test_save_flushes_every_file_before_renaming_the_folder(fitted, tmp_path, monkeypatch):
    import os

    synced, renamed = [], []
    real_fsync, real_replace, real_open = os.fsync, os.replace, os.open
    names = {}

    def fake_open(p, flags, *args, **kwargs):
        fd = real_open(p, flags, *args, **kwargs)
        names[fd] = os.fspath(p)
        return fd

    def fake_fsync(fd):
        synced.append((len(renamed), names.get(fd)))
        return real_fsync(fd)

    def fake_replace(src, dst):
        renamed.append(os.fspath(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "fsync", fake_fsync)
    monkeypatch.setattr(os, "replace", fake_replace)
    path = fitted.save(tmp_path / "s")
    assert renamed == [str(path)]
    before = {os.path.basename(p) for n, p in synced if n == 0}
    assert {CONFIG_FILE, WEIGHTS_FILE} <= before
    if os.name != "nt":
        assert (1, str(tmp_path)) in synced  # the parent, after the rename


# ---------------------------------------------------------------- the fitted images


def _latent_presets():
    """Every registered latent sampler class (LatentOversampler and its presets)."""
    from deepbalance.samplers import SAMPLERS

    return [cls for _, cls in SAMPLERS.items() if issubclass(cls, LatentOversampler)]


def _cases():
    for cls in _latent_presets():
        yield pytest.param(cls, {}, id=f"{cls.__name__}-defaults")
        if cls().residual is not True:
            yield pytest.param(cls, {"residual": True}, id=f"{cls.__name__}-residual")


@pytest.mark.filterwarnings("ignore:strategy .adasyn. made fewer rows")
@pytest.mark.parametrize("cls, params", list(_cases()))
def test_every_latent_preset_generates_after_load_as_before(cls, params, tiny_images, tmp_path):
    X, y = tiny_images
    sampler = cls(random_state=0, k_neighbors=3, **params, autoencoder=tiny(cls))
    sampler.fit_resample(X, y)
    before = sampler.generate(7, 2, random_state=5)
    loaded = cls.load(sampler.save(tmp_path / "s"))
    after = loaded.generate(7, 2, random_state=5)  # no X: the save holds what it needs
    assert after.dtype == before.dtype == np.uint8 and after.shape == (7, 1, 8, 8)
    assert after.tobytes() == before.tobytes()
    with safe_open(str(tmp_path / "s" / WEIGHTS_FILE), "pt") as f:
        stored = set(f.keys())
    assert ("images" in stored) == loaded.residual
    if loaded.residual:
        assert loaded.images_.dtype == np.uint8 and np.array_equal(loaded.images_, X)
    else:
        assert loaded.images_ is None


def test_default_deepsmote_generates_after_load(tiny_images, tmp_path):
    X, y = tiny_images
    sampler = DeepSMOTE(
        random_state=0, autoencoder=tiny(DeepSMOTE)
    )  # residual=True, copy_fraction=0.5
    sampler.fit_resample(X, y)
    images = DeepSMOTE.load(sampler.save(tmp_path / "s")).generate(7, 2)
    assert images.shape == (7, 1, 8, 8)
    np.testing.assert_array_equal(images, sampler.generate(7, 2))


def test_images_cost_one_byte_per_uint8_value(tiny_images, tmp_path):
    X, y = tiny_images
    sampler = DeepSMOTE(random_state=0, k_neighbors=3, autoencoder=tiny(DeepSMOTE))
    sampler.fit_resample(X, y)
    full = sampler.save(tmp_path / "full") / WEIGHTS_FILE
    lean = sampler.save(tmp_path / "lean", include_images=False) / WEIGHTS_FILE
    extra = full.stat().st_size - lean.stat().st_size
    assert X.nbytes <= extra < X.nbytes + 200  # the images plus their header entry


def test_saved_without_images_needs_x(tiny_images, tmp_path):
    X, y = tiny_images
    sampler = DeepSMOTE(random_state=0, k_neighbors=3, autoencoder=tiny(DeepSMOTE))
    sampler.fit_resample(X, y)
    loaded = DeepSMOTE.load(sampler.save(tmp_path / "s", include_images=False))
    assert loaded.images_ is None
    with pytest.raises(ValueError, match=r"include_images=False\)\): pass X="):
        loaded.generate(3, 1)
    np.testing.assert_array_equal(loaded.generate(3, 1, X=X), sampler.generate(3, 1))
    with pytest.raises(ValueError, match="same order"):
        loaded.generate(3, 1, X=X[::-1])
    with pytest.raises(TypeError, match="include_images=1 must be True or False"):
        sampler.save(tmp_path / "t", include_images=1)


def test_uint16_and_float_images_come_back_in_their_dtype(tiny_images, tmp_path):
    X, y = tiny_images
    for images in (X.astype(np.uint16) * 257, (X[:, 0] / 255.0).astype(np.float32)):
        sampler = DeepSMOTE(random_state=0, k_neighbors=3, autoencoder=tiny(DeepSMOTE))
        sampler.fit_resample(images, y)
        loaded = DeepSMOTE.load(sampler.save(tmp_path / images.dtype.name))
        assert loaded.images_.dtype == images.dtype
        out = loaded.generate(4, 2)
        assert out.dtype == images.dtype and out.shape == (4, *images.shape[1:])
        np.testing.assert_array_equal(out, sampler.generate(4, 2))


def _saved_tensors(path):
    from safetensors.torch import load_file

    return load_file(path / WEIGHTS_FILE)


def _rewrite(path, tensors, config):
    """Write ``tensors`` and ``config`` with valid checksums (a crafted or damaged save)."""
    from safetensors.torch import save_file

    weights = path / WEIGHTS_FILE
    save_file(tensors, weights, metadata={"format": FORMAT, "config_sha256": config_sha256(config)})
    config["weights_sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    (path / CONFIG_FILE).write_text(json.dumps(config))


@pytest.fixture
def residual_save(tiny_images, tmp_path):
    X, y = tiny_images
    sampler = DeepSMOTE(random_state=0, k_neighbors=3, autoencoder=tiny(DeepSMOTE))
    sampler.fit_resample(X, y)
    return sampler.save(tmp_path / "s")


def test_stored_images_must_match_the_codes(residual_save):
    path = residual_save
    config = json.loads((path / CONFIG_FILE).read_text())
    config.pop("weights_sha256")
    tensors = _saved_tensors(path)
    good = tensors["images"]
    for bad, match in [
        (good[:-1], r"holds images of shape \(48, 1, 8, 8\) but 49 latent codes"),
        (good[:, :, :4], r"holds images of shape \(49, 1, 4, 8\)"),
        (good.to(torch.int16), "holds int16 images but the fitted images were uint8"),
    ]:
        _rewrite(path, {**tensors, "images": bad.contiguous()}, dict(config))
        with pytest.raises(ValueError, match=match) as err:
            DeepSMOTE.load(path)
        assert str(path / WEIGHTS_FILE) in str(err.value)
    _rewrite(path, {k: v for k, v in tensors.items() if k != "images"}, dict(config))
    with pytest.raises(ValueError, match="holds no images but its config.json lists them"):
        DeepSMOTE.load(path)
    _rewrite(path, tensors, {**config, "images": False})
    with pytest.raises(ValueError, match="holds images but its config.json lists none"):
        DeepSMOTE.load(path)


def test_truncated_weights_are_refused(residual_save):
    path = residual_save
    weights = path / WEIGHTS_FILE
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="is corrupted or truncated") as err:
        DeepSMOTE.load(path)
    assert str(weights) in str(err.value)
    # truncated and its checksum updated (the config's own checksum sits in the lost part)
    config = json.loads((path / CONFIG_FILE).read_text())
    config["weights_sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    (path / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ValueError, match="weights.safetensors is corrupted") as err:
        DeepSMOTE.load(path)
    assert str(weights) in str(err.value)


def test_a_version_2_save_loads_without_images(residual_save, tiny_images):
    path = residual_save
    config = json.loads((path / CONFIG_FILE).read_text())
    config.pop("weights_sha256")
    config.pop("images")
    config["version"] = 2
    _flatten_autoencoder(config)
    tensors = _saved_tensors(path)
    _rewrite(path, {k: v for k, v in tensors.items() if k != "images"}, config)
    loaded = DeepSMOTE.load(path)
    assert loaded.images_ is None
    with pytest.raises(ValueError, match="pass X="):
        loaded.generate(2, 1)
    assert loaded.generate(2, 1, X=tiny_images[0]).shape == (2, 1, 8, 8)


def _flatten_autoencoder(config: dict) -> None:
    """``config`` as versions 2 and 3 wrote it: a preset's autoencoder settings as flat
    sampler parameters (its variant was the class's)."""
    nested = config["params"].pop("autoencoder")["params"]
    config["params"].update({k: v for k, v in nested.items() if k != "variant"})


def test_a_version_3_save_with_flat_parameters_loads_as_before(residual_save, tiny_images):
    path = residual_save
    before = DeepSMOTE.load(path)
    config = json.loads((path / CONFIG_FILE).read_text())
    config.pop("weights_sha256")
    config["version"] = 3
    _flatten_autoencoder(config)
    assert config["params"]["epochs"] == 2 and "autoencoder" not in config["params"]
    _rewrite(path, _saved_tensors(path), config)
    loaded = DeepSMOTE.load(path)
    assert _leaves(loaded) == _leaves(before)
    assert loaded.train_settings() == before.train_settings()
    assert (
        loaded.generate(3, 1, random_state=2).tobytes()
        == before.generate(3, 1, random_state=2).tobytes()
    )
