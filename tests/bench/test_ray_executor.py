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
