"""The results store: one SQLite file, one transaction per run, safe to share between processes.

Tables (schema version :data:`SCHEMA_VERSION`, kept in ``meta`` and ``PRAGMA user_version``):

- ``meta``: ``application`` (marks the file as ours) and ``schema_version``.
- ``specs``: one row per (spec name, spec hash): the protocol, the spec as run, the spec's full
  seed and method lists and the overrides (REDUCED) of the latest invocation.
- ``runs``: one row per finished (spec, method, seed, variant): metrics history, final and
  best-of-evaluations metrics (JSON), timings, sizes, versions, machine, reduced flag.
- ``metrics``: the same scalar metrics one per row (run, stage, epoch, split, metric, value), for
  SQL queries.
- ``artifacts``: small files the runner saved (e.g. PNG grids of synthetic samples).
- ``claims``: the runs being computed, one row per run with its owner (a :class:`Claimant`:
  token, host, pid) and a heartbeat, so that several ``bench run`` processes on one store split
  the grid. A claim whose heartbeat is older than :data:`STALE_AFTER` seconds, or whose process
  is gone (same host), is stale: another process takes the run over.

A run is written in ONE transaction: killed mid-grid, the store keeps every finished run and
nothing of the one in flight. Creating the schema is one ``BEGIN IMMEDIATE`` transaction of
``CREATE ... IF NOT EXISTS`` statements, so processes that create one store at once all succeed.
Read-only use (``Store(path, read_only=True)``, what reports do) opens the file with SQLite's
``mode=ro`` and never creates or changes it.

Schema 2 changed no table, only what method names mean: ``deepsmote`` is ``DeepSMOTE()`` with its
defaults (residual + copies; schema 1 stored it as ``deepsmote-residual+copies``) and the
published variant is ``deepsmote-published`` (schema 1: ``deepsmote``); see
``deepbalance.method_names.STORED_AS``. A schema-1 store is read with those names translated (its
runs' ids and names, its specs' method lists, paper numbers and overrides, its artifacts and
claims; a label is kept unless it was the id), and is translated in place, in one transaction,
when it is opened for writing. Method hashes do not change, so no stored run has to be rerun.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "APPLICATION",
    "CLAIMED",
    "FINISHED",
    "GRID_KIND",
    "HEARTBEAT_EVERY",
    "SCHEMA_VERSION",
    "STALE_AFTER",
    "TAKEN",
    "Claimant",
    "RunRecord",
    "Store",
    "StoreError",
    "StoreWriteError",
]

APPLICATION = "deepbalance-bench"
#: 1: the first schema; 2: today's method names (the tables are unchanged)
SCHEMA_VERSION = 2
#: Artifact kind of the PNG grid of real vs synthetic samples saved per sampler method.
GRID_KIND = "synthetic-grid.png"
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: Seconds an SQLite call waits for another process's lock before it fails.
BUSY_TIMEOUT = 60.0
#: Seconds between two heartbeats of a process's claims.
HEARTBEAT_EVERY = 30.0
#: A claim whose heartbeat is older than this (seconds) belongs to a dead or hung process.
STALE_AFTER = 600.0
#: What :meth:`Store.claim` returns: the run is ours now / already stored / another
#: live process computes it.
CLAIMED, FINISHED, TAKEN = "claimed", "finished", "taken"
_KEY_COLUMNS = ("method_id", "method_hash", "seed", "variant", "variant_hash")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS specs (
    spec_name TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    protocol_json TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    full_seeds_json TEXT NOT NULL,
    full_methods_json TEXT NOT NULL,
    overrides_json TEXT NOT NULL,
    reduced INTEGER NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (spec_name, spec_hash)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    spec_name TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    method_id TEXT NOT NULL,
    method_name TEXT NOT NULL,
    method_hash TEXT NOT NULL,
    method_json TEXT NOT NULL,
    seed INTEGER NOT NULL,
    variant TEXT NOT NULL,
    variant_hash TEXT NOT NULL,
    variant_json TEXT NOT NULL,
    history_json TEXT NOT NULL,
    final_json TEXT NOT NULL,
    best_json TEXT NOT NULL,
    timings_json TEXT NOT NULL,
    n_train INTEGER,
    n_synthetic INTEGER,
    data_json TEXT NOT NULL,
    environment_json TEXT NOT NULL,
    device TEXT,
    host_cores INTEGER,
    reduced INTEGER NOT NULL,
    overrides_json TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL NOT NULL,
    UNIQUE (spec_name, spec_hash, method_id, method_hash, seed, variant, variant_hash)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    epoch INTEGER,
    split TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL
);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run_id);
CREATE TABLE IF NOT EXISTS artifacts (
    spec_name TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    method_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (spec_name, spec_hash, method_id, kind)
);
CREATE TABLE IF NOT EXISTS claims (
    spec_name TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    method_id TEXT NOT NULL,
    method_hash TEXT NOT NULL,
    seed INTEGER NOT NULL,
    variant TEXT NOT NULL,
    variant_hash TEXT NOT NULL,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    claimed_at REAL NOT NULL,
    heartbeat REAL NOT NULL,
    PRIMARY KEY (spec_name, spec_hash, method_id, method_hash, seed, variant, variant_hash)
);
CREATE INDEX IF NOT EXISTS claims_owner ON claims(owner);
"""
_TABLES = ("meta", "specs", "runs", "metrics", "artifacts", "claims")


