"""``deepbalance compare`` end to end on a generated folder of tiny PNGs, and its bad inputs."""

import sqlite3

import numpy as np
import pytest
from PIL import Image

from deepbalance.bench.store import GRID_KIND, Store
from deepbalance.cli import main
from deepbalance.workflows.compare import DEFAULT_METHODS, compare_images, prepare_comparison

#: a tiny autoencoder and one triplet epoch, so the default methods all run in seconds
TINY = {
    "deepsmote": {"sampler_params": {"epochs": 1, "dim_h": 4}},
    "deepsmote-published": {"sampler_params": {"epochs": 1, "dim_h": 4}},
    "cle-smote": {"pretrain_epochs": 1},
}


def make_folder(root, counts=(30, 12, 8), size=12, mode="L", seed=0):
    """One sub-folder per class of ``size``x``size`` PNGs with a class-specific stripe."""
    rng = np.random.RandomState(seed)
    for c, n in enumerate(counts):
        folder = root / f"class{c}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            img = rng.randint(0, 60, (size, size))
            img[:, 2 + 3 * c : 4 + 3 * c] += 180
            arr = np.clip(img, 0, 255).astype(np.uint8)
            if mode == "RGB":
                arr = np.stack([arr] * 3, axis=-1)
            Image.fromarray(arr).save(folder / f"{i:03d}.png")
    return root


@pytest.mark.slow
def test_compare_command_end_to_end(tmp_path, one_thread, capsys):
    imgs = make_folder(tmp_path / "imgs")
    store, out = tmp_path / "results.sqlite", tmp_path / "report"
    argv = ["compare", str(imgs), "--budget", "quick", "--store", str(store), "--out", str(out)]
    argv += ["--test-fraction", "0.2"]  # one hold-out split (cross-validation: test_compare_folds)
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "1 channel (every file is grayscale)" in printed
    assert "estimated time: about" in printed
    assert "Recommendation:" in printed

    report = (out / "report.md").read_text()
    head = report.split("## Data")[0]
    assert "## Recommendation" in head and "paired t-test" in head and "p = " in head
    assert "Per-class recall" in report and "Confusion matrices" in report
    assert "Synthetic samples" in report and "REDUCED" in report
    with Store(store) as opened:
        (row,) = opened.specs()
        runs = opened.runs(row["spec_name"], row["spec_hash"])
        artifacts = opened.artifacts(row["spec_name"], row["spec_hash"])
    grids = {m for m, kind, _ in artifacts if kind == GRID_KIND}
    assert {r.method_id for r in runs} == set(DEFAULT_METHODS)
    assert sorted({r.seed for r in runs}) == [0, 1]
    assert {"random-oversampling", "pixel-smote", "deepsmote", "cle-smote"} <= grids
    files = row["spec"]["data"]["options"]["files"]
    # stratified 20% per class, every class tested, recorded in the store
    tested = [sum(1 for _, c in files["test"] if c == f"class{k}") for k in range(3)]
    assert tested == [6, 2, 2]
    confusion = runs[0].final["test"]["confusion_matrix"]
    assert np.array(confusion).sum() == len(files["test"]) and len(confusion) == 3

    # a rerun reuses the split and every finished run
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "reusing the test split recorded in" in printed
    assert "12 already stored, 0 to run" in printed


def test_compare_library_split_is_recorded_and_reused(tmp_path, one_thread):
    imgs = make_folder(tmp_path / "imgs", counts=(14, 8))
    store = tmp_path / "r.sqlite"
    kwargs = dict(
        methods=["none", "random-oversampling"],
        seeds=[0, 1],
        epochs=1,
        test_fraction=0.2,
        store=store,
        out=tmp_path / "report",
        estimate=False,
        progress=False,
    )
    first = compare_images(imgs, **kwargs)
    assert first.summary.ran == 4 and not first.summary.failed
    assert [s.n for s in first.verdict.scores] == [2, 2]
    assert first.verdict.best.method_id in ("none", "random-oversampling")
    again = prepare_comparison(imgs, store=store, methods=["none"], seeds=[0], test_fraction=0.2)
    assert again.split_reused
    assert again.spec.data.options["files"] == first.spec.data.options["files"]
    # the same split with the same recipe and methods is the same protocol: nothing reruns
    rerun = compare_images(imgs, **kwargs)
    assert (rerun.summary.ran, rerun.summary.skipped) == (0, 4)

    # a changed folder is refused (it would silently change the split), unless resplit
    Image.fromarray(np.zeros((12, 12), np.uint8)).save(imgs / "class1" / "extra.png")
    with pytest.raises(
        ValueError, match=r"changed since its test split.*class1/extra\.png.*--resplit"
    ):
        prepare_comparison(imgs, store=store, test_fraction=0.2)
    fresh = prepare_comparison(imgs, store=store, resplit=True, test_fraction=0.2)
    assert not fresh.split_reused and fresh.train_counts == {"class0": 11, "class1": 7}


