"""The grid runner: expansion, resume, failures, data reuse, caches, executors."""

import dataclasses
import json

import numpy as np
import pytest

from deepbalance.bench.executors import LocalExecutor, make_executor
from deepbalance.bench.runner import expand_grid, run_spec, stratified_subset
from deepbalance.bench.spec import apply_overrides, loads_spec
from deepbalance.bench.store import GRID_KIND, Store


def _variants(fake):
    return loads_spec(
        fake.SPEC_TOML
        + """
[[variants]]
name = "a"

[[variants]]
name = "b"
profile_params = { counts = [30, 20, 8] }
"""
    )


def test_grid_expansion(spec, fake):
    grid = expand_grid(spec)
    assert len(grid) == 3 * 3
    # methods vary fastest, so consecutive runs share their seed's data
    assert [(p.seed, p.method.id) for p in grid[:4]] == [
        (0, "fake-none"),
        (0, "fake-smote"),
        (0, "fake-best-strong"),
        (1, "fake-none"),
    ]
    assert len({p.key for p in grid}) == 9
    with_variants = expand_grid(_variants(fake))
    assert len(with_variants) == 2 * 3 * 3
    assert [p.variant_name for p in with_variants[::9]] == ["a", "b"]
    assert len({p.key for p in with_variants}) == 18


def test_run_stores_every_run_and_resumes(spec, toolkit, tmp_path, fake, monkeypatch):
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_BENCH_LOG", str(log))
    store_path = tmp_path / "results.sqlite"
    summary = run_spec(spec, store=store_path, toolkit=toolkit, progress=False)
    assert (summary.total, summary.skipped, summary.ran, summary.failed) == (9, 0, 9, [])
    assert summary.complete
    with Store(store_path) as store:
        runs = store.runs(spec.name, spec.hash)
        assert len(runs) == 9
        run = next(r for r in runs if r.method_id == "fake-best-strong" and r.seed == 1)
        assert run.method_name == "fake-best" and run.method["params"] == {"strength": 2.0}
        assert set(run.final) == {"balanced", "official"}
        assert [(e["epoch"], e["split"]) for e in run.history] == [
            (2, "balanced"),
            (2, "official"),
            (4, "balanced"),
            (4, "official"),
        ]
        assert run.data["train_counts"] == [40, 20, 8]
        assert run.data["test_counts"] == {"balanced": [12, 12, 12], "official": [12, 12, 12]}
        assert run.n_train == 68 + 68 and run.n_synthetic == 68
        assert not run.reduced and run.overrides == {}
        assert run.environment["host_cores"] >= 1 and run.device == "cpu"
        assert run.timings["wall"] >= 0
        # one grid of synthetic samples per sampler method
        grids = {m for m, kind, _ in store.artifacts(spec.name, spec.hash) if kind == GRID_KIND}
        assert grids == {"fake-smote", "fake-best-strong"}
        (spec_row,) = store.specs(spec.name)
        assert spec_row["spec_hash"] == spec.hash and spec_row["full_seeds"] == [0, 1, 2]
    assert len(log.read_text().splitlines()) == 9
    # every run got the spec's autoencoder cache folder
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert {c["cache_dir"] for c in calls} == {str(tmp_path / "cache" / spec.hash)}

    again = run_spec(spec, store=store_path, toolkit=toolkit, progress=False)
    assert (again.skipped, again.ran) == (9, 0)
    assert len(log.read_text().splitlines()) == 9

    # a fourth seed runs only its own three runs; the protocol hash is unchanged
    more = dataclasses.replace(spec, seeds=(0, 1, 2, 3))
    assert more.hash == spec.hash
    summary = run_spec(more, store=store_path, toolkit=toolkit, progress=False)
    assert (summary.skipped, summary.ran) == (9, 3)
    assert [c["seed"] for c in map(json.loads, log.read_text().splitlines())][9:] == [3, 3, 3]


def test_same_seed_same_numbers(spec, toolkit, tmp_path):
    first = run_spec(spec, store=tmp_path / "a.sqlite", toolkit=toolkit, progress=False)
    second = run_spec(spec, store=tmp_path / "b.sqlite", toolkit=toolkit, progress=False)
    assert [r.final for r in first.records] == [r.final for r in second.records]


def test_data_is_loaded_once_per_dataset_profile_and_seed(spec, toolkit, tmp_path, fake):
    calls = {"load": [], "profile": []}

    def load(name, split="train", **kw):
        calls["load"].append(split)
        return fake.load_dataset(name, split, **kw)

    def imbalance(data, profile, *, seed=0, **params):
        calls["profile"].append((profile, seed))
        return fake.make_imbalanced(data, profile, seed=seed, **params)

    counted = dataclasses.replace(toolkit, load_dataset=load, make_imbalanced=imbalance)
    run_spec(spec, store=tmp_path / "r.sqlite", toolkit=counted, progress=False)
    assert sorted(calls["load"]) == ["test", "train"]
    train_draws = [seed for profile, seed in calls["profile"] if profile == "counts"]
    assert sorted(train_draws) == [0, 1, 2]  # once per seed, not per method
    assert len(calls["profile"]) == 3 + 1  # + the balanced test set, drawn once


