"""The README's main job: the built-in ``quickstart`` spec, end to end on digits, real methods."""

import pytest

from deepbalance.bench import load_spec, run_spec, write_report
from deepbalance.bench.store import GRID_KIND, Store

SAMPLER_METHODS = {"random-oversampling", "pixel-smote", "deepsmote", "cle-smote"}


@pytest.fixture
def one_thread():
    # Tiny networks run fastest on one thread, and test workers share the cores.
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_quickstart_end_to_end(tmp_path, one_thread):
    spec = load_spec("quickstart")
    store_path = tmp_path / "results.sqlite"
    summary = run_spec(spec, store=store_path, progress=False)
    assert summary.failed == [] and summary.ran == len(spec.methods) == 7

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
    assert (again.skipped, again.ran) == (7, 0)

    written = write_report(store_path, tmp_path / "report")
    markdown = written[0].read_text()
    assert "quickstart" in markdown and "DeepSMOTE" in markdown and "CLE-SMOTE" in markdown
    assert "REDUCED" not in markdown
