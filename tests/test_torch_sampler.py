"""ResamplingSampler / ClassBalancedBatchSampler: per-epoch draws, strategies, bucketing, real DDP with Lightning."""

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imblearn.utils import check_sampling_strategy as reference_check
from torch.utils.data import DistributedSampler

from imbalance_xfmr.sampling.torch_sampler import (
    ClassBalancedBatchSampler,
    ResamplingSampler,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
LABELS = np.array([0] * 60 + [1] * 13 + [2] * 7)


def drawn(sampler, epoch):
    sampler.set_epoch(epoch)
    return list(sampler)


@pytest.mark.parametrize("kind", ["under", "over"])
def test_draws_change_with_the_epoch_and_repeat_with_the_seed(kind):
    sampler = ResamplingSampler(LABELS, kind=kind, seed=3)
    epoch0, epoch1 = drawn(sampler, 0), drawn(sampler, 1)
    assert epoch0 != epoch1
    assert drawn(ResamplingSampler(LABELS, kind=kind, seed=3), 1) == epoch1 == drawn(sampler, 1)
    assert drawn(ResamplingSampler(LABELS, kind=kind, seed=4), 1) != epoch1


@settings(max_examples=30)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=2, max_size=4),
    kind=st.sampled_from(["under", "over"]),
    strategy=st.sampled_from(["auto", "all", "not minority", "not majority", "dict"]),
    replacement=st.booleans(),
    epoch=st.integers(0, 5),
)
def test_class_counts_follow_the_strategy(sizes, kind, strategy, replacement, epoch):
    labels = np.random.RandomState(epoch).permutation(np.repeat(np.arange(len(sizes)) * 10, sizes))
    if strategy == "dict":
        strategy = {0: sizes[0] if kind == "under" else 2 * sizes[0]}
    sampling_type = f"{kind}-sampling"
    try:
        expected = reference_check(strategy, labels, sampling_type)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            ResamplingSampler(labels, strategy, kind=kind)
        return
    sampler = ResamplingSampler(labels, strategy, kind=kind, replacement=replacement)
    assert sampler.sampling_strategy_ == expected
    indices = drawn(sampler, epoch)
    assert len(indices) == len(sampler) == sampler.n_draw
    counts = Counter(labels[indices].tolist())
    for label, n_present in Counter(labels.tolist()).items():
        target = expected.get(label)
        wanted = n_present if target is None else (target if kind == "under" else n_present + target)
        assert counts[label] == wanted
    if kind == "under" and not replacement:
        assert len(set(indices)) == len(indices)
    if kind == "over":
        assert set(range(len(labels))) <= set(indices)  # every original row is kept


def full_draw(epoch, **kwargs):
    """The whole epoch's draw, as one process without DDP computes it."""
    sampler = ResamplingSampler(LABELS, **kwargs)
    sampler.set_epoch(epoch)
    return sampler.epoch_indices().tolist()


@pytest.mark.parametrize(
    "num_replicas, drop_last, shard_length", [(3, False, 7), (3, True, 7), (4, False, 6), (4, True, 5)]
)
def test_shards_are_disjoint_equal_and_cover_the_draw(num_replicas, drop_last, shard_length):
    settings_ = {"kind": "under", "seed": 5}  # 21 distinct rows: 3 classes of 7
    shards = [
        drawn(ResamplingSampler(LABELS, num_replicas=num_replicas, rank=rank, drop_last=drop_last, **settings_), 2)
        for rank in range(num_replicas)
    ]
    assert [len(shard) for shard in shards] == [shard_length] * num_replicas
    draw = full_draw(2, **settings_)
    padded = (draw * 2)[: shard_length * num_replicas]  # wrapped around, or truncated with drop_last
    assert [index for row in zip(*shards) for index in row] == padded
    distinct = [set(shard) - set(padded[len(draw) :]) for shard in shards]  # leave the wrapped-around padding out
    assert all(a.isdisjoint(b) for i, a in enumerate(distinct) for b in distinct[i + 1 :])


def test_no_strategy_shuffles_every_row_once_an_epoch_even_for_a_single_class():
    sampler = ResamplingSampler(np.zeros(30, dtype=np.int64), None, seed=5, lengths=np.arange(30) % 7, batch_size=4)
    epoch0, epoch1 = drawn(sampler, 0), drawn(sampler, 1)
    assert sorted(epoch0) == sorted(epoch1) == list(range(30)) and epoch0 != epoch1
    assert drawn(ResamplingSampler(np.zeros(30, dtype=np.int64), None, seed=5, lengths=np.arange(30) % 7,
                                   batch_size=4), 1) == epoch1
    assert sorted(drawn(ResamplingSampler(LABELS, None, seed=1), 0)) == list(range(len(LABELS)))


