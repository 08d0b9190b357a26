"""The metrics registry: suites, what splits ask for, and the trainer computing them."""

import numpy as np
import pytest

from deepbalance import metrics
from deepbalance.data.imageset import ImageSet
from deepbalance.metrics import (
    METRIC_SUITES,
    MetricSuite,
    metric_label,
    metric_names,
    metric_suites_for,
    register_metric_suite,
)
from deepbalance.training import TrainConfig, Trainer


def test_every_selectable_metric_comes_from_a_registered_suite():
    names = metric_names()
    assert names[:7] == (
        "acsa",
        "gm",
        "macro_precision",
        "macro_recall",
        "macro_f1",
        "auroc",
        "accuracy",
    )
    # the chest X-ray module registers its own suite
    assert "abnormality" in METRIC_SUITES
    assert {"auroc_abnormal", "auroc_subconditions_mean"} <= set(names)
    assert metric_label("auroc_abnormal") == "AUROC normal/abnormal"
    assert metric_label("not-a-metric") == "not-a-metric"


def _split(labels, n_names, **meta):
    labels = np.asarray(labels)
    images = np.zeros((len(labels), 1, 4, 4), dtype=np.uint8)
    return ImageSet(images, labels, tuple(f"c{i}" for i in range(n_names)), "test", meta)


def test_splits_ask_for_their_suites():
    plain = _split([0, 1, 2], 3)
    assert [s.name for s in metric_suites_for(plain, 3)] == ["classification"]
    framework = _split([0, 1, 2], 3, normal_class=0)
    assert [s.name for s in metric_suites_for(framework, 3)] == ["classification", "abnormality"]
    # binary normal/abnormal labels against three classes: the class metrics are undefined
    binary = _split([0, 1, 1], 2, normal_class=0)
    assert [s.name for s in metric_suites_for(binary, 3)] == ["abnormality"]


def test_a_registered_suite_is_computed_by_the_trainer_on_the_splits_that_ask(digits, monkeypatch):
    calls = []

    def compute(split, proba, evaluate):
        calls.append((split.source, proba.shape))
        return {"mean_top_probability": float(proba.max(1).mean())}

    suite = MetricSuite(
        "confidence",
        scalars={"mean_top_probability": "Mean top probability"},
        needs=("scores",),
        wants=lambda split, n_classes: split.meta.get("confidence", False),
        compute=compute,
    )
    monkeypatch.setitem(METRIC_SUITES, "confidence", suite)
    train, test = digits
    asks = ImageSet(test.images, test.labels, test.class_names, "asks", {"confidence": True})
    result = Trainer(TrainConfig(epochs=1, min_steps=None), progress=False).fit(
        train, {"test": test, "asks": asks}
    )
    assert "mean_top_probability" in result.final["asks"]
    assert "acsa" in result.final["asks"]
    assert "mean_top_probability" not in result.final["test"]
    assert calls == [("asks", (len(test), 3))]


def test_bad_suites_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="already registered"):
        register_metric_suite(METRIC_SUITES["classification"])
    clash = MetricSuite(
        "another", scalars={"acsa": "ACSA"}, needs=(), wants=bool, compute=lambda *a: {}
    )
    with pytest.raises(ValueError, match=r"redefines \['acsa'\].*'classification'"):
        register_metric_suite(clash)
    with pytest.raises(ValueError, match="needs=.*choose from labels, scores, normal_class"):
        MetricSuite("x", scalars={}, needs=("pixels",), wants=bool, compute=bool)
    with pytest.raises(TypeError, match="scalars=.*display labels"):
        MetricSuite("x", scalars=["acsa"], needs=(), wants=bool, compute=bool)
    with pytest.raises(TypeError, match="compute must be callable"):
        MetricSuite("x", scalars={}, needs=(), wants=bool, compute=None)
    assert "another" not in metrics.METRIC_SUITES


def test_an_unregistered_selection_metric_names_the_registered_ones():
    with pytest.raises(ValueError, match="best_metric.*'acsa'.*'auroc_abnormal'"):
        TrainConfig(best_metric="top5")
