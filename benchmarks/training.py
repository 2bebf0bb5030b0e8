"""Steps per second of a fold model trained exactly as the competition pipeline trains it, against a bare PyTorch
loop doing the same arithmetic.

The fold loop: the embedded binary demo's fold model (``competition/configs/demo_binary.yaml`` on
``competition/demo/binary/train.csv``, folds made by the pipeline's ``make_folds``, fold 0 held out), built from
:func:`competition.fold_models.fit_args` by ``imbalance_xfmr.cli.make_cli(args, run=False)`` and fitted with
``trainer.fit`` as :mod:`competition.train` does: ``last.ckpt`` written atomically every epoch, ``BatchSeed``,
``deterministic=True``, the CSV logger, and no validation (``transformer.checkpoint: last``, the default: the
held-out fold is predicted after the fit; ``--validate-every-epoch``: the sanity check, a validation after every
epoch and the best epoch's checkpoint by ``val/f1_macro``, as with ``transformer.checkpoint: best``). The whole
``fit`` is timed: that is what the pipeline pays per fold model.

The bare loop: a model built by the same config (same class, same initial weights), the same DataModule's
``train_dataloader`` (its per-epoch sampler set to each epoch, as Lightning does), the model's own
``configure_optimizers`` (AdamW and the per-step warmup-cosine schedule), and per batch only forward, loss,
backward, gradient-norm clipping (``gradient_clip_val``), the AdamW step and the schedule step. No validation, no
checkpoints, no logging, no reseeding. Its time starts at ``datamodule.setup("fit")`` (encoding the splits), as the
fold loop's ``fit`` does.

Before timing, one bare loop *with* ``BatchSeed``'s reseeding is checked to end with exactly the fold model's
weights: both loops do the same arithmetic on the same batches.

The two loops alternate, ``--repeats`` times each, for each variant (progress bar on, and off), each pair in turn
starting with the other loop; the times are medians, and the ratio is the median of each pair's ratio (a fold loop
and the bare loop beside it), which a machine whose speed drifts during the run moves less than the ratio of the two
medians. The ratio of the two loops' fastest runs (the least disturbed: ``timeit``'s rule) is printed too. Timings
are process CPU time by default (steadier on a shared machine; ``--clock wall`` for wall time), with 1 torch thread.
The progress bar (stdout) writes to ``/dev/null`` in place of the terminal (its redraws are still made and written).
Run from the repository root:

    PYTHONPATH=. python benchmarks/training.py [--repeats 5] [--epochs 8] [--clock cpu|wall] [--extras] [--tiny]
        [--validate-every-epoch]

``--tiny`` swaps the demo's model for a 1-layer, 8-wide one over a 200-subword vocabulary (same data, same loop):
its arithmetic is then small and the gap between the loops is mostly their fixed cost per step.

``--extras`` also times the bare loop plus, by hand, the work the fold loop must do besides training (last.ckpt
written atomically after each epoch; with ``--validate-every-epoch`` also a sanity pass and a validation pass with
the streaming metrics after each epoch): its ratio to the fold loop is what Lightning's own machinery costs. The
last line is ``fold loop vs bare loop: X.XXx``: the median pair's bare time / fold-loop time with the progress bar
on (1.00x: parity).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from competition.config import TransformerConfig  # noqa: E402
from competition.data import load_competition  # noqa: E402
from competition.fold_models import build, fit_args, merge, user_config  # noqa: E402
from competition.folds import make_folds  # noqa: E402
from competition.layout import FOLD, ID, LABEL, TEXT  # noqa: E402
from imbalance_xfmr.data.io import write_csv  # noqa: E402
from imbalance_xfmr.training import AtomicCheckpointIO  # noqa: E402

CONFIG = ROOT / "competition" / "configs" / "demo_binary.yaml"
DATA = ROOT / "competition" / "demo" / "binary"
FOLD_K = 0
TINY = {"model": {"d_model": 8, "n_heads": 1, "n_layers": 1, "d_ff": 8}, "data": {"max_vocab_size": 200}}


def fold_tables(folder: Path) -> tuple[Path, Path]:
    """The fold models' train (with the fold column) and test tables, as the pipeline writes them."""
    competition = load_competition(DATA)
    fold = make_folds(competition.train_labels, n_splits=5, seed=0)
    train, test = folder / "fold_train.csv", folder / "fold_test.csv"
    write_csv(train, pd.DataFrame({ID: competition.train_ids, TEXT: competition.train_texts,
                                   LABEL: competition.train_labels, FOLD: fold}))
    write_csv(test, pd.DataFrame({ID: competition.test_ids, TEXT: competition.test_texts}))
    return train, test


