"""The chest X-ray specs: framework variants, abnormality AUROC per evaluation, missing data."""

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.metrics import roc_auc_score

from deepbalance.bench.runner import Toolkit, expand_grid, run_spec
from deepbalance.bench.spec import apply_overrides, check_names, load_spec, loads_spec
from deepbalance.bench.store import Store
from deepbalance.data.cxr_common import CXR_CLASSES, SUBCONDITIONS
from deepbalance.data.frameworks import FRAMEWORKS, framework_counts
from deepbalance.data.idx import FASHION_MNIST_CLASSES
from deepbalance.data.imageset import ImageSet
from deepbalance.data.profiles import make_imbalanced
from deepbalance.registry import Registry

SPECS = ("cxr-frameworks-fmnist", "cxr-chexpert", "cxr-chexpert-nih-expert")
#: the paper's four baselines and CLE-SMOTE (CLE-SMOTE CXR 2024 §4.2); the proxy keeps 1/n too
#: run on the Fashion-MNIST proxy beside the paper's methods (not in the paper)
LONG_TAIL_METHODS = ["drs", "balanced-softmax", "ldam-drw", "cmo-drw", "deepsmote-drs"]
#: the deep composition's autoencoder, made tiny for the end-to-end test
DEEP_DRS = (
    'label = "DeepSMOTE-DRS (DeepSMOTE() as DRS\'s late-stage data)"\n'
    "params = { sampler_params = { k_neighbors = 3 } }"
)
PAPER_METHODS = [
    "none",
    "random-oversampling",
    "class-weighted-effective",
    "pixel-smote",
    "cle-smote",
]
PER_FRAMEWORK = {
    "interclass": 1,
    "intraclass-single": 4,
    "intraclass-multiple": 4,
    "inter-intra-single": 4,
    "inter-intra-multiple": 4,
}
DEBIAN = Path("/usr/share/datasets/fashion-mnist")
MLP = 'classifier = "mlp"\nclassifier_params = { hidden = [16, 8] }'
#: the [train] header of the built-in specs (their CPU recipe)
TRAIN = "[train]                 # the default CPU recipe (deepbalance.training.TrainConfig)"


@pytest.mark.parametrize("name", SPECS)
def test_specs_validate_against_the_library(name):
    from deepbalance.methods import get_method
    from deepbalance.training.config import TrainConfig

    spec = load_spec(name)
    assert "CLE-SMOTE" in spec.source.paper and "Tables 1 and 2" in spec.source.table
    assert spec.selection == "best" and spec.train.best_metric == "auroc_abnormal"
    assert spec.metrics[0] == "auroc_abnormal"
    expected = list(PAPER_METHODS)
    if name == "cxr-frameworks-fmnist":
        expected.insert(3, "class-weighted")
        expected += LONG_TAIL_METHODS
    assert [m.name for m in spec.methods] == expected
    check_names(spec)  # against the library's registries
    for budget in (None, "quick", "protocol"):
        reduced = apply_overrides(spec, budget=budget) if budget else spec
        check_names(reduced)
        for method in reduced.methods:
            get_method(method.name, **method.params)
        TrainConfig(**dataclasses.asdict(reduced.train))
    quick = apply_overrides(spec, budget="quick")
    assert quick.subset is None  # a subset would change the frameworks' ratios
    assert quick.method("cle-smote").params["pretrain_epochs"] == 1 and quick.reduced


@pytest.mark.parametrize("name", SPECS)
def test_variants_are_the_17_experiments(name):
    spec = load_spec(name)
    assert len(spec.variants) == 17
    groups = [v.group for v in spec.variants]
    assert {g: groups.count(g) for g in groups} == PER_FRAMEWORK
    assert list(dict.fromkeys(groups)) == list(PER_FRAMEWORK)  # the paper's order
    never = spec.profile.params["never_majority"]
    for v in spec.variants:
        fw = FRAMEWORKS.get(v.profile_params["framework"])
        assert len(v.profile_params["majority"]) == fw.n_majority
        assert never not in v.profile_params["majority"]
    assert len({v.hash for v in spec.variants}) == 17
    # the group only tells the report what to average: stored runs keep their key without it
    v = spec.variants[1]
    assert dataclasses.replace(v, group="").hash == v.hash != spec.variants[2].hash
    assert len(expand_grid(spec)) == 17 * len(spec.methods) * len(spec.seeds)
    assert len(expand_grid(apply_overrides(spec, budget="quick"))) == 17 * len(spec.methods)


@pytest.mark.parametrize("name", SPECS)
def test_weighted_loss_is_cui_et_als_effective_number(name):
    from deepbalance.methods import get_method
    from deepbalance.training.losses import effective_number_weights

    spec = load_spec(name)
    (weighted,) = [m for m in spec.methods if m.label.startswith("Weighted loss (effective")]
    recipe = get_method(weighted.name, **weighted.params).recipe
    assert recipe.weighting == "effective" and recipe.effective_beta == 0.999
    # inter-intra multiple at unit = 10: 12,400 normal images against 10 of a minority
    counts = np.array([12400, 10, 10, 200, 200, 200])
    weights = recipe.build_objective(counts, epochs=1).weights.class_weights.numpy()
    np.testing.assert_allclose(weights, effective_number_weights(counts, 0.999), rtol=1e-6)
    assert 95 < weights[1] / weights[0] < 105  # about 100:1, where 1/n gives 1240:1
    inverse = [m for m in spec.methods if get_method(m.name).recipe.weighting == "inverse"]
    if name == "cxr-frameworks-fmnist":  # the stored 1/n runs keep a row named for what they are
        assert [(m.id, m.label) for m in inverse] == [("class-weighted", "Weighted loss (1/n)")]
    else:
        assert inverse == []


@pytest.mark.parametrize("name", ["cxr-chexpert", "cxr-chexpert-nih-expert"])
def test_protocol_budget_draws_the_counts_of_table_1(name):
    from deepbalance.data.frameworks import TABLE1_COUNTS

    spec = load_spec(name)
    protocol = apply_overrides(spec, budget="protocol")
    assert spec.profile.params["unit"] == 10  # the default CPU budget: reduced counts
    assert apply_overrides(spec, budget="quick").profile.params["unit"] == 10
    assert protocol.profile.params == {**spec.profile.params, "unit": "paper"}
    assert not protocol.reduced and protocol.hash != spec.hash
    sizes = [19700, 1800, 1800, 1800, 1800, 1800]  # enough of every class for Table 1
    labels = np.repeat(np.arange(6), sizes)
    data = ImageSet(np.zeros((len(labels), 1, 1, 1), np.uint8), labels, CXR_CLASSES, "toy")
    totals = {}
    for v in protocol.variants:
        params = {**protocol.profile.params, **v.profile_params}
        counts = make_imbalanced(data, protocol.profile.name, seed=0, **params).class_counts()
        normal, majority, minority = TABLE1_COUNTS[v.group]
        majors = set(v.profile_params["majority"])
        assert counts.tolist() == [
            normal,
            *(majority if c in majors else minority for c in CXR_CLASSES[1:]),
        ]
        totals[v.group] = int(counts[1:].sum())
    # Table 1's abnormal totals; the intra-class single-majority row prints 2147 for cells
    # that sum to 2107 (87, 1759, 87, 87, 87), read as a misprint of their sum
    assert totals == {
        "interclass": 980,
        "intraclass-single": 2107,
        "intraclass-multiple": 3859,
        "inter-intra-single": 977,
        "inter-intra-multiple": 978,
    }


