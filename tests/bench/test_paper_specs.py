"""The papers' numbers in the specs, cross-validation test sets, selection readings and
synthetic-image diagnostics in runs and reports; the CIFAR-10 / MNIST specs on generated files
of the published formats."""

import gzip
import pickle
import sqlite3
import struct

import numpy as np
import pytest

from deepbalance.bench.report import load_protocols, write_report
from deepbalance.bench.runner import cv_folds, expand_grid, run_spec
from deepbalance.bench.spec import SpecError, apply_overrides, load_spec, loads_spec
from deepbalance.bench.store import Store
from deepbalance.cli import main

# --------------------------------------------------------------------------------------------
# the papers' numbers, transcribed (papers/README.md; 0..1 scale)

#: (spec, test set, method id, metric, value): cells of each paper table, checked one by one
CELLS = [
    # DeepSMOTE, Dablain et al. 2022 Table 1 (5-fold cross-validation): SMOTE and DeepSMOTE rows
    ("deepsmote-mnist", "cv", "pixel-smote", "acsa", 0.8148),
    ("deepsmote-mnist", "cv", "deepsmote-published", "gm", 0.9811),
    ("deepsmote-fmnist", "cv", "pixel-smote", "macro_f1", 0.6712),
    ("deepsmote-fmnist", "cv", "deepsmote-published", "acsa", 0.8488),
    ("deepsmote-cifar10", "cv", "pixel-smote", "gm", 0.5008),
    ("deepsmote-cifar10", "cv", "deepsmote-published", "macro_f1", 0.4486),
    ("deepsmote-svhn", "cv", "pixel-smote", "macro_f1", 0.7180),
    ("deepsmote-svhn", "cv", "deepsmote-published", "acsa", 0.7959),
    ("deepsmote-celeba", "cv", "pixel-smote", "acsa", 0.6029),
    ("deepsmote-celeba", "cv", "deepsmote-published", "macro_f1", 0.6699),
    # the journal version's balanced test set (DeepSMOTE only)
    ("deepsmote-fmnist", "balanced", "deepsmote-published", "gm", 0.9061),
    # CLE-SMOTE, Lee et al. 2024 Table 1 and Supplementary Table 2
    ("cle-binary-cifar10", "test", "none", "auroc", 0.824),
    ("cle-binary-cifar10", "test", "no-class-imbalance", "auroc", 0.903),
    ("cle-binary-cifar10", "test", "cle-no-pretrain", "auroc", 0.856),
    ("cle-binary-cifar10", "test", "cle-batch-average", "auroc", 0.868),
    ("cle-3class-cifar10", "test", "random-oversampling", "auroc", 0.727),
    ("cle-3class-cifar10", "test", "cle-smote", "auroc", 0.753),
    ("cle-3class-cifar10", "test", "no-class-imbalance", "auroc", 0.8332),
    ("cle-3class-cifar10", "test", "cle-v1", "auroc", 0.523),
    # Mandal 2024 Tables 5.1-5.5
    ("rae-mnist", "test", "beta-vae-smote-b1", "macro_precision", 0.8713),
    ("rae-mnist", "test", "deep-denoising-calibration", "macro_f1", 0.9216),
    ("rae-cifar10", "test", "deep-sparse-smote", "macro_recall", 0.4651),
    ("rae-cifar10", "test", "deep-adasyn", "macro_f1", 0.4600),
    # chest X-ray, CLE-SMOTE CXR 2024 §4.4 text
    ("cxr-chexpert", "valid", "cle-smote", "auroc_abnormal", 0.85),
]
#: rows of each table (every method with a number) per spec and test set
ROWS = {
    ("deepsmote-mnist", "cv"): {"pixel-smote", "deepsmote-published"},
    ("cle-binary-cifar10", "test"): {
        "none",
        "random-oversampling",
        "pixel-smote",
        "cle-smote",
        "no-class-imbalance",
        "cle-constant-cap",
        "cle-no-pretrain",
        "cle-batch-average",
        "cle-euclidean",
        "cle-v1",
    },
    ("rae-mnist", "test"): {
        "deepsmote-published",
        "beta-vae-smote-b1",
        "beta-vae-smote-b2",
        "deep-sparse-smote",
        "deep-denoising-smote",
        "deep-denoising-calibration",
    },
}


@pytest.mark.parametrize("name, test_set, method, metric, value", CELLS)
def test_paper_cells_are_transcribed(name, test_set, method, metric, value):
    assert load_spec(name).paper[test_set][method][metric] == pytest.approx(value, abs=1e-9)


