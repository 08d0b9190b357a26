"""``deepbalance bench`` (list / show / run): the benchmark's specs and their grids.

Every handler is ``func(args) -> int``. Bad input (malformed spec, unknown method, dataset or
profile, missing dataset files, a device this machine lacks, a store that is not ours)
prints one ``error:`` line and returns 2, before any file is created; a runtime failure (a
grid whose runs partly failed — the finished runs are stored —, a store that cannot be
written) returns 1. ``--json`` prints what the tables show as JSON on stdout.
"""

from __future__ import annotations

import os
import sys

from .common import (
    EXIT_FAILURE,
    EXIT_OK,
    fail,
    guarded,
    n_seeds,
    parse_seeds,
    parse_subset,
    print_json,
    stdout_console,
)

EXIT_FAILED_RUNS = EXIT_FAILURE

__all__ = ["add_bench_parser"]


# --------------------------------------------------------------------------------------------
# handlers


@guarded
def bench_list(args) -> int:
    """List the built-in specs and the table each reproduces."""
    from rich.table import Table
    from rich.text import Text

    from ..bench.spec import builtin_spec_names, load_spec

    specs = [load_spec(name) for name in builtin_spec_names()]
    if args.json:
        print_json(
            [
                {
                    "name": spec.name,
                    "hash": spec.hash,
                    "dataset": spec.data.dataset,
                    "methods": [m.id for m in spec.methods],
                    "seeds": list(spec.seeds),
                    "paper": spec.source.paper,
                    "table": spec.source.table,
                    "description": spec.description,
                }
                for spec in specs
            ]
        )
        return EXIT_OK
    table = Table(title="built-in benchmark specs (deepbalance bench run NAME)")
    for name in ("Name", "Dataset", "Methods", "Seeds", "Reproduces"):
        table.add_column(name)
    for spec in specs:
        name = spec.name
        source = spec.source.table or spec.source.paper
        table.add_row(
            Text(name),
            Text(spec.data.dataset),
            Text(str(len(spec.methods))),
            Text(str(len(spec.seeds))),
            Text(source),
        )
    stdout_console(markup=True).print(table)
    return EXIT_OK


