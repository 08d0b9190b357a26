"""The SQLite results store: round trip, schema checks, foreign files, atomic writes."""

import sqlite3

import pytest

from deepbalance.bench.store import GRID_KIND, SCHEMA_VERSION, RunRecord, Store, StoreError


def _record(seed=0, method_id="m", **changes):
    metrics = {
        "acsa": 0.5 + seed / 10,
        "gm": 0.4,
        "auroc": float("nan"),
        "per_class_recall": [0.5, 0.6],
    }
    fields = dict(
        spec_name="s",
        spec_hash="h" * 16,
        method_id=method_id,
        method_name="none",
        method_hash="mh",
        method={"id": method_id, "name": "none", "params": {}},
        seed=seed,
        variant="",
        variant_hash="",
        variant_params={},
        history=[
            {"epoch": 1, "split": "test", "metrics": {"acsa": 0.3, "gm": 0.2}},
            {"epoch": 2, "split": "test", "metrics": metrics},
        ],
        final={"test": metrics},
        best={"test": metrics},
        timings={"resample": 0.1, "train": 1.0, "total": 1.2, "wall": 1.3},
        n_train=100,
        n_synthetic=20,
        data={"class_names": ["a", "b"], "train_counts": [80, 20]},
        environment={"torch": "2.x", "numpy": "2.x"},
        device="cpu",
        host_cores=2,
        reduced=True,
        overrides={"epochs": 2},
        started_at=1.0,
        finished_at=2.0,
        artifacts={GRID_KIND: b"\x89PNG fake"},
    )
    fields.update(changes)
    return RunRecord(**fields)


def test_round_trip(tmp_path):
    path = tmp_path / "results.sqlite"
    with Store(path) as store:
        run_id = store.write_run(_record(seed=3))
        assert run_id >= 1
    with Store(path) as store:
        (run,) = store.runs("s")
        assert run.run_id == run_id and run.seed == 3
        assert run.final["test"]["acsa"] == pytest.approx(0.8)
        assert run.final["test"]["auroc"] is None  # NaN stored as JSON null
        assert run.final["test"]["per_class_recall"] == [0.5, 0.6]
        assert run.history[0]["metrics"] == {"acsa": 0.3, "gm": 0.2}
        assert run.timings["wall"] == 1.3 and run.n_train == 100 and run.n_synthetic == 20
        assert run.reduced and run.overrides == {"epochs": 2}
        assert run.data["class_names"] == ["a", "b"] and run.environment["torch"] == "2.x"
        assert store.finished_keys("s", "h" * 16) == {("m", "mh", 3, "", "")}
        assert store.artifacts("s", "h" * 16) == [("m", GRID_KIND, b"\x89PNG fake")]
    # the scalar metrics are also one per row, for SQL
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT stage, epoch, split, metric, value FROM metrics ORDER BY stage, epoch, metric"
    ).fetchall()
    conn.close()
    assert ("history", 1, "test", "acsa", 0.3) in rows
    assert ("final", None, "test", "acsa", pytest.approx(0.8)) in rows
    assert ("final", None, "test", "auroc", None) in rows
    assert not any(metric == "per_class_recall" for *_, metric, _ in rows)


def test_rewriting_a_run_replaces_it(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        store.write_run(_record(seed=0, finished_at=2.0))
        store.write_run(_record(seed=0, finished_at=5.0))
        (run,) = store.runs()
        assert run.finished_at == 5.0
        assert store.count_runs() == 1


def test_schema_version_is_recorded(tmp_path):
    path = tmp_path / "r.sqlite"
    Store(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    conn.close()
    assert meta == {"application": "deepbalance-bench", "schema_version": str(SCHEMA_VERSION)}


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"my precious notes\n" * 10)
    with pytest.raises(StoreError, match="not a deepbalance results store.*not an SQLite file"):
        Store(path)
    assert path.read_bytes() == b"my precious notes\n" * 10


def test_a_foreign_sqlite_database_is_refused_untouched(tmp_path):
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (name TEXT)")
    conn.execute("INSERT INTO customers VALUES ('ada')")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="SQLite database but not a deepbalance results store"):
        Store(path)
    assert path.read_bytes() == before


