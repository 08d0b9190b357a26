"""The console tables are printed on: off a terminal its width has no limit."""

from __future__ import annotations

import sys

#: Console width off a terminal: no table reaches it, so no cell is cut or wrapped.
UNLIMITED_WIDTH = 100_000


def make_console(file=None, *, markup: bool = True):
    """A rich console on ``file`` (default: the current stdout); off a terminal its width has
    no limit.

    Tables printed to a file, a pipe or a log then keep every cell whole on one line (no "…",
    no wrapping), whatever ``COLUMNS`` says.

    Parameters
    ----------
    file : text stream, optional
        Read when called, so output follows the current ``sys.stdout`` (e.g. pytest's capture).
    markup : bool
        Read ``[bold]...`` markup in printed strings; off where names, paths and descriptions
        may hold brackets.
    """
    from rich.console import Console

    if not isinstance(markup, bool):
        raise TypeError(f"markup={markup!r} must be True or False")
    file = sys.stdout if file is None else file
    console = Console(file=file, highlight=False, markup=markup)
    if console.is_terminal:
        return console
    return Console(file=file, highlight=False, markup=markup, width=UNLIMITED_WIDTH)
