"""Training loop for :class:`~deepbalance.nets.autoencoders.ConvAutoencoder`.

Adam on the variant's objective (reconstruction MSE + its regulariser) plus an
optional DeepSMOTE-style penalty; early stopping on a plateau of the monitored
loss; the weights with the lowest monitored loss are restored at the end.

Penalties
---------
``"deepsmote"``
    DeepSMOTE's official script, reproduced: every step picks one class at random,
    takes up to 100 of its training images, encodes them, *detaches* the codes,
    rolls codes and images by one position identically, decodes and adds the MSE.
    Because codes and images are permuted together this is a plain reconstruction
    of a single-class batch that trains the decoder only (the encoder gets no
    gradient from it).
``"permute"``
    The penalty the DeepSMOTE paper describes, made effective: the same single-class
    batch, codes *not* detached, and each decoded code ``decode(z_i)`` is compared
    with ``x_j``, another member of the class (``j`` from a random derangement:
    a shuffled cyclic shift, so ``j != i``). Together with the reconstruction term
    it pulls every decoding towards images of its own class, so a latent code
    decodes to something class-typical — what SMOTE interpolation in latent space
    relies on. Both encoder and decoder get its gradient.
``None``
    No penalty.

Classes with a single training image are never picked for the penalty batch
(BatchNorm cannot normalise a batch of one at the 1×1 bottleneck).

BatchNorm in the penalty pass
-----------------------------
The official script runs the penalty's single-class batch through BatchNorm in training
mode: the batch is normalised by its own statistics, and those statistics are folded into
the running averages used at inference (``penalty_batchnorm="batch"``). A batch of one
class has other statistics than the mixed batches, so both the decoder's training and the
running averages drift from what inference sees. The default, ``"running"``, normalises the
penalty batch with the running statistics and leaves them alone; the penalty's objective
and gradient path are otherwise the same. On Fashion-MNIST-LT (width 16, 20 one-cycle
epochs, same cost) it lowered the held-out reconstruction MSE from 0.0136 to 0.0117
(docs/benchmarks.md). This departs from the official script.

The penalty on a second thread
------------------------------
The variant's loss on the training batch and the penalty on the class batch are two
separate forward passes, so each step computes them as two tasks: the loss on the model,
the penalty on a replica whose parameters share the model's storage but that has its own
gradients and BatchNorm buffers. The gradients are summed and the replica's BatchNorm
update is applied after the model's, as one model doing both passes in turn would. On a
CPU with at least two torch threads the penalty runs on a second thread, each task with
half the threads. On idle cores this is no faster than two intra-op threads (24.0 vs 24.3
ms a step on 2 cores, ``benchmarks/autoencoder_step.py``); when other processes share the
cores it is much faster (69 vs 404 ms), because each task keeps to its own thread instead
of OpenMP threads waiting on each other. The numbers are the same either way (the tasks
never share a tensor they write), and the same on one thread.
"""

from __future__ import annotations

import copy
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.nn import functional as F

from .._batching import batch_sizes
from .._checks import INTEGER_SCALES, check_choice, check_float, check_int
from .autoencoders import (
    AutoencoderConfig,
    ConvAutoencoder,
    build_autoencoder,
    to_model_range,
    unit_batch,
)

PENALTIES = ("deepsmote", "permute", None)
#: "constant": Adam at ``lr`` throughout (DeepSMOTE's script); "onecycle": warm up to ``lr``
#: over the first quarter of the steps, then cosine down (Smith & Topin 2019), stepped per batch.
SCHEDULES = ("constant", "onecycle")
#: how BatchNorm treats the penalty batch (module notes): "running" statistics, untouched, or
#: the "batch"'s own statistics folded into the running averages (the official script)
PENALTY_BATCHNORMS = ("running", "batch")
#: images per penalty batch, as in the official script
PENALTY_BATCH = 100