def test_a_failing_run_does_not_stop_the_grid(spec, toolkit, tmp_path, fake):
    text = fake.SPEC_TOML + '\n[[methods]]\nname = "fake-fail"\n'
    failing = loads_spec(text)
    store_path = tmp_path / "r.sqlite"
    summary = run_spec(failing, store=store_path, toolkit=toolkit, progress=False)
    assert summary.ran == 9 and len(summary.failed) == 3 and not summary.complete
    point, message = summary.failed[0]
    assert point.method.id == "fake-fail" and "always fails" in message
    again = run_spec(failing, store=store_path, toolkit=toolkit, progress=False)
    assert (again.skipped, again.ran, len(again.failed)) == (9, 0, 3)  # only the failed retried


def test_reduced_runs_record_their_overrides(spec, toolkit, tmp_path):
    reduced = apply_overrides(spec, seeds=1, epochs=2)
    run_spec(reduced, store=tmp_path / "r.sqlite", toolkit=toolkit, progress=False)
    with Store(tmp_path / "r.sqlite") as store:
        runs = store.runs()
        assert len(runs) == 3 and all(r.reduced for r in runs)
        assert runs[0].overrides == {"seeds": [0], "epochs": 2}
        assert {r.spec_hash for r in runs} == {reduced.hash} != {spec.hash}
        (row,) = store.specs()
        assert row["reduced"] and row["overrides"] == {"seeds": [0], "epochs": 2}
        assert row["full_seeds"] == [0, 1, 2]


def test_subset_is_stratified_and_seeded(fake):
    data = fake.make_imbalanced(fake.load_dataset("fake-digits"), [40, 20, 8], seed=0)
    half = stratified_subset(data, 0.5, seed=3)
    assert half.class_counts().tolist() == [20, 10, 6]  # a class keeps at least 6
    assert stratified_subset(data, 0.5, seed=3).images.tobytes() == half.images.tobytes()
    assert stratified_subset(data, 34, seed=3).class_counts().tolist() == [20, 10, 6]
    assert stratified_subset(data, 1.0, seed=0) is data
    other = stratified_subset(data, 0.5, seed=4)
    assert not np.array_equal(other.images, half.images)


def test_variants_change_the_data(fake, toolkit, tmp_path):
    spec = apply_overrides(_variants(fake), seeds=1, methods=["fake-none"])
    summary = run_spec(spec, store=tmp_path / "r.sqlite", toolkit=toolkit, progress=False)
    counts = {r.variant: r.data["train_counts"] for r in summary.records}
    assert counts == {"a": [40, 20, 8], "b": [30, 20, 8]}


def test_mismatched_test_classes_fail_before_any_run(fake, toolkit, tmp_path):
    text = fake.SPEC_TOML.replace(
        'name = "counts"\nparams = { counts = [40, 20, 8] }', 'name = "cle-binary"'
    )
    spec = loads_spec(text)
    with pytest.raises(ValueError, match='test set .* has classes .*policy = "profile"'):
        run_spec(spec, store=tmp_path / "r.sqlite", toolkit=toolkit, progress=False)
    with Store(tmp_path / "r.sqlite") as store:
        assert store.count_runs() == 0


def test_missing_dataset_files_fail_before_any_run(spec, toolkit, tmp_path):
    with pytest.raises(FileNotFoundError, match="looked in"):
        run_spec(
            spec,
            store=tmp_path / "r.sqlite",
            toolkit=toolkit,
            data_dir=tmp_path / "nowhere",
            progress=False,
        )


def test_bad_method_params_fail_before_any_run(fake, toolkit, tmp_path):
    spec = loads_spec(fake.SPEC_TOML.replace("strength = 2.0", "strenght = 2.0"))
    with pytest.raises(ValueError, match="method 'fake-best-strong'.*strenght"):
        run_spec(spec, store=tmp_path / "r.sqlite", toolkit=toolkit, progress=False)


def test_process_pool_gives_the_same_results(spec, toolkit, tmp_path):
    small = apply_overrides(spec, seeds=2)
    local = run_spec(small, store=tmp_path / "a.sqlite", toolkit=toolkit, progress=False)
    pooled = run_spec(
        small,
        store=tmp_path / "b.sqlite",
        toolkit=toolkit,
        executor=LocalExecutor(workers=2),
        progress=False,
        save_grids=False,
    )
    assert pooled.ran == local.ran == 6
    by_key = {(r.method_id, r.seed): r.final for r in local.records}
    assert {(r.method_id, r.seed): r.final for r in pooled.records} == by_key


def test_make_executor_checks_its_arguments():
    assert isinstance(make_executor("local", workers=2), LocalExecutor)
    with pytest.raises(ValueError, match="executor='dask'"):
        make_executor("dask")
    with pytest.raises(ValueError, match="--address applies to --executor ray"):
        make_executor("local", address="ray://x")
    with pytest.raises(ValueError, match="workers=0"):
        LocalExecutor(workers=0)
