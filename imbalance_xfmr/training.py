"""What makes a training run reproducible and resumable, as Trainer-level pieces that ``imbalance-xfmr fit`` adds.

The model (:class:`~imbalance_xfmr.model.classifier.TextClassifier`) holds the math; how the loop runs, where its
checkpoints go and how a killed run continues is the Trainer's configuration, built here and wired in by
:mod:`imbalance_xfmr.cli` (the ``checkpoints`` and ``reseed_every_batch`` keys of a config). Any caller that builds
its Trainer through the CLI (e.g. one model per cross-validation fold) gets exactly the same:

- :class:`CheckpointSettings` and :func:`checkpoint_callbacks`: the best epoch by a monitored validation metric as
  ``best-<epoch>-<step>.ckpt`` and ``last.ckpt`` (:class:`LastCheckpoint`: at an epoch's end, at most every
  ``last_every_seconds``, and after the last epoch), in one folder.
- :class:`AtomicCheckpointIO`: checkpoints written through :func:`imbalance_xfmr.data.io.atomic_open` (temporary
  file, fsync, rename), so a kill or a full disk mid-write leaves the old checkpoint or the new one, never a part.
- :class:`NoProfiler`: no profiling, at no cost per hook call (Lightning's default profiler costs about 1% of a
  small model's step).
- :class:`BatchSeed`: torch reseeded from (seed, epoch, batch index) before every training batch, so a run resumed
  from an epoch-end checkpoint trains bit for bit like one that never stopped (:func:`seed_torch`: what
  ``torch.manual_seed`` does to the generators in use, without its cost).
- :func:`readable_checkpoint`: the checkpoint to resume from, checked to load, with a fallback and a one-line
  warning instead of a ``PytorchStreamReader`` traceback when ``last.ckpt`` is empty or truncated.
- :func:`check_resumable`: a one-line error instead of Lightning's ``size mismatch`` traceback when the checkpoint
  to resume from was written by a model of other hyper-parameters; :func:`earlier_checkpoints`: the checkpoints a
  new run would leave beside its own (``checkpoints.overwrite``).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import fsspec
import numpy as np
import pytorch_lightning as pl
import torch
from fsspec.implementations.local import LocalFileSystem
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning_utilities.core.apply_func import apply_to_collection
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.profilers import PassThroughProfiler
from pytorch_lightning.utilities import rank_zero_warn
from torch.utils.data import DataLoader

from imbalance_xfmr._compat import set_sampler_epoch
from imbalance_xfmr.data.io import atomic_open

LAST_CHECKPOINT = f"{ModelCheckpoint.CHECKPOINT_NAME_LAST}{ModelCheckpoint.FILE_EXTENSION}"
"""``last.ckpt``: the file a resumed fit starts from."""

BEST_CHECKPOINT_FILENAME = "best-{epoch}-{step}"
"""File name pattern of the best epoch's checkpoint (``best-3-120.ckpt``)."""


@dataclass
class CheckpointSettings:
    """The checkpoints ``fit`` writes (the ``checkpoints`` section of an ``imbalance-xfmr`` config).

    Args:
        dirpath: folder of the checkpoints. null: Lightning's default, ``<log_dir>/checkpoints`` (a new folder for
            every run of a versioned logger); a fixed folder lets a rerun with ``--ckpt_path last`` find the
            checkpoints of an earlier, interrupted attempt.
        monitor: validation metric that picks the best epoch, saved as ``best-<epoch>-<step>.ckpt`` (e.g.
            ``val/f1_macro``, ``val/balanced_accuracy``, ``val/pr_auc``, ``val/loss``). null: only ``last.ckpt``.
        mode: ``max`` or ``min`` for the monitor. null: ``min`` for a loss, ``max`` otherwise.
        last_every_seconds: ``last.ckpt`` is rewritten at the end of a training epoch once this many seconds have
            passed since it was last written (or since training started), and always after the last epoch: a killed
            fit loses at most this long plus an epoch. 0: after every epoch (Lightning's rule).
        overwrite: what ``imbalance-xfmr fit`` (and ``pretrain``) does without ``--ckpt_path`` when the folder
            already holds checkpoints (:func:`earlier_checkpoints`): false, it stops with an error before training
            (an earlier run's checkpoints are not replaced by accident); true, it deletes them and trains anew, so
            that no later ``--ckpt_path last`` resumes from a checkpoint of the earlier run.
    """

    dirpath: str | None = None
    monitor: str | None = "val/f1_macro"
    mode: Literal["max", "min"] | None = None
    last_every_seconds: float = 30.0
    overwrite: bool = False

    @property
    def resolved_mode(self) -> Literal["max", "min"]:
        """``mode``, or its default for ``monitor`` (``min`` for a loss, ``max`` otherwise)."""
        if self.mode is not None:
            return self.mode
        return "min" if self.monitor is not None and self.monitor.endswith("loss") else "max"


