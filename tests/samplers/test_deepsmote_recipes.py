"""DeepSMOTE's fast default autoencoder recipe and the official script's, by name."""

import numpy as np
import pytest

from deepbalance.samplers import DeepSMOTE, DeepSMOTEOfficial, LatentOversampler


def build(cls, **params):
    """``cls`` with flat autoencoder parameters, as methods and specs name them."""
    return cls(**cls.fold_autoencoder_params(params))


def test_default_is_the_fast_recipe_and_the_official_one_is_kept_by_name():
    fast = DeepSMOTE().train_settings()
    assert (fast.epochs, fast.batch_size, fast.lr, fast.schedule) == (20, 64, 2e-3, "onecycle")
    assert fast.patience is None and fast.penalty == "deepsmote" and fast.penalty_batch == 64
    assert fast.penalty_batchnorm == "running"
    assert DeepSMOTE().autoencoder_config((1, 28, 28)).dim_h == 16
    official = DeepSMOTEOfficial().train_settings()
    assert (official.epochs, official.batch_size, official.lr) == (200, 100, 2e-4)
    assert (official.schedule, official.patience, official.penalty_batch) == (
        "constant", None, 100,
    )  # fmt: skip
    assert official.penalty_batchnorm == "batch"  # the script's single-class BatchNorm
    assert DeepSMOTEOfficial().autoencoder_config((1, 28, 28)).dim_h == 64
    assert DeepSMOTEOfficial().autoencoder_config((1, 28, 28)).latent_dim == 300


def test_penalty_batch_and_schedule_reach_the_training():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, (30, 1, 8, 8), dtype=np.uint8)
    y = np.repeat([0, 1, 2], [16, 8, 6])
    # 8 batches of 4 per epoch: enough steps for the one-cycle schedule
    kw = {"random_state": 0, "epochs": 2, "dim_h": 4, "latent_dim": 8, "batch_size": 4}
    losses = {}
    runs = [
        ("p4", {"penalty_batch": 4}),
        ("p100", {}),
        ("constant", {}),
        ("batch-norm", {"penalty_batchnorm": "batch"}),
    ]
    for name, extra in runs:
        params = {**kw, **extra}
        if name == "constant":
            params["schedule"] = "constant"
        sampler = build(DeepSMOTE, **params)
        sampler.fit_resample(X, y)
        losses[name] = [h["loss"] for h in sampler.history_]
    assert losses["p4"] != losses["p100"] and losses["p100"] != losses["constant"]
    assert losses["batch-norm"] != losses["p100"]
    with pytest.raises(ValueError, match="penalty_batch=1 is too small"):
        build(LatentOversampler, penalty_batch=1, **kw).fit_resample(X, y)
    with pytest.raises(ValueError, match="schedule='cosine' is not supported"):
        build(LatentOversampler, schedule="cosine", **kw).fit_resample(X, y)
    with pytest.raises(ValueError, match="penalty_batchnorm='train'"):
        build(LatentOversampler, penalty_batchnorm="train", **kw).fit_resample(X, y)


DISSERTATION_PRESETS = [
    "DeepDenoisingSMOTE",
    "DeepSparseSMOTE",
    "BetaVAESMOTE",
    "DeepADASYN",
    "DeepDenoisingCalibration",
]


@pytest.mark.parametrize("name", DISSERTATION_PRESETS)
def test_the_dissertation_presets_train_without_the_penalty_unless_asked(name):
    import deepbalance.samplers as samplers

    cls = getattr(samplers, name)
    assert cls().train_settings().penalty is None  # Mandal 2024 §4.2-4.4: their own losses
    assert build(cls, penalty="deepsmote").train_settings().penalty == "deepsmote"
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, (24, 1, 8, 8), dtype=np.uint8)
    y = np.repeat([0, 1], [16, 8])
    kw = {"random_state": 0, "epochs": 1, "dim_h": 4, "latent_dim": 8, "batch_size": 4}
    losses = {
        penalty: [h["loss"] for h in build(cls, penalty=penalty, **kw).fit(X, y).history_]
        for penalty in (None, "deepsmote")
    }
    assert losses[None] != losses["deepsmote"]  # the option reaches the training
    assert build(cls, **kw).fit(X, y).history_[0]["loss"] == losses[None][0]


def test_deepsmote_and_latent_mixup_keep_the_penalty():
    from deepbalance.samplers import LatentMixup

    assert DeepSMOTE().train_settings().penalty == LatentMixup().train_settings().penalty
    assert LatentOversampler().train_settings().penalty == "deepsmote"
    assert DeepSMOTE().train_settings().penalty == "deepsmote"


def test_penalty_none_may_be_spelled_as_a_string_for_toml_specs():
    assert (
        build(DeepSMOTE, penalty="none").train_settings()
        == build(DeepSMOTE, penalty=None).train_settings()
    )
    with pytest.raises(ValueError, match="penalty='nope' is not supported"):
        build(DeepSMOTE, penalty="nope").train_settings()