@dataclass(frozen=True)
class TrainSettings:
    """How an autoencoder is trained.

    Parameters
    ----------
    epochs : int
        Maximum number of passes over the training images.
    batch_size : int
    lr : float
        Adam learning rate (betas 0.9/0.999, as torch's default); the peak rate with
        ``schedule="onecycle"``.
    penalty_batch : int
        Images of one class per penalty batch (the official script's 100).
    schedule : {"constant", "onecycle"}
        Learning-rate schedule over ``epochs`` (see :data:`SCHEDULES`). With "onecycle" an
        early stop ends the run before the rate has annealed; use ``patience=None``.
    patience : int or None
        Stop after this many epochs without an improvement larger than ``min_delta``
        of the monitored loss; None trains all ``epochs``.
    min_epochs : int or None
        Train at least this many epochs before ``patience`` may stop the run (the
        dissertation's "50 to 350 epochs, stopping once the training loss plateaued",
        Mandal 2024 §5.3); None: no minimum.
    min_delta : float
        Smallest decrease of the monitored loss that counts as an improvement.
    penalty : {"deepsmote", "permute", None}
    penalty_batchnorm : {"running", "batch"}
        How BatchNorm layers treat the penalty's single-class batch (module notes):
        normalise it with their running statistics and leave them unchanged, or, as the
        official script does, normalise it by its own statistics and fold those into the
        running averages.
    validation_fraction : float in [0, 1)
        If > 0, this share of the images is held out and its reconstruction MSE is
        monitored; otherwise the epoch's mean training loss is.
    """

    epochs: int = 30
    batch_size: int = 128
    lr: float = 2e-4
    patience: int | None = 5
    min_delta: float = 1e-4
    penalty: str | None = None
    validation_fraction: float = 0.0
    schedule: str = "constant"
    penalty_batch: int = PENALTY_BATCH
    penalty_batchnorm: str = "running"
    min_epochs: int | None = None

    def __post_init__(self):
        check_int(self.epochs, "epochs", min_value=1)
        if self.min_epochs is not None:
            check_int(self.min_epochs, "min_epochs", min_value=1, max_value=self.epochs)
        check_int(self.batch_size, "batch_size", min_value=2)
        check_float(self.lr, "lr", min_value=0.0, min_inclusive=False)
        if self.patience is not None:
            check_int(self.patience, "patience", min_value=1)
        check_float(self.min_delta, "min_delta", min_value=0.0)
        check_choice(self.penalty, "penalty", PENALTIES)
        check_choice(self.schedule, "schedule", SCHEDULES)
        check_int(self.penalty_batch, "penalty_batch", min_value=2)
        check_choice(self.penalty_batchnorm, "penalty_batchnorm", PENALTY_BATCHNORMS)
        check_float(
            self.validation_fraction,
            "validation_fraction",
            min_value=0.0,
            max_value=1.0,
            max_inclusive=False,
        )

    def to_dict(self) -> dict:
        return asdict(self)


def _split(n: int, fraction: float, rng: np.random.RandomState):
    order = rng.permutation(n)
    n_val = int(round(fraction * n))
    if fraction > 0:
        n_val = min(max(n_val, 1), n - 2)
        if n_val < 1:
            raise ValueError(
                f"validation_fraction={fraction} leaves too few images out of {n} to train; "
                "pass validation_fraction=0"
            )
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _batches(n: int, batch_size: int, rng: np.random.RandomState) -> list[np.ndarray]:
    # the classifier trainer's rule: a trailing single image joins the previous batch
    bounds = np.cumsum(batch_sizes(n, batch_size))[:-1]
    return np.split(rng.permutation(n), bounds)


def _class_batch(
    class_rows: list[np.ndarray], rng: np.random.RandomState, size: int = PENALTY_BATCH
) -> np.ndarray:
    """Rows of up to ``size`` images of one random class (official: uniform class, 100)."""
    rows = class_rows[rng.randint(len(class_rows))]
    return rng.choice(rows, min(len(rows), size), replace=False)


def deepsmote_penalty(model: ConvAutoencoder, xc: torch.Tensor) -> torch.Tensor:
    """The official DeepSMOTE penalty on one class's batch ``xc`` (model space)."""
    with torch.no_grad():  # the official script detaches the codes
        z = model.encode(xc)
    shift = torch.roll(torch.arange(len(xc), device=xc.device), -1)
    # codes and images are permuted identically (a no-op for the MSE, kept for fidelity)
    return F.mse_loss(model.decode(z[shift]), xc[shift])