@pytest.mark.parametrize("name, test_set", sorted(ROWS))
def test_paper_tables_have_their_rows_and_a_note(name, test_set):
    spec = load_spec(name)
    assert set(spec.paper[test_set]) == ROWS[(name, test_set)]
    assert spec.paper_note


@pytest.mark.parametrize("name", ["rae-fmnist", "cle-binary-fmnist", "cle-3class-mnist"])
def test_specs_off_the_papers_data_carry_no_numbers_and_say_why(name):
    spec = load_spec(name)
    assert spec.paper == {} and spec.paper_note.startswith("none:")


def test_deepsmote_note_names_the_rows_without_a_method():
    spec = load_spec("deepsmote-cifar10")
    for row in ("AMDO", "MC-CCR", "MC-RBO", "BAGAN", "GAMO"):
        assert row in spec.source.note and row in spec.paper_note


# --------------------------------------------------------------------------------------------
# bad [paper] tables and cross-validation keys: file, key and line


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


BAD_PAPER = [
    ("balanced.nope", "acsa = 0.5", "paper.balanced.nope", "paper.balanced.nope", "method id"),
    ("holdout.fake-none", "acsa = 0.5", "paper.holdout", "paper.holdout", "not a test set"),
    ("balanced.fake-smote", "acsb = 0.5", "paper.balanced.fake-smote.acsb", "acsb", "choose one"),
    ("balanced.fake-smote", "auroc = 0.5", "paper.balanced.fake-smote.auroc", "auroc =", "reports"),
    ("balanced.fake-smote", "acsa = 84.88", "paper.balanced.fake-smote.acsa", "84.88", "0..1"),
]


@pytest.mark.parametrize("table, value, key, needle, words", BAD_PAPER)
def test_bad_paper_tables_name_file_key_and_line(fake, table, value, key, needle, words):
    text = fake.SPEC_TOML + f"\n[paper.{table}]\n{value}\n"
    with pytest.raises(SpecError) as info:
        loads_spec(text, file="bad.toml")
    error = info.value
    assert error.key == key and error.line == _line_of(text, needle)
    assert str(error).startswith(f"bad.toml:{error.line}: {key} = ") and words in str(error)


CV = '[[test_sets]]\nname = "cv"\npolicy = "cv"\nfolds = 5\n'


def _with_cv(fake, block=CV):
    text = fake.SPEC_TOML.replace("[train]", block + "\n[train]")
    assert text != fake.SPEC_TOML
    return text


@pytest.mark.parametrize(
    "old, new, key, needle, words",
    [
        ("folds = 5", "folds = 1", "test_sets[2].folds", "folds = 1", ">= 2"),
        ("folds = 5", "folds = 2.5", "test_sets[2].folds", "folds = 2.5", ">= 2"),
        ('policy = "cv"', 'policy = "official"', "test_sets[2].folds", "folds = 5", "needs policy"),
    ],
)
def test_bad_fold_keys_name_key_and_line(fake, old, new, key, needle, words):
    text = _with_cv(fake).replace(old, new)
    with pytest.raises(SpecError) as info:
        loads_spec(text, file="cv.toml")
    error = info.value
    assert error.key == key and error.line == _line_of(text, needle) and words in str(error)


def test_one_cross_validation_test_set_per_spec(fake):
    text = _with_cv(fake, CV + CV.replace('"cv"\npolicy', '"cv2"\npolicy'))
    with pytest.raises(SpecError, match="one cross-validation test set") as info:
        loads_spec(text, file="cv.toml")
    assert info.value.key == "test_sets[3].policy"


def test_folds_default_to_five_and_keep_old_hashes(fake):
    spec = loads_spec(_with_cv(fake, CV.replace("folds = 5\n", "")))
    assert spec.cv.folds == 5
    plain = loads_spec(fake.SPEC_TOML)
    assert "folds" not in plain.protocol()["test_sets"][0]  # specs without cv keep their hash
    assert spec.protocol()["test_sets"][2]["folds"] == 5


def test_more_folds_than_the_smallest_class_is_refused_before_any_run(fake, toolkit, tmp_path):
    text = _with_cv(fake).replace("folds = 5", "folds = 9")  # the profile's smallest class: 8
    path = tmp_path / "cv.toml"
    path.write_text(text)
    spec = load_spec(path)
    with pytest.raises(SpecError, match="fewer than the folds") as info:
        run_spec(spec, store=tmp_path / "r.sqlite", toolkit=toolkit, progress=False)
    assert info.value.key == "test_sets[2].folds" and info.value.line == _line_of(text, "folds = 9")
    assert f"{path}:{info.value.line}" in str(info.value) and "folds <= 8" in str(info.value)
    assert not (tmp_path / "r.sqlite").exists()


