"""Hooks into the training loop (progress display, inspection, early logging).

A callback subclasses :class:`Callback` and overrides the hooks it needs; each hook gets
the trainer's :class:`TrainState`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class TrainState:
    """What the training loop exposes to callbacks.

    Attributes
    ----------
    stage : str
        ``"pretrain"`` (triplet stage) or ``"train"``.
    epoch : int
        0-based epoch within the stage.
    n_epochs : int
        Epochs of the stage.
    model : torch.nn.Module
    objective : object
        The stage's loss (an ``Objective`` in the training stage).
    loss : float or None
        Mean training loss of the last finished epoch.
    history : list of dict
        Evaluations so far (``{"epoch", "split", "metrics"}``).
    """

    stage: str
    epoch: int
    n_epochs: int
    model: torch.nn.Module
    objective: object = None
    loss: float | None = None
    history: list = field(default_factory=list)

    def latest(self, metric: str) -> tuple[str, float] | None:
        """``(split, value)`` of ``metric`` at the last evaluation of the first split."""
        if not self.history:
            return None
        first = self.history[0]["split"]
        for record in reversed(self.history):
            if record["split"] == first:
                return first, record["metrics"].get(metric, float("nan"))
        return None


class Callback:
    """Base class; every hook does nothing by default."""

    def on_fit_start(self, state: TrainState) -> None: ...

    def on_epoch_start(self, state: TrainState) -> None: ...

    def on_epoch_end(self, state: TrainState) -> None: ...

    def on_evaluate(self, state: TrainState) -> None: ...

    def on_fit_end(self, state: TrainState) -> None: ...


class RichProgress(Callback):
    """A rich progress bar per stage showing the epoch, the loss and the latest metric.

    Parameters
    ----------
    metric : str
        Metric shown (from the first eval split).
    """

    def __init__(self, metric: str = "acsa"):
        self.metric = metric
        self._progress = None
        self._tasks: dict[str, int] = {}

    def on_fit_start(self, state: TrainState) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        self._progress.start()

    def on_epoch_start(self, state: TrainState) -> None:
        if self._progress is not None and state.stage not in self._tasks:
            self._tasks[state.stage] = self._progress.add_task(
                state.stage, total=state.n_epochs, info=""
            )

    def on_epoch_end(self, state: TrainState) -> None:
        if self._progress is None:
            return
        info = f"loss {state.loss:.4f}" if state.loss is not None else ""
        latest = state.latest(self.metric) if state.stage == "train" else None
        if latest is not None:
            info += f"  {latest[0]} {self.metric} {latest[1]:.4f}"
        self._progress.update(self._tasks[state.stage], advance=1, info=info)

    def on_fit_end(self, state: TrainState) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