class Bench:
    def __init__(self, folder: Path, epochs: int | None, seed: int, tiny: bool = False,
                 validate_every_epoch: bool = False) -> None:
        self.folder = folder
        self.validate_every_epoch = validate_every_epoch
        self.tables = fold_tables(folder)
        self.user = user_config(TransformerConfig(lightning_config=str(CONFIG)))
        if epochs is not None:
            self.user = merge(self.user, {"trainer": {"max_epochs": epochs}})
        if tiny:
            self.user = merge(self.user, TINY)
        self.seed = seed
        self.attempt = 0

    def args(self, progress_bar: bool) -> dict:
        """A fresh fold model's fit config, in a folder of its own."""
        self.attempt += 1
        folder = self.folder / f"model_{self.attempt}"
        args = fit_args(self.user, tables=self.tables, k=FOLD_K, seed=self.seed, folder=folder,
                        checkpoints=folder / "checkpoints", logs="logs",
                        checkpoint="best" if self.validate_every_epoch else "last")
        return merge(args, {"trainer": {"enable_progress_bar": progress_bar}})

    def fold_loop(self, progress_bar: bool) -> tuple[float, int, dict]:
        """(seconds, optimizer steps, final state_dict) of one fold model fitted as the pipeline fits it."""
        args = self.args(progress_bar)
        with quiet():
            cli = build(args)
            start = clock()
            cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=None, weights_only=True)
            seconds = clock() - start
        return seconds, int(cli.trainer.global_step), cli.model.state_dict()

    def bare_loop(self, reseed: bool = False, extras: bool = False) -> tuple[float, int, dict]:
        """(seconds, optimizer steps, final state_dict) of the bare loop over the same model, batches, optimizer and
        schedule; ``reseed``: also reseed torch before every batch as ``BatchSeed`` does (for the equality check);
        ``extras``: also the work of the fold loop's that a bare loop skips, done by hand: last.ckpt (weights,
        optimizer, schedule) written atomically after each epoch, and where the fold loop validates
        (``--validate-every-epoch``) the 2-batch sanity pass and a validation pass (forward, loss, the streaming
        metrics, computed) after each epoch."""
        args = self.args(progress_bar=False)
        with quiet():
            cli = build(args)  # seeds and builds the model exactly as for the fold loop
        model, data = cli.model, cli.datamodule
        max_epochs = int(args["trainer"]["max_epochs"])
        clip = float(args["trainer"]["gradient_clip_val"])
        start = clock()  # the data preparation is timed too, as fit's is: encoding the splits
        data.setup("fit")
        loader = data.train_dataloader()
        model._trainer = SimpleNamespace(estimated_stepping_batches=max_epochs * len(loader))
        optimizers = model.configure_optimizers()
        model._trainer = None
        optimizer, scheduler = optimizers["optimizer"], optimizers["lr_scheduler"]["scheduler"]
        params = [p for group in optimizer.param_groups for p in group["params"]]  # Lightning clips these
        folder = Path(args["checkpoints"]["dirpath"])
        if extras and self.validate_every_epoch:
            validate(model, data.val_dataloader(), max_batches=2)
        model.train()
        steps = 0
        for epoch in range(max_epochs):
            loader.sampler.set_epoch(epoch)
            for batch_idx, batch in enumerate(loader):
                if reseed:
                    state = np.random.SeedSequence([self.seed, epoch, batch_idx]).generate_state(1)
                    torch.manual_seed(int(state[0]))
                logits = model(batch["input_ids"], batch["attention_mask"])
                loss = model.criterion(logits, batch["labels"])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, clip)
                optimizer.step()
                scheduler.step()
                steps += 1
            if extras:
                if self.validate_every_epoch:
                    validate(model, data.val_dataloader())
                AtomicCheckpointIO().save_checkpoint({"state_dict": model.state_dict(),
                                                      "optimizer_states": [optimizer.state_dict()],
                                                      "lr_schedulers": [scheduler.state_dict()]},
                                                     folder / "last.ckpt")
        seconds = clock() - start
        return seconds, steps, model.state_dict()


def validate(model, loader, max_batches: int | None = None) -> None:
    """One validation pass by hand: forward and loss in eval mode under inference_mode, the streaming metrics."""
    model.eval()
    with torch.inference_mode():
        for i, batch in enumerate(loader):
            if max_batches is not None and i == max_batches:
                break
            logits = model(batch["input_ids"], batch["attention_mask"])
            model.criterion(logits, batch["labels"])
            model.val_confusion.update(logits, batch["labels"])
            model.val_ranking.update(torch.softmax(logits.float(), dim=-1)[:, 1], batch["labels"])
    model.val_confusion.compute()
    model.val_ranking.compute()
    model.val_confusion.reset()
    model.val_ranking.reset()
    model.train()


_CLOCK = time.process_time


def clock() -> float:
    return _CLOCK()


