"""Two ``run_spec`` processes on one store split the grid: every run is computed once."""

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from deepbalance.bench.store import Store

HERE = Path(__file__).resolve().parent

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {here!r})
    import fake_backend
    from deepbalance.bench.runner import run_spec
    from deepbalance.bench.spec import load_spec

    summary = run_spec(
        load_spec({spec!r}), store={store!r}, toolkit=fake_backend.toolkit(), progress=False
    )
    sys.exit(0 if not summary.failed else 1)
    """
)


def _calls(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def test_two_processes_split_the_grid(spec_file, tmp_path):
    store = tmp_path / "results.sqlite"
    log = tmp_path / "calls.jsonl"
    gate = tmp_path / "go"
    script = tmp_path / "grid.py"
    script.write_text(SCRIPT.format(here=str(HERE), spec=str(spec_file), store=str(store)))
    # every run waits at the gate: both processes must be mid-run at once before any finishes
    env = {**os.environ, "FAKE_BENCH_LOG": str(log), "FAKE_BENCH_GATE": str(gate)}
    env.pop("FAKE_BENCH_BLOCK_AFTER", None)
    processes = [
        subprocess.Popen(
            [sys.executable, str(script)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / f"stderr-{i}.txt", "w"),  # noqa: SIM115
        )
        for i in range(2)
    ]
    try:
        deadline = time.monotonic() + 120  # a guard against hanging, not a timing assertion
        while len({c["pid"] for c in _calls(log)}) < 2:
            for i, process in enumerate(processes):
                if process.poll() is not None:
                    pytest.fail(
                        f"worker {i} ended early: {(tmp_path / f'stderr-{i}.txt').read_text()}"
                    )
            if time.monotonic() > deadline:
                pytest.fail("the two workers were not both mid-run in time")
            time.sleep(0.05)
        gate.touch()
        codes = [process.wait(timeout=120) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    errors = [(tmp_path / f"stderr-{i}.txt").read_text() for i in range(2)]
    assert codes == [0, 0], errors
    calls = _calls(log)
    done = [(c["method"], json.dumps(c["params"], sort_keys=True), c["seed"]) for c in calls]
    assert len(done) == 9 and len(set(done)) == 9  # every run of the grid, each exactly once
    assert len({c["pid"] for c in calls}) == 2  # both workers computed some of them
    with Store(store, read_only=True) as opened:
        runs = opened.runs()
        assert len(runs) == 9 and len({r.key for r in runs}) == 9
        assert opened.claims() == []  # finished runs hold no claims


def _hold(store_path, spec, point, claimant):
    from deepbalance.bench.store import CLAIMED

    with Store(store_path) as store:
        assert store.claim(spec.name, spec.hash, point.key, claimant) == CLAIMED


def test_a_live_claim_is_left_to_its_owner_and_a_stale_one_taken_over(spec, toolkit, tmp_path):
    import sqlite3

    from deepbalance.bench.runner import expand_grid, run_spec
    from deepbalance.bench.store import STALE_AFTER, Claimant

    path = tmp_path / "results.sqlite"
    point = expand_grid(spec)[4]
    # a live process of another host (its heartbeat is fresh) computes one run
    _hold(path, spec, point, Claimant("elsewhere", "another-host.invalid", 1))
    summary = run_spec(spec, store=path, toolkit=toolkit, progress=False)
    assert (summary.ran, summary.skipped, summary.elsewhere) == (8, 0, [point])
    assert not summary.complete
    with Store(path, read_only=True) as store:
        assert point.key not in store.finished_keys(spec.name, spec.hash)
        assert [c["owner"] for c in store.claims()] == ["elsewhere"]
    # it stops beating: its claim goes stale and the next run takes the run over
    conn = sqlite3.connect(path)
    conn.execute("UPDATE claims SET heartbeat = heartbeat - ?", (2 * STALE_AFTER,))
    conn.commit()
    conn.close()
    summary = run_spec(spec, store=path, toolkit=toolkit, progress=False)
    assert (summary.ran, summary.skipped, summary.elsewhere) == (1, 8, [])
    with Store(path, read_only=True) as store:
        assert len(store.finished_keys(spec.name, spec.hash)) == 9 and store.claims() == []


def test_a_dead_process_claim_is_run(spec, toolkit, tmp_path):
    import platform

    from deepbalance.bench.runner import expand_grid, run_spec
    from deepbalance.bench.store import Claimant

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = tmp_path / "results.sqlite"
    _hold(path, spec, expand_grid(spec)[0], Claimant("gone", platform.node(), dead.pid))
    summary = run_spec(spec, store=path, toolkit=toolkit, progress=False)
    assert (summary.ran, summary.elsewhere) == (9, [])


def test_a_failed_run_releases_its_claim_when_the_grid_ends(fake, toolkit, tmp_path):
    from deepbalance.bench.runner import run_spec
    from deepbalance.bench.spec import loads_spec

    spec = loads_spec(fake.SPEC_TOML.replace('name = "fake-smote"', 'name = "fake-fail"'))
    path = tmp_path / "results.sqlite"
    summary = run_spec(spec, store=path, toolkit=toolkit, progress=False)
    assert summary.ran == 6 and len(summary.failed) == 3
    with Store(path, read_only=True) as store:
        assert store.claims() == []  # a rerun retries the failed runs


def test_two_pool_workers_take_runs_as_they_free_up(spec, toolkit, tmp_path, monkeypatch):
    from deepbalance.bench.executors import LocalExecutor
    from deepbalance.bench.runner import run_spec

    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_BENCH_LOG", str(log))
    path = tmp_path / "results.sqlite"
    summary = run_spec(spec, store=path, toolkit=toolkit, executor=LocalExecutor(2), progress=False)
    assert (summary.ran, summary.failed) == (9, [])
    assert len(_calls(log)) == 9
    with Store(path, read_only=True) as store:
        assert store.claims() == []


# ------------------------------------------------------------------ checks before the file


@pytest.mark.parametrize(
    "change, options, error",
    [
        (('name = "fake-smote"', 'name = "fake-smoot"'), {}, "unknown method"),
        ((), {"data_dir": "/no/such/folder"}, "no files in"),
        ((), {"device": "gpu0"}, "not a device name"),
        (("[train]", "[train]\nclassifier_params = { width = 3 }"), {}, "cannot be built"),
    ],
)
def test_a_failed_check_creates_no_store(fake, toolkit, tmp_path, change, options, error):
    from deepbalance.bench.runner import run_spec
    from deepbalance.bench.spec import loads_spec

    spec = loads_spec(fake.SPEC_TOML.replace(*change) if change else fake.SPEC_TOML)
    path = tmp_path / "results.sqlite"
    with pytest.raises((ValueError, TypeError, OSError), match=error):
        run_spec(spec, store=path, toolkit=toolkit, progress=False, **options)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []
