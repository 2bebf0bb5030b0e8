"""imbalance_xfmr.training: atomic checkpoint writes, per-batch reseeding, the checkpoint callbacks, and choosing a
readable checkpoint to resume from (an empty or truncated last.ckpt is a one-line warning and a fallback)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset

import imbalance_xfmr.training
from imbalance_xfmr.sampling.torch_sampler import (
    ClassBalancedBatchSampler,
    ResamplingSampler,
)
from imbalance_xfmr.training import (
    LAST_CHECKPOINT,
    AtomicCheckpointIO,
    BatchSeed,
    CheckpointSettings,
    LastCheckpoint,
    NoProfiler,
    checkpoint_callbacks,
    readable_checkpoint,
)


def fake_checkpoint(step: int) -> dict:
    return {"state_dict": {"w": torch.full((64,), float(step))}, "global_step": step, "epoch": step}


def write(path, step: int) -> None:
    AtomicCheckpointIO().save_checkpoint(fake_checkpoint(step), path)


# ----------------------------------------------------------------------------------------------------------
# AtomicCheckpointIO


def test_atomic_checkpoint_io_round_trips_and_creates_the_folder(tmp_path) -> None:
    io = AtomicCheckpointIO()
    path = tmp_path / "new" / "folder" / "last.ckpt"
    io.save_checkpoint(fake_checkpoint(7), path)
    loaded = io.load_checkpoint(path, weights_only=True)
    assert loaded["global_step"] == 7 and torch.equal(loaded["state_dict"]["w"], torch.full((64,), 7.0))
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]  # no temporary file left behind
    with pytest.raises(TypeError, match="storage_options"):
        io.save_checkpoint(fake_checkpoint(1), path, storage_options={"x": 1})


def test_atomic_checkpoint_write_leaves_no_partial_file_when_torch_save_raises(tmp_path, monkeypatch) -> None:
    path = tmp_path / "last.ckpt"
    write(path, 1)
    before = path.read_bytes()
    real_save = torch.save

    def save_half_then_fail(obj, handle, *args, **kwargs):
        real_save(obj, handle, *args, **kwargs)
        handle.truncate(handle.tell() // 2)  # what a kill or a full disk leaves: part of a zip
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(imbalance_xfmr.training.torch, "save", save_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        AtomicCheckpointIO().save_checkpoint(fake_checkpoint(2), path)
    with pytest.raises(OSError, match="No space left"):
        AtomicCheckpointIO().save_checkpoint(fake_checkpoint(2), tmp_path / "best-0-2.ckpt")
    monkeypatch.undo()
    assert path.read_bytes() == before  # the old checkpoint, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]  # no partial or temporary file
    assert torch.load(path, weights_only=True)["global_step"] == 1


# ----------------------------------------------------------------------------------------------------------
# BatchSeed


def test_batch_seed_reseeds_torch_from_seed_epoch_and_batch_index() -> None:
    class FakeTrainer:
        current_epoch = 3

    BatchSeed(42).on_train_batch_start(FakeTrainer(), None, None, 5)
    drawn = torch.rand(4)
    # The formula of competition/train.py's BatchSeed, which the pipeline's results depend on: kept as it was.
    torch.manual_seed(int(np.random.SeedSequence([42, 3, 5]).generate_state(1)[0]))
    assert torch.equal(drawn, torch.rand(4))
    BatchSeed(42).on_train_batch_start(FakeTrainer(), None, None, 6)
    assert not torch.equal(drawn, torch.rand(4))


def test_batch_seed_computes_each_epochs_seeds_once_with_the_same_formula() -> None:
    class Trainer:
        current_epoch = 0
        num_training_batches = 6

    trainer, callback = Trainer(), BatchSeed(7)
    formula = [[int(np.random.SeedSequence([7, epoch, b]).generate_state(1)[0]) for b in range(9)]
               for epoch in range(3)]
    assert [imbalance_xfmr.training.batch_seed(7, 2, b) for b in range(9)] == formula[2]
    # In order, resumed mid-epoch, past the announced length (limit_train_batches, an inexact __len__), back again.
    for epoch, batches in ((0, range(6)), (1, [4, 5, 0, 1, 7, 8, 2]), (2, range(9)), (0, [3])):
        trainer.current_epoch = epoch
        for b in batches:
            callback.on_train_batch_start(trainer, None, None, b)
            state = torch.get_rng_state()
            torch.manual_seed(formula[epoch][b])
            assert torch.equal(state, torch.get_rng_state()), (epoch, b)
            assert torch.initial_seed() == formula[epoch][b]  # what TextDataModule reads its sampler seed from
    trainer.num_training_batches = float("inf")  # an iterable without a length: seed by seed
    trainer.current_epoch = 1
    callback.on_train_batch_start(trainer, None, None, 3)
    assert torch.initial_seed() == formula[1][3]


def test_batch_seed_gives_the_training_samplers_the_current_epoch() -> None:
    """Lightning gives them its count of processed epochs, one ahead of current_epoch in a fit resumed under
    max_steps: the rows of an epoch must follow the epoch BatchSeed seeds by."""
    labels = np.array([0] * 6 + [1] * 4)
    plain = DataLoader(range(10), sampler=ResamplingSampler(labels, seed=1))
    balanced = DataLoader(range(10), batch_sampler=ClassBalancedBatchSampler(ResamplingSampler(labels, seed=1), 4))

    class Trainer:
        current_epoch = 3
        train_dataloader = (plain, balanced)

    for loader in (plain, balanced):
        getattr(loader.batch_sampler, "sampler", loader.sampler).set_epoch(4)  # what Lightning set
    BatchSeed(0).on_train_epoch_start(Trainer(), None)
    assert plain.sampler.epoch == 3 and balanced.batch_sampler.sampler.epoch == 3


def test_seed_torch_leaves_the_generators_as_torch_manual_seed_does() -> None:
    for seed in (0, 1, 2**32 - 1, 123456789):
        imbalance_xfmr.training.seed_torch(seed)
        ours = (torch.get_rng_state(), torch.initial_seed(), torch.rand(3))
        torch.manual_seed(seed)
        theirs = (torch.get_rng_state(), torch.initial_seed(), torch.rand(3))
        assert torch.equal(ours[0], theirs[0]) and ours[1] == theirs[1] and torch.equal(ours[2], theirs[2])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_seed_torch_seeds_cuda_as_torch_manual_seed_does() -> None:
    torch.cuda.init()
    imbalance_xfmr.training.seed_torch(11)
    ours = torch.rand(5, device="cuda")
    torch.manual_seed(11)
    assert torch.equal(ours, torch.rand(5, device="cuda"))


# ----------------------------------------------------------------------------------------------------------
# Checkpoint callbacks


def test_checkpoint_callbacks_best_by_the_monitor_then_last_every_epoch() -> None:
    best, last = checkpoint_callbacks(CheckpointSettings(dirpath="ck", monitor="val/pr_auc"))
    assert best.monitor == "val/pr_auc" and best.mode == "max" and best.save_top_k == 1
    assert best.filename == "best-{epoch}-{step}" and not best.auto_insert_metric_name and best.dirpath.endswith("ck")
    assert last.monitor is None and last.filename == "last" and not last.save_last
    assert not last._enable_version_counter and last.dirpath == best.dirpath
    assert checkpoint_callbacks(CheckpointSettings(monitor="val/loss"))[0].mode == "min"
    assert checkpoint_callbacks(CheckpointSettings(monitor="val/loss", mode="max"))[0].mode == "max"
    (only_last,) = checkpoint_callbacks(CheckpointSettings(monitor=None))
    assert isinstance(only_last, ModelCheckpoint) and only_last.filename == "last" and only_last.dirpath is None


class _Linear(pl.LightningModule):
    """The smallest module a Trainer fits: a linear layer on random inputs, 4 batches an epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(3, 1)

    def training_step(self, batch, batch_idx):
        return self.layer(batch[0]).square().mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


class _RecordingIO(AtomicCheckpointIO):
    """Records the epoch of every checkpoint it writes."""

    def __init__(self) -> None:
        super().__init__()
        self.epochs: list[int] = []

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        self.epochs.append(checkpoint["epoch"])
        super().save_checkpoint(checkpoint, path, storage_options)


def _fit_and_record(tmp_path, every_seconds: float, callbacks=(), **trainer) -> list[int]:
    """The epochs whose end wrote last.ckpt in a fit of :class:`_Linear` (trainer settings ``trainer``)."""
    io = _RecordingIO()
    fit = pl.Trainer(callbacks=[*callbacks, LastCheckpoint(tmp_path, every_seconds)], plugins=[io], logger=False,
                     enable_progress_bar=False, enable_model_summary=False, **trainer)
    fit.fit(_Linear(), DataLoader(TensorDataset(torch.randn(16, 3)), batch_size=4))
    assert torch.load(tmp_path / LAST_CHECKPOINT, weights_only=True)["global_step"] == fit.global_step
    return io.epochs


class _EpochsOf20Seconds(pl.Callback):
    """Moves the fake clock 20 seconds forward at the start of every epoch."""

    def __init__(self, now: list[float]) -> None:
        self.now = now

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.now[0] += 20.0


class _StopAfterEpoch1(pl.Callback):
    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if trainer.current_epoch == 1:
            trainer.should_stop = True


def test_last_checkpoint_is_written_once_the_interval_has_passed_and_after_the_last_epoch(tmp_path,
                                                                                            monkeypatch) -> None:
    now = [0.0]
    monkeypatch.setattr(imbalance_xfmr.training, "_clock", lambda: now[0])
    # Epochs end at 20, 40, 60, 80, 100 s: due at 40 (40 s after the start), 80 (40 s after that), and the last.
    assert _fit_and_record(tmp_path / "a", 30, [_EpochsOf20Seconds(now)], max_epochs=5) == [1, 3, 4]
    assert _fit_and_record(tmp_path / "b", 0, [_EpochsOf20Seconds(now)], max_epochs=5) == [0, 1, 2, 3, 4]
    assert _fit_and_record(tmp_path / "c", 1e9, [_EpochsOf20Seconds(now)], max_epochs=5) == [4]


def test_last_checkpoint_is_written_when_max_steps_or_a_stop_ends_the_fit(tmp_path) -> None:
    assert _fit_and_record(tmp_path / "steps", 1e9, max_epochs=-1, max_steps=10) == [2]  # mid-epoch 2, 4 steps an epoch
    assert _fit_and_record(tmp_path / "stop", 1e9, [_StopAfterEpoch1()], max_epochs=5) == [1]


def test_last_checkpoint_keeps_lightnings_state_key_and_rejects_a_negative_interval(tmp_path) -> None:
    last = LastCheckpoint(tmp_path, 30)
    assert last.state_key == ModelCheckpoint.state_key.fget(last)
    with pytest.raises(ValueError, match=r"^-1 is not a number of seconds >= 0; write 0 to rewrite last\.ckpt after"):
        LastCheckpoint(tmp_path, -1)


def test_no_profiler_profiles_nothing_at_no_cost() -> None:
    profiler = NoProfiler()
    with profiler.profile("[Callback]x.on_train_batch_end") as entered:
        assert entered is None
    assert profiler.profile("a") is profiler.profile("b") and profiler.summary() == ""


# ----------------------------------------------------------------------------------------------------------
# readable_checkpoint


def test_a_readable_last_checkpoint_is_used_without_a_warning(tmp_path) -> None:
    write(tmp_path / LAST_CHECKPOINT, 8)
    write(tmp_path / "best-3-9.ckpt", 9)  # a higher step elsewhere does not matter while last.ckpt reads
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert readable_checkpoint(tmp_path) == tmp_path / LAST_CHECKPOINT


def test_no_checkpoint_at_all_means_a_fresh_start_without_a_warning(tmp_path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert readable_checkpoint(tmp_path) is None
        assert readable_checkpoint(tmp_path / "not" / "there") is None


@pytest.mark.parametrize(("damage", "reason"), [("empty", "empty file"),
                                                ("truncated", "truncated: not a readable checkpoint")])
def test_a_damaged_last_checkpoint_falls_back_to_the_newest_readable_one(tmp_path, damage, reason) -> None:
    write(tmp_path / "best-0-3.ckpt", 3)
    write(tmp_path / "older.ckpt", 2)
    write(tmp_path / LAST_CHECKPOINT, 6)
    data = (tmp_path / LAST_CHECKPOINT).read_bytes()
    (tmp_path / LAST_CHECKPOINT).write_bytes(b"" if damage == "empty" else data[: len(data) // 2])
    with pytest.warns(UserWarning) as record:
        chosen = readable_checkpoint(tmp_path)
    assert chosen == tmp_path / "best-0-3.ckpt"  # the highest global_step among the readable ones
    (message,) = [str(w.message) for w in record]
    assert message == f"{tmp_path / LAST_CHECKPOINT}: {reason}; resuming from best-0-3.ckpt (global_step 3) instead."


@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_a_damaged_last_checkpoint_and_no_other_means_training_from_scratch(tmp_path, damage) -> None:
    write(tmp_path / LAST_CHECKPOINT, 6)
    data = (tmp_path / LAST_CHECKPOINT).read_bytes()
    (tmp_path / LAST_CHECKPOINT).write_bytes(b"" if damage == "empty" else data[:100])
    (tmp_path / "best-0-3.ckpt").write_bytes(b"not a zip at all")
    with pytest.warns(UserWarning) as record:
        assert readable_checkpoint(tmp_path) is None
    (message,) = [str(w.message) for w in record]
    assert "\n" not in message and message.startswith(str(tmp_path / LAST_CHECKPOINT))
    assert message.endswith("training from scratch.") and "also unreadable: best-0-3.ckpt" in message


def test_a_missing_last_checkpoint_beside_a_best_one_falls_back_with_a_warning(tmp_path) -> None:
    write(tmp_path / "best-1-4.ckpt", 4)
    with pytest.warns(UserWarning, match="last.ckpt: missing; resuming from best-1-4.ckpt"):
        assert readable_checkpoint(tmp_path) == tmp_path / "best-1-4.ckpt"