def permute_penalty(
    model: ConvAutoencoder, xc: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Decode each code of one class's batch and compare it with another member's image."""
    partner = derangement(len(xc), generator).to(xc.device)
    return F.mse_loss(model.decode(model.encode(xc)), xc[partner])


def derangement(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A random permutation of ``range(n)`` without fixed points (n >= 2): each row is
    sent to the next one in a shuffled cycle."""
    order = torch.randperm(n, generator=generator)
    partner = torch.empty_like(order)
    partner[order] = torch.roll(order, -1)
    return partner


def penalty_replica(model: ConvAutoencoder) -> ConvAutoencoder:
    """A copy of ``model`` whose parameters share its storage (an optimiser step on the model
    moves both) with separate gradients and BatchNorm buffers."""
    replica = copy.deepcopy(model)
    for source, shared in zip(model.parameters(), replica.parameters(), strict=True):
        shared.data = source.data
    return replica


def _batchnorms(model) -> list[torch.nn.BatchNorm2d]:
    return [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


class _PenaltyTask:
    """One step's penalty on :func:`penalty_replica`, run here or on a worker thread."""

    def __init__(self, model, penalty, generator, parallel: bool, batchnorm: str = "running"):
        self.penalty, self.generator = penalty, generator
        self.replica = penalty_replica(model)
        self.replica.train()
        self.batch_statistics = batchnorm == "batch"
        if not self.batch_statistics:
            for bn in _batchnorms(self.replica):
                bn.eval()  # normalise by the running statistics, never update them
        self.pairs = list(zip(_batchnorms(model), _batchnorms(self.replica), strict=True))
        self.params = list(zip(model.parameters(), self.replica.parameters(), strict=True))
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="ae-penalty") if parallel else None

    def _run(self, xc):
        for q in self.replica.parameters():
            q.grad = None
        if self.penalty == "deepsmote":
            pen = deepsmote_penalty(self.replica, xc)
        else:
            pen = permute_penalty(self.replica, xc, self.generator)
        pen.backward()
        return pen.detach()

    def start(self, xc):
        """Begin the penalty (the replica's buffers are set to the model's first)."""
        with torch.no_grad():
            for bn, twin in self.pairs:
                twin.running_mean.copy_(bn.running_mean)
                twin.running_var.copy_(bn.running_var)
        if self.batch_statistics:
            self.before = [
                (bn.running_mean.clone(), bn.running_var.clone()) for bn, _ in self.pairs
            ]
        if self.pool is None:
            self.pending = self._run(xc)
            return
        self.pending = self.pool.submit(self._run, xc)

    def finish(self) -> torch.Tensor:
        """Wait for the penalty; add its gradient and BatchNorm update to the model's."""
        pen = self.pending if self.pool is None else self.pending.result()
        for p, q in self.params:
            if q.grad is not None:
                p.grad = q.grad if p.grad is None else p.grad + q.grad
        if not self.batch_statistics:
            return pen
        with torch.no_grad():
            # BatchNorm's update r <- (1 - m) r + m s is affine in r, so the replica's step from
            # r0 applied after the model's one reads (1 - m) r_model + r_replica - (1 - m) r0
            for (bn, twin), (mean0, var0) in zip(self.pairs, self.before, strict=True):
                m = 1.0 - bn.momentum
                bn.running_mean.mul_(m).add_(twin.running_mean).sub_(mean0, alpha=m)
                bn.running_var.mul_(m).add_(twin.running_var).sub_(var0, alpha=m)
                bn.num_batches_tracked += 1
        return pen

    def close(self):
        if self.pool is not None:
            self.pool.shutdown()


@contextmanager
def _split_threads(parallel: bool):
    """Half of torch's intra-op threads per task while the penalty runs on a second thread."""
    before = torch.get_num_threads()
    if parallel:
        torch.set_num_threads(max(1, before // 2))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _reconstruction_mse(model: ConvAutoencoder, X01: np.ndarray, batch_size: int, device):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(X01), batch_size):
            x = to_model_range(unit_batch(X01, slice(i, i + batch_size), device))
            total += F.mse_loss(model(x), x, reduction="sum").item()
    model.train()
    return total / float(X01[0].size * len(X01))


def train_autoencoder(
    config: AutoencoderConfig,
    X01: np.ndarray,
    y: np.ndarray,
    settings: TrainSettings,
    *,
    seed: int,
    device: torch.device | str = "cpu",
    verbose: bool = False,
    on_epoch=None,
) -> tuple[ConvAutoencoder, list[dict]]:
    """Build and train an autoencoder on all of ``X01``; return it (eval mode) and its history.

    Parameters
    ----------
    config : AutoencoderConfig
    X01 : ndarray (N, C, H, W)
        Float in [0, 1], or uint8 / uint16 converted a batch at a time
        (:func:`~deepbalance.nets.autoencoders.unit_rows`), so a large uint8 set (or a memory
        map of one) is never copied as floats.
    y : int ndarray (N,)
        Encoded class labels (used by the penalties' single-class batches).
    settings : TrainSettings
    seed : int
        Seeds the weights, batch order, noise and penalty batches; torch's global
        RNG state is restored afterwards.
    device : torch.device or str
    verbose : bool
        Show a rich progress bar.
    on_epoch : callable, optional
        ``on_epoch(entry, model)`` after every epoch, with that epoch's history entry (e.g. to
        record a held-out reconstruction curve); its own time is not in ``entry["seconds"]``.

    Returns
    -------
    model : ConvAutoencoder
        With the weights of the epoch with the lowest monitored loss.
    history : list of dict
        One entry per epoch: ``epoch``, ``loss`` (mean total training loss),
        ``recon``, ``regularizer``, ``penalty``, ``val_recon`` (or None), ``seconds``.

    Raises
    ------
    FloatingPointError
        If the loss becomes NaN or infinite.
    """
    if not isinstance(settings, TrainSettings):
        raise TypeError(f"settings must be TrainSettings, got {type(settings).__name__}")
    X01 = np.asarray(X01)
    if X01.dtype not in INTEGER_SCALES and not np.issubdtype(X01.dtype, np.floating):
        raise TypeError(f"X has dtype {X01.dtype}; pass uint8, uint16 or float images in [0, 1]")
    y = np.asarray(y)
    if X01.ndim != 4 or tuple(X01.shape[1:]) != config.image_shape:
        raise ValueError(
            f"X has shape {X01.shape}; the autoencoder expects (N, *{config.image_shape})"
        )
    if len(y) != len(X01):
        raise ValueError(f"y has {len(y)} labels for {len(X01)} images; pass one per image")
    seed = check_int(seed, "seed", min_value=0)
    if on_epoch is not None and not callable(on_epoch):
        raise TypeError(f"on_epoch={on_epoch!r} must be a callable on_epoch(entry, model)")
    device = torch.device(device)
    rng = np.random.RandomState(seed)
    train_rows, val_rows = _split(len(X01), settings.validation_fraction, rng)
    if len(train_rows) < 2:
        raise ValueError(f"the autoencoder needs at least 2 training images, got {len(train_rows)}")
    # no copy of the training images when nothing is held out (they can be large)
    X_train = X01 if len(val_rows) == 0 else X01[train_rows]
    X_val = X01[val_rows]
    y_train = y[train_rows]
    class_rows = [np.flatnonzero(y_train == c) for c in np.unique(y_train)]
    class_rows = [r for r in class_rows if len(r) >= 2]
    penalty = settings.penalty if class_rows else None

    forked = []
    if device.type == "cuda":
        forked = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=forked):
        torch.manual_seed(seed)
        model = build_autoencoder(config).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
        schedule = None
        total_steps = settings.epochs * len(batch_sizes(len(X_train), settings.batch_size))
        if settings.schedule == "onecycle" and total_steps >= 8:
            schedule = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=settings.lr, total_steps=total_steps, pct_start=0.25
            )
        streams = _Streams(
            rng=rng,
            noise=torch.Generator(device=device).manual_seed(seed),
            penalty=torch.Generator().manual_seed(seed + 1),
        )
        history = _fit(
            model,
            optimizer,
            schedule,
            X_train=X_train,
            X_val=X_val,
            class_rows=class_rows,
            penalty=penalty,
            settings=settings,
            streams=streams,
            device=device,
            verbose=verbose,
            on_epoch=on_epoch,
        )
    model.eval()
    return model, history


@dataclass(frozen=True)
class _Streams:
    """A fit's random streams: batch order and penalty classes (``rng``), the models' own
    randomness such as denoising noise (``noise``, on the device) and the penalty's
    permutations (``penalty``, on the CPU thread that computes it)."""

    rng: np.random.RandomState
    noise: torch.Generator
    penalty: torch.Generator


def _fit(
    model,
    optimizer,
    schedule,
    *,
    X_train,
    X_val,
    class_rows,
    penalty,
    settings,
    streams: _Streams,
    device,
    verbose,
    on_epoch=None,
):
    rng = streams.rng
    best_loss, best_state = float("inf"), None
    reference, wait = float("inf"), 0
    history: list[dict] = []
    progress = _progress(verbose)
    bar = progress.add_task("autoencoder", total=settings.epochs) if progress else None
    parallel = device.type == "cpu" and torch.get_num_threads() >= 2
    task = None
    if penalty is not None:
        task = _PenaltyTask(model, penalty, streams.penalty, parallel, settings.penalty_batchnorm)
    with ExitStack() as cleanup:
        if task is not None:
            cleanup.callback(task.close)
            cleanup.enter_context(_split_threads(parallel))
        if progress:
            progress.start()
            cleanup.callback(progress.stop)
        model.train()
        for epoch in range(1, settings.epochs + 1):
            start = time.perf_counter()
            sums = {"loss": 0.0, "recon": 0.0, "regularizer": 0.0, "penalty": 0.0}
            for step, rows in enumerate(_batches(len(X_train), settings.batch_size, rng)):
                x = to_model_range(unit_batch(X_train, rows, device))
                optimizer.zero_grad(set_to_none=True)
                if task is not None:
                    picked = _class_batch(class_rows, rng, settings.penalty_batch)
                    task.start(to_model_range(unit_batch(X_train, picked, device)))
                loss, parts = model.training_loss(x, streams.noise)
                loss.backward()
                pen = task.finish() if task is not None else x.new_zeros(())
                loss = loss.detach() + pen
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"autoencoder loss became {loss.item()} at epoch {epoch}, batch {step}; "
                        f"lower lr (now {settings.lr}) or check the images for extreme values"
                    )
                optimizer.step()
                if schedule is not None:
                    schedule.step()
                n = len(rows)
                sums["loss"] += loss.item() * n
                sums["recon"] += parts["recon"].item() * n
                sums["regularizer"] += float(parts["regularizer"].detach()) * n
                sums["penalty"] += float(pen.detach()) * n
            entry = {"epoch": epoch, **{k: v / len(X_train) for k, v in sums.items()}}
            entry["val_recon"] = (
                _reconstruction_mse(model, X_val, settings.batch_size, device)
                if len(X_val)
                else None
            )
            entry["seconds"] = time.perf_counter() - start
            history.append(entry)
            if on_epoch is not None:
                on_epoch(entry, model)
                model.train()
            monitored = entry["val_recon"] if entry["val_recon"] is not None else entry["loss"]
            if monitored < best_loss:
                best_loss, best_state = monitored, copy.deepcopy(model.state_dict())
            if monitored < reference - settings.min_delta:
                reference, wait = monitored, 0
            else:
                wait += 1
            if progress:
                progress.update(bar, advance=1, description=f"autoencoder loss {entry['loss']:.4f}")
            if (
                settings.patience is not None
                and wait >= settings.patience
                and epoch >= (settings.min_epochs or 0)
            ):
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def _progress(verbose: bool):
    if not verbose:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    )
