"""TextClassifier: training through a real Trainer, epoch-level metrics against scikit-learn, the learning-rate
schedule, checkpoints (through the checkpoint callbacks of imbalance_xfmr.training), prediction, and over-sampling
in the representation space (latent SMOTE)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, balanced_accuracy_score, f1_score, recall_score
from torch.utils.data import DataLoader, Dataset

from imbalance_xfmr.model.classifier import TextClassifier, validation_metric_names, warmup_then_decay
from imbalance_xfmr.model.latent_smote import interpolate_within_class, minority_classes
from imbalance_xfmr.training import CheckpointSettings, checkpoint_callbacks

VOCAB = 30
TINY = dict(d_model=16, n_heads=2, n_layers=1, d_ff=32, max_length=16, dropout=0.0)


class KeywordDataset(Dataset):
    """Synthetic texts: class = which of the marker tokens 3..3+C-1 the sequence contains; ids 10.. are noise.

    Items are single-row batches in the project's format; ``collate`` pads them like the DataModule does.
    """

    def __init__(self, n: int, num_classes: int, seed: int, labelled: bool = True) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, num_classes, (n,), generator=gen)
        self.lengths = torch.randint(3, 12, (n,), generator=gen)
        self.ids = torch.randint(10, VOCAB, (n, 12), generator=gen)
        self.ids[:, 0] = 1  # [CLS]
        marker_at = 1 + (torch.rand(n, generator=gen) * (self.lengths - 1).float()).long()
        self.ids[torch.arange(n), marker_at] = 3 + self.labels
        self.labelled = labelled

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        n = int(self.lengths[i])
        item = {"input_ids": self.ids[i, :n]}
        item["labels" if self.labelled else "index"] = self.labels[i] if self.labelled else torch.tensor(i)
        return item


def collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    lengths = torch.tensor([len(item["input_ids"]) for item in items])
    mask = torch.arange(int(lengths.max()))[None, :] < lengths[:, None]
    ids = torch.zeros(mask.shape, dtype=torch.long)
    ids[mask] = torch.cat([item["input_ids"] for item in items])
    batch = {"input_ids": ids, "attention_mask": mask}
    key = "labels" if "labels" in items[0] else "index"
    batch[key] = torch.stack([item[key] for item in items])
    return batch


def loader(dataset: Dataset, batch_size: int = 16, shuffle: bool = False) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=collate)


def trainer(tmp_path, **kwargs) -> pl.Trainer:
    params = dict(
        accelerator="cpu",
        devices=1,
        default_root_dir=tmp_path,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
        max_epochs=1,
    )
    params.update(kwargs)
    return pl.Trainer(**params)


def counts_of(dataset: KeywordDataset, num_classes: int) -> list[int]:
    return torch.bincount(dataset.labels, minlength=num_classes).tolist()


# ----------------------------------------------------------------------------------------------------------
# Training, metrics, prediction


@pytest.mark.parametrize(("num_classes", "loss"), [(2, "weighted_ce"), (3, "focal"), (3, "logit_adjusted")])
def test_fit_learns_and_logs_epoch_metrics_equal_to_scikit_learn(tmp_path, num_classes: int, loss: str) -> None:
    pl.seed_everything(0, verbose=False)
    train, val = KeywordDataset(96, num_classes, seed=1), KeywordDataset(40, num_classes, seed=2)
    counts = counts_of(train, num_classes)
    model = TextClassifier(VOCAB, num_classes, counts, loss=loss, lr=3e-3, warmup_fraction=0.1, **TINY)
    fit_trainer = trainer(tmp_path, max_epochs=12)
    fit_trainer.fit(model, loader(train, shuffle=True), loader(val, batch_size=7))

    unlabelled = KeywordDataset(40, num_classes, seed=2, labelled=False)  # the validation rows without labels
    probabilities = torch.cat(fit_trainer.predict(model, loader(unlabelled, batch_size=7)))
    assert probabilities.shape == (40, num_classes) and probabilities.dtype == torch.float32
    torch.testing.assert_close(probabilities.sum(1), torch.ones(40))
    y_true, y_pred = val.labels.numpy(), probabilities.argmax(1).numpy()
    assert f1_score(y_true, y_pred, average="macro") > 0.9  # the keyword task is learnable

    # Validation metrics are computed on the whole epoch (7-row batches), not averaged per batch.
    metrics = fit_trainer.validate(model, loader(val, batch_size=7), verbose=False)[0]
    assert metrics["val/f1_macro"] == pytest.approx(f1_score(y_true, y_pred, average="macro"), abs=1e-6)
    assert metrics["val/balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y_true, y_pred), abs=1e-6)
    for c, recall in enumerate(recall_score(y_true, y_pred, average=None, labels=range(num_classes))):
        assert metrics[f"val/recall_{c}"] == pytest.approx(recall, abs=1e-6)
    if num_classes == 2:
        expected = average_precision_score(y_true, probabilities[:, 1].numpy())
        assert metrics["val/pr_auc"] == pytest.approx(expected, abs=1e-6)
        assert "val/roc_auc" in metrics
    else:
        assert "val/pr_auc" not in metrics
    assert set(metrics) == set(validation_metric_names(num_classes))  # what checkpoints.monitor may name

    test_metrics = fit_trainer.test(model, loader(val, batch_size=5), verbose=False)[0]
    assert test_metrics["test/f1_macro"] == pytest.approx(metrics["val/f1_macro"], abs=1e-6)


def test_best_checkpoint_follows_the_monitor_and_reloads(tmp_path) -> None:
    pl.seed_everything(0, verbose=False)
    train, val = KeywordDataset(64, 2, seed=1), KeywordDataset(24, 2, seed=2)
    model = TextClassifier(VOCAB, 2, counts_of(train, 2), lr=3e-3, **TINY)
    callbacks = checkpoint_callbacks(CheckpointSettings(monitor="val/loss"))
    fit_trainer = trainer(tmp_path, max_epochs=3, callbacks=callbacks)
    fit_trainer.fit(model, loader(train), loader(val))

    best, last = fit_trainer.checkpoint_callbacks
    assert best is fit_trainer.checkpoint_callback  # what Lightning's ckpt_path="best" reads
    assert best.monitor == "val/loss" and best.mode == "min" and best.best_model_path.endswith(".ckpt")
    assert last.monitor is None and last.best_model_path == str(tmp_path / "checkpoints" / "last.ckpt")
    restored = TextClassifier.load_from_checkpoint(tmp_path / "checkpoints" / "last.ckpt")
    assert restored.hparams.class_counts == counts_of(train, 2) and restored.hparams.loss == "ce"
    batch = collate([val[i] for i in range(8)])
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(restored.predict_step(batch, 0), model.predict_step(batch, 0))


def test_last_checkpoint_holds_the_final_epoch_even_when_the_monitored_metric_got_worse(tmp_path) -> None:
    pl.seed_everything(0, verbose=False)
    train, val = KeywordDataset(64, 2, seed=1), KeywordDataset(24, 2, seed=2)
    # "max" of the loss: as training lowers it, every epoch after the first is worse by the monitor.
    model = TextClassifier(VOCAB, 2, counts_of(train, 2), lr=3e-3, **TINY)
    epochs = 3
    settings = CheckpointSettings(monitor="val/loss", mode="max")
    fit_trainer = trainer(tmp_path, max_epochs=epochs, callbacks=checkpoint_callbacks(settings))
    fit_trainer.fit(model, loader(train), loader(val))

    best = fit_trainer.checkpoint_callback
    assert fit_trainer.callback_metrics["val/loss"] < best.best_model_score  # the last epoch was not the best
    assert torch.load(best.best_model_path, weights_only=False)["epoch"] < epochs - 1
    saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert saved["epoch"] == epochs - 1 and saved["global_step"] == fit_trainer.global_step
    final = model.state_dict()
    assert saved["state_dict"].keys() == final.keys()
    for name, value in final.items():
        torch.testing.assert_close(saved["state_dict"][name], value, rtol=0, atol=0)


def test_empty_validation_epoch_logs_nothing_and_does_not_crash(tmp_path) -> None:
    model = TextClassifier(VOCAB, 2, **TINY)
    fit_trainer = trainer(tmp_path, max_epochs=1, limit_val_batches=0)
    fit_trainer.fit(model, loader(KeywordDataset(16, 2, seed=1)), loader(KeywordDataset(8, 2, seed=2)))
    assert "val/f1_macro" not in fit_trainer.callback_metrics


# ----------------------------------------------------------------------------------------------------------
# Optimiser and schedule


@given(
    warmup=st.integers(0, 20),
    extra=st.integers(1, 200),
    decay=st.sampled_from(["cosine", "linear"]),
    min_lr_ratio=st.sampled_from([0.0, 0.1, 0.5]),
)
def test_schedule_warms_up_linearly_then_decays_to_the_floor(
    warmup: int, extra: int, decay: str, min_lr_ratio: float
) -> None:
    total = warmup + extra
    schedule = dict(warmup_steps=warmup, total_steps=total, decay=decay, min_lr_ratio=min_lr_ratio)
    lrs = [warmup_then_decay(s, **schedule) for s in range(total + 1)]
    np.testing.assert_allclose(lrs[:warmup], (np.arange(warmup) + 1) / warmup)
    assert lrs[warmup] == pytest.approx(1.0)
    assert lrs[total] == pytest.approx(min_lr_ratio)
    assert all(a >= b - 1e-12 for a, b in zip(lrs[warmup:], lrs[warmup + 1 :]))  # non-increasing after warmup
    middle = warmup + extra / 2
    if extra % 2 == 0:
        assert lrs[int(middle)] == pytest.approx(min_lr_ratio + (1 - min_lr_ratio) / 2)
    if decay == "cosine" and extra >= 4:
        progress = 1 / extra
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        assert lrs[warmup + 1] == pytest.approx(min_lr_ratio + (1 - min_lr_ratio) * cosine)


class RecordLearningRate(pl.Callback):
    def __init__(self) -> None:
        self.lrs: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])


def test_trainer_steps_the_schedule_every_optimizer_step(tmp_path) -> None:
    schedule = dict(warmup_fraction=0.25, decay="linear", min_lr_ratio=0.1)
    model = TextClassifier(VOCAB, 2, lr=1e-2, **schedule, **TINY)
    recorder = RecordLearningRate()
    fit_trainer = trainer(tmp_path, max_epochs=2, callbacks=[recorder], limit_val_batches=0)
    fit_trainer.fit(model, loader(KeywordDataset(64, 2, seed=1), batch_size=8))  # 8 steps an epoch, 16 in all
    multiplier = dict(warmup_steps=4, total_steps=16, decay="linear", min_lr_ratio=0.1)
    expected = [1e-2 * warmup_then_decay(s, **multiplier) for s in range(16)]
    np.testing.assert_allclose(recorder.lrs, expected, rtol=1e-6)


def test_weight_decay_skips_biases_and_layer_norms(tmp_path) -> None:
    model = TextClassifier(VOCAB, 2, weight_decay=0.05, **TINY)
    fit_trainer = trainer(tmp_path, max_steps=1, limit_val_batches=0)
    fit_trainer.fit(model, loader(KeywordDataset(8, 2, seed=1)))
    decayed, not_decayed = fit_trainer.optimizers[0].param_groups
    assert decayed["weight_decay"] == 0.05 and not_decayed["weight_decay"] == 0.0
    names = {id(p): name for name, p in model.named_parameters()}
    matrices = {name for name, p in model.named_parameters() if p.ndim >= 2}
    assert {names[id(p)] for p in decayed["params"]} == matrices
    assert {names[id(p)] for p in not_decayed["params"]} == set(names.values()) - matrices
    assert any("norm" in names[id(p)] for p in not_decayed["params"])
    assert any("token_embedding" in names[id(p)] for p in decayed["params"])


def test_unbounded_training_is_rejected_before_it_starts(tmp_path) -> None:
    model = TextClassifier(VOCAB, 2, **TINY)
    with pytest.raises(ValueError, match="max_epochs or trainer.max_steps"):
        trainer(tmp_path, max_epochs=-1).fit(model, loader(KeywordDataset(16, 2, seed=1)))


# ----------------------------------------------------------------------------------------------------------
# Construction


def test_hyperparameters_are_saved_for_reloading() -> None:
    model = TextClassifier(VOCAB, 3, [5, 3, 1], loss="weighted_ce", focal_alpha=None, **TINY)
    assert model.hparams.vocab_size == VOCAB and model.hparams.class_counts == [5, 3, 1]
    assert model.hparams.d_model == 16 and model.hparams.loss == "weighted_ce"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(num_classes=3, class_counts=[1, 2]), "class_counts has 2 entries but num_classes is 3"),
        (dict(loss="weighted_ce"), "needs class_counts"),
        (dict(lr=0.0), "lr must be > 0"),
        (dict(weight_decay=-1.0), "weight_decay"),
        (dict(warmup_fraction=1.0), "warmup_fraction"),
        (dict(decay="step"), "decay must be"),
        (dict(min_lr_ratio=2.0), "min_lr_ratio"),
        (dict(d_model=10, n_heads=4), "divisible by n_heads"),
    ],
)
def test_bad_arguments_are_rejected_with_a_clear_error(kwargs: dict, message: str) -> None:
    params = dict(vocab_size=VOCAB, num_classes=2, **TINY)
    params.update(kwargs)
    with pytest.raises(ValueError, match=message):
        TextClassifier(**params)


# ----------------------------------------------------------------------------------------------------------
# Loss logging without a per-step self.log (or host sync), autocast, GPU


class StepLoggedClassifier(TextClassifier):
    """TextClassifier logging its losses as it did before: ``self.log`` in every training and evaluation step."""

    def training_step(self, batch, batch_idx):
        logits = self(batch["input_ids"], batch["attention_mask"])
        loss = self.criterion(logits, batch["labels"])
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(logits))
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx):
        pass

    def on_train_epoch_end(self):
        pass

    def _evaluation_step(self, batch, confusion, ranking):
        logits = self(batch["input_ids"], batch["attention_mask"])
        labels = batch["labels"]
        stage = "val" if confusion is self.val_confusion else "test"
        self.log(f"{stage}/loss", self.criterion(logits, labels), on_epoch=True, prog_bar=True,
                 batch_size=len(labels))
        confusion.update(logits.detach(), labels)
        if ranking is not None:
            ranking.update(torch.softmax(logits.detach().float(), dim=-1)[:, 1], labels)


def fit_with_csv_logs(tmp_path, model_class, name: str, **trainer_kwargs) -> tuple[pl.Trainer, bytes]:
    from pytorch_lightning.loggers import CSVLogger

    pl.seed_everything(3, verbose=False)
    train, val = KeywordDataset(90, 2, seed=1), KeywordDataset(33, 2, seed=2)  # 6 batches of 16 (the last 10)
    model = model_class(VOCAB, 2, counts_of(train, 2), loss="logit_adjusted", lr=3e-3, **{**TINY, "dropout": 0.1})
    logger = CSVLogger(tmp_path, name=name)
    params = dict(max_epochs=3, log_every_n_steps=4, logger=logger, enable_checkpointing=False)
    fit_trainer = trainer(tmp_path, **{**params, **trainer_kwargs})
    fit_trainer.fit(model, loader(train, shuffle=True), loader(val, batch_size=7))
    fit_trainer.test(model, loader(val, batch_size=5), verbose=False)
    return fit_trainer, (Path(logger.log_dir) / "metrics.csv").read_bytes()


@pytest.mark.parametrize("log_every_n_steps", [4, 1, 50])
def test_losses_are_logged_as_a_self_log_every_step_would_log_them(tmp_path, log_every_n_steps: int) -> None:
    """The same metrics.csv, byte for byte (rows, steps, values), and the same callback metrics as the per-step
    ``self.log(..., on_step=True, on_epoch=True)`` it replaces."""
    ours, ours_csv = fit_with_csv_logs(tmp_path, TextClassifier, "ours", log_every_n_steps=log_every_n_steps)
    before, before_csv = fit_with_csv_logs(tmp_path, StepLoggedClassifier, "before",
                                           log_every_n_steps=log_every_n_steps)
    assert ours_csv == before_csv
    header = ours_csv.decode().splitlines()[0].split(",")
    assert {"train/loss_epoch", "val/loss", "test/loss"} <= set(header)
    assert ("train/loss_step" in header) == (log_every_n_steps <= 18)  # 18 steps in all
    assert set(ours.callback_metrics) == set(before.callback_metrics)
    for name, value in before.callback_metrics.items():
        assert torch.equal(ours.callback_metrics[name].cpu(), value.cpu()), name
    assert set(ours.progress_bar_metrics) == set(before.progress_bar_metrics)


def test_training_steps_do_not_call_self_log(tmp_path, monkeypatch) -> None:
    """self.log runs on the steps the logger writes only (one host sync each), not in training or validation
    steps."""
    calls = []
    original = pl.LightningModule.log

    def log(self, name, value, *args, **kwargs):
        calls.append((self._current_fx_name, name))
        return original(self, name, value, *args, **kwargs)

    monkeypatch.setattr(pl.LightningModule, "log", log)
    fit_with_csv_logs(tmp_path, TextClassifier, "ours", log_every_n_steps=4)  # 3 epochs of 6 steps
    hooks = {hook for hook, _ in calls}
    assert not hooks & {"training_step", "validation_step", "test_step"}
    step_logs = [name for hook, name in calls if hook == "on_train_batch_end"]
    assert step_logs == ["train/loss_step"] * 6  # steps 3, 7, 11, 15 of 0..17 and each epoch's last: 5, 11, 17
    assert [name for hook, name in calls if hook == "on_train_epoch_end"] == ["train/loss_epoch", "train/loss"] * 3


LOSS_SETTINGS = [dict(loss="ce", label_smoothing=0.1), dict(loss="weighted_ce"), dict(loss="focal"),
                 dict(loss="focal", focal_alpha="balanced"), dict(loss="logit_adjusted")]


@pytest.mark.parametrize("settings", LOSS_SETTINGS + [dict(loss="ce", pooling="mean"), dict(loss="ce", pooling="max")])
def test_bf16_autocast_trains_and_predicts_on_cpu(tmp_path, settings: dict) -> None:
    """trainer.precision='bf16-mixed' (torch.autocast, here on CPU): every loss and pooling stays finite, losses
    are float32, predictions float32 probabilities."""
    pl.seed_everything(0, verbose=False)
    train, val = KeywordDataset(64, 3, seed=1), KeywordDataset(21, 3, seed=2)
    model = TextClassifier(VOCAB, 3, counts_of(train, 3), lr=3e-3, **{**TINY, "dropout": 0.1}, **settings)
    fit_trainer = trainer(tmp_path, max_epochs=2, precision="bf16-mixed")
    fit_trainer.fit(model, loader(train, shuffle=True), loader(val, batch_size=7))
    for name in ("train/loss_epoch", "val/loss", "val/f1_macro"):
        assert torch.isfinite(fit_trainer.callback_metrics[name]), name
    batch = collate([val[i] for i in range(7)])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(batch["input_ids"], batch["attention_mask"])
        loss = model.criterion(logits, batch["labels"])
    assert logits.dtype == torch.bfloat16 and loss.dtype == torch.float32 and torch.isfinite(loss)
    unlabelled = KeywordDataset(21, 3, seed=2, labelled=False)
    probabilities = torch.cat(fit_trainer.predict(model, loader(unlabelled, batch_size=7)))
    assert probabilities.dtype == torch.float32 and torch.isfinite(probabilities).all()
    torch.testing.assert_close(probabilities.sum(1), torch.ones(21))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["bf16-mixed", "16-mixed", "32-true"])
def test_fit_one_epoch_on_cuda(tmp_path, precision: str) -> None:
    pl.seed_everything(0, verbose=False)
    train, val = KeywordDataset(96, 2, seed=1), KeywordDataset(40, 2, seed=2)
    model = TextClassifier(VOCAB, 2, counts_of(train, 2), loss="logit_adjusted", lr=3e-3, **TINY)
    fit_trainer = trainer(tmp_path, accelerator="gpu", devices=1, precision=precision, max_epochs=1)
    fit_trainer.fit(model, loader(train, shuffle=True), loader(val, batch_size=7))
    assert next(model.parameters()).device.type == "cuda"
    for name in ("train/loss_epoch", "val/loss", "val/f1_macro"):
        assert torch.isfinite(fit_trainer.callback_metrics[name].cpu()), name
    unlabelled = KeywordDataset(40, 2, seed=2, labelled=False)
    probabilities = torch.cat([p.cpu() for p in fit_trainer.predict(model, loader(unlabelled, batch_size=7))])
    assert probabilities.dtype == torch.float32
    torch.testing.assert_close(probabilities.sum(1), torch.ones(40))


# ----------------------------------------------------------------------------------------------------------
# Over-sampling in the representation space (latent_oversampling="smote")


def test_latent_smote_synthesises_on_segments_between_same_class_rows_of_minority_classes_only() -> None:
    hidden = torch.randn(10, 6, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 0, 1, 2, 0, 1, 0, 1, 0])  # class 2's lone row has no partner in the batch
    synthesised = minority_classes([50, 20, 5])
    assert synthesised.tolist() == [False, True, True]
    assert not minority_classes([7, 7, 7]).any() and minority_classes([9, 9, 2]).tolist() == [False, False, True]
    z, y = interpolate_within_class(hidden, labels, synthesised, torch.Generator().manual_seed(1))
    assert z.shape == (4, 6) and y.tolist() == [1, 1, 1, 1]
    for origin, point in zip([1, 3, 6, 8], z):  # one per class-1 row, in batch order
        u = [((point - hidden[origin]) / (hidden[j] - hidden[origin])) for j in (1, 3, 6, 8) if j != origin]
        on_segment = [bool(torch.allclose(t, t[0].expand_as(t), atol=1e-5)) and 0 <= float(t[0]) < 1 for t in u]
        assert sum(on_segment) == 1, origin  # z = h_i + u (h_j - h_i), u in [0, 1), j another row of the class
    again = interpolate_within_class(hidden, labels, synthesised, torch.Generator().manual_seed(1))
    assert torch.equal(again[0], z)
    none, none_labels = interpolate_within_class(hidden, labels, minority_classes([5, 5, 5]))
    assert none.shape == (0, 6) and none_labels.shape == (0,)


def test_latent_smote_partners_are_drawn_uniformly_among_the_other_rows_of_the_class() -> None:
    hidden = torch.eye(4)  # z = (1 - u) e_0 + u e_j: the partner j is where z's mass went
    labels = torch.tensor([1, 1, 1, 1])
    generator = torch.Generator().manual_seed(0)
    partners = torch.stack([interpolate_within_class(hidden, labels, torch.tensor([False, True]), generator)[0][0]
                            for _ in range(600)])[:, 1:].argmax(dim=1)
    counts = torch.bincount(partners, minlength=3)
    assert counts.sum() == 600 and (counts > 150).all()  # each of rows 1, 2, 3 about 200 times, never row 0 itself


def smote_pair(**kwargs) -> tuple[TextClassifier, TextClassifier]:
    """Two classifiers with the same initial weights: latent_oversampling "none" and "smote"."""
    models = []
    for mode in ("none", "smote"):
        torch.manual_seed(0)
        models.append(TextClassifier(VOCAB, 3, [40, 12, 6], latent_oversampling=mode, **TINY, **kwargs))
    return models[0], models[1]


def test_latent_smote_adds_the_synthetic_rows_loss_and_its_gradient_reaches_the_encoder() -> None:
    batch = collate([KeywordDataset(24, 3, seed=4)[i] for i in range(24)])
    plain, smote = smote_pair(latent_weight=0.5)
    loss_none = plain.training_step(batch, 0)
    assert torch.equal(loss_none, plain.criterion(plain(batch["input_ids"], batch["attention_mask"]),
                                                  batch["labels"]))
    torch.manual_seed(3)
    loss_smote = smote.training_step(batch, 0)
    torch.manual_seed(3)
    pooled = smote.model.pooled(batch["input_ids"], batch["attention_mask"])
    z, y = interpolate_within_class(pooled, batch["labels"], smote.latent_classes)
    assert len(y) > 0 and set(y.tolist()) <= {1, 2}
    expected = loss_none + 0.5 * smote.criterion(smote.model.logits(z), y)
    torch.testing.assert_close(loss_smote, expected)
    assert not torch.equal(loss_smote, loss_none)
    loss_none.backward()
    loss_smote.backward()
    embedding = smote.model.token_embedding.weight.grad
    assert embedding is not None and embedding.abs().sum() > 0
    assert not torch.allclose(embedding, plain.model.token_embedding.weight.grad)  # the synthetic rows' share

    majority_only = {key: value[batch["labels"] == 0] for key, value in batch.items()}  # no minority row: no z
    torch.testing.assert_close(smote.training_step(majority_only, 0), plain.training_step(majority_only, 0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"latent_oversampling": "mixup"}, "latent_oversampling must be one of"),
        ({"latent_oversampling": "smote", "latent_weight": -1.0}, "latent_weight must be a finite number >= 0"),
        ({"latent_oversampling": "smote", "class_counts": None}, "latent_oversampling='smote' needs class_counts"),
    ],
)
def test_latent_smote_arguments_are_checked(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TextClassifier(**{"vocab_size": VOCAB, "num_classes": 2, "class_counts": [9, 3], **TINY, **kwargs})


def test_a_tiny_fit_with_latent_smote_trains(tmp_path) -> None:
    pl.seed_everything(0, verbose=False)
    train, val = KeywordDataset(96, 3, seed=1), KeywordDataset(30, 3, seed=2)
    model = TextClassifier(VOCAB, 3, counts_of(train, 3), lr=3e-3, latent_oversampling="smote", **TINY)
    fit_trainer = trainer(tmp_path, max_epochs=2)
    fit_trainer.fit(model, loader(train, shuffle=True), loader(val, batch_size=10))
    for name in ("train/loss_epoch", "val/loss", "val/f1_macro"):
        assert torch.isfinite(fit_trainer.callback_metrics[name]), name
    assert model.latent_classes.tolist() == [c < max(counts_of(train, 3)) for c in counts_of(train, 3)]