def test_variant_profiles_draw_the_framework_counts():
    spec = load_spec("cxr-frameworks-fmnist")
    # a Fashion-MNIST-shaped stand-in: 6,000 one-pixel images per class
    labels = np.repeat(np.arange(10), 6000)
    data = ImageSet(np.zeros((len(labels), 1, 1, 1), np.uint8), labels, FASHION_MNIST_CLASSES)
    mapping = {k: spec.profile.params[k] for k in ("normal", "subconditions", "never_majority")}
    for v in spec.variants:
        params = {**spec.profile.params, **v.profile_params}
        train = make_imbalanced(data, spec.profile.name, seed=0, **params)
        expected = framework_counts(
            v.profile_params["framework"], v.profile_params["majority"], unit=4, **mapping
        )
        assert train.class_names == ("T-shirt/top", *mapping["subconditions"])
        assert train.class_counts().tolist() == list(expected.values())
        majority = {c for c, n in expected.items() if n == 80}
        assert majority == set(v.profile_params["majority"])
        assert min(expected.values()) == 4  # hence k_neighbors = 3
        assert (
            train.meta["normal_class"] == 0 and train.meta["profile"]["name"] == spec.profile.name
        )
    # the test-set profile keeps every image of the six classes, relabelled the same way
    (test,) = spec.test_sets
    tests = make_imbalanced(data, test.profile.name, **test.profile.params)
    assert tests.class_names == train.class_names and tests.class_counts().tolist() == [6000] * 6


def test_generated_variants_errors():
    text = 'name = "x"\nseeds = [0]\nvariants_from = "{}"\n[data]\ndataset = "digits"\n{}'
    tail = '[[test_sets]]\nname = "t"\n[[methods]]\nname = "none"\n'
    with pytest.raises(ValueError, match="unknown variant generator"):
        loads_spec(text.format("nope", tail))
    with pytest.raises(ValueError, match="'cxr-framework' profile"):
        loads_spec(text.format("cxr-frameworks", tail))


# --------------------------------------------------------------------------------------------
# tiny runs through the real trainer; AUROC recomputed independently with scikit-learn

EXPECTED: list = []


def _independent_aurocs(result, train, eval_sets):
    """sklearn AUROCs from the trained model's own probabilities (method 'none' only)."""
    from deepbalance.training.data import InputPipeline, channel_stats
    from deepbalance.training.trainer import predict_proba

    mean, std = channel_stats(train.images)
    pipeline = InputPipeline(mean, std, device=torch.device("cpu"))
    out = {}
    for name, split in eval_sets.items():
        proba = predict_proba(result.model, torch.from_numpy(np.array(split.images)), pipeline, 512)
        rows = split.meta.get("rows", {})
        if split.n_classes == proba.shape[1]:
            y = split.labels
            targets = np.stack([y == c for c in range(1, proba.shape[1])], axis=1)
            abnormal = y != 0
        else:  # binary labels plus multi-hot sub-conditions
            targets, abnormal = rows["multi_hot"].astype(bool), split.labels == 1
        per = {}
        for j in range(targets.shape[1]):
            column = targets[:, j]
            if 0 < column.sum() < len(column):
                per[j + 1] = roc_auc_score(column, proba[:, j + 1])
        out[name] = (roc_auc_score(abnormal, 1 - proba[:, 0]), per)
    return out


def recording_run_method(method, train, eval_sets, **kwargs):
    from deepbalance.methods import run_method

    result = run_method(method, train, eval_sets, **kwargs)
    EXPECTED.append(_independent_aurocs(result, train, eval_sets))
    return result


def _check_against_store(store_path, spec, test_set, class_names):
    with Store(store_path) as store:
        runs = sorted(store.runs(spec.name, spec.hash), key=lambda r: r.finished_at)
    assert len(runs) == len(EXPECTED) == len(expand_grid(spec))
    for run, expected in zip(runs, EXPECTED, strict=True):
        auroc, per = expected[test_set]
        final = run.final[test_set]
        assert final["auroc_abnormal"] == pytest.approx(auroc, abs=1e-9)
        for index, value in per.items():
            assert final["auroc_subconditions"][class_names[index]] == pytest.approx(value)
        # stored with every evaluation, and the best one picked by it
        history = [h["metrics"] for h in run.history if h["split"] == test_set]
        assert all("auroc_abnormal" in m for m in history)
        best = max(m["auroc_abnormal"] for m in history)
        assert run.best[test_set]["auroc_abnormal"] == best
    return runs


def _tiny_fmnist(split="train", data_dir=None, **options):
    rng = np.random.RandomState(0 if split == "train" else 1)
    per_class = 130 if split == "train" else 12
    labels = np.repeat(np.arange(10), per_class)
    # each class a different brightness, so the tiny model learns something
    images = (labels[:, None] * 20 + rng.randint(0, 60, (len(labels), 64))).astype(np.uint8)
    return ImageSet(images.reshape(-1, 1, 8, 8), labels, FASHION_MNIST_CLASSES, f"tiny {split}")


def _toolkit(loader):
    from deepbalance.data import DATASETS

    datasets = Registry("dataset")
    datasets.register(loader.__name__, loader)
    for name in DATASETS.names():
        datasets.register(name, DATASETS.get(name))

    def load_dataset(name, split="train", *, data_dir=None, download=False, **options):
        if name == loader.__name__:
            return loader(split, data_dir, **options)
        from deepbalance.data import load_dataset as library

        return library(name, split, data_dir=data_dir, download=download, **options)

    return Toolkit(load_dataset=load_dataset, run_method=recording_run_method, datasets=datasets)


def _tiny_spec(name, replacements):
    text = (Path(__file__).parents[2] / "src/deepbalance/bench/specs" / f"{name}.toml").read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return loads_spec(text, file=f"<tiny {name}>")


def _tiny_proxy_spec(epochs: int, methods: list[str]):
    """cxr-frameworks-fmnist on the tiny Fashion-MNIST stand-in: the inter-class and
    intra-class-single frameworks (5 variants), one seed, an MLP, ``epochs`` epochs."""
    EXPECTED.clear()
    spec = _tiny_spec(
        "cxr-frameworks-fmnist",
        [
            ('variants_from = "cxr-frameworks"', FRAMEWORKS_ONLY),
            ('dataset = "fashion-mnist"', 'dataset = "_tiny_fmnist"'),
            ("unit = 4", "unit = 1"),
            ("seeds = [0, 1, 2]", "seeds = [0]"),
            (TRAIN, f"{TRAIN}\n{MLP}"),
            ("epochs = 10", f"epochs = {epochs}"),
            ("eval_every = 5", "eval_every = 1"),
        ],
    )
    return apply_overrides(spec, methods=methods)


def test_proxy_grid_stores_the_abnormality_auroc_of_every_evaluation(tmp_path):
    spec = _tiny_proxy_spec(2, ["none"])
    summary = run_spec(
        spec, store=tmp_path / "r.sqlite", toolkit=_toolkit(_tiny_fmnist), progress=False
    )
    assert summary.complete and summary.ran == 5
    names = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Shirt")
    runs = _check_against_store(tmp_path / "r.sqlite", spec, "test", names)
    assert {r.variant for r in runs} == {v.name for v in spec.variants}
    assert all(r.data["test_counts"]["test"] == [12] * 6 for r in runs)
    assert all("acsa" in r.final["test"] for r in runs)  # six-class metrics too
    counts = {r.variant: r.data["train_counts"] for r in runs}
    assert counts["interclass"] == [100, 1, 1, 1, 1, 1]
    assert counts["intraclass-single[Coat]"] == [24, 1, 1, 1, 20, 1]


def test_a_partial_grid_is_named_in_the_banner_and_beside_its_cells(tmp_path):
    import sqlite3

    from markdown_tables import table_rows

    from deepbalance.bench.report import write_report

    spec = _tiny_proxy_spec(1, ["none", "random-oversampling"])
    path = tmp_path / "r.sqlite"
    run_spec(spec, store=path, toolkit=_toolkit(_tiny_fmnist), progress=False)
    with sqlite3.connect(path) as conn:  # as if the run had been interrupted before this one
        conn.execute(
            "DELETE FROM runs WHERE method_id = 'random-oversampling' AND variant = 'interclass'"
        )
    write_report(path, tmp_path / "out")
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "random-oversampling: 4 of 5 runs (missing seed 0 interclass)" in markdown
    rows = table_rows(markdown, "AUROC normal/abnormal, mean ± std")
    ros = dict(zip(rows["Method"], rows["Random oversampling"], strict=True))
    plain = dict(zip(rows["Method"], rows["No method (CE)"], strict=True))
    assert ros["interclass"] == "–" and ros["All"].endswith("(4 of 5 runs)")
    assert "runs)" not in ros["intraclass-single"] and "runs)" not in plain["All"]


