"""``compare`` without a test split: stratified k-fold cross-validation over every image."""

import numpy as np
import pytest
from PIL import Image

from deepbalance.bench.runner import cv_folds, run_folds
from deepbalance.bench.store import Store
from deepbalance.cli import main
from deepbalance.workflows.compare import DEFAULT_FOLDS, compare_images, prepare_comparison

from .test_compare import make_folder


def _labels(prepared):
    names = sorted({c for _, c in prepared.spec.data.options["files"]["train"]})
    return np.array([names.index(c) for _, c in prepared.spec.data.options["files"]["train"]])


def test_default_is_k_fold_and_records_the_recipe(tmp_path):
    imgs = make_folder(tmp_path / "imgs", counts=(20, 10, 6))
    prepared = prepare_comparison(imgs, store=tmp_path / "none.sqlite")
    record = prepared.spec.data.options["split_record"]
    assert record["kind"] == "kfold" and record["folds"] == DEFAULT_FOLDS
    assert record["seed"] == 0 and "StratifiedKFold" in record["how"]
    assert prepared.spec.cv.folds == DEFAULT_FOLDS and prepared.spec.cv.name == "test"
    assert list(prepared.spec.data.options["files"]) == ["train"]  # every image, one list
    assert prepared.test_counts == {"class0": 20, "class1": 10, "class2": 6}
    assert prepared.spec.seeds == (0,)  # one repeat by default
    text = "\n".join(prepared.data_lines)
    assert f"{DEFAULT_FOLDS}-fold stratified cross-validation × 1 repeat" in text
    assert "every image is tested once per repeat" in text
    # the budget line: 36 images, the first fold trains on about 2/3 of them, one batch
    assert "Training: 500 steps = 500 epochs of" in text
    assert not (tmp_path / "none.sqlite").exists()  # preparing writes nothing


def test_folds_are_stratified_disjoint_cover_every_image_and_reproducible(tmp_path):
    imgs = make_folder(tmp_path / "imgs", counts=(20, 10, 6))
    prepared = prepare_comparison(imgs, store=tmp_path / "none.sqlite", folds=3, seeds=[0, 1])
    labels = _labels(prepared)
    spec = prepared.spec
    for seed in spec.seeds:
        folds = run_folds(spec, labels, seed)
        assert len(folds) == 3
        tested = np.concatenate([test for _, test in folds])
        assert sorted(tested) == list(range(len(labels)))  # each image tested exactly once
        for train, test in folds:
            assert not set(train) & set(test)
            assert sorted(np.concatenate([train, test])) == list(range(len(labels)))
            # stratified: each class's test share is within one image of a third
            for c, n in enumerate(np.bincount(labels)):
                assert abs(np.sum(labels[test] == c) - n / 3) < 1
        again = run_folds(spec, labels, seed)
        assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    # each repeat (seed) has its own folds; another split seed gives other folds
    first = [t.tolist() for _, t in run_folds(spec, labels, 0)]
    assert first != [t.tolist() for _, t in run_folds(spec, labels, 1)]
    other = prepare_comparison(imgs, store=tmp_path / "none.sqlite", folds=3, split_seed=1)
    assert first != [t.tolist() for _, t in run_folds(other.spec, labels, 0)]


def test_a_class_of_one_image_is_trained_on_in_every_fold_and_not_tested(tmp_path):
    imgs = make_folder(tmp_path / "imgs", counts=(10, 6, 1))
    prepared = prepare_comparison(imgs, store=tmp_path / "r.sqlite", methods=["none"], folds=3)
    assert prepared.test_counts["class2"] == 0 and prepared.train_counts["class2"] == 1
    assert any("'class2' has no test image" in n for n in prepared.notes)
    labels = _labels(prepared)
    alone = int(np.flatnonzero(labels == 2)[0])
    for train, test in cv_folds(labels, 3, 0):
        assert alone in train and alone not in test
    with pytest.raises(ValueError, match="random oversampling, logit adjustment and plain CE"):
        prepare_comparison(imgs, store=tmp_path / "r.sqlite", methods=["pixel-smote"], folds=3)


