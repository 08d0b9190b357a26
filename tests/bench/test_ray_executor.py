"""The Ray executor on a one-CPU local Ray instance (skipped when Ray is not installed)."""

import os
import shutil
import tempfile

import pytest

from deepbalance.bench.executors import RayExecutor
from deepbalance.bench.runner import run_spec
from deepbalance.bench.spec import apply_overrides
from deepbalance.bench.store import Store

ray = pytest.importorskip("ray")


@pytest.fixture
def local_ray():
    # Ray's socket paths must stay under 108 bytes: a short folder, not pytest's tmp_path.
    folder = tempfile.mkdtemp(prefix="dbray-", dir="/tmp" if os.path.isdir("/tmp") else None)
    # Ray workers import the fake backend by name: put its folder on their path.
    here = os.path.dirname(os.path.abspath(__file__))
    ray.init(
        num_cpus=1,
        include_dashboard=False,
        log_to_driver=False,
        _temp_dir=folder,
        runtime_env={"env_vars": {"PYTHONPATH": here, "OMP_NUM_THREADS": "1"}},
    )
    yield
    ray.shutdown()
    shutil.rmtree(folder, ignore_errors=True)


def test_ray_runs_the_grid_and_the_driver_writes_the_store(spec, toolkit, tmp_path, local_ray):
    small = apply_overrides(spec, seeds=2)
    store_path = tmp_path / "results.sqlite"
    summary = run_spec(
        small, store=store_path, toolkit=toolkit, executor=RayExecutor(), progress=False
    )
    assert (summary.ran, summary.failed) == (6, [])
    local = run_spec(small, store=tmp_path / "local.sqlite", toolkit=toolkit, progress=False)
    by_key = {(r.method_id, r.seed): r.final for r in local.records}
    with Store(store_path) as store:
        runs = store.runs()
        assert {(r.method_id, r.seed): r.final for r in runs} == by_key
        pids = {r.environment.get("pid") for r in runs}
    assert os.getpid() not in pids  # computed in Ray workers, stored here
    assert ray.is_initialized()  # the executor leaves alone a Ray instance it did not start


def test_ray_takes_the_next_task_only_when_a_slot_is_free(local_ray):
    import fake_backend

    pulled = []

    def tasks():  # run_spec claims each run in the store as it is pulled from here
        for i in range(5):
            pulled.append(i)
            yield i

    outcomes = RayExecutor().map(fake_backend.slow_square, tasks())
    first = next(outcomes)
    assert len(pulled) == 1  # one CPU: one run in flight, the rest unclaimed for others
    results = [first, *outcomes]
    assert sorted(result for _, result, _ in results) == [0, 1, 4, 9, 16] and pulled == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert all(error is None for _, _, error in results)
    two = RayExecutor(max_in_flight=2).map(fake_backend.slow_square, iter(tasks()))
    pulled.clear()
    next(two)
    assert len(pulled) == 2
    list(two)
    with pytest.raises(ValueError, match="max_in_flight"):
        RayExecutor(max_in_flight=0)