def checkpoint_callbacks(settings: CheckpointSettings) -> list[ModelCheckpoint]:
    """The Trainer's checkpoint callbacks for ``settings``: the best epoch by ``settings.monitor`` (when set;
    first, so that it is ``trainer.checkpoint_callback``, which ``ckpt_path="best"`` reads) and ``last.ckpt``.

    ``last.ckpt`` is a ``ModelCheckpoint`` of its own (no monitor, one file, no version counter), not
    ``ModelCheckpoint(save_last=True)``: in Lightning 2.6 that rewrites ``last.ckpt`` only when a new best is saved,
    so after the monitored metric got worse it would hold the best epoch, not the last. It is written at the end of
    a training epoch, validated or not (``trainer.check_val_every_n_epoch`` > 1 validates less often; Lightning
    would then write a checkpoint without a monitor only after validations), at most every
    ``settings.last_every_seconds`` and after the last epoch (:class:`LastCheckpoint`).
    """
    callbacks = []
    if settings.monitor is not None:
        callbacks.append(ModelCheckpoint(
            dirpath=settings.dirpath,
            filename=BEST_CHECKPOINT_FILENAME,
            monitor=settings.monitor,
            mode=settings.resolved_mode,
            auto_insert_metric_name=False,
            save_top_k=1,
        ))
    callbacks.append(LastCheckpoint(settings.dirpath, settings.last_every_seconds))
    return callbacks


class LastCheckpoint(ModelCheckpoint):
    """``last.ckpt``, rewritten at the end of a training epoch once ``every_seconds`` have passed since it was last
    written (or since training started), and always after the last epoch (max_epochs or max_steps reached, or the
    Trainer told to stop); ``every_seconds`` 0: after every epoch.

    Only at the end of an epoch, never in the middle of one, because a fit resumed from an epoch's end trains bit
    for bit as an uninterrupted one (:class:`BatchSeed`); Lightning's ``train_time_interval`` saves mid-epoch. Each
    write costs about 10 ms for the demo's model (torch.save, fsync, rename): 2% of a fit whose epochs last half a
    second, nothing that a kill could cost when they last ten. Under DDP, rank 0's clock decides for every rank.
    """

    def __init__(self, dirpath: str | os.PathLike | None, every_seconds: float) -> None:
        super().__init__(
            dirpath=dirpath,
            filename=ModelCheckpoint.CHECKPOINT_NAME_LAST,
            monitor=None,
            save_top_k=1,
            enable_version_counter=False,  # overwrite last.ckpt instead of writing last-v1.ckpt beside it
            save_on_train_epoch_end=True,  # what Lightning does anyway when every epoch is validated
        )
        check_last_every_seconds(every_seconds)
        self.every_seconds = float(every_seconds)
        self._written_at = _clock()
        # Lightning builds a callback's state_key (a repr of its settings) at each of its hook calls, some 40 a
        # training step; the settings it is made of do not change after __init__.
        self._state_key = super().state_key

    @property
    def state_key(self) -> str:
        return self._state_key

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        self._written_at = _clock()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        due = self.every_seconds == 0 or _clock() - self._written_at >= self.every_seconds or _last_epoch(trainer)
        if trainer.strategy.broadcast(due):
            super().on_train_epoch_end(trainer, pl_module)
            self._written_at = _clock()


_clock = time.monotonic


def check_last_every_seconds(seconds: float) -> None:
    """ValueError unless ``seconds`` (``checkpoints.last_every_seconds``) is a number of seconds >= 0 (NaN is not)."""
    if not seconds >= 0:
        raise ValueError(f"{seconds!r} is not a number of seconds >= 0; write 0 to rewrite last.ckpt after every epoch")