def test_a_newer_schema_is_refused_untouched(tmp_path):
    path = tmp_path / "r.sqlite"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
    )
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=f"newer deepbalance .*schema {SCHEMA_VERSION + 1}"):
        Store(path)
    assert path.read_bytes() == before


def test_an_empty_file_becomes_a_store(tmp_path):
    path = tmp_path / "empty.sqlite"
    path.touch()
    with Store(path) as store:
        assert store.count_runs() == 0


def test_a_failure_inside_the_transaction_commits_nothing(tmp_path, monkeypatch):
    path = tmp_path / "r.sqlite"
    with Store(path) as store:
        store.write_run(_record(seed=0))

        def disk_full(conn, run_id, rows):
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(Store, "_insert_metrics", staticmethod(disk_full))
        with pytest.raises(StoreError, match="disk is full.*Nothing of this write was kept"):
            store.write_run(_record(seed=1, artifacts={"other.png": b"x"}))
        monkeypatch.undo()
        # the run row inserted before the failure was rolled back with the rest
        assert [r.seed for r in store.runs()] == [0]
        assert store.finished_keys("s", "h" * 16) == {("m", "mh", 0, "", "")}
        assert [kind for _, kind, _ in store.artifacts("s", "h" * 16)] == [GRID_KIND]
        # and the store still works
        store.write_run(_record(seed=1))
        assert sorted(r.seed for r in store.runs()) == [0, 1]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n_metrics = conn.execute("SELECT COUNT(*) FROM metrics").fetchone()[0]
    conn.close()
    assert n_metrics == 2 * (5 + 3 + 3)  # per run: 2 + 3 history, 3 final, 3 best scalars


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(StoreError, match="is a folder"):
        Store(tmp_path)


def _open_when_released(path, barrier, errors):
    """Child process: wait for the others, then open (and so create) the store."""
    barrier.wait()
    try:
        Store(path).close()
    except Exception as exc:  # reported to the parent, which fails the test
        errors.put(f"{type(exc).__name__}: {exc}")