class StoreError(OSError):
    """The store cannot be opened or written; the file is left as it was."""


class StoreWriteError(StoreError):
    """A write to a valid store failed (disk full, read-only file, lock held too long)."""


@dataclass(frozen=True)
class Claimant:
    """Who claims runs: a token unique to one grid invocation, its host and process id.

    Parameters
    ----------
    owner : str
        Unique token (:meth:`new` draws one).
    host : str
        ``platform.node()`` of the claiming process.
    pid : int
        Its process id (used to tell a dead process's claims on the same host).
    """

    owner: str
    host: str
    pid: int

    @classmethod
    def new(cls) -> Claimant:
        """A fresh claimant for this process."""
        return cls(uuid.uuid4().hex, platform.node(), os.getpid())

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host exists (True where that cannot be told)."""
    if os.name != "posix":
        return True  # os.kill(pid, 0) would terminate the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


@dataclass
class RunRecord:
    """One finished run, as the runner hands it to :meth:`Store.write_run`.

    ``history`` is a list of ``{"epoch", "split", "metrics"}``; ``final`` and ``best`` map a
    test-set name to its metrics dict (scalars and lists such as ``per_class_recall``).
    """

    spec_name: str
    spec_hash: str
    method_id: str
    method_name: str
    method_hash: str
    method: dict
    seed: int
    variant: str
    variant_hash: str
    variant_params: dict
    history: list
    final: dict
    best: dict
    timings: dict
    n_train: int | None
    n_synthetic: int | None
    data: dict  # class names and per-class counts of the training and test sets
    environment: dict
    device: str | None
    host_cores: int | None
    reduced: bool
    overrides: dict
    started_at: float
    finished_at: float
    artifacts: dict = field(default_factory=dict)  # kind -> bytes (e.g. "synthetic-grid.png")
    run_id: int | None = None

    @property
    def key(self) -> tuple:
        return (self.method_id, self.method_hash, self.seed, self.variant, self.variant_hash)


def _json(value) -> str:
    return json.dumps(_finite(value), sort_keys=True, allow_nan=False)


def _finite(value):
    """NaN/inf (e.g. an undefined AUROC) become None so the JSON stays standard."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return _finite(value.item())
    if hasattr(value, "tolist"):
        return _finite(value.tolist())
    return value


def _scalar_rows(stage: str, epoch, split: str, metrics: Mapping) -> Iterable[tuple]:
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
                value = value.item()
            else:
                continue  # lists (per-class recall) live in the JSON columns
        value = float(value)
        yield stage, epoch, split, name, (value if math.isfinite(value) else None)


