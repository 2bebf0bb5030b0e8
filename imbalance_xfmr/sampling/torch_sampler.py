"""Per-epoch resampling of a dataset's indices for PyTorch ``DataLoader`` s, DDP-aware.

Instead of materialising a resampled copy of the data (``fit_resample``), :class:`ResamplingSampler` draws a
fresh under- or over-sample of the dataset's *indices* every epoch, from the labels and a
``sampling_strategy`` with exactly imbalanced-learn's meaning (resolved by
:func:`~imbalance_xfmr.sampling.check_sampling_strategy`), so each epoch sees a different subset of the
majority class (under) or different duplicates of the minority class (over).
:class:`ClassBalancedBatchSampler` turns that draw into batches that all have the same class mix.
:class:`MultilabelResamplingSampler` is the per-epoch draw for multilabel targets (a 0/1 indicator per row): each
epoch's indices come from ML-ROS or ML-RUS (Charte et al. 2015, see :mod:`imbalance_xfmr.sampling`).

Reproducibility: epoch ``e`` is drawn by a ``torch.Generator`` seeded with ``seed + e``; call
``set_epoch(e)`` before iterating (Lightning does it for you, see below). Same seed and epoch → same draw,
on every process.

Distributed training (DDP): every rank draws the SAME epoch sample (same generator) and keeps the
positions ``rank, rank + num_replicas, ...`` of it, so the shards are disjoint and together form the
epoch's draw. Shards have equal length: the draw is padded by wrapping around (default) or truncated
(``drop_last=True``), as ``torch.utils.data.DistributedSampler`` does. ``num_replicas`` and ``rank`` default
to the initialised ``torch.distributed`` process group's, read when iterating (so a sampler built before
the processes start, or pickled into ``ddp_spawn`` workers, shards correctly), and to a single replica
without one.

PyTorch Lightning (read from ``pytorch_lightning/trainer/connectors/data_connector.py`` and
``lightning_fabric/utilities/distributed.py``, Lightning 2.6):

- With ``Trainer(strategy='ddp', use_distributed_sampler=True)`` (the default) Lightning replaces any
  training sampler that is not a ``DistributedSampler`` by ``DistributedSamplerWrapper(sampler)``, which
  re-shuffles and re-shards it (and would shard our already sharded indices a second time).
  :class:`ResamplingSampler` therefore subclasses ``DistributedSampler``: Lightning sees a sampler that
  already shards itself and leaves it alone, with either value of ``use_distributed_sampler``.
- Lightning calls ``set_epoch`` on ``dataloader.sampler`` and on ``dataloader.batch_sampler.sampler``.
  :class:`ClassBalancedBatchSampler` keeps its :class:`ResamplingSampler` as ``.sampler``, so both get it.
- A ``DataLoader(batch_sampler=...)`` always has a plain ``SequentialSampler`` as ``.sampler``; under DDP with
  ``use_distributed_sampler=True`` Lightning tries to rebuild the batch sampler around a
  ``DistributedSampler`` of its own. :class:`ClassBalancedBatchSampler` refuses that with a ``TypeError``
  saying what to do: use ``Trainer(use_distributed_sampler=False)`` — it shards itself.

Length bucketing: pass ``lengths`` (one text length per dataset row) and ``batch_size``; the epoch's drawn
indices are then sorted by length within chunks of ``bucket_batches`` global batches and the batches'
order is shuffled. Bucketing only reorders the draw: which indices are drawn, and so the class
proportions, do not change. Under DDP a global batch is ``batch_size * num_replicas`` consecutive
positions, so every rank's local batch holds texts of similar length.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterator
from numbers import Real
from typing import Any

import numpy as np
import torch
from torch.utils.data import DistributedSampler, Sampler

from imbalance_xfmr.metrics._validation import _distinct_values

from ._multilabel_measures import check_indicator, imbalance_ratio_from_counts
from ._multilabel_random import ml_ros_clones, ml_rus_deletions
from ._strategy import resolve_sampling_strategy, summarize_target

_SAMPLING_TYPES = {"under": "under-sampling", "over": "over-sampling"}


def _process_group() -> tuple[int, int]:
    """(world size, rank) of the initialised default process group, or (1, 0)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size(), torch.distributed.get_rank()
    return 1, 0


def _check_kind(kind: str) -> None:
    if kind not in _SAMPLING_TYPES:
        raise ValueError(f"kind must be 'under' or 'over'; got {kind!r}.")