# --------------------------------------------------------------------------------------------
# the fold split


def test_cv_folds_by_hand():
    labels = np.array([0] * 10 + [1] * 5)
    folds = cv_folds(labels, 5, seed=3)
    assert len(folds) == 5
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested.tolist()) == list(range(15))  # every row tested exactly once
    for train, test in folds:
        assert sorted(labels[test].tolist()) == [0, 0, 1]  # 2 of 10 and 1 of 5 per fold
        assert sorted(np.concatenate([train, test]).tolist()) == list(range(15))
        assert not set(train) & set(test)
    again = cv_folds(labels, 5, seed=3)
    assert all((a[1] == b[1]).all() for a, b in zip(folds, again, strict=True))
    other = cv_folds(labels, 5, seed=4)
    assert any((a[1] != b[1]).any() for a, b in zip(folds, other, strict=True))


@pytest.mark.parametrize(
    "folds, words", [(1, ">= 2"), (True, ">= 2"), (6, "smallest class's 5 images")]
)
def test_cv_folds_refuses_bad_counts(folds, words):
    with pytest.raises(ValueError, match=words):
        cv_folds(np.array([0] * 10 + [1] * 5), folds, seed=0)


def test_cross_validation_grid_stores_every_fold_and_reports_mean_over_folds(
    fake, toolkit, tmp_path
):
    spec = loads_spec(_with_cv(fake).replace("seeds = [0, 1, 2]", "seeds = [0]"))
    grid = expand_grid(spec)
    assert len(grid) == 5 * 3 and {p.fold for p in grid} == {1, 2, 3, 4, 5}
    path = tmp_path / "r.sqlite"
    summary = run_spec(spec, store=path, toolkit=toolkit, progress=False)
    assert summary.complete and summary.ran == 15
    with Store(path, read_only=True) as store:
        runs = store.runs(spec.name, spec.hash)
    none = sorted((r for r in runs if r.method_id == "fake-none"), key=lambda r: r.variant)
    assert [r.variant for r in none] == [f"fold-{k}-of-5" for k in range(1, 6)]
    assert [r.variant_params["fold"] for r in none] == [1, 2, 3, 4, 5]
    held_out = np.sum([r.data["test_counts"]["cv"] for r in none], axis=0)
    assert held_out.tolist() == [40, 20, 8]  # the folds partition the training set
    for r in none:
        fold = np.array(r.data["test_counts"]["cv"])
        assert (np.array(r.data["train_counts"]) + fold).tolist() == [40, 20, 8]
        assert r.data["test_counts"]["balanced"] == [12, 12, 12]  # the shared test sets too
    (protocol,) = load_protocols(path)
    rows = dict(protocol.method_rows())
    assert list(rows) == ["fake-none|", "fake-smote|", "fake-best-strong|"]  # folds: no variants
    cell = protocol.cell("fake-none|", "cv", "acsa")
    assert cell.n == 5
    assert cell.mean == pytest.approx(np.mean([r.final["cv"]["acsa"] for r in none]))
    markdown = write_report(path, tmp_path / "out")[0].read_text()
    assert "| Method | Runs (seeds × folds) |" in markdown
    assert "5-fold stratified cross-validation" not in markdown  # no paper numbers on cv here


# --------------------------------------------------------------------------------------------
# diagnostics of the synthetic images


def test_runs_store_diagnostics_and_the_report_shows_them_beside_the_grid(store_path, tmp_path):
    conn = sqlite3.connect(store_path)
    blobs = conn.execute("SELECT method_id, data_json FROM runs ORDER BY run_id").fetchall()
    conn.close()
    import json

    by_method = {}
    for method_id, blob in blobs:
        by_method.setdefault(method_id, []).append(json.loads(blob))
    assert all("diagnostics" not in d for d in by_method["fake-none"])  # no sampler
    for data in by_method["fake-smote"]:
        diag = data["diagnostics"]
        assert diag["holdout"] == "the first test set 'balanced'"
        assert {row["class"] for row in diag["rows"]} <= {0, 1, 2}
        for row in diag["rows"]:
            assert 0.0 <= row["fidelity"] <= 1.0 and row["n_synthetic"] > 0
            # the fake sampler's synthetic rows are copies of real rows
            assert row["novelty"] == pytest.approx(0.0, abs=1e-6)
    markdown = write_report(store_path, tmp_path / "out")[0].read_text()
    section = markdown.split("### Synthetic samples", 1)[1]
    smote = section.split("#### fake-smote", 1)[1].split("####", 1)[0]
    assert "real vs synthetic samples" in smote and "| Class | real | synthetic | fidelity" in smote
    assert "mean over 3 run(s); held-out real images: the first test set 'balanced'" in smote