@guarded
def bench_show(args) -> int:
    """Print a spec (protocol, methods, paper numbers, hash), checked as ``bench run`` checks it."""
    from rich.table import Table
    from rich.text import Text

    from ..bench.runner import Toolkit, preflight
    from ..bench.spec import load_spec

    spec = load_spec(args.spec)
    # the checks of `bench run` that need no data: names, profile and method parameters,
    # the training recipe
    preflight(spec, Toolkit())
    if args.json:
        print_json({"name": spec.name, "hash": spec.hash, "path": spec.path, **spec.to_dict()})
        return EXIT_OK
    console = stdout_console(markup=True)
    console.print(Text(f"{spec.name}  (hash {spec.hash}, from {spec.path})", style="bold"))
    if spec.description:
        console.print(Text(spec.description))
    if spec.source.paper or spec.source.table:
        console.print(Text(f"source: {spec.source.paper} — {spec.source.table}"))
    profile = _named(spec.profile.name, spec.profile.params) if spec.profile else "none"
    dataset = _named(spec.data.dataset, spec.data.options)
    console.print(Text(f"data: {dataset}; profile: {profile}" + _subset(spec)))
    console.print(
        Text(
            "test sets: "
            + ", ".join(
                f"{t.name} ({t.policy}{' ' + t.profile.name if t.profile else ''}"
                f"{f', {t.folds} folds' if t.folds else ''}"
                f"{f', {_named(t.dataset, t.options)} {t.own_split}' if t.dataset else ''})"
                for t in spec.test_sets
            )
        )
    )
    train = spec.train
    console.print(
        Text(
            f"training: {train.classifier}, {train.epochs} epochs (eval every "
            f"{train.eval_every}), batch {train.batch_size}, {train.optimizer} lr {train.lr}"
        )
    )
    console.print(
        Text(
            f"seeds: {list(spec.seeds)}; metrics: {', '.join(spec.metrics)}; "
            f"selection: {spec.selection}"
        )
    )
    if spec.variants:
        console.print(Text("variants: " + ", ".join(v.name for v in spec.variants)))
    table = Table(title="methods")
    for name in ("Id", "Label", "Method", "Params", "Profile"):
        table.add_column(name)
    for m in spec.methods:
        table.add_row(
            Text(m.id),
            Text(m.label),
            Text(m.name),
            Text(str(m.params) if m.params else ""),
            Text(_named(m.profile.name, m.profile.params) if m.profile else ""),
        )
    console.print(table)
    for test_set, by_method in spec.paper.items():
        metrics = [m for m in spec.metrics if any(m in v for v in by_method.values())]
        table = Table(title=f"paper's numbers (0..1), test set {test_set}")
        table.add_column("Method")
        for metric in metrics:
            table.add_column(f"{metric} paper", justify="right")
        for m in spec.methods:
            if m.id in by_method:
                values = by_method[m.id]
                cells = [f"{values[k]:.4f}" if k in values else "–" for k in metrics]
                table.add_row(Text(m.label or m.id), *(Text(c) for c in cells))
        console.print(table)
    if spec.paper_note:
        console.print(Text(f"paper's numbers: {spec.paper_note}"))
    if spec.source.note:
        console.print(Text(f"protocol note: {spec.source.note}"))
    paper_train = spec.budgets.get("protocol", {}).get("train")
    if paper_train:
        recipe = ", ".join(f"{k}={v}" for k, v in paper_train.items())
        console.print(Text(f"paper's recipe (--budget protocol): {recipe}"))
    paper_profile = spec.budgets.get("protocol", {}).get("profile_params")
    if paper_profile:
        params = ", ".join(f"{k}={v!r}" for k, v in paper_profile.items())
        console.print(Text(f"paper's training counts (--budget protocol): profile {params}"))
    paper_methods = spec.budgets.get("protocol", {}).get("method_params")
    if paper_methods:
        for method_id, params in paper_methods.items():
            console.print(Text(f"paper's {method_id} (--budget protocol): {params}"))
    if spec.lr_search:
        rates = ", ".join(f"{lr:g}" for lr in spec.lr_search)
        console.print(Text(f"learning rate searched per run on a validation split: {rates}"))
    paper_search = spec.budgets.get("protocol", {}).get("lr_search")
    if paper_search:
        rates = ", ".join(f"{lr:g}" for lr in paper_search)
        console.print(Text(f"learning-rate search under --budget protocol: {rates}"))
    return EXIT_OK


@guarded
def bench_run(args) -> int:
    """Run (or resume) a spec's grid, then print its results table."""
    if "torch" not in sys.modules:
        # OpenMP threads that spin while waiting make small networks many times slower when
        # other processes share the cores; sleeping waits cost little. A user's setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from ..bench.executors import make_executor
    from ..bench.report import print_tables
    from ..bench.runner import check_device, run_spec
    from ..bench.spec import apply_overrides, load_spec
    from ..bench.store import Store

    check_device(args.device)
    spec = load_spec(args.spec)
    spec = apply_overrides(
        spec,
        seeds=parse_seeds(args.seeds) if args.seeds is not None else args.n_seeds,
        epochs=args.epochs,
        subset=parse_subset(args.subset),
        methods=args.methods,
        budget=args.budget,
        variants=args.variants,
    )
    executor = make_executor(
        args.executor, workers=args.workers, address=args.address, device=args.device
    )
    console = stdout_console(markup=True)
    # run_spec creates the store only once the spec, device and data have been checked
    summary = run_spec(
        spec,
        store=args.store,
        executor=executor,
        device=args.device,
        data_dir=args.data_dir,
        progress=None if not args.quiet else False,
        console=console,
    )
    with Store(args.store, read_only=True) as store:
        print_tables(store, spec=spec.name, console=console, protocols=_only(store, spec))
    elsewhere = f"{len(summary.elsewhere)} left to another process, " if summary.elsewhere else ""
    console.print(
        f"{summary.ran} run(s) done, {summary.skipped} already stored, {elsewhere}"
        f"{len(summary.failed)} failed, in {summary.elapsed:.1f} s; store: {summary.store_path}",
        markup=False,
    )
    if spec.reduced:
        console.print(
            "REDUCED: " + ", ".join(f"{k}={v}" for k, v in spec.overrides.items()),
            style="bold red",
            markup=False,
        )
    if summary.failed:
        for point, message in summary.failed:
            print(f"error: run {point.describe()} failed: {message}", file=sys.stderr)
        return EXIT_FAILED_RUNS
    return EXIT_OK