def test_processes_creating_one_store_at_once(tmp_path):
    import multiprocessing as mp

    # fork where there is one (fast); spawn elsewhere
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    context = mp.get_context(method)
    errors = context.Queue()
    for attempt in range(4):
        path = tmp_path / f"results-{attempt}.sqlite"
        barrier = context.Barrier(3)
        processes = [
            context.Process(target=_open_when_released, args=(str(path), barrier, errors))
            for _ in range(3)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        assert [p.exitcode for p in processes] == [0, 0, 0]
        found = []
        while not errors.empty():
            found.append(errors.get())
        assert found == []
        conn = sqlite3.connect(path)
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        conn.close()
        assert meta == {"application": "deepbalance-bench", "schema_version": str(SCHEMA_VERSION)}


# ------------------------------------------------------------------ read-only opening


def test_read_only_refuses_a_missing_file_without_creating_it(tmp_path):
    path = tmp_path / "missing.sqlite"
    with pytest.raises(StoreError, match="does not exist"):
        Store(path, read_only=True)
    assert not path.exists()


def test_read_only_refuses_an_empty_file_untouched(tmp_path):
    path = tmp_path / "empty.sqlite"
    path.touch()
    with pytest.raises(StoreError, match=r"is empty \(0 bytes\), not a results store"):
        Store(path, read_only=True)
    assert path.stat().st_size == 0


def test_read_only_refuses_foreign_files_untouched(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_bytes(b"not a database\n" * 20)
    with pytest.raises(StoreError, match="not an SQLite file"):
        Store(text, read_only=True)
    assert text.read_bytes() == b"not a database\n" * 20
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    with pytest.raises(StoreError, match="not a deepbalance results store"):
        Store(other, read_only=True)
    assert other.read_bytes() == before


def test_read_only_reads_and_never_writes(tmp_path):
    path = tmp_path / "r.sqlite"
    with Store(path) as store:
        store.write_run(_record(seed=1))
    before = path.read_bytes()
    with Store(path, read_only=True) as store:
        assert [r.seed for r in store.runs()] == [1]
        with pytest.raises(StoreError, match="read-only"):
            store.write_run(_record(seed=2))
    assert path.read_bytes() == before


def test_read_only_opens_a_path_with_uri_characters(tmp_path):
    folder = tmp_path / "a ?b#c%20"
    folder.mkdir()
    path = folder / "r.sqlite"
    with Store(path) as store:
        store.write_run(_record(seed=4))
    with Store(path, read_only=True) as store:
        assert [r.seed for r in store.runs()] == [4]


# ------------------------------------------------------------------ claims


KEY = ("m", "mh", 0, "", "")


def _dead_pid():
    """The id of a process of this host that has exited (and was reaped)."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_claim_is_exclusive_until_released(tmp_path):
    from deepbalance.bench.store import CLAIMED, FINISHED, TAKEN, Claimant

    first, second = Claimant.new(), Claimant.new()
    with Store(tmp_path / "r.sqlite") as store:
        assert store.claim("s", "h" * 16, KEY, first) == CLAIMED
        assert store.claim("s", "h" * 16, KEY, first) == CLAIMED  # a claimant keeps its own
        assert store.claim("s", "h" * 16, KEY, second) == TAKEN
        (row,) = store.claims("s")
        assert (row["owner"], row["pid"], row["host"]) == (first.owner, first.pid, first.host)
        assert store.release(first) == 1
        assert store.claim("s", "h" * 16, KEY, second) == CLAIMED
        store.write_run(_record(seed=0))  # storing the run drops its claim
        assert store.claims() == []
        assert store.claim("s", "h" * 16, KEY, first) == FINISHED


def test_a_dead_process_claim_is_taken_over(tmp_path):
    import platform

    from deepbalance.bench.store import CLAIMED, Claimant

    dead = Claimant("dead-owner", platform.node(), _dead_pid())
    with Store(tmp_path / "r.sqlite") as store:
        assert store.claim("s", "h" * 16, KEY, dead) == CLAIMED
        heir = Claimant.new()
        assert store.claim("s", "h" * 16, KEY, heir) == CLAIMED
        assert [row["owner"] for row in store.claims()] == [heir.owner]


def test_a_claim_without_heartbeat_is_taken_over_from_another_host(tmp_path):
    from deepbalance.bench.store import CLAIMED, STALE_AFTER, TAKEN, Claimant

    remote = Claimant("remote-owner", "another-host.invalid", 1)
    path = tmp_path / "r.sqlite"
    with Store(path) as store:
        assert store.claim("s", "h" * 16, KEY, remote) == CLAIMED
        # alive as far as this host can tell: a fresh heartbeat keeps it
        assert store.claim("s", "h" * 16, KEY, Claimant.new()) == TAKEN
    conn = sqlite3.connect(path)
    conn.execute("UPDATE claims SET heartbeat = heartbeat - ?", (2 * STALE_AFTER,))
    conn.commit()
    conn.close()
    with Store(path) as store:
        heir = Claimant.new()
        assert store.claim("s", "h" * 16, KEY, heir) == CLAIMED
        assert [row["owner"] for row in store.claims()] == [heir.owner]


def test_the_heartbeat_refreshes_only_its_claims(tmp_path):
    from deepbalance.bench.store import Claimant

    path = tmp_path / "r.sqlite"
    mine, other = Claimant.new(), Claimant("other", "another-host.invalid", 1)
    with Store(path) as store:
        store.claim("s", "h" * 16, KEY, mine)
        store.claim("s", "h" * 16, ("m", "mh", 1, "", ""), other)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE claims SET heartbeat = 0")
    conn.commit()
    conn.close()
    with Store(path) as store:
        store.keep_claims(mine).beat()
        beats = {row["owner"]: row["heartbeat"] for row in store.claims()}
    assert beats[mine.owner] > 0 and beats["other"] == 0


@pytest.mark.parametrize(
    "key, claimant, message",
    [(("m", 0), "ok", "must be a run key"), (KEY, "me", "must be a Claimant")],
)
def test_claim_arguments_are_checked(tmp_path, key, claimant, message):
    from deepbalance.bench.store import Claimant

    with Store(tmp_path / "r.sqlite") as store:
        with pytest.raises((TypeError, ValueError), match=message):
            store.claim("s", "h", key, Claimant.new() if claimant == "ok" else claimant)
