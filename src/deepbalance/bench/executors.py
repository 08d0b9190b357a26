"""Executors compute runs; the main process alone writes the store (single writer).

An executor maps a picklable function over an iterable of picklable tasks and yields ``(task,
result, error)`` as runs finish, in any order; the local executor takes a task from the
iterable only when a worker is free (the runner claims each run as it is taken). ``result``
is the function's return value, or ``error`` the exception it raised (the other one is
None). Failures never stop the others.

- :class:`LocalExecutor`: in this process (``workers=1``, the default) or a pool of
  ``workers`` processes (``spawn`` start, so PyTorch's threads are never forked).
- :class:`RayExecutor`: Ray tasks on a local or remote Ray cluster (``pip install
  deepbalance[ray]``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .._checks import check_int

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "RayExecutor", "make_executor"]

Outcome = tuple[Any, Any, BaseException | None]


class Executor:
    """Base class: ``map(fn, tasks)`` yields ``(task, result, error)`` as runs finish."""

    #: True when ``fn`` runs in this process (so live per-run progress can be shown).
    in_process = False
    name = "executor"

    def map(self, fn: Callable, tasks: Sequence) -> Iterator[Outcome]:
        raise NotImplementedError

    def describe(self) -> str:
        return self.name

    def close(self) -> None:
        """Release workers (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _limit_threads(n_threads: int) -> None:
    """Pool initializer: share the cores between the worker processes.

    Set through the environment, read when PyTorch (or NumPy's BLAS) is first imported, so
    workers that never need PyTorch do not pay for importing it here.
    """
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(n_threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n_threads)


class LocalExecutor(Executor):
    """Runs in this process, or in a pool of ``workers`` processes.

    Parameters
    ----------
    workers : int, default 1
        1: one run after another in this process. More: a ``spawn`` process pool; each
        worker gets ``cores // workers`` (at least 1) PyTorch threads.
    """

    name = "local"

    def __init__(self, workers: int = 1):
        self.workers = check_int(workers, "workers", min_value=1)
        self.in_process = self.workers == 1
        self._pool = None

    def describe(self) -> str:
        return "local" if self.workers == 1 else f"local, {self.workers} worker processes"

    def map(self, fn: Callable, tasks: Sequence) -> Iterator[Outcome]:
        if self.workers == 1:
            for task in tasks:
                try:
                    result = fn(task)
                except Exception as exc:  # one failed run must not stop the grid
                    yield task, None, exc
                else:
                    yield task, result, None
            return
        import concurrent.futures as cf
        import multiprocessing as mp

        threads = max(1, (os.cpu_count() or 1) // self.workers)
        self._pool = cf.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=mp.get_context("spawn"),
            initializer=_limit_threads,
            initargs=(threads,),
        )
        # At most `workers` runs in flight: the next task is taken from `tasks` (which may
        # claim it in the store) only when a worker is free.
        pending = iter(tasks)
        futures: dict = {}

        def submit_next() -> None:
            for task in pending:
                futures[self._pool.submit(fn, task)] = task
                return

        for _ in range(self.workers):
            submit_next()
        try:
            while futures:
                done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    task = futures.pop(future)
                    try:
                        result = future.result()
                    except Exception as exc:  # incl. BrokenProcessPool: a worker died (OOM)
                        yield task, None, exc
                    else:
                        yield task, result, None
                    submit_next()
        finally:
            for future in futures:
                future.cancel()
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ImportError(
            "the ray executor needs Ray: pip install 'deepbalance[ray]' (or pip install ray)"
        ) from None
    return ray


class RayExecutor(Executor):
    """Runs each task as a Ray task; results come back to this process, which writes the store.

    Parameters
    ----------
    address : str, optional
        Ray cluster address (e.g. ``"ray://head:10001"`` or ``"auto"``). None: join the Ray
        instance already initialised in this process, else start a local one.
    num_cpus : float, default 1
        CPUs each run reserves.
    num_gpus : float, default 0
        GPUs each run reserves (set it when ``--device cuda``).
    max_in_flight : int, optional
        Runs submitted at once; the next is taken (and claimed in the store) only when one
        finishes, so several drivers on one store split the grid. Default: as many as the
        cluster's CPUs (and GPUs) hold at ``num_cpus`` (``num_gpus``) each.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: float = 1,
        num_gpus: float = 0,
        max_in_flight: int | None = None,
    ):
        if address is not None and not isinstance(address, str):
            raise TypeError(f"address={address!r} must be a Ray address string or None")
        if max_in_flight is not None:
            max_in_flight = check_int(max_in_flight, "max_in_flight", min_value=1)
        self.address = address
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.max_in_flight = max_in_flight
        self._started = False

    def describe(self) -> str:
        return f"ray ({self.address or 'local'})"

    def _connect(self):
        ray = _import_ray()
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            self._started = True
        return ray

    def _slots(self, ray) -> int:
        if self.max_in_flight is not None:
            return self.max_in_flight
        resources = ray.cluster_resources()
        slots = [int(resources.get("CPU", 1) // self.num_cpus)] if self.num_cpus else []
        if self.num_gpus:
            slots.append(int(resources.get("GPU", 0) // self.num_gpus))
        return max(1, min(slots, default=1))

    def map(self, fn: Callable, tasks: Sequence) -> Iterator[Outcome]:
        ray = self._connect()
        remote = ray.remote(num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_retries=0)(fn)
        waiting = iter(tasks)
        pending: dict = {}

        def submit_next() -> None:
            for task in waiting:
                pending[remote.remote(task)] = task
                return

        for _ in range(self._slots(ray)):
            submit_next()
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    task = pending.pop(ref)
                    try:
                        yield task, ray.get(ref), None
                    except Exception as exc:
                        cause = getattr(exc, "cause", None)
                        yield task, None, cause if isinstance(cause, BaseException) else exc
                    submit_next()
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False


EXECUTORS = ("local", "ray")


def make_executor(
    name: str = "local", *, workers: int = 1, address: str | None = None, device: str = "cpu"
) -> Executor:
    """Build an executor by name (``"local"`` or ``"ray"``)."""
    if name == "local":
        if address is not None:
            raise ValueError("--address applies to --executor ray; drop it or use ray")
        return LocalExecutor(workers)
    if name == "ray":
        _import_ray()
        gpus = 1 if str(device).startswith("cuda") else 0
        return RayExecutor(address, num_gpus=gpus)
    raise ValueError(f"executor={name!r} is not supported; choose one of {', '.join(EXECUTORS)}")