class Store:
    """The results store at ``path``.

    Parameters
    ----------
    path : path
        The SQLite file. For writing it is created with our schema if missing or empty (its
        folder too); every writer runs the idempotent schema transaction, so processes that
        open one new store at once all get it.
    read_only : bool, default False
        Open an existing store for reading only (SQLite ``mode=ro``): a missing, empty,
        non-SQLite or foreign file is refused and never created or changed.

    Attributes
    ----------
    schema_version : int
        The file's schema. A schema-1 store opened for reading stays 1 (its method names are
        translated as they are read); opened for writing it is upgraded to
        :data:`SCHEMA_VERSION` first (module notes).

    Raises
    ------
    StoreError
        If the file is missing or empty (``read_only``), is not SQLite, is SQLite but not a
        deepbalance store, or has a newer schema. The file is not modified in those cases.
    StoreWriteError
        If the schema cannot be written (e.g. a read-only file or folder).
    """

    def __init__(self, path: str | os.PathLike, *, read_only: bool = False):
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"path={path!r} must be a file path (str or os.PathLike)")
        if not isinstance(read_only, bool):
            raise TypeError(f"read_only={read_only!r} must be True or False")
        self.path = Path(path)
        self.read_only = read_only
        self._conn = None
        tables = self._check_foreign()
        try:
            if read_only:
                self._conn = sqlite3.connect(
                    _read_only_uri(self.path), uri=True, timeout=BUSY_TIMEOUT
                )
            else:
                self._conn = sqlite3.connect(
                    str(self.path), timeout=BUSY_TIMEOUT, isolation_level=None
                )
                self._conn.execute("PRAGMA foreign_keys = ON")
                if not set(_TABLES) <= tables:
                    self._init_schema(new=not tables)
            self.schema_version = self._stored_version()
            if not read_only and self.schema_version < SCHEMA_VERSION:
                self._upgrade()
        except sqlite3.Error as exc:
            if self._conn is not None:
                self._conn.close()
            raise StoreWriteError(f"cannot open results store {str(self.path)!r}: {exc}") from None

    # ---------------------------------------------------------------- opening

    def _check_foreign(self) -> set[str]:
        """Refuse what is not (or not yet, when reading) a store; return its tables."""
        path = self.path
        if path.is_dir():
            raise StoreError(f"results store {str(path)!r} is a folder; pass a file path")
        if self.read_only:
            if not path.exists():
                raise StoreError(
                    f"results store {str(path)!r} does not exist; pass the file that "
                    "'deepbalance bench run ... --store PATH' wrote"
                )
            if path.stat().st_size == 0:
                raise StoreError(
                    f"{str(path)!r} is empty (0 bytes), not a results store; it was left "
                    "untouched — pass the file that 'deepbalance bench run' wrote"
                )
        elif not path.exists() or path.stat().st_size == 0:
            if not path.parent.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
            return set()
        with open(path, "rb") as fh:
            head = fh.read(16)
        if head != _SQLITE_MAGIC:
            raise StoreError(
                f"{str(path)!r} is not a deepbalance results store (not an SQLite file); "
                "it was left untouched — pass another --store path"
            )
        # Read-only look at the schema so a foreign database is never written to.
        try:
            conn = sqlite3.connect(_read_only_uri(path), uri=True, timeout=BUSY_TIMEOUT)
            try:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
                meta = {}
                if "meta" in tables:
                    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise StoreError(
                f"{str(path)!r} cannot be read as a results store ({exc}); it was left untouched"
            ) from None
        if not tables and not self.read_only:
            return tables
        if meta.get("application") != APPLICATION:
            raise StoreError(
                f"{str(path)!r} is an SQLite database but not a deepbalance results store "
                "(no deepbalance meta table); it was left untouched — pass another --store path"
            )
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{str(path)!r} was written by a newer deepbalance (store schema {version}, this "
                f"version reads up to {SCHEMA_VERSION}); upgrade deepbalance to use it. "
                "It was left untouched"
            )
        return tables

    def _init_schema(self, *, new: bool) -> None:
        # One immediate transaction of idempotent statements: of several processes creating
        # one store at once, the first creates the tables and the others find them there.
        with self.transaction() as conn:
            # statement by statement: executescript() would COMMIT the open transaction
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            # an older store that lacked a table keeps its version (and is upgraded next)
            version = SCHEMA_VERSION if new else 1
            conn.executemany(
                "INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)",
                [("application", APPLICATION), ("schema_version", str(version))],
            )
            if new:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _stored_version(self) -> int:
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.OperationalError:  # no meta table: an empty file opened for writing
            return SCHEMA_VERSION
        return int(row[0]) if row is not None else 1

    def _upgrade(self) -> None:
        """Translate a schema-1 store's method names in place (one transaction)."""
        with self.transaction() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is not None and int(row[0]) >= SCHEMA_VERSION:
                return  # another process upgraded it meanwhile
            _upgrade_names(conn)
            conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.schema_version = SCHEMA_VERSION

    @property
    def _former_names(self) -> bool:
        """Whether rows are read in schema 1's names (and translated on reading)."""
        return self.schema_version < 2

    # ---------------------------------------------------------------- transactions

    def transaction(self):
        """Context manager: BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any error."""
        if self.read_only:
            raise StoreError(
                f"results store {str(self.path)!r} was opened read-only; open it with "
                "Store(path) to write"
            )
        return _Transaction(self)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---------------------------------------------------------------- writing

    def record_spec(self, spec) -> None:
        """Insert or refresh the ``specs`` row of ``spec`` (a :class:`~.spec.Spec`)."""
        now = time.time()
        row = (
            spec.name,
            spec.hash,
            _json(spec.protocol()),
            _json(spec.to_dict()),
            _json(list(spec.full_seeds)),
            _json(list(spec.full_methods)),
            _json(spec.overrides),
            int(spec.reduced),
            now,
            now,
        )
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO specs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(spec_name, spec_hash) DO UPDATE SET spec_json=excluded.spec_json, "
                "full_seeds_json=excluded.full_seeds_json, "
                "full_methods_json=excluded.full_methods_json, "
                "overrides_json=excluded.overrides_json, reduced=excluded.reduced, "
                "updated_at=excluded.updated_at",
                row,
            )

    def write_run(self, record: RunRecord) -> int:
        """Store one finished run (and its artifacts) in one transaction; return its id.

        A run already stored under the same key is replaced; its claim (whoever holds it) is
        removed in the same transaction.
        """
        if not isinstance(record, RunRecord):
            raise TypeError(f"record={record!r} must be a RunRecord")
        with self.transaction() as conn:
            for table in ("runs", "claims"):
                conn.execute(
                    f"DELETE FROM {table} WHERE spec_name=? AND spec_hash=? AND {_KEY_WHERE}",
                    (record.spec_name, record.spec_hash, *record.key),
                )
            values = {
                "spec_name": record.spec_name,
                "spec_hash": record.spec_hash,
                "method_id": record.method_id,
                "method_name": record.method_name,
                "method_hash": record.method_hash,
                "method_json": _json(record.method),
                "seed": int(record.seed),
                "variant": record.variant,
                "variant_hash": record.variant_hash,
                "variant_json": _json(record.variant_params),
                "history_json": _json(record.history),
                "final_json": _json(record.final),
                "best_json": _json(record.best),
                "timings_json": _json(record.timings),
                "n_train": None if record.n_train is None else int(record.n_train),
                "n_synthetic": None if record.n_synthetic is None else int(record.n_synthetic),
                "data_json": _json(record.data),
                "environment_json": _json(record.environment),
                "device": record.device,
                "host_cores": record.host_cores,
                "reduced": int(bool(record.reduced)),
                "overrides_json": _json(record.overrides),
                "started_at": float(record.started_at),
                "finished_at": float(record.finished_at),
            }
            cursor = conn.execute(
                f"INSERT INTO runs ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
                tuple(values.values()),
            )
            run_id = int(cursor.lastrowid)
            rows = []
            for entry in record.history:
                rows += _scalar_rows(
                    "history", entry.get("epoch"), entry["split"], entry["metrics"]
                )
            for stage, by_split in (("final", record.final), ("best", record.best)):
                for split, metrics in by_split.items():
                    rows += _scalar_rows(stage, None, split, metrics)
            self._insert_metrics(conn, run_id, rows)
            for kind, data in record.artifacts.items():
                conn.execute(
                    "INSERT OR IGNORE INTO artifacts VALUES (?, ?, ?, ?, ?, ?)",
                    (record.spec_name, record.spec_hash, record.method_id, kind, data, time.time()),
                )
        record.run_id = run_id
        return run_id

    @staticmethod
    def _insert_metrics(conn, run_id: int, rows: list[tuple]) -> None:
        conn.executemany(
            "INSERT INTO metrics (run_id, stage, epoch, split, metric, value) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(run_id, *row) for row in rows],
        )

    # ---------------------------------------------------------------- claims

    def claim(
        self,
        spec_name: str,
        spec_hash: str,
        key: tuple,
        claimant: Claimant,
        *,
        stale_after: float = STALE_AFTER,
    ) -> str:
        """Claim one run for ``claimant``, atomically; return what became of it.

        Parameters
        ----------
        spec_name, spec_hash : str
            The spec of the run.
        key : tuple
            The run's key ``(method_id, method_hash, seed, variant, variant_hash)``.
        claimant : Claimant
            Who computes it.
        stale_after : float
            A claim whose heartbeat is older than this many seconds is taken over, as is the
            claim of a process of this host that no longer exists.

        Returns
        -------
        str
            :data:`CLAIMED` (the run is ``claimant``'s now, including a stale claim taken
            over), :data:`FINISHED` (already stored) or :data:`TAKEN` (another live process
            holds it).
        """
        key = _check_key(key)
        if not isinstance(claimant, Claimant):
            raise TypeError(f"claimant={claimant!r} must be a Claimant; use Claimant.new()")
        if isinstance(stale_after, bool) or not isinstance(stale_after, int | float):
            raise TypeError(f"stale_after={stale_after!r} must be a number of seconds")
        if not stale_after > 0:
            raise ValueError(f"stale_after={stale_after!r} must be > 0 seconds; pass e.g. 600")
        args = (spec_name, spec_hash, *key)
        with self.transaction() as conn:
            where = f"spec_name=? AND spec_hash=? AND {_KEY_WHERE}"
            if conn.execute(f"SELECT 1 FROM runs WHERE {where}", args).fetchone():
                return FINISHED
            row = conn.execute(
                f"SELECT owner, host, pid, heartbeat FROM claims WHERE {where}", args
            ).fetchone()
            now = time.time()
            if row is not None:
                owner, host, pid, heartbeat = row
                if owner != claimant.owner and not _stale(host, pid, heartbeat, now, stale_after):
                    return TAKEN
                conn.execute(f"DELETE FROM claims WHERE {where}", args)
            conn.execute(
                "INSERT INTO claims (spec_name, spec_hash, method_id, method_hash, seed, "
                "variant, variant_hash, owner, host, pid, claimed_at, heartbeat) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*args, claimant.owner, claimant.host, claimant.pid, now, now),
            )
        return CLAIMED

    def heartbeat(self, claimant: Claimant) -> int:
        """Refresh the heartbeat of ``claimant``'s claims; return how many it holds."""
        if not isinstance(claimant, Claimant):
            raise TypeError(f"claimant={claimant!r} must be a Claimant; use Claimant.new()")
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE claims SET heartbeat=? WHERE owner=?", (time.time(), claimant.owner)
            )
            return int(cursor.rowcount)

    def release(self, claimant: Claimant, key: tuple | None = None) -> int:
        """Drop ``claimant``'s claim on run ``key`` (None: all its claims); return how many."""
        if not isinstance(claimant, Claimant):
            raise TypeError(f"claimant={claimant!r} must be a Claimant; use Claimant.new()")
        query, args = "DELETE FROM claims WHERE owner=?", [claimant.owner]
        if key is not None:
            query += f" AND {_KEY_WHERE}"
            args += list(_check_key(key))
        with self.transaction() as conn:
            return int(conn.execute(query, args).rowcount)

    def claims(self, spec_name: str | None = None) -> list[dict]:
        """The claims held now (all columns), oldest first; only ``spec_name``'s if given."""
        if "claims" not in self._tables():
            return []  # a store written before claims existed, opened read-only
        query, args = "SELECT * FROM claims", ()
        if spec_name is not None:
            query, args = query + " WHERE spec_name=?", (spec_name,)
        cursor = self._conn.execute(query + " ORDER BY claimed_at", args)
        cols = [c[0] for c in cursor.description]
        out = [dict(zip(cols, row, strict=True)) for row in cursor.fetchall()]
        if self._former_names:
            ids: dict = {}
            for claim in out:
                key = (claim["spec_name"], claim["spec_hash"])
                if key not in ids:
                    ids[key] = _id_map(self._conn, *key)
                claim["method_id"] = _renamed_id(claim["method_id"], ids[key])
        return out

    def keep_claims(self, claimant: Claimant, *, every: float = HEARTBEAT_EVERY):
        """Context manager: a thread refreshes ``claimant``'s heartbeat every ``every`` s.

        The thread has its own connection; a heartbeat that cannot be written (store busy)
        is retried at the next beat.
        """
        if not isinstance(claimant, Claimant):
            raise TypeError(f"claimant={claimant!r} must be a Claimant; use Claimant.new()")
        if isinstance(every, bool) or not isinstance(every, int | float) or not every > 0:
            raise ValueError(f"every={every!r} must be a positive number of seconds")
        return _Heartbeat(self.path, claimant, float(every))

    def _tables(self) -> set[str]:
        return {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master")}

    # ---------------------------------------------------------------- reading

    def finished_keys(self, spec_name: str, spec_hash: str) -> set[tuple]:
        """Keys ``(method_id, method_hash, seed, variant, variant_hash)`` of a spec's runs."""
        rows = self._conn.execute(
            "SELECT method_id, method_hash, seed, variant, variant_hash, method_name FROM runs "
            "WHERE spec_name=? AND spec_hash=?",
            (spec_name, spec_hash),
        )
        if not self._former_names:
            return {tuple(r[:5]) for r in rows}
        return {(_renamed(r[0], r[5])[0], *r[1:5]) for r in rows}

    def has_artifact(self, spec_name: str, spec_hash: str, method_id: str, kind: str) -> bool:
        if self._former_names:
            found = self.artifacts(spec_name, spec_hash)
            return any(m == method_id and k == kind for m, k, _ in found)
        row = self._conn.execute(
            "SELECT 1 FROM artifacts WHERE spec_name=? AND spec_hash=? AND method_id=? AND kind=?",
            (spec_name, spec_hash, method_id, kind),
        ).fetchone()
        return row is not None

    def specs(self, name: str | None = None) -> list[dict]:
        """Stored spec rows (decoded), oldest first; only those named ``name`` if given."""
        query = "SELECT * FROM specs"
        args: tuple = ()
        if name is not None:
            query += " WHERE spec_name=?"
            args = (name,)
        cursor = self._conn.execute(query + " ORDER BY created_at, spec_name", args)
        cols = [c[0] for c in cursor.description]
        out = []
        for row in cursor.fetchall():
            item = dict(zip(cols, row, strict=True))
            for key in (
                "protocol_json",
                "spec_json",
                "full_seeds_json",
                "full_methods_json",
                "overrides_json",
            ):
                item[key[: -len("_json")]] = json.loads(item.pop(key))
            item["reduced"] = bool(item["reduced"])
            if self._former_names:
                item["spec"], item["full_methods"], item["overrides"], _ = _renamed_spec(
                    item["spec"], item["full_methods"], item["overrides"]
                )
            out.append(item)
        return out

    def runs(self, spec_name: str | None = None, spec_hash: str | None = None) -> list[RunRecord]:
        """Stored runs as :class:`RunRecord` (artifacts not loaded), in insertion order."""
        query, args = "SELECT * FROM runs WHERE 1=1", []
        if spec_name is not None:
            query += " AND spec_name=?"
            args.append(spec_name)
        if spec_hash is not None:
            query += " AND spec_hash=?"
            args.append(spec_hash)
        cursor = self._conn.execute(query + " ORDER BY run_id", args)
        cols = [c[0] for c in cursor.description]
        out = []
        ids: dict = {}
        for values in cursor.fetchall():
            row = dict(zip(cols, values, strict=True))
            if self._former_names:
                key = (row["spec_name"], row["spec_hash"])
                if key not in ids:
                    ids[key] = _id_map(self._conn, *key)
                _renamed_run_row(row, ids[key])
            out.append(
                RunRecord(
                    spec_name=row["spec_name"],
                    spec_hash=row["spec_hash"],
                    method_id=row["method_id"],
                    method_name=row["method_name"],
                    method_hash=row["method_hash"],
                    method=json.loads(row["method_json"]),
                    seed=row["seed"],
                    variant=row["variant"],
                    variant_hash=row["variant_hash"],
                    variant_params=json.loads(row["variant_json"]),
                    history=json.loads(row["history_json"]),
                    final=json.loads(row["final_json"]),
                    best=json.loads(row["best_json"]),
                    timings=json.loads(row["timings_json"]),
                    n_train=row["n_train"],
                    n_synthetic=row["n_synthetic"],
                    data=json.loads(row["data_json"]),
                    environment=json.loads(row["environment_json"]),
                    device=row["device"],
                    host_cores=row["host_cores"],
                    reduced=bool(row["reduced"]),
                    overrides=json.loads(row["overrides_json"]),
                    started_at=row["started_at"],
                    finished_at=row["finished_at"],
                    run_id=row["run_id"],
                )
            )
        return out

    def artifacts(self, spec_name: str, spec_hash: str) -> list[tuple[str, str, bytes]]:
        """``(method_id, kind, data)`` of a spec's artifacts."""
        rows = self._conn.execute(
            "SELECT method_id, kind, data FROM artifacts WHERE spec_name=? AND spec_hash=? "
            "ORDER BY method_id, kind",
            (spec_name, spec_hash),
        )
        found = [(m, k, bytes(d)) for m, k, d in rows]
        if self._former_names:
            ids = _id_map(self._conn, spec_name, spec_hash)
            found = sorted((_renamed_id(m, ids), k, d) for m, k, d in found)
        return found

    def count_runs(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


_KEY_WHERE = " AND ".join(f"{column}=?" for column in _KEY_COLUMNS)


# ---------------------------------------------------------------- schema 1's method names


def _current_name(name):
    from ..method_names import current_name

    return current_name(name) if isinstance(name, str) else name


def _renamed(method_id, name) -> tuple:
    """``(id, name)`` today of a method stored in schema 1 as ``(method_id, name)``: the name
    translated (``deepbalance.method_names.current_name``), and the id with it where it was the
    name."""
    new = _current_name(name)
    if new == name:
        return method_id, name
    return (new if method_id == name else method_id), new


def _renamed_entry(entry):
    """A stored method entry (``{id, name, label, ...}``) in today's names; a label that was
    the id follows it."""
    if not isinstance(entry, dict):
        return entry
    old_id = entry.get("id")
    new_id, new_name = _renamed(old_id, entry.get("name"))
    if (new_id, new_name) == (old_id, entry.get("name")):
        return entry
    out = {**entry, "id": new_id, "name": new_name}
    if entry.get("label") in (None, "", old_id):
        out["label"] = new_id
    return out


def _renamed_id(method_id, ids: dict):
    """A stored method id in today's names: as its spec's entries or runs say, else as a
    name (ids default to names)."""
    return ids[method_id] if method_id in ids else _renamed(method_id, method_id)[0]


def _renamed_keys(value, ids: dict):
    if not isinstance(value, dict):
        return value
    return {_renamed_id(k, ids): v for k, v in value.items()}


def _renamed_overrides(overrides, ids: dict):
    if not isinstance(overrides, dict):
        return overrides
    out = dict(overrides)
    if isinstance(out.get("methods"), list):
        out["methods"] = [_renamed_id(m, ids) for m in out["methods"]]
    if "method_params" in out:
        out["method_params"] = _renamed_keys(out["method_params"], ids)
    return out


def _renamed_spec(spec: dict, full_methods, overrides) -> tuple:
    """A stored spec (its JSON, full method list and overrides) in today's names, and the
    ``{stored id: id today}`` of its methods."""
    if not isinstance(spec, dict):
        return spec, full_methods, overrides, {}
    entries = spec.get("methods") or []
    renamed = [_renamed_entry(e) for e in entries]
    ids = {
        old.get("id"): new.get("id")
        for old, new in zip(entries, renamed, strict=True)
        if isinstance(old, dict)
    }
    out = {**spec, "methods": renamed}
    if isinstance(spec.get("paper"), dict):
        out["paper"] = {t: _renamed_keys(v, ids) for t, v in spec["paper"].items()}
    if isinstance(spec.get("budgets"), dict):
        out["budgets"] = {
            b: (
                {**v, "method_params": _renamed_keys(v["method_params"], ids)}
                if isinstance(v, dict) and "method_params" in v
                else v
            )
            for b, v in spec["budgets"].items()
        }
    if isinstance(spec.get("full_methods"), list):
        out["full_methods"] = [_renamed_id(m, ids) for m in spec["full_methods"]]
    if "overrides" in spec:
        out["overrides"] = _renamed_overrides(spec["overrides"], ids)
    if isinstance(full_methods, list):
        full_methods = [_renamed_id(m, ids) for m in full_methods]
    return out, full_methods, _renamed_overrides(overrides, ids), ids


def _id_map(conn, spec_name: str, spec_hash: str) -> dict:
    """``{stored id: id today}`` of a schema-1 spec's methods (its entries, then its runs)."""
    ids = {}
    row = conn.execute(
        "SELECT spec_json FROM specs WHERE spec_name=? AND spec_hash=?", (spec_name, spec_hash)
    ).fetchone()
    if row is not None:
        ids.update(_renamed_spec(json.loads(row[0]), None, None)[3])
    for method_id, name in conn.execute(
        "SELECT DISTINCT method_id, method_name FROM runs WHERE spec_name=? AND spec_hash=?",
        (spec_name, spec_hash),
    ):
        ids.setdefault(method_id, _renamed(method_id, name)[0])
    return ids


def _renamed_run_row(row: dict, ids: dict) -> None:
    """A stored run row (``runs`` columns, decoded JSON kept as text) in today's names."""
    row["method_id"], row["method_name"] = _renamed(row["method_id"], row["method_name"])
    row["method_json"] = _json(_renamed_entry(json.loads(row["method_json"])))
    row["overrides_json"] = _json(_renamed_overrides(json.loads(row["overrides_json"]), ids))


def _upgrade_names(conn) -> None:
    """Rewrite a schema-1 store's rows in today's method names (inside the caller's
    transaction)."""
    specs = conn.execute(
        "SELECT spec_name, spec_hash, spec_json, full_methods_json, overrides_json FROM specs"
    ).fetchall()
    runs = conn.execute(
        "SELECT run_id, spec_name, spec_hash, method_id, method_name, method_json, "
        "overrides_json FROM runs"
    ).fetchall()
    keys = {(name, spec_hash) for name, spec_hash, *_ in specs}
    for table in ("runs", "artifacts", "claims"):
        keys |= set(conn.execute(f"SELECT DISTINCT spec_name, spec_hash FROM {table}"))
    ids = {key: _id_map(conn, *key) for key in keys}  # before any row changes
    for name, spec_hash, spec_json, full_json, over_json in specs:
        spec, full, over, _ = _renamed_spec(
            json.loads(spec_json), json.loads(full_json), json.loads(over_json)
        )
        conn.execute(
            "UPDATE specs SET spec_json=?, full_methods_json=?, overrides_json=? "
            "WHERE spec_name=? AND spec_hash=?",
            (_json(spec), _json(full), _json(over), name, spec_hash),
        )
    for run_id, name, spec_hash, method_id, method_name, method_json, over_json in runs:
        spec_ids = ids[(name, spec_hash)]
        row = {
            "method_id": method_id,
            "method_name": method_name,
            "method_json": method_json,
            "overrides_json": over_json,
        }
        _renamed_run_row(row, spec_ids)
        conn.execute(
            "UPDATE runs SET method_id=?, method_name=?, method_json=?, overrides_json=? "
            "WHERE run_id=?",
            (
                row["method_id"],
                row["method_name"],
                row["method_json"],
                row["overrides_json"],
                run_id,
            ),
        )
    for table in ("artifacts", "claims"):
        cursor = conn.execute(f"SELECT * FROM {table}")
        cols = [c[0] for c in cursor.description]
        rows = [dict(zip(cols, r, strict=True)) for r in cursor.fetchall()]
        if not rows:
            continue
        conn.execute(f"DELETE FROM {table}")
        for row in rows:
            row["method_id"] = _renamed_id(
                row["method_id"], ids[(row["spec_name"], row["spec_hash"])]
            )
            conn.execute(
                f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) "
                f"VALUES ({', '.join('?' for _ in cols)})",
                tuple(row[c] for c in cols),
            )


def _check_key(key) -> tuple:
    if not isinstance(key, tuple | list) or len(key) != len(_KEY_COLUMNS):
        raise ValueError(
            f"key={key!r} must be a run key ({', '.join(_KEY_COLUMNS)}), e.g. GridPoint.key"
        )
    return tuple(key)


def _stale(host: str, pid: int, heartbeat: float, now: float, stale_after: float) -> bool:
    """Whether a claim is abandoned: no heartbeat for ``stale_after`` s, or its process is gone."""
    if now - heartbeat > stale_after:
        return True
    return host == platform.node() and not _process_alive(int(pid))


def _read_only_uri(path: Path) -> str:
    """The ``file:`` URI that opens ``path`` read-only (quoted: any character may occur)."""
    return path.resolve().as_uri() + "?mode=ro"


class _Heartbeat:
    """The thread behind :meth:`Store.keep_claims`."""

    def __init__(self, path: Path, claimant: Claimant, every: float):
        self.path, self.claimant, self.every = path, claimant, every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        """Refresh the heartbeat once, on a connection of its own."""
        try:
            with Store(self.path) as store:
                store.heartbeat(self.claimant)
        except (StoreError, sqlite3.Error):
            pass  # busy or unwritable now: the next beat tries again

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.beat()

    def __enter__(self) -> _Heartbeat:
        self._thread = threading.Thread(target=self._loop, name="store-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


class _Transaction:
    def __init__(self, store: Store):
        self.store = store

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.store._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreWriteError(
                f"cannot write to results store {str(self.store.path)!r}: {exc}"
            ) from None
        return self.store._conn

    def __exit__(self, exc_type, exc, tb) -> bool:
        conn = self.store._conn
        if exc_type is None:
            try:
                conn.execute("COMMIT")
                return False
            except sqlite3.Error as error:
                exc = error
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # a failed COMMIT may already have rolled back
        if isinstance(exc, sqlite3.Error):
            raise StoreWriteError(
                f"could not write to results store {str(self.store.path)!r}: {exc}. Nothing of "
                "this write was kept; the runs stored before are intact (free disk space or "
                "fix the cause and rerun: finished runs are skipped)"
            ) from exc
        return False