@pytest.fixture
def store_path(spec, toolkit, tmp_path):
    path = tmp_path / "results.sqlite"
    run_spec(spec, store=path, toolkit=toolkit, progress=False)
    return path


def test_diagnostics_skip_a_class_with_one_real_image(fake, toolkit, tmp_path):
    text = fake.SPEC_TOML.replace("counts = [40, 20, 8]", "counts = [40, 20, 1]")
    spec = apply_overrides(loads_spec(text), methods=["fake-smote"], seeds=1)
    path = tmp_path / "r.sqlite"
    run_spec(spec, store=path, toolkit=toolkit, progress=False)
    with Store(path, read_only=True) as store:
        (run,) = store.runs()
    assert "fewer than 2 real training images" in run.data["diagnostics"]["note"]
    markdown = write_report(path, tmp_path / "out")[0].read_text()
    assert "Diagnostics: skipped: class(es) ['c']" in markdown


# --------------------------------------------------------------------------------------------
# CLE-SMOTE's selection: best of epochs 10, 20, 30


@pytest.mark.parametrize(
    "name", ["cle-binary-cifar10", "cle-3class-cifar10", "cle-binary-fmnist", "cle-3class-mnist"]
)
def test_cle_specs_select_the_best_of_epochs_10_20_30(name):
    spec = load_spec(name)
    assert spec.selection == "best" and spec.train.best_metric == "auroc"
    protocol = apply_overrides(spec, budget="protocol")
    train = protocol.train
    assert (train.epochs, train.eval_every) == (30, 10)
    assert [e for e in range(1, train.epochs + 1) if e % train.eval_every == 0] == [10, 20, 30]
    assert train.val_fraction > 0 and train.optimizer == "sgd"  # Lee et al. 2024 App. C.4: SGD
    assert not protocol.reduced


# --------------------------------------------------------------------------------------------
# the new specs on generated files of the true formats (CIFAR-10 pickles, MNIST IDX)


def _write_cifar(root, per_class_train, per_class_test, seed=0):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.RandomState(seed)

    def rows(per_class):
        labels = np.repeat(np.arange(10), per_class)
        rng.shuffle(labels)
        # each class its own mean brightness, overlapping through a per-image offset
        offset = rng.randint(0, 60, (len(labels), 1))
        data = labels[:, None] * 12 + offset + rng.randint(0, 40, (len(labels), 3072))
        data = data.astype(np.uint8)
        return data, labels

    data, labels = rows(per_class_train)
    for i, part in enumerate(np.array_split(np.arange(len(labels)), 5), start=1):
        batch = {b"data": data[part], b"labels": labels[part].tolist()}
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(batch, protocol=2))
    data, labels = rows(per_class_test)
    batch = {b"data": data, b"labels": labels.tolist()}
    (folder / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))


def _idx(array) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.tobytes())


