"""The benchmark: experiment specs → a resumable grid of runs → an SQLite store → reports.

Reproduce a seed paper's table with one command::

    deepbalance bench run deepsmote-fmnist --n-seeds 5
    deepbalance report results.sqlite --out report --html

or from Python::

    >>> from deepbalance.bench import load_spec, run_spec, write_report   # doctest: +SKIP
    >>> run_spec(load_spec("quickstart"), store="results.sqlite")         # doctest: +SKIP
    >>> write_report("results.sqlite", "report")                          # doctest: +SKIP
"""

from .executors import LocalExecutor, RayExecutor, make_executor
from .report import load_protocols, print_tables, write_report
from .runner import GridError, GridSummary, Toolkit, expand_grid, run_spec
from .spec import Spec, SpecError, apply_overrides, builtin_spec_names, load_spec, loads_spec
from .store import Store, StoreError

__all__ = [
    "GridError",
    "GridSummary",
    "LocalExecutor",
    "RayExecutor",
    "Spec",
    "SpecError",
    "Store",
    "StoreError",
    "Toolkit",
    "apply_overrides",
    "builtin_spec_names",
    "expand_grid",
    "load_protocols",
    "load_spec",
    "loads_spec",
    "make_executor",
    "print_tables",
    "run_spec",
    "write_report",
]
