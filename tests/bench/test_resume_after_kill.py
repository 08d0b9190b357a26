"""A grid killed with SIGKILL mid-run loses only the run in flight; a rerun completes it."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from deepbalance.bench.runner import run_spec
from deepbalance.bench.spec import load_spec
from deepbalance.bench.store import Store

HERE = Path(__file__).resolve().parent

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {here!r})
    import fake_backend
    from deepbalance.bench.runner import run_spec
    from deepbalance.bench.spec import load_spec

    run_spec(load_spec({spec!r}), store={store!r}, toolkit=fake_backend.toolkit(), progress=False)
    """
)


def _stored(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:  # not created yet
        return 0


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_grid_then_resume(spec_file, tmp_path, fake, monkeypatch):
    store = tmp_path / "results.sqlite"
    log = tmp_path / "calls.jsonl"
    script = tmp_path / "grid.py"
    script.write_text(SCRIPT.format(here=str(HERE), spec=str(spec_file), store=str(store)))
    # the second run blocks for good, so the kill lands while it is in flight
    env = {**os.environ, "FAKE_BENCH_LOG": str(log), "FAKE_BENCH_BLOCK_AFTER": "1"}
    process = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120  # a guard against hanging, not a timing assertion
        while time.monotonic() < deadline:
            calls = log.read_text().splitlines() if log.exists() else []
            if _stored(store) == 1 and len(calls) == 2:
                break
            assert process.poll() is None, "the grid process ended before it was killed"
            time.sleep(0.05)
        else:
            pytest.fail("the first run was not stored in time")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL

    with Store(store) as opened:
        (first,) = opened.runs()
    conn = sqlite3.connect(store)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()

    monkeypatch.setenv("FAKE_BENCH_LOG", str(log))
    monkeypatch.delenv("FAKE_BENCH_BLOCK_AFTER", raising=False)
    spec = load_spec(spec_file)
    summary = run_spec(spec, store=store, toolkit=fake.toolkit(), progress=False)
    assert (summary.total, summary.skipped, summary.ran) == (9, 1, 8)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    # 2 calls before the kill (1 stored, 1 lost in flight), then only the 8 missing runs
    assert len(calls) == 2 + 8
    rerun = {(c["method"], c["seed"]) for c in calls[2:]}
    assert (first.method_name, first.seed) not in rerun
    with Store(store) as opened:
        runs = opened.runs()
        assert len(runs) == 9
        kept = next(r for r in runs if r.run_id == first.run_id)
        assert kept.finished_at == first.finished_at  # untouched by the rerun
