"""The README's main job: the built-in ``quickstart`` spec, end to end on digits, real methods."""

import pytest

from deepbalance.bench import load_spec, run_spec, write_report
from deepbalance.bench.store import GRID_KIND, Store

SAMPLER_METHODS = {
    "random-oversampling",
    "pixel-smote",
    "deepsmote-published",
    "deepsmote",
    "cle-smote",
}


@pytest.mark.slow
def test_quickstart_end_to_end(tmp_path, one_thread):
    spec = load_spec("quickstart")
    store_path = tmp_path / "results.sqlite"
    summary = run_spec(spec, store=store_path, progress=False)
    assert summary.failed == [] and summary.ran == len(spec.methods) == 8

    with Store(store_path) as store:
        runs = {r.method_id: r for r in store.runs("quickstart")}
        grids = {m for m, kind, _ in store.artifacts("quickstart", spec.hash) if kind == GRID_KIND}
    assert set(runs) == {m.id for m in spec.methods}
    for method_id, run in runs.items():
        test = run.final["test"]
        assert 0.0 <= test["acsa"] <= 1.0 and len(test["per_class_recall"]) == 10
        every, epochs = spec.train.eval_every, spec.train.epochs
        assert [e["epoch"] for e in run.history] == list(range(every, epochs + 1, every))
        assert (run.n_synthetic > 0) == (method_id in SAMPLER_METHODS)
        assert run.environment["torch"] and run.device == "cpu"
    assert grids == SAMPLER_METHODS
    # the autoencoder went to the spec's cache
    cache = tmp_path / "cache" / spec.hash
    assert cache.is_dir() and any(cache.rglob("*"))

    again = run_spec(spec, store=store_path, progress=False)
    assert (again.skipped, again.ran) == (8, 0)

    written = write_report(store_path, tmp_path / "report")
    markdown = written[0].read_text()
    assert "quickstart" in markdown and "DeepSMOTE" in markdown and "CLE-SMOTE" in markdown
    assert "REDUCED" not in markdown


#: a tiny digits spec with a learning-rate search; {name}, {top}, {train} and {methods} to fill in
LR_SEARCH_SPEC = """
name = "{name}"
seeds = [0]
{top}
lr_search = [1e-6, 0.05]
[data]
dataset = "digits"
[profile]
name = "counts"
params = {{ counts = {{ "0" = 60, "1" = 40, "2" = 20 }} }}
[[test_sets]]
name = "test"
[train]
classifier = "mlp"
classifier_params = {{ hidden = [32, 16] }}
optimizer = "adam"
schedule = "constant"
augment = "none"
{train}
{methods}
"""


def test_a_spec_with_a_learning_rate_search_trains_on_the_rate_best_on_validation(
    tmp_path, one_thread
):
    from deepbalance.bench import loads_spec

    text = LR_SEARCH_SPEC.format(
        name="lr-search",
        top='selection = "best"',
        train="epochs = 4\neval_every = 2",
        methods='[[methods]]\nname = "none"\n[[methods]]\nname = "random-oversampling"',
    )
    spec = loads_spec(text, file="lr-search.toml")
    store_path = tmp_path / "results.sqlite"
    summary = run_spec(spec, store=store_path, progress=False)
    assert summary.failed == [] and summary.ran == 2
    with Store(store_path) as store:
        runs = list(store.runs("lr-search"))
    for run in runs:
        search = run.data["lr_search"]
        assert search["chosen"] == 0.05 and [lr for lr, _ in search["scores"]] == [1e-6, 0.05]
        assert search["fraction"] == 0.15 and search["metric"] == "acsa"
        assert run.timings["lr_search"] > 0
        assert run.final["test"]["acsa"] > 0.6  # trained with 0.05, not with 1e-6
    markdown = write_report(store_path, tmp_path / "report")[0].read_text()
    assert "Learning rate searched per run over" in markdown and "0.05 ×1" in markdown


def test_with_its_own_validation_split_the_chosen_candidate_is_the_reported_run(
    tmp_path, one_thread
):
    from deepbalance.bench import loads_spec
    from deepbalance.bench.runner import Toolkit
    from deepbalance.methods import run_method

    calls = []

    def counting_run_method(*args, **kwargs):
        calls.append(kwargs["config"].lr)
        return run_method(*args, **kwargs)

    text = LR_SEARCH_SPEC.format(
        name="lr-search-val",
        top="",
        train="epochs = 2\neval_every = 1\nval_fraction = 0.2",
        methods='[[methods]]\nname = "none"',
    )
    spec = loads_spec(text, file="lr-search-val.toml")
    store_path = tmp_path / "results.sqlite"
    toolkit = Toolkit(run_method=counting_run_method)
    summary = run_spec(spec, store=store_path, toolkit=toolkit, progress=False)
    assert summary.failed == [] and calls == [1e-6, 0.05]  # no third training
    with Store(store_path) as store:
        (run,) = store.runs("lr-search-val")
    assert run.data["lr_search"]["chosen"] == 0.05 and run.data["lr_search"]["fraction"] == 0.2
    assert {h["split"] for h in run.history} == {"test", "val"}