def _named(name: str, params: dict) -> str:
    return f"{name} {params}" if params else name


def _subset(spec) -> str:
    return f"; training subset: {spec.subset}" if spec.subset else ""


def _only(store, spec):
    from ..bench.report import load_protocols

    return [p for p in load_protocols(store, spec.name) if p.hash == spec.hash]


# --------------------------------------------------------------------------------------------
# parsers


def add_bench_parser(subparsers) -> None:
    """Register ``bench`` (list, show, run) on ``deepbalance``'s sub-parsers."""
    bench = subparsers.add_parser(
        "bench",
        help="run benchmark specs (reproduce the papers' tables)",
        description="List, show and run benchmark specs. Runs are stored in an SQLite file and "
        "resumed: rerunning a spec runs only what is missing.",
    )
    bench.set_defaults(func=lambda args: fail("choose a bench command: list, show, run"))
    commands = bench.add_subparsers(dest="bench_command", metavar="COMMAND")

    listing = commands.add_parser("list", help="list the built-in specs")
    listing.add_argument("--json", action="store_true", help="print the list as JSON")
    listing.set_defaults(func=bench_list)

    show = commands.add_parser("show", help="show a spec (checked as bench run checks it)")
    show.add_argument("spec", metavar="NAME|path.toml")
    show.add_argument("--json", action="store_true", help="print the spec as JSON")
    show.set_defaults(func=bench_show)

    run = commands.add_parser(
        "run",
        help="run a spec's grid (resumable)",
        description="Run every method x seed of a spec and store each run; runs already stored "
        "are skipped, and processes sharing one --store split the grid. Fewer seeds or "
        "methods than the spec, or any of --epochs/--subset/--budget quick, marks the results "
        "REDUCED.",
    )
    run.add_argument("spec", metavar="NAME|path.toml", help="built-in spec name or TOML file")
    seeds = run.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", help="these seeds: one (e.g. 0) or a list (e.g. 0,1,2)")
    seeds.add_argument(
        "--n-seeds", type=n_seeds, metavar="N", help="the spec's first N seeds (e.g. 5)"
    )
    run.add_argument("--epochs", type=int, help="training epochs")
    run.add_argument("--subset", help="fraction (0.1) or count (2000) of the training images")
    run.add_argument("--methods", help="comma-separated method ids or names to run")
    run.add_argument(
        "--variants",
        help="comma-separated variant names to run (e.g. long) of a spec with variants",
    )
    run.add_argument(
        "--budget",
        choices=("quick", "full", "protocol"),
        help="quick: a smoke-sized run (the spec's [budgets.quick]); full: as written (the "
        "CPU recipe); protocol: the paper's own training recipe, and its counts or "
        "autoencoder where the spec gives them (the spec's [budgets.protocol], e.g. "
        "ResNet-18; meant for a GPU)",
    )
    run.add_argument("--store", default="results.sqlite", help="results store (SQLite file)")
    run.add_argument("--executor", choices=("local", "ray"), default="local")
    run.add_argument(
        "--workers", type=int, default=1, help="local executor: parallel worker processes"
    )
    run.add_argument("--address", help="ray executor: cluster address (default: local Ray)")
    run.add_argument("--data-dir", help="folder holding the dataset files")
    run.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=bench_run)
