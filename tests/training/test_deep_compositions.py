"""Deep oversampling composed with the long-tail methods: the ``draw-rows`` phase, CMO's
``pool="all"`` and the methods ``deepsmote-drs`` / ``deepsmote-cmo``."""

import numpy as np
import pytest
import torch

from deepbalance.methods import get_method, run_method
from deepbalance.training import Recipe, TrainConfig, Trainer
from deepbalance.training.transforms import CMO
from deepbalance.training.transforms.base import TrainingRows
from deepbalance.training.transforms.cmo import minority_row_weights

from .streams import cmo_rows_pasted, rows_drawn

FAST = TrainConfig(batch_size=16, min_steps=None, classifier_params={"channels": (8, 16)})
TINY_AE = {"epochs": 2, "dim_h": 4, "latent_dim": 8}


def _with_fake_synthetic(train):
    """``train`` (30, 12, 7 rows) plus 18 and 23 copies marked synthetic: 30 per class."""
    extra = np.concatenate(
        [
            np.flatnonzero(train.labels == 1)[:1].repeat(18),
            np.flatnonzero(train.labels == 2)[:1].repeat(23),
        ]
    )
    grown = train.subset(np.concatenate([np.arange(len(train)), extra]))
    synthetic = np.arange(len(grown)) >= len(train)
    return grown, synthetic


def test_draw_rows_trains_on_real_rows_then_on_the_resampled_set(digits, monkeypatch):
    train, test = digits
    grown, synthetic = _with_fake_synthetic(train)
    drawn = rows_drawn(monkeypatch)
    recipe = get_method("deepsmote-drs").recipe
    Trainer(FAST.replace(epochs=6), recipe=recipe, seed=3, progress=False).fit(
        grown, {"test": test}, synthetic_mask=synthetic
    )
    assert len(drawn) == 6 and all(len(rows) == 49 for rows in drawn)  # epochs of the real rows
    for rows in drawn[:3]:  # every real row once, no synthetic row
        assert sorted(rows.tolist()) == list(range(49))
    late = np.concatenate(drawn[3:])  # 147 rows of permutations of all 90 rows
    assert len(np.unique(late)) == 90  # 147 > 90: one full pass and more
    assert np.bincount(np.bincount(late, minlength=90), minlength=3)[0] == 0
    assert synthetic[late].sum() > 50  # 41 of 90 rows are synthetic


def test_draw_rows_class_balanced_matches_the_resample_phase(digits, monkeypatch):
    train, test = digits
    runs = []
    for phase in (
        {"name": "resample", "start": 2},
        {"name": "draw-rows", "start": 2, "rows": "class-balanced"},
    ):
        drawn = rows_drawn(monkeypatch)
        Trainer(FAST.replace(epochs=4), recipe=Recipe(phases=(phase,)), seed=5, progress=False).fit(
            train, {"test": test}
        )
        runs.append(np.concatenate(drawn))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_bad_draw_rows_pool_is_named(digits):
    with pytest.raises(
        ValueError,
        match=r"rows='synthetic' is not a row pool; pass one of "
        r"real, all, class-balanced",
    ):
        Recipe(phases=({"name": "draw-rows", "start": 0, "rows": "synthetic"},))


def test_cmo_pool_all_draws_synthetic_rows_and_each_class_equally():
    counts = (80, 15, 5)
    labels = np.repeat(np.arange(3), counts)
    labels = np.concatenate([labels, [1] * 65, [2] * 75])  # a sampler's rows: 80 per class
    synthetic = np.arange(len(labels)) >= sum(counts)
    weights = minority_row_weights(labels, synthetic, pool="all")
    np.testing.assert_allclose(weights, 1 / len(labels))  # balanced classes: every row alike
    real_only = minority_row_weights(labels, synthetic)
    assert real_only[synthetic].sum() == 0
    # unequal pools: 1 / (rows of the class in the pool)
    labels2, synthetic2 = labels[:-70], synthetic[:-70]  # class 2: 5 real + 5 synthetic
    w2 = minority_row_weights(labels2, synthetic2, pool="all")
    pool_counts = np.bincount(labels2).astype(float)
    np.testing.assert_allclose(w2, (1 / pool_counts[labels2]) / (1 / pool_counts[labels2]).sum())
    cmo = CMO(pool="all")
    cmo.setup(
        n_classes=3,
        real_counts=np.array(counts),
        seed=0,
        rows=TrainingRows(labels2, synthetic2, lambda rows: torch.zeros(len(rows), 1, 2, 2)),
    )
    drawn = cmo.draw_rows(60_000)
    np.testing.assert_allclose(np.bincount(labels2[drawn]) / len(drawn), [1 / 3] * 3, atol=0.01)
    class2 = drawn[labels2[drawn] == 2]
    assert 0.45 < synthetic2[class2].mean() < 0.55  # half of class 2's pool is synthetic
    assert cmo.describe()["pool"] == "all"


def test_bad_cmo_pool_is_named():
    with pytest.raises(ValueError, match=r"pool='synthetic' is not a CMO pool; pass 'real'"):
        CMO(pool="synthetic")
    with pytest.raises(ValueError, match=r"pool='x' is not a CMO pool"):
        minority_row_weights([0, 1], [False, True], pool="x")


def test_the_compositions_are_deepsmote_with_the_anchor_recipes():
    drs, cmo = get_method("deepsmote-drs"), get_method("deepsmote-cmo")
    assert drs.sampler == cmo.sampler == "DeepSMOTE" and not drs.sampler_params
    assert drs.recipe.phases == (
        {"name": "draw-rows", "start": 0, "rows": "real"},
        {"name": "draw-rows", "start": 0.5, "rows": "all"},
    )
    assert cmo.recipe.batch_transform == "cmo"
    assert cmo.recipe.batch_transform_params == {
        **get_method("cmo").recipe.batch_transform_params,
        "pool": "all",
    }
    assert cmo.recipe.phases == ({"name": "draw-rows", "start": 0, "rows": "real"},)


def test_deepsmote_cmo_pastes_deepsmote_rows_onto_real_batches(digits, monkeypatch, tmp_path):
    train, test = digits
    pasted, batch_rows = cmo_rows_pasted(monkeypatch), rows_drawn(monkeypatch)

    method = get_method("deepsmote-cmo", sampler_params=TINY_AE, batch_transform="spy-cmo")
    result = run_method(
        method,
        train,
        {"test": test},
        config=FAST.replace(epochs=3),
        seed=0,
        cache_dir=tmp_path,
        progress=False,
    )
    synthetic = np.asarray(result.sampler.synthetic_mask_)
    assert result.n_synthetic == synthetic.sum() == 90 - 49
    batches = np.concatenate(batch_rows)
    assert not synthetic[batches].any()  # the batches: real rows only
    boxes = np.concatenate(pasted)
    assert synthetic[boxes].mean() > 0.2  # the boxes: DeepSMOTE's rows among them