def test_k_fold_comparison_end_to_end_reuses_its_folds(tmp_path, one_thread):  # noqa: F811
    imgs = make_folder(tmp_path / "imgs", counts=(12, 6))
    store, out = tmp_path / "r.sqlite", tmp_path / "report"
    kwargs = dict(
        methods=["none", "random-oversampling"],
        folds=3,
        epochs=1,
        store=store,
        out=out,
        estimate=False,
        progress=False,
    )
    first = compare_images(imgs, **kwargs)
    assert first.summary.ran == 6 and not first.summary.failed
    with Store(store) as opened:
        (row,) = opened.specs()
        runs = opened.runs(row["spec_name"], row["spec_hash"])
    files = row["spec"]["data"]["options"]["files"]["train"]
    assert row["spec"]["data"]["options"]["split_record"]["kind"] == "kfold"
    for method in ("none", "random-oversampling"):
        mine = [r for r in runs if r.method_id == method]
        held = sorted(i for r in mine for i in r.data["fold_test_rows"])
        assert held == list(range(len(files)))  # the store records every image's fold
        tested = sum(np.array(r.final["test"]["confusion_matrix"]).sum() for r in mine)
        assert tested == len(files) == 18
    # methods are paired on the same folds
    by = {(r.method_id, r.variant): r.data["fold_test_rows"] for r in runs}
    for fold in (1, 2, 3):
        variant = f"fold-{fold}-of-3"
        assert by[("none", variant)] == by[("random-oversampling", variant)]
    best = first.verdict.best
    assert best.pooled and best.n_images == 18 and best.n == 3 and best.folds == 3
    assert "over all 18 tested images (3-fold cross-validation × 1 repeat" in best.text()
    report = (out / "report.md").read_text()
    assert "Protocol: stratified 3-fold cross-validation" in report
    assert "ACSA per fold" in report and "seed 0 fold 3" in report
    # a rerun finds the recorded file list and folds and reruns nothing
    again = prepare_comparison(imgs, store=store, methods=["none"], folds=3, epochs=1)
    assert again.split_reused and again.spec.hash == first.spec.hash
    rerun = compare_images(imgs, **kwargs)
    assert (rerun.summary.ran, rerun.summary.skipped) == (0, 6)
    # a changed folder is refused unless --resplit
    Image.fromarray(np.zeros((12, 12), np.uint8)).save(imgs / "class1" / "extra.png")
    with pytest.raises(ValueError, match=r"changed since its file list and folds.*--resplit"):
        prepare_comparison(imgs, store=store, folds=3)
    fresh = prepare_comparison(imgs, store=store, folds=3, resplit=True)
    assert not fresh.split_reused and fresh.test_counts == {"class0": 12, "class1": 7}


def test_bad_fold_and_budget_arguments(tmp_path):
    imgs = make_folder(tmp_path / "imgs", counts=(20, 4))
    with pytest.raises(
        ValueError,
        match=r"--folds 5 is more than the 4 images of class 'class1', the rarest class.*"
        r"--folds 4 or fewer",
    ):
        prepare_comparison(imgs, folds=5)
    with pytest.raises(ValueError, match=r"--folds 1: cross-validation needs at least 2 folds"):
        prepare_comparison(imgs, folds=1)
    with pytest.raises(ValueError, match=r"--test-fraction 0.2 and --folds 3 both given"):
        prepare_comparison(imgs, folds=3, test_fraction=0.2)
    for bad in (0, -10):
        with pytest.raises(ValueError, match=rf"--min-steps {bad}: the step budget must be >= 1"):
            prepare_comparison(imgs, min_steps=bad)
    with pytest.raises(ValueError, match=r"--epochs 3 and --min-steps 100 both given"):
        prepare_comparison(imgs, epochs=3, min_steps=100)
    make_folder(tmp_path / "split" / "train", counts=(10, 7))
    make_folder(tmp_path / "split" / "test", counts=(3, 2), seed=1)
    with pytest.raises(ValueError, match=r"--folds 3: .* has its own test split"):
        prepare_comparison(tmp_path / "split", folds=3)


def test_min_steps_and_epochs_reach_the_spec(tmp_path):
    imgs = make_folder(tmp_path / "imgs", counts=(20, 10))
    assert prepare_comparison(imgs).spec.train.min_steps == 500
    assert prepare_comparison(imgs, min_steps=50).spec.train.min_steps == 50
    exact = prepare_comparison(imgs, epochs=2).spec.train
    assert (exact.epochs, exact.min_steps) == (2, None)


def test_cli_fold_errors_are_one_line(tmp_path, capsys):
    imgs = make_folder(tmp_path / "imgs", counts=(10, 3))
    assert main(["compare", str(imgs), "--folds", "4", "--store", str(tmp_path / "r.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "class 'class1'" in err and "--folds 3 or fewer" in err
    argv = ["compare", str(imgs), "--folds", "2", "--test-fraction", "0.2"]
    assert main(argv) == 2
    assert "both given" in capsys.readouterr().err
