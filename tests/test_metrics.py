"""Metrics against hand-computed values, the libraries they wrap, and bad input."""

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from imblearn.metrics import geometric_mean_score
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score

from deepbalance import metrics
from deepbalance.metrics import evaluate

# Three classes, two samples each; class 2 is never predicted.
Y_TRUE = [0, 0, 1, 1, 2, 2]
Y_PRED = [0, 0, 1, 0, 1, 1]


def test_hand_computed_multiclass_with_a_never_predicted_class():
    result = evaluate(Y_TRUE, Y_PRED)
    # recall: class 0 2/2, class 1 1/2, class 2 0/2
    assert result["per_class_recall"] == [1.0, 0.5, 0.0]
    assert result["acsa"] == pytest.approx(0.5)
    assert result["macro_recall"] == pytest.approx(0.5)
    # precision: class 0 2/3, class 1 1/2 predicted 1 are right -> 1/3, class 2 none -> 0
    assert result["macro_precision"] == pytest.approx((2 / 3 + 1 / 3 + 0) / 3)
    # F1: 2PR/(P+R) -> 0.8, 0.4, 0
    assert result["macro_f1"] == pytest.approx((0.8 + 0.4 + 0.0) / 3)
    assert result["accuracy"] == pytest.approx(3 / 6)
    # specificity: class 0 3/4, class 1 2/4, class 2 4/4 -> mean 3/4; GM = sqrt(0.5 * 0.75)
    assert result["gm"] == pytest.approx(np.sqrt(0.5 * 0.75))
    assert "auroc" not in result


def test_hand_computed_binary_auroc():
    y_true = [0, 0, 1, 1]
    scores = [0.1, 0.4, 0.35, 0.8]  # 3 of the 4 positive/negative pairs ordered correctly
    assert metrics.auroc(y_true, scores) == pytest.approx(0.75)
    two_columns = np.stack([1 - np.array(scores), scores], axis=1)
    assert metrics.auroc(y_true, two_columns) == pytest.approx(0.75)
    result = evaluate(y_true, [0, 1, 0, 1], scores)
    assert result["auroc"] == pytest.approx(0.75)
    assert result["acsa"] == pytest.approx(0.5)


def test_multiclass_auroc_is_mean_one_vs_rest():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 4, 80)
    proba = rng.dirichlet(np.ones(4), 80)
    expected = roc_auc_score(y, proba, multi_class="ovr", average="macro")
    assert metrics.auroc(y, proba) == pytest.approx(expected)
    per_class = [roc_auc_score(y == k, proba[:, k]) for k in range(4)]
    assert evaluate(y, proba.argmax(1), proba)["auroc"] == pytest.approx(np.mean(per_class))