def _last_epoch(trainer: pl.Trainer) -> bool:
    """Whether the fit stops after the epoch ending now (called at its ``on_train_epoch_end``)."""
    if trainer.should_stop:  # early stopping, max_time
        return True
    if trainer.max_steps != -1 and trainer.global_step >= trainer.max_steps:
        return True
    return trainer.max_epochs not in (None, -1) and trainer.current_epoch + 1 >= trainer.max_epochs


def best_checkpoint(folder: str | os.PathLike) -> Path | None:
    """The best epoch's checkpoint that :func:`checkpoint_callbacks` keeps in ``folder`` (one, ``save_top_k=1``),
    or None when there is none (no monitor, or no epoch finished)."""
    prefix = BEST_CHECKPOINT_FILENAME.split("{", 1)[0]
    best = sorted(Path(folder).glob(f"{prefix}*{ModelCheckpoint.FILE_EXTENSION}"), key=lambda p: p.stat().st_mtime)
    return best[-1] if best else None


def earlier_checkpoints(folder: str | os.PathLike) -> list[Path]:
    """The checkpoint files (``*.ckpt``) in ``folder``, sorted by name; empty when there is no such folder. Any of
    them is a candidate of :func:`readable_checkpoint`, so a new run into ``folder`` must not leave them beside
    its own."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.glob(f"*{ModelCheckpoint.FILE_EXTENSION}") if path.is_file())


_WEIGHT_SOURCES = ("init_from", "pretrained")
"""Hyper-parameters that say where a new model's weights come from: a resumed one takes them from its checkpoint."""


def check_resumable(model: pl.LightningModule, path: str | os.PathLike) -> None:
    """ValueError unless the checkpoint ``path`` can resume training ``model``: its saved hyper-parameters are
    ``model.hparams`` (but ``init_from`` and ``pretrained``, where a resumed model does not take its weights from,
    and Lightning's own ``_`` keys; a pretrained encoder's architecture is compared as its ``encoder_config``), and
    its ``state_dict`` holds ``model``'s tensors with their shapes.

    A resumed fit continues the run of the checkpoint: with a hyper-parameter changed since, Lightning would fail
    to load the weights with a traceback (``d_model``) or train a model that neither run describes (``n_heads``,
    whose weights have the same shapes). The one-line message names the file and the first difference, e.g.
    ``'ck/last.ckpt' does not fit this model: d_model is 16 in the checkpoint, 8 here; set model.d_model to 16 to
    resume from it``.
    """
    where = repr(str(path))
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, OSError, EOFError, ValueError) as error:  # what torch.load raises
        raise ValueError(f"{where} is not a readable checkpoint ({_first_line(error)})") from None
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict):
        raise ValueError(f"{where} is not a Lightning checkpoint (no state_dict)")
    saved = checkpoint.get("hyper_parameters") or {}
    for name, value in model.hparams.items():
        if name.startswith("_") or name in _WEIGHT_SOURCES or name not in saved:
            continue
        if _plain(saved[name]) != _plain(value):
            raise ValueError(f"{where} does not fit this model: {name} is {saved[name]!r} in the checkpoint, "
                             f"{value!r} here; set model.{name} to {saved[name]!r} to resume from it")
    state, expected = checkpoint["state_dict"], model.state_dict()
    for key in sorted(expected.keys() | state.keys()):
        found = tuple(state[key].shape) if key in state else "missing"
        wanted = tuple(expected[key].shape) if key in expected else "missing"
        if found != wanted:
            raise ValueError(f"{where} does not fit this model: tensor {key} is {found} in the checkpoint, {wanted} "
                             "here; the model's hyper-parameters must be the checkpoint's to resume from it")