def test_the_split_is_seeded_and_stratified(tmp_path):
    imgs = make_folder(tmp_path / "imgs", counts=(20, 10, 6))
    kwargs = dict(store=tmp_path / "none.sqlite", test_fraction=0.2)
    a = prepare_comparison(imgs, **kwargs)
    b = prepare_comparison(imgs, **kwargs)
    c = prepare_comparison(imgs, **kwargs, split_seed=1)
    assert a.spec.data.options["files"] == b.spec.data.options["files"]
    assert a.spec.data.options["files"] != c.spec.data.options["files"]
    assert a.test_counts == {"class0": 4, "class1": 2, "class2": 1}
    assert not (tmp_path / "none.sqlite").exists()  # preparing writes nothing


def test_given_test_folder_is_used_as_is(tmp_path):
    make_folder(tmp_path / "imgs" / "train", counts=(10, 7))
    make_folder(tmp_path / "imgs" / "test", counts=(3, 2), seed=1)
    prepared = prepare_comparison(tmp_path / "imgs", store=tmp_path / "r.sqlite")
    assert prepared.train_counts == {"class0": 10, "class1": 7}
    assert prepared.test_counts == {"class0": 3, "class1": 2}
    assert prepared.spec.data.options["split_record"]["kind"] == "given"


def test_csv_source(tmp_path):
    imgs = make_folder(tmp_path / "imgs", counts=(10, 7))
    lines = ["path,label"] + [
        f"{p.relative_to(tmp_path).as_posix()},{p.parent.name}" for p in sorted(imgs.rglob("*.png"))
    ]
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    prepared = prepare_comparison(
        tmp_path / "labels.csv", store=tmp_path / "r.sqlite", test_fraction=0.2
    )
    assert prepared.spec.name == "compare-labels"
    assert sum(prepared.train_counts.values()) + sum(prepared.test_counts.values()) == 17


def test_small_class_skips_smote_methods_by_default_and_fails_when_named(tmp_path):
    imgs = make_folder(tmp_path / "imgs", counts=(20, 5))  # 4 training images of class1
    prepared = prepare_comparison(imgs, store=tmp_path / "r.sqlite", folds=5)
    kept = {m.id for m in prepared.spec.methods}
    assert kept == {"none", "random-oversampling", "logit-adjustment"}
    assert any("needs at least 6 training images per class" in n for n in prepared.notes)
    with pytest.raises(ValueError, match=r"'pixel-smote'.*at least 6.*'class1' \(4\)"):
        prepare_comparison(imgs, store=tmp_path / "r.sqlite", methods="none,pixel-smote", folds=5)


def test_class_with_one_image_is_trained_on_not_tested(tmp_path):
    imgs = make_folder(tmp_path / "imgs", counts=(10, 1))
    prepared = prepare_comparison(
        imgs, store=tmp_path / "r.sqlite", methods=["none"], test_fraction=0.2
    )
    assert prepared.train_counts["class1"] == 1 and prepared.test_counts["class1"] == 0
    assert any("'class1' has no test image" in n for n in prepared.notes)
    with pytest.raises(ValueError, match="random oversampling, logit adjustment and plain CE"):
        prepare_comparison(imgs, store=tmp_path / "r.sqlite", methods=["pixel-smote"])


def test_bad_arguments(tmp_path):
    imgs = make_folder(tmp_path / "imgs", counts=(10, 7))
    with pytest.raises(ValueError, match="'nope'"):
        prepare_comparison(imgs, methods=["nope"])
    with pytest.raises(ValueError, match="seeds=0 must be >= 1"):
        prepare_comparison(imgs, seeds=0)
    with pytest.raises(ValueError, match="budget='slow'"):
        prepare_comparison(imgs, budget="slow")
    with pytest.raises(ValueError, match="test_fraction=0.9 is out of range"):
        prepare_comparison(imgs, test_fraction=0.9)
    with pytest.raises(ValueError, match="method_params names"):
        prepare_comparison(imgs, methods=["none"], method_params={"deepsmote": {}})


def test_cli_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["compare", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no class sub-folders" in err and err.count("\n") == 1
    store = tmp_path / "foreign.sqlite"
    sqlite3.connect(store).execute("CREATE TABLE x (y)").connection.commit()
    make_folder(tmp_path / "imgs", counts=(10, 7))
    assert main(["compare", str(tmp_path / "imgs"), "--store", str(store), "--epochs", "1"]) == 2
    assert "not a deepbalance results store" in capsys.readouterr().err


def test_seeds_name_seeds_and_n_seeds_counts_as_in_bench_run():
    from deepbalance.cli.compare import compare_seeds

    assert compare_seeds(None, None) is None
    assert compare_seeds(None, 4) == 4
    assert compare_seeds("0,1,2", None) == [0, 1, 2]
    assert compare_seeds("[4]", None) == [4]
    with pytest.warns(FutureWarning, match="pass --n-seeds 3 for seeds 0..2"):
        assert compare_seeds("3", None) == 3
    with pytest.raises(ValueError, match="--seeds 'a,b' must be seeds >= 0"):
        compare_seeds("a,b", None)


def test_a_bare_seeds_number_warns_on_the_command_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["compare", str(tmp_path / "empty"), "--seeds", "3"]) == 2
    warning, error = capsys.readouterr().err.splitlines()
    assert warning.startswith("warning: --seeds 3 as a number of seeds is deprecated")
    assert "--n-seeds 3" in warning
    assert error.startswith("error: ") and "no class sub-folders" in error
    assert main(["compare", str(tmp_path / "empty"), "--seeds", "0", "--n-seeds", "2"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
