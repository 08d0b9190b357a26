"""The ``deepbalance`` command line: :func:`build_parser` and :func:`main`.

``build_parser`` creates one sub-command per ``add_<command>_parser(subparsers)`` function of
the modules of this package; each sets its handler with ``set_defaults(func=handler)``, a
``handler(args) -> int``. The benchmark's commands (``bench``, ``report``) attach only when
their module imports.

Bad input (unknown dataset or profile, missing files, bad parameters, usage errors) exits with
status 2 and one line ``error: ...`` on stderr; a runtime failure (a run that crashed, a store
or file that cannot be written) exits with status 1, also with one line;
``deepbalance --debug ...`` shows the traceback instead. ``--json`` prints a command's table as
JSON; off a terminal, tables are printed whole (no cell cut or wrapped).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from functools import partial

from .._version import __version__
from .common import EXIT_USAGE, PROG, UsageParser, error_message, exit_status, fail, one_line
from .compare import add_compare_parser
from .datasets import add_datasets_parser, add_describe_parser, add_profiles_parser
from .resample import add_resample_parser

__all__ = ["build_parser", "main"]

#: The benchmark's command modules and the function that attaches each.
BENCH_COMMANDS = (
    ("deepbalance.cli.bench", "add_bench_parser"),
    ("deepbalance.cli.report", "add_report_parser"),
)


def _add_bench_parsers(subparsers) -> None:
    try:
        importlib.import_module("deepbalance.bench")
    except ImportError as exc:
        if getattr(exc, "name", None) != "deepbalance.bench":
            # The benchmark exists but fails to import: say so instead of hiding the commands.
            print(f"warning: bench commands unavailable: {one_line(exc)}", file=sys.stderr)
        return
    for module_name, function in BENCH_COMMANDS:
        getattr(importlib.import_module(module_name), function)(subparsers)


def build_parser() -> argparse.ArgumentParser:
    """The ``deepbalance`` parser with every sub-command attached."""
    parser = UsageParser(
        prog=PROG,
        description="Deep oversampling for imbalanced image data: datasets, imbalance "
        "profiles, samplers and a benchmark.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when a command fails"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=UsageParser)
    add_datasets_parser(subparsers)
    add_profiles_parser(subparsers)
    add_describe_parser(subparsers)
    _add_bench_parsers(subparsers)
    add_compare_parser(subparsers)
    add_resample_parser(subparsers)
    parser.set_defaults(func=partial(_no_command, tuple(subparsers.choices)))
    return parser


def _no_command(commands: tuple[str, ...], args) -> int:
    raise ValueError(f"choose a command: {', '.join(commands)} (see '{PROG} --help')")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    0 on success, 2 on bad input (usage errors included), 1 when the work failed (see
    :func:`~deepbalance.cli.common.exit_status`), 130 when interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        return fail(error_message(exc), exit_status(exc))