def _plain(value: Any) -> Any:
    """``value`` with tuples as lists (at any depth), so that a saved ``(0.9, 0.999)`` equals ``[0.9, 0.999]``."""
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def checkpoint_folder(trainer: pl.Trainer, dirpath: str | None = None) -> Path:
    """The folder ``trainer``'s checkpoint callbacks write to: ``dirpath``, else ``<log_dir>/checkpoints`` of the
    first logger (``<default_root_dir>/checkpoints`` without a logger), the rule of Lightning's ``ModelCheckpoint``.
    """
    if dirpath is not None:
        return Path(dirpath)
    if not trainer.loggers:
        return Path(trainer.default_root_dir, "checkpoints")
    logger = trainer.loggers[0]
    save_dir = logger.save_dir if logger.save_dir is not None else trainer.default_root_dir
    version = logger.version if isinstance(logger.version, str) else f"version_{logger.version}"
    return Path(save_dir, str(logger.name), version, "checkpoints")


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` whose checkpoints are written with :func:`~imbalance_xfmr.data.io.atomic_open`
    (temporary file beside the target, fsync, rename): a kill or a full disk mid-write leaves the previous
    checkpoint or the complete new one, never a truncated zip. Remote (fsspec URL) paths are left to Lightning's
    own writer."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | os.PathLike,
                        storage_options: Any | None = None) -> None:
        filesystem, local_path = fsspec.core.url_to_fs(str(path))
        if storage_options is not None or not isinstance(filesystem, LocalFileSystem):
            super().save_checkpoint(checkpoint, path, storage_options)  # raises for storage_options, as it should
            return
        with atomic_open(local_path, "wb") as handle:
            torch.save(checkpoint, handle)


class NoProfiler(PassThroughProfiler):
    """What a Trainer without a profiler uses (Lightning's ``PassThroughProfiler``: nothing recorded), with a
    ``profile`` context that costs nothing.

    Lightning opens ``trainer.profiler.profile(name)`` around every hook it calls, some 100 times a training step;
    the base class's is a generator-based ``@contextmanager`` (about 1.5 us to open and close), this one returns a
    shared ``nullcontext``: about 1% of the demo model's training step on one CPU thread. Any profiler a config names
    (``trainer.profiler: simple``) replaces it.
    """

    _NOTHING = contextlib.nullcontext()

    def profile(self, action_name: str) -> contextlib.AbstractContextManager:
        return self._NOTHING


class BatchSeed(pl.Callback):
    """Reseed torch from (seed, epoch, batch index) before every training batch.

    Each batch's randomness (dropout) then depends on those three numbers only, so a run resumed from an
    epoch-end checkpoint trains the remaining epochs bit for bit as an uninterrupted run would (Lightning restores
    weights, optimizer and schedule, not random states, and a resumed fit draws from the global generator in
    other places, e.g. for its sanity-check DataLoader iterators).

    The order of the training rows does not come from torch's global generator either:
    :class:`~imbalance_xfmr.data.TextDataModule` draws every epoch's order (shuffle, resample, buckets) from the
    seed and the epoch alone. At the start of every training epoch this callback gives the training samplers
    ``trainer.current_epoch`` as that epoch (what Lightning gives them too, except in a fit resumed with
    ``max_steps``, where Lightning's count runs one epoch ahead of ``current_epoch`` and the resumed run would draw
    another epoch's rows than the uninterrupted one).
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._epoch: int | None = None
        self._seeds: list[int] = []  # the seeds of the epoch's batches 0, 1, ..., computed once an epoch

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = trainer.current_epoch
        apply_to_collection(trainer.train_dataloader, DataLoader, lambda loader: set_sampler_epoch(loader, epoch))

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        seed_torch(self._batch_seed(trainer, batch_idx))

    def _batch_seed(self, trainer: pl.Trainer, batch_idx: int) -> int:
        """:func:`batch_seed` of the batch, from the epoch's list (computed in one go: one ``SeedSequence`` per batch
        inside a training step costs several times more, its code being out of the caches after a backward pass)."""
        epoch = trainer.current_epoch
        if epoch != self._epoch:
            self._epoch, self._seeds = epoch, []
        if batch_idx >= len(self._seeds):
            batches = getattr(trainer, "num_training_batches", None)  # float("inf") for an iterable without a length
            end = max(batch_idx + 1, int(batches) if isinstance(batches, int) else 0)
            self._seeds += [batch_seed(self.seed, epoch, i) for i in range(len(self._seeds), end)]
        return self._seeds[batch_idx]


def batch_seed(seed: int, epoch: int, batch_idx: int) -> int:
    """The torch seed of training batch ``batch_idx`` of ``epoch`` in a run seeded with ``seed``:
    ``np.random.SeedSequence([seed, epoch, batch_idx]).generate_state(1)[0]``."""
    return int(np.random.SeedSequence([seed, epoch, batch_idx]).generate_state(1)[0])


_LAZILY_SEEDED = ("cuda", "xpu", "mtia")
"""Accelerators whose ``torch.manual_seed`` part is queued (with a ``traceback.format_stack()``) until they start."""


def seed_torch(seed: int) -> None:
    """``torch.manual_seed(seed)`` for every generator a run can draw from, without its per-call cost.

    ``torch.manual_seed`` also queues a seed for each accelerator that has not started (CUDA, XPU, MTIA), and each
    queued seed records a ``traceback.format_stack()``: inside a Lightning step that costs far more than the seeding
    (0.25 to 0.4 ms a batch, 5 to 8% of the demo model's training step on one CPU thread). Here the CPU generator is
    seeded, then every accelerator that has started or is present (the same call as ``torch.manual_seed``'s), and
    MPS; an accelerator that is neither is skipped, where ``torch.manual_seed`` would queue a seed it never uses. The
    generators drawn from get exactly the states ``torch.manual_seed(seed)`` gives them.
    """
    torch.default_generator.manual_seed(seed)
    for name in _LAZILY_SEEDED:
        device = getattr(torch, name, None)
        if device is not None and (device.is_initialized() or device.is_available()):
            device.manual_seed_all(seed)
    torch.mps.manual_seed(seed)  # returns at once where torch has no MPS


def _inspect_checkpoint(path: Path) -> tuple[int | None, str | None]:
    """(global step, None) for a checkpoint that loads with ``weights_only=True``, else (None, why not)."""
    try:
        if path.stat().st_size == 0:
            return None, "empty file"
    except OSError as error:
        return None, f"cannot be read ({_first_line(error)})"
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except RuntimeError as error:
        if "zip archive" in str(error) or "central directory" in str(error):
            return None, "truncated: not a readable checkpoint"
        return None, f"corrupt: not a readable checkpoint ({_first_line(error)})"
    except pickle.UnpicklingError as error:
        return None, f"does not load with weights_only=True ({_first_line(error)})"
    except (OSError, EOFError, ValueError) as error:
        return None, f"truncated or corrupt: not a readable checkpoint ({type(error).__name__}: {_first_line(error)})"
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        return None, "not a Lightning checkpoint (no state_dict)"
    return int(checkpoint.get("global_step", 0)), None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def readable_checkpoint(folder: str | os.PathLike) -> Path | None:
    """The checkpoint in ``folder`` to resume from: ``last.ckpt`` when it loads (``torch.load(...,
    map_location="cpu", weights_only=True)``); otherwise the readable ``*.ckpt`` with the highest ``global_step``
    stored in it (ties: the newest file), with a one-line warning naming ``last.ckpt``, why it was passed over
    (``empty file``, ``truncated: not a readable checkpoint``, ...) and what is used instead. None when no
    checkpoint in ``folder`` is readable: train from scratch (silently when the folder holds no checkpoint at all,
    as on a first run).
    """
    folder = Path(folder)
    last = folder / LAST_CHECKPOINT
    if last.is_file():
        step, reason = _inspect_checkpoint(last)
        if reason is None:
            return last
    else:
        reason = "missing"
    candidates: list[tuple[int, float, str, Path]] = []
    unreadable = []
    for path in sorted(folder.glob(f"*{ModelCheckpoint.FILE_EXTENSION}")) if folder.is_dir() else []:
        if path == last or not path.is_file():
            continue
        step, why = _inspect_checkpoint(path)
        if why is None:
            candidates.append((step, path.stat().st_mtime, path.name, path))
        else:
            unreadable.append(f"{path.name}: {why}")
    if reason == "missing" and not candidates and not unreadable:
        return None  # nothing was ever saved here: a first run
    also = f" (also unreadable: {'; '.join(unreadable)})" if unreadable else ""
    if not candidates:
        rank_zero_warn(f"{last}: {reason}; no other readable checkpoint in {folder}{also}: training from scratch.")
        return None
    step, _, _, chosen = max(candidates)
    rank_zero_warn(f"{last}: {reason}; resuming from {chosen.name} (global_step {step}) instead{also}.")
    return chosen
