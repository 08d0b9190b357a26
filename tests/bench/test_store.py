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