FRAMEWORKS_ONLY = (
    'variants_from = { name = "cxr-frameworks", params = { frameworks = ["interclass", '
    '"intraclass-single"] } }'
)
INTERCLASS_ONLY = (
    'variants_from = { name = "cxr-frameworks", params = { frameworks = ["interclass"] } }'
)

#: cxr-chexpert shrunk to one framework, 8x8 images, one image per share, one seed, a tiny MLP
TINY_CHEXPERT = [
    ('variants_from = "cxr-frameworks"', INTERCLASS_ONLY),
    ("size = 224", "size = 8"),
    ("unit = 10", "unit = 1"),
    ("seeds = [0, 1, 2, 3, 4]", "seeds = [0]"),
    (TRAIN, f"{TRAIN}\n{MLP}"),
    ("epochs = 10\n", "epochs = 2\n"),
    ("eval_every = 5", "eval_every = 1"),
]

HEADER = ["Path", "Sex", "Age", "Frontal/Lateral", "AP/PA"]


def _write_chexpert(root: Path) -> None:
    from deepbalance.data.chexpert import CONDITION_SOURCES, OBSERVATIONS

    header = HEADER + list(OBSERVATIONS)
    source = {c: names[0] for c, names in CONDITION_SOURCES.items()}
    train = [("No Finding", 100)] + [(source[c], 2) for c in SUBCONDITIONS]
    # valid.csv: studies may have several conditions; Fracture has no positive (NaN AUROC)
    valid = [["No Finding"]] * 6 + [["Lung Lesion"], ["Pneumothorax", "Lung Opacity"]] * 2
    valid += [["Cardiomegaly"], ["Atelectasis"], ["Lung Lesion", "Cardiomegaly"]]
    rng = np.random.RandomState(0)
    for split, rows in (
        ("train", [[o] for o, n in train for _ in range(n)]),
        ("valid", valid),
    ):
        folder = root / "CheXpert-v1.0-small"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{split}.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for i, positives in enumerate(rows):
                rel = f"CheXpert-v1.0-small/{split}/patient{i:05d}/study1/view1_frontal.jpg"
                cells = {"Path": rel, "Sex": "Female", "Age": "60", "Frontal/Lateral": "Frontal"}
                cells.update(dict.fromkeys(positives, "1.0"))
                writer.writerow([cells.get(h, "") for h in header])
                level = 40 if positives == ["No Finding"] else 160
                pixels = np.clip(level + rng.randint(-30, 30, (8, 8)), 0, 255).astype(np.uint8)
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(pixels).save(root / rel, "PNG")