def test_length_bucketing_reorders_without_changing_the_draw():
    lengths = np.random.RandomState(0).randint(1, 1000, size=len(LABELS))
    plain = ResamplingSampler(LABELS, kind="over", seed=9)
    bucketed = ResamplingSampler(LABELS, kind="over", seed=9, lengths=lengths, batch_size=4, bucket_batches=5)
    indices = drawn(bucketed, 1)
    assert sorted(indices) == sorted(drawn(plain, 1))
    batches = [lengths[indices[i : i + 4]] for i in range(0, len(indices) - len(indices) % 4, 4)]
    spread_bucketed = np.mean([b.max() - b.min() for b in batches])
    plain_indices = drawn(plain, 1)
    spread_plain = np.mean([np.ptp(lengths[plain_indices[i : i + 4]]) for i in range(0, len(batches) * 4, 4)])
    assert spread_bucketed < spread_plain / 3


def test_class_balanced_batches_have_a_fixed_mix():
    sampler = ResamplingSampler(LABELS, kind="over", seed=1)  # 60 rows of each class
    batch_sampler = ClassBalancedBatchSampler(sampler, batch_size=9)
    batch_sampler.set_epoch(2)
    batches = list(batch_sampler)
    assert len(batches) == len(batch_sampler) == 20
    assert all(sorted(Counter(LABELS[b].tolist()).values()) == [3, 3, 3] for b in batches)
    assert sampler.epoch == 2
    batch_sampler.set_epoch(3)
    assert list(batch_sampler) != batches


def test_class_balanced_batches_follow_the_draw_proportions_and_shard():
    settings_ = {"kind": "under", "sampling_strategy": {0: 28}, "lengths": np.arange(len(LABELS)), "batch_size": 12}
    shards = [
        list(ClassBalancedBatchSampler(ResamplingSampler(LABELS, num_replicas=2, rank=rank, **settings_), 12))
        for rank in range(2)
    ]
    # 28/13/7 rows drawn → 7/3/2 per batch of 12; 48 rows → 4 batches → 2 per rank.
    assert ClassBalancedBatchSampler(ResamplingSampler(LABELS, **settings_), 12).mix.tolist() == [7, 3, 2]
    assert len(shards[0]) == len(shards[1]) == 2
    assert all(Counter(LABELS[b].tolist()) == {0: 7, 1: 3, 2: 2} for shard in shards for b in shard)
    assert not {tuple(b) for b in shards[0]} & {tuple(b) for b in shards[1]}


def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="kind"):
        ResamplingSampler(LABELS, kind="sideways")
    with pytest.raises(ValueError, match="more than 1 class"):
        ResamplingSampler(np.zeros(10))
    with pytest.raises(ValueError, match="minority"):
        ResamplingSampler(LABELS, "minority", kind="under")
    with pytest.raises(ValueError, match="batch_size"):
        ResamplingSampler(LABELS, lengths=np.ones(len(LABELS)))
    with pytest.raises(ValueError, match="one entry per row"):
        ResamplingSampler(LABELS, lengths=np.ones(3), batch_size=2)
    with pytest.raises(ValueError, match="rank"):
        ResamplingSampler(LABELS, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="too small"):
        ClassBalancedBatchSampler(ResamplingSampler(LABELS, {0: 60}, kind="over"), batch_size=4)
    with pytest.raises(TypeError, match="use_distributed_sampler=False"):
        ClassBalancedBatchSampler(DistributedSampler(range(10), num_replicas=2, rank=0), batch_size=4)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([0.0, 1.0, np.nan, 1.0, 0.0]), r"Input labels contains NaN\."),
        (np.array(["ham", "spam", None, "ham", "spam"], dtype=object), r"Input labels contains None/NaN\."),
        ([0, 1, None, 1, 0], r"Input labels contains None/NaN\."),
    ],
)
def test_missing_labels_are_rejected_not_made_a_class(labels, message):
    # The samplers' (scikit-learn's) ValueError, before any class is counted: NaN would otherwise be a class.
    with pytest.raises(ValueError, match=message):
        ResamplingSampler(labels)
    with pytest.raises(ValueError, match=message):
        ResamplingSampler(labels, kind="over", lengths=np.ones(5), batch_size=2)


def test_lightning_treats_it_as_already_distributed():
    # Lightning only wraps samplers that are not DistributedSamplers (data_connector._requires_distributed_sampler).
    assert isinstance(ResamplingSampler(LABELS), DistributedSampler)


