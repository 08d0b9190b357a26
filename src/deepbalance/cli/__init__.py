"""The ``deepbalance`` command line: one module per command group, nothing but argument
parsing and printing (the work is done by :mod:`deepbalance.workflows`, :mod:`deepbalance.bench`
and the library).

- :mod:`~deepbalance.cli.main`: :func:`build_parser`, :func:`main` (the console entry point);
- :mod:`~deepbalance.cli.common`: exit statuses, error lines, the console, JSON output,
  ``key=value``/size/seed parsing;
- :mod:`~deepbalance.cli.datasets` (``datasets``, ``profiles``, ``describe``),
  :mod:`~deepbalance.cli.bench` (``bench list/show/run``), :mod:`~deepbalance.cli.report`,
  :mod:`~deepbalance.cli.compare`, :mod:`~deepbalance.cli.resample`.
"""

from .common import parse_value
from .main import build_parser, main

__all__ = ["build_parser", "main", "parse_value"]