def _as_label_array(labels: Any) -> np.ndarray:
    """``labels`` as a non-empty 1-D ndarray, shape (n_samples,), with no missing (None/NaN) label."""
    array = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            f"labels must be a non-empty 1-D array with one class label per dataset row; got shape {array.shape}."
        )
    # np.unique would keep NaN as a class of its own (and fail to sort None among strings): reject missing labels
    # with the ValueError the metrics and the samplers raise ("Input labels contains NaN.").
    _distinct_values(array, "labels")
    return array


def _shard(items: torch.Tensor, num_replicas: int, rank: int, drop_last: bool) -> torch.Tensor:
    """Rows ``rank::num_replicas`` of ``items``, padded by wrapping (or truncated) to a multiple of num_replicas."""
    n = len(items)
    if drop_last:
        total = (n // num_replicas) * num_replicas
        items = items[:total]
    else:
        total = math.ceil(n / num_replicas) * num_replicas
        if total > n:
            repeats = math.ceil(total / n)
            items = torch.cat([items] * repeats)[:total]
    return items[rank:total:num_replicas]


class _EpochSampler(DistributedSampler):
    """What the per-epoch samplers share: epoch seeding, DDP sharding, length bucketing.

    Subclasses ``DistributedSampler`` only so that Lightning and other ``isinstance`` checks know it shards
    itself; it does not use ``DistributedSampler.__init__``, which needs an initialised process group. A subclass
    implements ``epoch_draw(generator)`` (the epoch's indices, before shuffling) and ``draw_size()`` (their number).
    """

    def __init__(
        self,
        n_rows: int,
        *,
        seed: int,
        num_replicas: int | None,
        rank: int | None,
        drop_last: bool,
        lengths: Any,
        batch_size: int | None,
        bucket_batches: int,
    ) -> None:
        self.seed, self.drop_last = int(seed), drop_last
        self.epoch = 0
        self._num_replicas, self._rank = num_replicas, rank
        if num_replicas is not None and (rank is None or not 0 <= rank < num_replicas):
            raise ValueError(f"rank must be in [0, num_replicas={num_replicas}); got {rank}.")
        self.lengths = None
        if lengths is not None:
            self.lengths = torch.as_tensor(np.asarray(lengths), dtype=torch.int64)
            if self.lengths.shape != (n_rows,):
                raise ValueError(
                    f"lengths must have one entry per row, shape ({n_rows},); got {tuple(self.lengths.shape)}."
                )
            if batch_size is None or batch_size < 1:
                raise ValueError("Length bucketing needs the per-rank batch_size (a positive int) with lengths.")
        self.batch_size, self.bucket_batches = batch_size, bucket_batches

    @property
    def num_replicas(self) -> int:
        return self._num_replicas if self._num_replicas is not None else _process_group()[0]

    @property
    def rank(self) -> int:
        return self._rank if self._rank is not None else _process_group()[1]

    def set_epoch(self, epoch: int) -> None:
        """Select the draw of epoch ``epoch`` (call before iterating; Lightning calls it every epoch)."""
        self.epoch = int(epoch)

    def generator(self) -> torch.Generator:
        """The generator of the current epoch, freshly seeded with ``seed + epoch``."""
        return torch.Generator().manual_seed(self.seed + self.epoch)

    def epoch_draw(self, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement epoch_draw(generator).")

    def draw_size(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement draw_size().")

    def epoch_indices(self) -> torch.Tensor:
        """The whole epoch's draw (every rank's shard interleaved, before padding), shuffled or bucketed."""
        generator = self.generator()
        draw = self.epoch_draw(generator)
        draw = draw[torch.randperm(len(draw), generator=generator)]
        if self.lengths is not None:
            draw = self._bucket(draw, generator)
        return draw

    def _bucket(self, draw: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        global_batch = self.batch_size * self.num_replicas
        chunk = torch.arange(len(draw)) // (global_batch * self.bucket_batches)
        # One stable sort on (chunk, length) sorts every chunk by length at once.
        lengths = self.lengths[draw]
        draw = draw[torch.argsort(chunk * (int(lengths.max()) + 1) + lengths, stable=True)]
        n_full = len(draw) // global_batch
        order = torch.randperm(n_full, generator=generator)
        full = draw[: n_full * global_batch].view(n_full, global_batch)[order].reshape(-1)
        # The incomplete last batch stays last, so every rank's batches keep their boundaries.
        return torch.cat([full, draw[n_full * global_batch :]])

    def __iter__(self) -> Iterator[int]:
        return iter(_shard(self.epoch_indices(), self.num_replicas, self.rank, self.drop_last).tolist())

    def __len__(self) -> int:
        if self.drop_last:
            return self.draw_size() // self.num_replicas
        return math.ceil(self.draw_size() / self.num_replicas)


class ResamplingSampler(_EpochSampler):
    """Yield a fresh under- or over-sample of the dataset's indices each epoch (this rank's shard of it).

    A ``DistributedSampler`` that does not use ``DistributedSampler.__init__`` (see ``_EpochSampler``).

    Parameters
    ----------
    labels : array-like or Tensor of shape (n_samples,)
        Class label of every dataset row (any sortable dtype). A missing label (None or NaN) is a ValueError.
    sampling_strategy : float, str, dict, callable or None, default='auto'
        imbalanced-learn's meaning for ``kind``: rows to keep per class (under) or to add (over). None: no
        resampling, every row once an epoch, shuffled (and bucketed); ``labels`` may then hold a single class, e.g.
        all zeros for unlabelled rows.
    kind : {'under', 'over'}, default='under'
        'under': keep ``sampling_strategy_[c]`` random rows of each targeted class, every row of the others.
        'over': keep every row and add ``sampling_strategy_[c]`` random duplicates of each targeted class.
    replacement : bool, default=False
        Under-sampling draws with replacement (over-sampling always does).
    seed : int, default=0
        Epoch ``e`` uses ``torch.Generator().manual_seed(seed + e)``.
    num_replicas, rank : int or None, default=None
        The DDP world size and this process's rank; None reads them from ``torch.distributed`` when iterating.
    drop_last : bool, default=False
        Truncate the draw to a multiple of ``num_replicas`` instead of padding it by wrapping around.
    lengths : array-like of shape (n_samples,) or None, default=None
        Text length of every row; with ``batch_size``, turns on length bucketing (module docstring).
    batch_size : int or None, default=None
        Per-rank batch size used for bucketing; required with ``lengths``.
    bucket_batches : int, default=50
        Number of global batches per chunk sorted by length.

    Attributes
    ----------
    sampling_strategy_ : OrderedDict {class: n_samples}
    classes : ndarray of shape (n_classes,)
        Sorted class labels.
    class_draw_counts : ndarray of shape (n_classes,), int64
        Rows of each class in every epoch's draw.
    n_draw : int
        Size of one epoch's draw (over all ranks, before padding).
    """

    def __init__(
        self,
        labels: Any,
        sampling_strategy: Any = "auto",
        *,
        kind: str = "under",
        replacement: bool = False,
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
        lengths: Any = None,
        batch_size: int | None = None,
        bucket_batches: int = 50,
    ) -> None:
        _check_kind(kind)
        label_array = _as_label_array(labels)
        summary = summarize_target(label_array)
        self.sampling_strategy_ = OrderedDict() if sampling_strategy is None else resolve_sampling_strategy(
            sampling_strategy, label_array, summary, _SAMPLING_TYPES[kind]
        )
        self.kind, self.replacement = kind, replacement
        super().__init__(
            len(label_array),
            seed=seed,
            num_replicas=num_replicas,
            rank=rank,
            drop_last=drop_last,
            lengths=lengths,
            batch_size=batch_size,
            bucket_batches=bucket_batches,
        )
        self.classes = summary.classes
        self._class_rows = [torch.from_numpy(rows) for rows in summary.indices_by_class()]
        self._targets = [self.sampling_strategy_.get(label) for label in summary.classes]
        counts = summary.counts
        if kind == "under":
            drawn = [count if target is None else target for count, target in zip(counts, self._targets)]
        else:
            drawn = [count + (target or 0) for count, target in zip(counts, self._targets)]
        self.class_draw_counts = np.asarray(drawn, dtype=np.int64)
        self.n_draw = int(self.class_draw_counts.sum())
        if self.n_draw == 0:
            raise ValueError("sampling_strategy keeps no rows at all; ask for at least one row.")

    def draw_by_class(self, generator: torch.Generator) -> list[torch.Tensor]:
        """This epoch's drawn row indices of each class (sorted-label order), int64; consumes ``generator``."""
        drawn = []
        for rows, target in zip(self._class_rows, self._targets):
            if target is None:
                drawn.append(rows)
            elif self.kind == "over":
                extra = rows[torch.randint(len(rows), (target,), generator=generator)]
                drawn.append(torch.cat([rows, extra]))
            elif self.replacement:
                drawn.append(rows[torch.randint(len(rows), (target,), generator=generator)])
            else:
                drawn.append(rows[torch.randperm(len(rows), generator=generator)[:target]])
        return drawn

    def epoch_draw(self, generator: torch.Generator) -> torch.Tensor:
        """This epoch's drawn row indices, all classes, before shuffling, int64; consumes ``generator``."""
        return torch.cat(self.draw_by_class(generator))

    def draw_size(self) -> int:
        """Rows in every epoch's draw (``n_draw``)."""
        return self.n_draw


class MultilabelResamplingSampler(_EpochSampler):
    """Yield a fresh ML-ROS or ML-RUS resample of a multilabel dataset's indices each epoch (this rank's shard).

    Epoch ``e`` draws exactly the rows ``MLROS`` / ``MLRUS`` (:mod:`imbalance_xfmr.sampling`) would keep with
    ``random_state=seed + e``, then shuffles (or buckets) them with the torch generator of the epoch, like
    :class:`ResamplingSampler`. The draw's size varies a little from epoch to epoch (ML-ROS and ML-RUS stop early
    once the labels reach MeanIR): ``len()`` is the current epoch's, so call ``set_epoch`` before asking for it.
    Under DDP every rank draws the same epoch sample, so the shards agree on it.

    Parameters
    ----------
    labels : array-like, DataFrame or Tensor of shape (n_samples, n_labels)
        0/1 label indicator of every dataset row.
    percentage : float, default=0.1
        ML-ROS: rows to clone, ML-RUS: rows to delete, as a fraction of the dataset (see :class:`MLROS`).
    kind : {'over', 'under'}, default='over'
        'over': every row plus the ML-ROS clones; 'under': the rows ML-RUS keeps.
    seed, num_replicas, rank, drop_last, lengths, batch_size, bucket_batches
        As in :class:`ResamplingSampler`.

    Attributes
    ----------
    n_samples : int
        Rows in the dataset.
    """

    def __init__(
        self,
        labels: Any,
        percentage: float = 0.1,
        *,
        kind: str = "over",
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
        lengths: Any = None,
        batch_size: int | None = None,
        bucket_batches: int = 50,
    ) -> None:
        _check_kind(kind)
        limit = math.inf if kind == "over" else 1
        if isinstance(percentage, bool) or not (isinstance(percentage, Real) and 0 < percentage < limit):
            interval = "(0, inf)" if kind == "over" else "(0, 1)"
            raise ValueError(f"percentage must be a float in {interval} for kind={kind!r}; got {percentage!r}.")
        if isinstance(labels, torch.Tensor):
            labels = labels.detach().cpu().numpy()
        hint = " For one class label per row use ResamplingSampler."
        self._indicator = np.ascontiguousarray(check_indicator(labels, hint=hint), dtype=bool)
        # Fails here, not at the first epoch, when no label occurs at all.
        imbalance_ratio_from_counts(np.count_nonzero(self._indicator, axis=0))
        self.kind, self.percentage = kind, percentage
        self.n_samples = self._indicator.shape[0]
        super().__init__(
            self.n_samples,
            seed=seed,
            num_replicas=num_replicas,
            rank=rank,
            drop_last=drop_last,
            lengths=lengths,
            batch_size=batch_size,
            bucket_batches=bucket_batches,
        )
        self._drawn_epoch: int | None = None
        self._drawn = torch.empty(0, dtype=torch.int64)

    def epoch_rows(self) -> torch.Tensor:
        """This epoch's rows before shuffling, int64: ``sample_indices_`` of MLROS/MLRUS(random_state=seed + epoch)."""
        if self._drawn_epoch != self.epoch:
            random_state = np.random.RandomState(self.seed + self.epoch)
            if self.kind == "over":
                clones = ml_ros_clones(self._indicator, self.percentage, random_state)
                rows = np.concatenate([np.arange(self.n_samples, dtype=np.int64), clones])
            else:
                kept = np.ones(self.n_samples, dtype=bool)
                kept[ml_rus_deletions(self._indicator, self.percentage, random_state)] = False
                rows = np.flatnonzero(kept)
            self._drawn, self._drawn_epoch = torch.from_numpy(rows.astype(np.int64, copy=False)), self.epoch
        return self._drawn

    def epoch_draw(self, generator: torch.Generator) -> torch.Tensor:
        """This epoch's rows before shuffling (the generator is left for the shuffle)."""
        return self.epoch_rows()

    def draw_size(self) -> int:
        """Rows in the current epoch's draw (over all ranks, before padding)."""
        return len(self.epoch_rows())


class ClassBalancedBatchSampler(Sampler[list[int]]):
    """Batches with the same class mix, built from a :class:`ResamplingSampler`'s epoch draw.

    The mix is the draw's class proportions rounded to ``batch_size`` (largest remainder; e.g. 16/16 for
    ``kind='over'`` with 'auto' and ``batch_size=32``). Each class's drawn indices are shuffled and cycled
    (wrapping around when the rounding needs a few more) to fill ``ceil(n_draw / batch_size)`` batches;
    batch order and the order inside each batch are shuffled. With the sampler's ``lengths`` (give the
    sampler the same ``batch_size``), each class's stream is sorted by length within chunks of the sampler's
    ``bucket_batches`` batches first, so a batch holds rows of similar length. Seeds, epochs, ranks and
    ``drop_last`` come from ``sampler``; batches (not indices) are sharded across ranks, padding by wrapping
    or, with ``sampler.drop_last``, truncating.

    Parameters
    ----------
    sampler : ResamplingSampler
        Supplies the epoch's draw; Lightning's ``set_epoch`` reaches it as ``batch_sampler.sampler``.
    batch_size : int
        Rows per batch (per rank).
    drop_last : bool, default=False
        Accepted for ``BatchSampler`` compatibility; every batch is full by construction, so it only
        matters through ``sampler.drop_last`` (sharding).
    """

    def __init__(self, sampler: ResamplingSampler, batch_size: int, drop_last: bool = False) -> None:
        if not isinstance(sampler, ResamplingSampler):
            raise TypeError(
                f"ClassBalancedBatchSampler needs a ResamplingSampler, got {type(sampler).__name__}. Under DDP, "
                "Lightning replaces the sampler when Trainer(use_distributed_sampler=True): pass "
                "Trainer(use_distributed_sampler=False) — the ResamplingSampler shards itself."
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int; got {batch_size!r}.")
        counts = sampler.class_draw_counts
        self.mix = _largest_remainder(counts, batch_size)
        starved = [label for label, n, m in zip(sampler.classes.tolist(), counts, self.mix) if n > 0 and m == 0]
        if starved:
            raise ValueError(
                f"batch_size={batch_size} is too small to hold every drawn class in the same mix: classes {starved} "
                "would get no row per batch. Increase batch_size or change sampling_strategy."
            )
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last
        self.n_batches = math.ceil(sampler.n_draw / batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Forwarded to ``sampler``."""
        self.sampler.set_epoch(epoch)

    def epoch_batches(self) -> torch.Tensor:
        """Every rank's batches of this epoch, shape (n_batches, batch_size), int64."""
        sampler, generator = self.sampler, self.sampler.generator()
        columns = []
        for drawn, per_batch in zip(sampler.draw_by_class(generator), self.mix.tolist()):
            if per_batch == 0:
                continue
            needed = self.n_batches * per_batch
            stream = drawn[torch.randperm(len(drawn), generator=generator)]
            stream = stream.repeat(math.ceil(needed / len(stream)))[:needed]
            if sampler.lengths is not None:
                chunk = torch.arange(needed) // (per_batch * sampler.bucket_batches)
                lengths = sampler.lengths[stream]
                stream = stream[torch.argsort(chunk * (int(lengths.max()) + 1) + lengths, stable=True)]
            columns.append(stream.view(self.n_batches, per_batch))
        batches = torch.cat(columns, dim=1)
        within = torch.argsort(torch.rand(batches.shape, generator=generator), dim=1)
        batches = torch.gather(batches, 1, within)
        return batches[torch.randperm(self.n_batches, generator=generator)]

    def __iter__(self) -> Iterator[list[int]]:
        sampler = self.sampler
        return iter(_shard(self.epoch_batches(), sampler.num_replicas, sampler.rank, sampler.drop_last).tolist())

    def __len__(self) -> int:
        replicas = self.sampler.num_replicas
        if self.sampler.drop_last:
            return self.n_batches // replicas
        return math.ceil(self.n_batches / replicas)


def _largest_remainder(counts: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to ``counts`` that sum to ``total`` (Hamilton's method, ties to the smaller index)."""
    exact = counts * total / counts.sum()
    shares = np.floor(exact).astype(np.int64)
    leftover = total - int(shares.sum())
    shares[np.argsort(-(exact - shares), kind="stable")[:leftover]] += 1
    return shares