@contextlib.contextmanager
def quiet():
    """Lightning's messages and warnings silenced; stdout (the progress bar) and stderr written to /dev/null."""
    loggers = [logging.getLogger(name) for name in ("pytorch_lightning", "lightning", "lightning.pytorch",
                                                     "lightning_fabric")]
    levels = [logger.level for logger in loggers]
    with open(os.devnull, "w") as devnull, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        saved, sys.stdout, sys.stderr = (sys.stdout, sys.stderr), devnull, devnull
        try:
            yield
        finally:
            sys.stdout, sys.stderr = saved
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


def main() -> None:
    global _CLOCK
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="fits of each loop per variant (median)")
    parser.add_argument("--epochs", type=int, default=None, help="trainer.max_epochs (default: the demo's, 8)")
    parser.add_argument("--seed", type=int, default=0, help="the fold model's seed (the demo's fold 0: 0)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="process CPU time (default; steadier on a shared machine) or wall-clock time")
    parser.add_argument("--no-check", action="store_true", help="skip the check that both loops compute the same")
    parser.add_argument("--tiny", action="store_true",
                        help="a 1-layer, 8-wide model: the gap is then mostly the loops' fixed cost per step")
    parser.add_argument("--validate-every-epoch", action="store_true",
                        help="validate after every epoch, as the pipeline does with transformer.checkpoint: best "
                             "(default: no validation, as with transformer.checkpoint: last)")
    parser.add_argument("--extras", action="store_true",
                        help="also time the bare loop plus, by hand, a last.ckpt write each epoch and the fold "
                             "loop's validation passes")
    options = parser.parse_args()
    _CLOCK = time.process_time if options.clock == "cpu" else time.perf_counter
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory(prefix="bench_training_") as tmp:
        bench = Bench(Path(tmp), options.epochs, options.seed, options.tiny, options.validate_every_epoch)
        print(f"demo binary fold model, fold {FOLD_K} held out: {CONFIG.relative_to(ROOT)}"
              f"{'' if options.epochs is None else f', max_epochs={options.epochs}'}"
              f"{f', with {TINY}' if options.tiny else ''}; "
              f"{'validation after every epoch' if options.validate_every_epoch else 'no validation'}; "
              f"torch {torch.__version__}, "
              f"{torch.get_num_threads()} thread, {options.clock} clock, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if not options.no_check:
            _, fold_steps, fold_state = bench.fold_loop(progress_bar=False)
            _, bare_steps, bare_state = bench.bare_loop(reseed=True)
            print(f"check: {fold_steps} steps each; the bare loop with BatchSeed's reseeding ends with the fold "
                  f"model's weights: {fold_steps == bare_steps and same_weights(fold_state, bare_state)}")
        ratios = {}
        extras_times = []
        for progress_bar in (False, True):
            fold_times, bare_times = [], []
            for repeat in range(options.repeats):
                # Pairs alternate which loop runs first, so a machine whose speed drifts steadily favours neither.
                fold_first = repeat % 2 == 0
                if fold_first:
                    fold_seconds, fold_steps, _ = bench.fold_loop(progress_bar)
                bare_seconds, bare_steps, _ = bench.bare_loop()
                if not fold_first:
                    fold_seconds, fold_steps, _ = bench.fold_loop(progress_bar)
                fold_times.append(fold_seconds)
                bare_times.append(bare_seconds)
                if options.extras:
                    extras_times.append(bench.bare_loop(extras=True)[0])
            fold, bare = statistics.median(fold_times), statistics.median(bare_times)
            pairs = [b / f for f, b in zip(fold_times, bare_times)]
            ratios[progress_bar] = statistics.median(pairs)
            print(f"progress bar {'on ' if progress_bar else 'off'}: fold loop {fold:6.2f} s "
                  f"({fold_steps / fold:6.1f} steps/s), bare loop {bare:6.2f} s ({bare_steps / bare:6.1f} steps/s), "
                  f"{ratios[progress_bar]:.2f}x (pairs {min(pairs):.2f}-{max(pairs):.2f}; medians {bare / fold:.2f}x; "
                  f"fastest {min(bare_times) / min(fold_times):.2f}x), "
                  f"{1000 * (fold - bare) / fold_steps:.2f} ms more a step   "
                  f"[fold {' '.join(f'{t:.2f}' for t in fold_times)}; "
                  f"bare {' '.join(f'{t:.2f}' for t in bare_times)}]", flush=True)
        if extras_times:
            extras = statistics.median(extras_times)
            print(f"bare loop + the last.ckpt writes (and validation passes) by hand: {extras:6.2f} s "
                  f"({bare_steps / extras:6.1f} steps/s), {extras / fold:.2f}x the fold loop with the progress bar on "
                  f"(what is left is Lightning's own work)   [{' '.join(f'{t:.2f}' for t in extras_times)}]")
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"fold loop vs bare loop: {ratios[True]:.2f}x")


if __name__ == "__main__":
    main()