def test_agrees_with_the_libraries_on_random_predictions():
    rng = np.random.RandomState(1)
    y_true = rng.randint(0, 5, 200)
    y_pred = np.where(rng.rand(200) < 0.6, y_true, rng.randint(0, 5, 200))
    result = evaluate(y_true, y_pred)
    assert result["acsa"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    assert result["gm"] == pytest.approx(geometric_mean_score(y_true, y_pred, average="macro"))
    assert result["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert result["acsa"] == pytest.approx(metrics.acsa(y_true, y_pred))
    assert result["gm"] == pytest.approx(metrics.geometric_mean(y_true, y_pred))
    assert result["macro_precision"] == pytest.approx(metrics.macro_precision(y_true, y_pred))
    assert result["macro_recall"] == pytest.approx(metrics.macro_recall(y_true, y_pred))
    assert result["macro_f1"] == pytest.approx(metrics.macro_f1(y_true, y_pred))
    assert result["accuracy"] == pytest.approx(metrics.accuracy(y_true, y_pred))
    np.testing.assert_allclose(result["per_class_recall"], metrics.per_class_recall(y_true, y_pred))


def test_result_is_plain_json():
    result = evaluate(Y_TRUE, Y_PRED, np.eye(3)[Y_PRED])
    assert json.loads(json.dumps(result)) == result
    lists = ("per_class_recall", "confusion_matrix")
    assert all(type(v) is float for k, v in result.items() if k not in lists)
    assert all(type(n) is int for row in result["confusion_matrix"] for n in row)


def test_labels_order_and_a_class_absent_from_y_true():
    with pytest.warns(UserWarning, match=r"class\(es\) \[3\] do not occur in y_true"):
        result = evaluate(Y_TRUE, Y_PRED, labels=[2, 1, 0, 3])
    recall = result["per_class_recall"]
    assert recall[:3] == [0.0, 0.5, 1.0] and np.isnan(recall[3])
    assert result["acsa"] == pytest.approx(0.5)  # the absent class is left out of the mean
    proba = np.full((6, 4), 0.25)
    with pytest.warns(UserWarning):
        auroc = evaluate(Y_TRUE, Y_PRED, proba)["auroc"]
    assert auroc == pytest.approx(0.5)  # ties everywhere; class 3 left out


def test_single_class_auroc_is_nan_with_a_warning():
    with pytest.warns(UserWarning) as record:
        value = metrics.auroc([1, 1, 1], [0.2, 0.5, 0.9], labels=[0, 1])
    assert np.isnan(value)
    assert any("single class" in str(w.message) for w in record)


def test_no_warning_when_every_class_is_present():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate(Y_TRUE, Y_PRED, np.eye(3)[Y_PRED])


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([0, 1, 1], [0, 1]), {}, ValueError, "3 samples but y_pred has 2"),
        (([0, 1], [[0, 1]]), {}, ValueError, r"y_pred must be 1-D.*argmax"),
        (([0, 1], [0.2, 0.9]), {}, ValueError, "non-integer values"),
        (([], []), {}, ValueError, "y_true is empty"),
        (([0, 1, 2], [0, 1, 2]), {"labels": [0, 1]}, ValueError, r"label\(s\) \[2\]"),
        (([0, 1], [0, 1]), {"labels": [0, 0, 1]}, ValueError, "repeats a class"),
        (([0, 1], [0, 1], [[0.5, 0.5, 0.0]]), {}, ValueError, r"shape \(2,\) or \(2, K\)"),
        (([0, 1, 2], [0, 1, 2], [0.1, 0.2, 0.3]), {}, ValueError, "exactly 2 labels"),
        (([0, 1], [0, 1], [0.1, np.nan]), {}, ValueError, "NaN or infinite"),
        (([0, 1], [0, 1], [[0.1], [0.9]]), {}, ValueError, "1 column"),
        (([0, 1], [0, 1], np.eye(2)), {"labels": [0, 1, 2]}, ValueError, "exactly 2 labels"),
        (([0, 1, 2], [0, 1, 2], np.eye(3)), {"labels": [0, 1, 2, 3]}, ValueError, "3 columns"),
        (([0, 1], [0, 1], ["a", "b"]), {}, TypeError, "must be numeric"),
    ],
)
def test_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        evaluate(*args, **kwargs)


def test_metrics_module_does_not_import_torch():
    code = "import sys, deepbalance.metrics; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_confusion_matrix_rows_are_true_classes():
    from deepbalance.metrics import confusion

    with pytest.warns(UserWarning, match=r"\[3\] do not occur"):
        result = evaluate([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], labels=[0, 1, 2, 3])
    expected = [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]]
    assert result["confusion_matrix"] == expected
    assert (
        confusion([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], labels=[0, 1, 2, 3]).tolist() == expected
    )


def test_recall_and_acsa_come_from_scikit_learn(monkeypatch):
    import sklearn.metrics

    calls = []

    def spy(name):
        real = getattr(sklearn.metrics, name)

        def wrapper(*args, **kwargs):
            calls.append((name, kwargs))
            return real(*args, **kwargs)

        monkeypatch.setattr(metrics, name, wrapper)

    spy("recall_score")
    spy("balanced_accuracy_score")
    with pytest.warns(UserWarning, match=r"\[3\] do not occur"):
        result = evaluate(Y_TRUE, Y_PRED, labels=[0, 1, 2, 3])
    names = [name for name, _ in calls]
    assert "recall_score" in names and "balanced_accuracy_score" in names
    kwargs = dict(calls)["recall_score"]
    assert kwargs["average"] is None and np.isnan(kwargs["zero_division"])
    assert np.isnan(result["per_class_recall"][3])


def test_absent_class_that_is_predicted_warns_once():
    y_true, y_pred = [0, 0, 1, 1], [0, 2, 1, 1]  # class 2 predicted, never true
    with pytest.warns(UserWarning) as record:
        result = evaluate(y_true, y_pred, labels=[0, 1, 2])
    assert len(record) == 1 and "[2] do not occur in y_true" in str(record[0].message)
    assert result["acsa"] == pytest.approx(0.75)
    assert result["per_class_recall"][:2] == [0.5, 1.0] and np.isnan(result["per_class_recall"][2])