def _write_mnist(root, per_class_train, per_class_test, seed=0):
    root.mkdir(parents=True)
    rng = np.random.RandomState(seed)
    for prefix, per_class in (("train", per_class_train), ("t10k", per_class_test)):
        labels = np.repeat(np.arange(10), per_class)
        images = labels[:, None, None] * 20 + rng.randint(0, 60, (len(labels), 28, 28))
        (root / f"{prefix}-images-idx3-ubyte.gz").write_bytes(_idx(images))
        (root / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(_idx(labels))


TRAIN = "[train]                 # the default CPU recipe (deepbalance.training.TrainConfig)"
MLP = 'classifier = "mlp"\nclassifier_params = { hidden = [16, 8] }'


def _tiny(name, replacements):
    from pathlib import Path

    text = (Path(__file__).parents[2] / "src/deepbalance/bench/specs" / f"{name}.toml").read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return loads_spec(text, file=f"<tiny {name}>")


def test_cle_binary_cifar10_on_cifar_pickles_reports_best_final_and_val_selected(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    per_class = [800, 800, 3, 3, 3, 3, 3, 3, 3, 3]  # airplane and automobile: 800 each
    _write_cifar(tmp_path / "data", per_class, [20] * 10)
    spec = _tiny(
        "cle-binary-cifar10",
        [
            ("seeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]", "seeds = [0]"),
            (TRAIN, f"{TRAIN}\n{MLP}\nval_fraction = 0.2"),
            ("epochs = 10", "epochs = 3"),
            ("eval_every = 5", "eval_every = 1"),
        ],
    )
    spec = apply_overrides(spec, methods=["none", "pixel-smote"])
    path = tmp_path / "r.sqlite"
    summary = run_spec(
        spec, store=path, data_dir=tmp_path / "data", progress=False, raise_on_failure=True
    )
    assert summary.complete
    with Store(path, read_only=True) as store:
        runs = {r.method_id: r for r in store.runs()}
    # 100:1 of the first two classes; the validation split holds out a fifth of each
    assert runs["none"].data["class_names"] == ["airplane", "automobile"]
    assert runs["none"].data["train_counts"] == [800, 8]
    assert runs["none"].data["test_counts"]["test"] == [20, 20]
    smote = runs["pixel-smote"]
    epoch = smote.data["selection"]["selected_epoch"]
    val = {h["epoch"]: h["metrics"]["auroc"] for h in smote.history if h["split"] == "val"}
    assert epoch == max(val, key=lambda e: (val[e], -e))  # the first epoch best on val
    assert smote.data["diagnostics"]["holdout"] == "the run's validation split 'val'"
    (protocol,) = load_protocols(path)
    selected = protocol.cell("pixel-smote|", "test", "auroc", "selected")
    at_epoch = [h for h in smote.history if h["split"] == "test" and h["epoch"] == epoch]
    assert selected.values == [at_epoch[0]["metrics"]["auroc"]]
    markdown = write_report(path, tmp_path / "out")[0].read_text()
    table = markdown.split("Selection: **best of evaluations** is", 1)[1]
    header = next(line for line in table.splitlines() if line.startswith("| Method"))
    assert "AUROC best of evaluations | AUROC final epoch | AUROC val-selected | AUROC paper" in (
        header
    )
    row = next(line for line in table.splitlines() if line.startswith("| Vanilla SMOTE"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:5] == [
        f"{smote.best['test']['auroc']:.4f}",
        f"{smote.final['test']['auroc']:.4f}",
        f"{at_epoch[0]['metrics']['auroc']:.4f}",
        "0.8290",
    ]
    assert "how our protocol differs from the paper's" in markdown
    assert "the default CPU recipe" in markdown and "`cle-cnn`, 30 epochs" in markdown


def test_cle_3class_cifar10_draws_200_20_1_of_airplane_automobile_bird(tmp_path):
    from deepbalance.bench.runner import Toolkit, build_test_sets, build_train_set

    _write_cifar(tmp_path / "data", [1200, 1200, 1200, 2, 2, 2, 2, 2, 2, 2], [10] * 10)
    spec = load_spec("cle-3class-cifar10")
    spec = apply_overrides(spec, methods=["none", "no-class-imbalance"])
    import dataclasses

    spec = dataclasses.replace(
        spec, data=dataclasses.replace(spec.data, data_dir=str(tmp_path / "data"))
    )
    toolkit = Toolkit().resolved()
    points = expand_grid(spec)[:2]
    train = build_train_set(toolkit, spec, points[0])
    assert train.class_names == ("airplane", "automobile", "bird")
    assert train.class_counts().tolist() == [1200, 120, 6]
    assert build_train_set(toolkit, spec, points[1]).class_counts().tolist() == [1200] * 3
    assert build_test_sets(toolkit, spec)["test"].class_counts().tolist() == [10, 10, 10]


@pytest.mark.parametrize("name", ["rae-mnist", "rae-cifar10"])
def test_rae_specs_run_on_generated_files_with_the_papers_numbers_beside(
    name, tmp_path, monkeypatch
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    counts = [40, 30, 20, 12, 10, 8, 8, 8, 8, 8]
    if name == "rae-mnist":
        _write_mnist(tmp_path / "data", 40, 6)
        profile = ('name = "deepsmote-mnist"', f'name = "counts"\nparams = {{ counts = {counts} }}')
        classifier = ('classifier = "mlp"      #', f"{MLP}\n#")
    else:
        _write_cifar(tmp_path / "data", [40] * 10, [6] * 10)
        profile = ('name = "rae-cifar"', f'name = "counts"\nparams = {{ counts = {counts} }}')
        classifier = (TRAIN, f"{TRAIN}\n{MLP}")
    spec = _tiny(
        name,
        [
            ("seeds = [0, 1, 2, 3, 4]", "seeds = [0]"),
            profile,
            classifier,
            ("epochs = 10", "epochs = 1"),
            ("eval_every = 5", "eval_every = 1"),
            (
                '[[methods]]\nname = "deepsmote-published"',
                '[[methods]]\nname = "deepsmote-published"\n'
                "params = { sampler_params = { epochs = 1, dim_h = 4 } }",
            ),
        ],
    )
    spec = apply_overrides(spec, methods=["none", "deepsmote-published"])
    assert spec.train.classifier == "mlp"
    path = tmp_path / "r.sqlite"
    run_spec(spec, store=path, data_dir=tmp_path / "data", progress=False, raise_on_failure=True)
    with Store(path, read_only=True) as store:
        runs = {r.method_id: r for r in store.runs()}
    assert runs["none"].data["train_counts"] == counts
    rows = runs["deepsmote-published"].data["diagnostics"]["rows"]
    assert [row["class"] for row in rows] == list(range(1, 10))  # every class but the majority
    assert all(row["reconstruction_mse"] >= 0 and row["reconstruction_split"] for row in rows)
    markdown = write_report(path, tmp_path / "out")[0].read_text()
    f1 = {"rae-mnist": "0.8251", "rae-cifar10": "0.3945"}[name]
    line = next(row for row in markdown.splitlines() if row.startswith("| DeepSMOTE |"))
    assert line.rstrip(" |").endswith(f1)  # Macro F1 paper, the last column
    assert "Paper's numbers: Mandal 2024 Tables 5." in markdown


def test_bench_show_prints_the_papers_numbers(capsys):
    assert main(["bench", "show", "cle-binary-cifar10"]) == 0
    out = capsys.readouterr().out
    assert "paper's numbers (0..1), test set test" in out
    assert "0.9030" in out and "No class imbalance" in out and "--budget protocol" in out
    assert main(["bench", "show", "deepsmote-fmnist"]) == 0
    out = capsys.readouterr().out
    assert "test set cv" in out and "0.8488" in out and "cv (cv, 5 folds)" in out


@pytest.mark.parametrize("name, shape", [("rae-mnist", (1, 28, 28)), ("rae-cifar10", (3, 32, 32))])
def test_rae_protocol_budget_trains_the_dissertations_autoencoder(name, shape):
    import torch

    from deepbalance.methods import get_method
    from deepbalance.nets.autoencoders import build_autoencoder

    spec = load_spec(name)
    protocol = apply_overrides(spec, budget="protocol")
    assert not protocol.reduced
    latent = [m for m in protocol.methods if m.name != "none"]
    assert len(latent) == len(spec.methods) - 1
    for method in latent:
        sampler = get_method(method.name, **method.params).make_sampler(random_state=0)
        config, settings = sampler.autoencoder_config(shape), sampler.train_settings()
        # Mandal 2024 §5.3: width 64, latent 300, BatchNorm after every convolution
        assert (config.dim_h, config.latent_dim, config.first_batchnorm) == (64, 300, True)
        assert config.widths == [64, 128, 256, 512] and config.n_stages == 4
        with torch.device("meta"):
            layers = list(build_autoencoder(config).encoder_conv)
        convs = [i for i, m in enumerate(layers) if isinstance(m, torch.nn.Conv2d)]
        assert all(isinstance(layers[i + 1], torch.nn.BatchNorm2d) for i in convs)
        # Adam 3e-4, 50 to 350 epochs, stopped when the training loss plateaus
        assert (settings.lr, settings.schedule) == (3e-4, "constant")
        assert (settings.min_epochs, settings.epochs, settings.patience) == (50, 350, 10)
        assert settings.validation_fraction == 0 and settings.batch_size == 100
    for method in spec.methods[1:]:  # the default budget keeps the library's autoencoder
        sampler = get_method(method.name, **method.params).make_sampler(random_state=0)
        config, settings = sampler.autoencoder_config(shape), sampler.train_settings()
        assert (config.dim_h, config.first_batchnorm, settings.epochs) == (16, False, 20)
        assert config.latent_dim == (300 if shape[1] == 28 else 600)
        assert (settings.lr, settings.schedule, settings.min_epochs) == (2e-3, "onecycle", None)