DDP_SCRIPT = """
import json, sys
import numpy as np, torch
import pytorch_lightning as pl
from torch.utils.data import DataLoader
from imbalance_xfmr.sampling.torch_sampler import ClassBalancedBatchSampler, ResamplingSampler

out_dir, mode = sys.argv[1], sys.argv[2]
LABELS = np.array([0] * 60 + [1] * 13 + [2] * 7)


class Recorder(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen = []

    def train_dataloader(self):
        if mode == "batches":
            sampler = ResamplingSampler(LABELS, kind="over", seed=7)
            return DataLoader(range(len(LABELS)), batch_sampler=ClassBalancedBatchSampler(sampler, batch_size=6))
        return DataLoader(range(len(LABELS)), sampler=ResamplingSampler(LABELS, kind="under", seed=7), batch_size=4)

    def training_step(self, batch, batch_idx):
        self.seen.append(batch.tolist())
        return (self.weight * batch.float()).sum()

    def on_train_epoch_end(self):
        with open(f"{out_dir}/{mode}_rank{self.global_rank}_epoch{self.current_epoch}.json", "w") as f:
            json.dump(self.seen, f)
        self.seen = []

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.0)


trainer = pl.Trainer(
    accelerator="cpu", devices=2, strategy="ddp", max_epochs=2, use_distributed_sampler=(mode == "indices"),
    logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
)
trainer.fit(Recorder())
# Leave the gloo group before exit: torn down by the interpreter instead, its threads sometimes abort the process
# ("terminate called without an active exception") after a fit that succeeded.
torch.distributed.destroy_process_group()
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory):
    """Both Lightning DDP runs, launched concurrently (each: 2 CPU processes on gloo, 2 epochs).

    Returns ``{mode: {(rank, epoch): what that rank saw, batch by batch}}``.
    """
    tmp_path = tmp_path_factory.mktemp("ddp")
    script = tmp_path / "ddp_record.py"
    script.write_text(textwrap.dedent(DDP_SCRIPT))
    processes = {}
    for mode in ("indices", "batches"):
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "OMP_NUM_THREADS": "1",
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(free_port()),
        }
        # The child gets its own copy of the log's descriptor, so ours can be closed right away.
        with open(tmp_path / f"{mode}.log", "w") as log:
            processes[mode] = subprocess.Popen(
                [sys.executable, str(script), str(tmp_path), mode],
                env=env,
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    runs = {}
    for mode, process in processes.items():
        process.wait(timeout=180)
        assert process.returncode == 0, (tmp_path / f"{mode}.log").read_text()[-3000:]
        runs[mode] = {
            (rank, epoch): json.loads((tmp_path / f"{mode}_rank{rank}_epoch{epoch}.json").read_text())
            for rank in range(2)
            for epoch in range(2)
        }
    return runs


def test_lightning_ddp_shards_each_epoch_draw(ddp_runs):
    """Two gloo processes, default Trainer(use_distributed_sampler=True): disjoint shards of each epoch's draw."""
    seen = ddp_runs["indices"]
    reference = ResamplingSampler(LABELS, kind="under", seed=7)
    draws = []
    for epoch in range(2):
        reference.set_epoch(epoch)
        draw = reference.epoch_indices().tolist()  # 21 distinct rows, padded to 22 for 2 ranks
        shards = [[index for batch in seen[rank, epoch] for index in batch] for rank in range(2)]
        assert len(shards[0]) == len(shards[1]) == 11
        padded = draw + draw[:1]
        assert shards[0] == padded[0::2] and shards[1] == padded[1::2]
        assert set(shards[0]).isdisjoint(shards[1][:10])  # the last one is the wrapped-around padding
        assert sorted(shards[0] + shards[1]) == sorted(padded)
        draws.append(draw)
    assert draws[0] != draws[1]


def test_lightning_ddp_class_balanced_batches(ddp_runs):
    """Two gloo processes, Trainer(use_distributed_sampler=False): every rank gets its own equal share of batches."""
    seen = ddp_runs["batches"]
    for epoch in range(2):
        reference = ClassBalancedBatchSampler(ResamplingSampler(LABELS, kind="over", seed=7), batch_size=6)
        reference.set_epoch(epoch)
        batches = reference.epoch_batches().tolist()  # 180 rows / 6 = 30 batches, 15 per rank
        assert seen[0, epoch] == batches[0::2] and seen[1, epoch] == batches[1::2]
        assert all(Counter(LABELS[b].tolist()) == {0: 2, 1: 2, 2: 2} for rank in range(2) for b in seen[rank, epoch])
    assert seen[0, 0] != seen[0, 1]
