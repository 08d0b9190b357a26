"""``deepbalance compare``: which oversampling method works on your images (see
:func:`deepbalance.workflows.compare.compare_images`)."""

from __future__ import annotations

import os
import re
import sys
import warnings

from .common import n_seeds, parse_seeds, parse_size, plain_warnings, stdout_console

__all__ = ["add_compare_parser"]


def run_compare(args) -> int:
    """Handler of ``deepbalance compare``: 0 when every run finished, 1 when some failed."""
    with plain_warnings():
        return _run_compare(args)


def compare_seeds(seeds: str | None, count: int | None):
    """The ``seeds`` of ``compare_images`` from ``--seeds`` and ``--n-seeds``.

    ``--seeds`` names seeds, as in ``bench run``; a bare number is still read as a count, with
    a warning, as before ``--n-seeds`` existed.
    """
    if count is not None:
        return count
    if seeds is None:
        return None
    if re.fullmatch(r"\s*\d+\s*", seeds):
        n = int(seeds)
        warnings.warn(
            f"--seeds {n} as a number of seeds is deprecated: pass --n-seeds {n} for seeds "
            f"0..{n - 1}; --seeds names seeds (e.g. 0,1,2, or [{n}] for seed {n} alone), as "
            "in bench run, and a bare number will mean that one seed",
            FutureWarning,
            stacklevel=2,
        )
        return n
    return parse_seeds(seeds)


def _run_compare(args) -> int:
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from ..workflows.compare import compare_images

    result = compare_images(
        args.source,
        methods=args.methods,
        seeds=compare_seeds(args.seeds, args.n_seeds),
        budget=args.budget,
        epochs=args.epochs,
        store=args.store,
        out=args.out,
        size=parse_size(args.size),
        mode=args.mode,
        test_fraction=args.test_fraction,
        folds=args.folds,
        split_seed=args.split_seed,
        resplit=args.resplit,
        min_steps=args.min_steps,
        device=args.device,
        estimate=not args.no_estimate,
        progress=False if args.quiet else None,
        console=stdout_console(markup=True),
        html_output=args.html,
    )
    return 1 if result.summary.failed else 0


def add_compare_parser(subparsers):
    """Register ``deepbalance compare`` on the command line's sub-parsers."""
    from ..workflows.compare import DEFAULT_FOLDS, DEFAULT_METHODS, DEFAULT_TEST_FRACTION

    parser = subparsers.add_parser(
        "compare",
        help="compare oversampling methods on your own image folder (or CSV) and recommend one",
        description="Compare methods on your images: a folder with one sub-folder per class "
        "(or train/ and test/ folders), or a CSV of path,label[,split]. Without a test split "
        "every image is tested by stratified k-fold cross-validation (folds recorded in the "
        "store); runs are resumable; the report opens with a recommendation.",
    )
    parser.add_argument("source", metavar="FOLDER|labels.csv")
    parser.add_argument(
        "--methods",
        help=f"comma-separated method names (default: {','.join(DEFAULT_METHODS)}; deepsmote is "
        "DeepSMOTE() with its defaults, deepsmote-published the paper's plain decodings)",
    )
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument(
        "--seeds",
        help="these seeds, as in bench run: a list (e.g. 0,1,2; one seed: [4]); a bare number "
        "N still means N seeds, deprecated: use --n-seeds N (default: 1 seed, one repeat of the "
        "cross-validation; 3 with a test split)",
    )
    seeds.add_argument(
        "--n-seeds",
        type=n_seeds,
        metavar="N",
        help="seeds 0..N-1 (e.g. 5; default 1 with cross-validation, 3 with a test split)",
    )
    parser.add_argument(
        "--budget", choices=("quick", "full"), help="quick: a smoke-sized run (REDUCED)"
    )
    parser.add_argument(
        "--epochs", type=int, help="train exactly this many epochs (default: the step budget)"
    )
    parser.add_argument("--store", default="results.sqlite", help="results store (SQLite file)")
    parser.add_argument("--out", default="report", help="report folder (default: report)")
    parser.add_argument("--html", action="store_true", help="also write report.html")
    parser.add_argument("--size", help="resize every image to N or HxW (needed for mixed sizes)")
    parser.add_argument(
        "--mode", choices=("L", "RGB"), help="L: 1 channel, RGB: 3 (default: inferred)"
    )
    parser.add_argument(
        "--folds",
        type=int,
        help="folds of the stratified cross-validation used when there is no test split "
        f"(default: {DEFAULT_FOLDS}; each seed is one repeat)",
    )
    parser.add_argument(
        "--test-fraction",
        type=float,
        help="instead of cross-validation, hold out this share of each class once "
        f"(e.g. {DEFAULT_TEST_FRACTION}); not with --folds",
    )
    parser.add_argument(
        "--split-seed", type=int, default=0, help="seed of the folds or split (default: 0)"
    )
    parser.add_argument(
        "--min-steps",
        type=int,
        help="fewest optimisation steps per training run (default: the recipe's 500; small "
        "folders get more epochs); not with --epochs",
    )
    parser.add_argument(
        "--resplit", action="store_true", help="carve a new split when the folder has changed"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--no-estimate", action="store_true", help="skip the time estimate")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_compare)
    return parser