def test_chexpert_spec_scores_valid_csv_by_abnormality_auroc(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    EXPECTED.clear()
    _write_chexpert(tmp_path / "data")
    spec = _tiny_spec(
        "cxr-chexpert",
        TINY_CHEXPERT,
    )
    spec = apply_overrides(spec, methods=["none"])
    summary = run_spec(
        spec,
        store=tmp_path / "r.sqlite",
        toolkit=_toolkit(_tiny_fmnist),
        data_dir=tmp_path / "data",
        progress=False,
        raise_on_failure=True,
    )
    assert summary.complete
    runs = _check_against_store(tmp_path / "r.sqlite", spec, "valid", CXR_CLASSES)
    for run in runs:
        final = run.final["valid"]
        assert "acsa" not in final  # binary labels: no six-class metrics
        assert set(final["auroc_subconditions"]) == set(SUBCONDITIONS)
        assert final["auroc_subconditions"]["Fracture"] is None  # no positive: undefined
        assert run.data["test_counts"]["valid"] == [6, 7]
    from deepbalance.bench.report import write_report

    markdown = write_report(tmp_path / "r.sqlite", tmp_path / "out")[0].read_text()
    # the reduced counts are a departure listed under the table with the paper's numbers
    assert (
        "Departure, training counts: profile `cxr-framework` with unit = 1 here; the paper's "
        "counts are unit = 'paper' ([budgets.protocol], `--budget protocol`)."
    ) in markdown
    assert "- No method (CE): `none` (cross-entropy on the data as given)" in markdown


def test_stored_one_over_n_runs_keep_their_meaning_after_the_change(tmp_path):
    """Runs stored when the proxy's "Weighted loss" row was 1/n: the report says which
    method they ran, and resuming with today's spec adds the effective-number row beside them."""
    from markdown_tables import table_rows

    from deepbalance.bench.report import load_protocols, method_legend, write_report

    spec = _tiny_proxy_spec(1, ["class-weighted"])
    old = dataclasses.replace(
        spec, methods=(dataclasses.replace(spec.methods[0], label="Weighted loss"),)
    )
    path = tmp_path / "r.sqlite"
    run_spec(old, store=path, toolkit=_toolkit(_tiny_fmnist), progress=False)
    (protocol,) = load_protocols(path)
    assert method_legend(protocol) == ["Weighted loss: `class-weighted` (CE weighted by 1/n_c)"]
    new = _tiny_proxy_spec(1, ["class-weighted-effective", "class-weighted"])
    assert new.hash == old.hash  # the same protocol: only the effective-number runs are new
    summary = run_spec(new, store=path, toolkit=_toolkit(_tiny_fmnist), progress=False)
    assert summary.ran == 5 and summary.skipped == 5
    (protocol,) = load_protocols(path)
    assert method_legend(protocol) == [
        "Weighted loss (effective number): `class-weighted-effective` (CE, Cui et al. weights)",
        "Weighted loss (1/n): `class-weighted` (CE weighted by 1/n_c)",
    ]
    markdown = write_report(path, tmp_path / "out")[0].read_text()
    rows = table_rows(markdown, "AUROC normal/abnormal, mean ± std")
    assert rows["Method"] == ["Method", "interclass", "intraclass-single", "All"]
    assert {"Weighted loss (effective number)", "Weighted loss (1/n)"} <= set(rows)


def test_chexpert_spec_without_data_fails_cleanly(tmp_path, monkeypatch, capsys):
    from deepbalance.cli import main

    monkeypatch.delenv("DEEPBALANCE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = ["bench", "run", "cxr-chexpert", "--data-dir", str(empty), "--quiet"]
    code = main([*argv, "--store", str(tmp_path / "r.sqlite")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: chexpert: could not find train.csv")
    assert str(empty) in err and "register at" in err


CLE_PARAMS = 'label = "CLE-SMOTE"\nparams = { sampler_params = { k_neighbors = 3 } }'


@pytest.mark.fmnist
@pytest.mark.skipif(not DEBIAN.is_dir(), reason="needs: apt-get install dataset-fashion-mnist")
def test_proxy_spec_end_to_end_on_fashion_mnist(tmp_path):
    """Every method of the real spec, two frameworks, on the real data; then the report."""
    from deepbalance.bench.report import write_report

    spec = _tiny_spec(
        "cxr-frameworks-fmnist",
        [
            ('variants_from = "cxr-frameworks"', FRAMEWORKS_ONLY),
            ("seeds = [0, 1, 2]", "seeds = [0]"),
            (TRAIN, f"{TRAIN}\n{MLP}"),
            ("epochs = 10", "epochs = 1"),
            ("eval_every = 5", "eval_every = 1"),
            (CLE_PARAMS, CLE_PARAMS[:-2] + ", pretrain_epochs = 1 }"),
            (DEEP_DRS, DEEP_DRS[:-4] + ", epochs = 2, dim_h = 4 } }"),
        ],
    )
    assert spec.method("deepsmote-drs").params["sampler_params"]["epochs"] == 2
    summary = run_spec(spec, store=tmp_path / "r.sqlite", progress=False, save_grids=False)
    assert summary.complete and summary.ran == 5 * len(spec.methods)
    with Store(tmp_path / "r.sqlite") as store:
        runs = store.runs(spec.name, spec.hash)
    for run in runs:
        assert 0.0 <= run.best["test"]["auroc_abnormal"] <= 1.0
        assert run.data["test_counts"]["test"] == [1000] * 6
    smote = [r for r in runs if r.method_id == "pixel-smote"]
    assert all(r.n_train == 6 * r.data["train_counts"][0] for r in smote)  # full balance
    report = write_report(tmp_path / "r.sqlite", tmp_path / "report")[0].read_text()
    assert "| Method | interclass | intraclass-single | All |" in report
    assert "| Method | Trouser | Pullover | Dress | Coat | Shirt |" in report


# --------------------------------------------------------------------------------------------
# cxr-chexpert-nih-expert: CheXpert's valid.csv and ChestX-ray14's expert-labelled test images


def _write_nih(root: Path, expert: str | None) -> None:
    """ChestX-ray14 files in the true format (the loader tests' writer) and, unless None, the
    expert normal/abnormal CSV with these lines."""
    import importlib.util

    path = Path(__file__).parents[1] / "data" / "test_cxr_chestxray14.py"
    module_spec = importlib.util.spec_from_file_location("nih_files", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    module.write_nih(root)
    if expert is not None:
        (root / "expert_normal_labels.csv").write_text(expert, encoding="utf-8")


def test_nih_expert_spec_scores_both_test_sets(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("DEEPBALANCE_DATA", str(tmp_path / "env"))
    EXPECTED.clear()
    _write_chexpert(tmp_path / "data")
    # the experts disagree with NIH on images 22 (NIH: Pneumothorax) and 23 (NIH: Fibrosis)
    expert = "Image ID,Patient ID,Abnormal\n00000020_000.png,20,NO\n00000021_000.png,21,YES\n"
    expert += "00000022_000.png,22,NO\n00000023_000.png,23,YES\n"
    _write_nih(tmp_path / "env" / "chestxray14", expert)
    spec = _tiny_spec(
        "cxr-chexpert-nih-expert",
        TINY_CHEXPERT,
    )
    assert [(t.name, t.dataset) for t in spec.test_sets] == [
        ("valid", None),
        ("nih-expert", "chestxray14"),
    ]
    spec = apply_overrides(spec, methods=["none"])
    summary = run_spec(
        spec,
        store=tmp_path / "r.sqlite",
        toolkit=_toolkit(_tiny_fmnist),
        data_dir=tmp_path / "data",  # CheXpert's; ChestX-ray14 is found in $DEEPBALANCE_DATA
        progress=False,
        raise_on_failure=True,
    )
    assert summary.complete
    _check_against_store(tmp_path / "r.sqlite", spec, "valid", CXR_CLASSES)
    (run,) = _check_against_store(tmp_path / "r.sqlite", spec, "nih-expert", CXR_CLASSES)
    assert run.data["test_counts"] == {"valid": [6, 7], "nih-expert": [2, 2]}  # expert labels
    per = run.final["nih-expert"]["auroc_subconditions"]
    assert per["Fracture"] is None  # ChestX-ray14 has no fracture label
    assert per["Lung Lesion"] is not None  # image 21's Nodule


def test_nih_expert_spec_without_the_expert_csv_names_the_file_and_its_columns(
    tmp_path, monkeypatch, capsys
):
    from deepbalance.cli import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("DEEPBALANCE_DATA", str(tmp_path / "env"))
    _write_chexpert(tmp_path / "data")
    nih = tmp_path / "env" / "chestxray14"
    _write_nih(nih, None)
    store = tmp_path / "r.sqlite"
    argv = ["bench", "run", "cxr-chexpert-nih-expert", "--data-dir", str(tmp_path / "data")]
    code = main([*argv, "--quiet", "--store", str(store)])
    err = capsys.readouterr().err
    assert code == 2 and not store.exists()
    assert err.startswith("error: expert_normal='expert_normal_labels.csv': no such file")
    assert str(nih / "expert_normal_labels.csv") in err
    assert "'Image Index' (or 'Image ID')" in err and "'Abnormal' (YES/NO)" in err
    decoded = [p.name for p in (tmp_path / "xdg").rglob("*.npy")]
    assert not any(name.startswith("chexpert-train") for name in decoded)  # failed before
