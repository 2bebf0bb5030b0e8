"""The ``imbalance-xfmr`` command: LightningCLI over :class:`TextClassifier` and :class:`TextDataModule`, and
``imbalance-xfmr pretrain`` over :class:`MaskedLanguageModel` and :class:`PretrainDataModule`.

Subcommands ``fit``, ``validate``, ``test``, ``predict`` and ``pretrain``; configs are YAML (see
``competition/configs/``)::

    imbalance-xfmr fit --config competition/configs/demo_binary.yaml
    imbalance-xfmr predict --config competition/configs/demo_binary.yaml --ckpt_path <run>/checkpoints/last.ckpt
    imbalance-xfmr fit --config competition/configs/demo_binary.yaml --print_config   # the full resolved config
    imbalance-xfmr pretrain --config pretrain.yaml                                     # see "Self-pretraining"

What this CLI adds to LightningCLI:

- The model's ``vocab_size``, ``num_classes``, ``class_counts`` and ``pad_token_id`` come from the DataModule (which
  fits its tokenizer on the training split when they are first read), and ``model.max_length`` is
  ``data.max_length``: none of them is written twice in a config.
- Seeding is explicit: ``seed_everything`` defaults to :data:`DEFAULT_SEED`; ``true`` draws a fresh seed from the
  operating system; either way the seed used is printed and recorded in the run's ``config.yaml``
  (LightningCLI alone would seed ``true`` with 0 and only warn).
- With ``--ckpt_path`` the DataModule takes its tokenizer and label encoding from that checkpoint
  (``data.checkpoint_path``), so ``predict`` never refits anything and never reads test texts for fitting.
- ``predict`` writes the class probabilities to ``prediction_writer.output_path`` (CSV: id, one column per class).
- Reproducible, resumable training is Trainer configuration (see :mod:`imbalance_xfmr.training`), set by these keys::

      seed_everything: 42
      reseed_every_batch: true     # BatchSeed(seed_everything): a resumed fit trains like an uninterrupted one
      checkpoints:
        dirpath: null              # null: <log_dir>/checkpoints; a fixed folder lets a rerun find earlier checkpoints
        monitor: val/f1_macro      # the best epoch, best-<epoch>-<step>.ckpt; null: last.ckpt only
        mode: null                 # null: min for a loss, max otherwise
        last_every_seconds: 30     # last.ckpt at an epoch's end once 30 s have passed, and after the last epoch
        overwrite: false           # fit without --ckpt_path into a folder with checkpoints stops (true: deletes them)
      trainer:
        deterministic: true        # the default here (Lightning's is false)

  The Trainer gets the best-epoch checkpoint (when ``checkpoints.monitor`` is set), ``last.ckpt``
  (:class:`~imbalance_xfmr.training.LastCheckpoint`), :class:`~imbalance_xfmr.training.BatchSeed`,
  :class:`~imbalance_xfmr.training.AtomicCheckpointIO` and :class:`~imbalance_xfmr.training.NoProfiler`, and
  no other ``ModelCheckpoint`` (``trainer.callbacks`` may not hold one). ``fit --ckpt_path last`` resumes from
  :func:`~imbalance_xfmr.training.readable_checkpoint` of the checkpoint folder, or trains from scratch when it
  holds none, saying so.
- The progress bar is redrawn every :data:`PROGRESS_BAR_REFRESH_RATE` batches (and at the end of each epoch), not
  every batch: a ``TQDMProgressBar`` (or any progress bar) in ``trainer.callbacks`` replaces it,
  ``trainer.enable_progress_bar: false`` turns it off. It changes no number the model computes.
- :func:`check_config` parses and checks a config dict as ``fit`` would, without reading data or building anything,
  and raises :class:`ConfigError` with a one-line message naming the key.
- Bad input is a :class:`ConfigError` (on the command line: one line on stderr, exit status 2, no traceback) before
  any training or prediction: a checkpoint that does not load, or of the other command (a pretraining's given to
  ``predict``, a classifier's to ``pretrain``), or of another task (its classes are not the labels of
  ``data.train_path``); a ``data.tokenizer_path`` that is neither a tokenizer JSON nor a checkpoint; a
  ``model.init_from`` whose encoder does not fit the config; ``fit --ckpt_path`` from a checkpoint of other model
  hyper-parameters (:func:`~imbalance_xfmr.training.check_resumable`); and the errors of the data, the model and
  the Trainer as they are built (a missing file or column, an argument out of range), prefixed by their section.
- ``fit`` (and ``pretrain``) without ``--ckpt_path`` into a checkpoint folder that holds checkpoints stops, naming
  the folder, instead of replacing them: ``--ckpt_path last`` resumes, another ``checkpoints.dirpath`` starts anew
  beside them, and ``checkpoints.overwrite: true`` deletes them first.

Self-pretraining: ``imbalance-xfmr pretrain`` is ``fit`` of a masked language model (BERT's objective, see
:mod:`imbalance_xfmr.model.pretraining`) on the unlabelled texts of ``data.train_path`` and ``data.test_path``, with
everything above (seeding, ``reseed_every_batch``, ``checkpoints``, atomic checkpoints, ``--ckpt_path last``,
deterministic, the progress bar; ``checkpoints.monitor`` is null by default, or ``val/loss`` / ``val/accuracy``).
The model's ``vocab_size``, ``pad_token_id``, ``mask_token_id`` and ``n_special`` come from the DataModule, whose
tokenizer (with ``[MASK]``) is fitted on all the texts and stored in every checkpoint. The encoder keys of ``model``
have the classifier's names and defaults::

    # pretrain.yaml                                   # then, in the fit config of the classifier:
    data:                                             data:
      train_path: train.csv                             tokenizer_path: pretrain/checkpoints/last.ckpt
      test_path: test.csv                             model:
      max_length: 128                                   init_from: pretrain/checkpoints/last.ckpt
    model: {d_model: 128, n_layers: 2}                  d_model: 128        # the pretraining's encoder
    trainer: {max_epochs: 10}                           n_layers: 2
    checkpoints: {dirpath: pretrain/checkpoints}

``data.tokenizer_path`` gives the classifier the pretraining vocabulary, ``model.init_from`` the pretrained encoder
(every weight but the head). A classifier checkpoint holds its weights: ``predict``, ``validate``, ``test`` and a
resumed ``fit`` with ``--ckpt_path`` (a file, or ``last`` with ``checkpoints.dirpath`` set) set ``model.init_from``
to null, so the pretraining checkpoint may be gone by then. :func:`check_pretrain_config` checks a pretraining config
dict as :func:`check_config` does a fit config.

Fine-tuning a pretrained checkpoint: ``model.pretrained`` names a local Hugging Face checkpoint folder (BERT,
DistilBERT, RoBERTa, ELECTRA, MiniLM, sentence-transformers; nothing is downloaded), written once: the CLI links it
to ``data.pretrained_tokenizer``, so the encoder (architecture, weights and pooling) and the tokenizer both come from
the folder, and the model's ``vocab_size`` and ``pad_token_id`` from its tokenizer. Leave the encoder keys of
``model`` out (a value that contradicts the checkpoint is a ConfigError); ``data.max_length`` must not exceed its
positions. ``model.layerwise_lr_decay`` (e.g. 0.9) and ``model.warmup_fraction`` are the usual fine-tuning knobs;
losses and resampling are the same as ever. The checkpoint's encoder configuration is saved in the classifier's
hyper-parameters (``encoder_config``) and its tokenizer in the DataModule state, so ``predict`` and a resumed ``fit``
set ``model.pretrained`` to null and never read the folder. Task-adaptive pretraining is ``pretrain`` with
``model.pretrained`` (the masked-language model continues from the folder's encoder, with its tokenizer), then ``fit``
with ``model.init_from`` and ``data.tokenizer_path`` set to that pretraining's ``last.ckpt``, which gives the
architecture too::

    imbalance-xfmr fit --model.pretrained models/minilm --data.train_path train.csv --model.layerwise_lr_decay 0.9
    imbalance-xfmr pretrain --model.pretrained models/minilm --data.train_path train.csv --data.test_path test.csv \
        --checkpoints.dirpath tapt
    imbalance-xfmr fit --model.init_from tapt/last.ckpt --data.tokenizer_path tapt/last.ckpt --data.train_path ...

Which ``trainer.precision`` a machine runs well (bf16 autocast where it has bf16 matrix units) is
:func:`imbalance_xfmr.precision.choose_precision`'s answer; no default changes.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import pickle
import re
import secrets
import sys
import types
import typing
import warnings
from argparse import ArgumentError
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytorch_lightning as pl
import torch
from jsonargparse import Namespace
from lightning_fabric.plugins.io.checkpoint_io import CheckpointIO
from pytorch_lightning.callbacks import ModelCheckpoint, ProgressBar, TQDMProgressBar
from pytorch_lightning.cli import ArgsType, LightningArgumentParser, LightningCLI
from pytorch_lightning.utilities import rank_zero_info, rank_zero_only

from imbalance_xfmr._compat import LightningCLIBase, action_typehint, parser_actions
from imbalance_xfmr.data import (
    PretrainDataModule,
    ProbabilityWriter,
    SubwordTokenizer,
    TextDataModule,
)
from imbalance_xfmr.data.tokenized import read_tokenizer
from imbalance_xfmr.data.tokenizer import TokenizerFileError
from imbalance_xfmr.model.classifier import TextClassifier, validation_metric_names
from imbalance_xfmr.model.pretraining import PRETRAINING_METRICS, MaskedLanguageModel
from imbalance_xfmr.training import (
    AtomicCheckpointIO,
    BatchSeed,
    CheckpointSettings,
    NoProfiler,
    check_last_every_seconds,
    check_resumable,
    checkpoint_callbacks,
    checkpoint_folder,
    earlier_checkpoints,
    readable_checkpoint,
)

__all__ = ["DEFAULT_SEED", "ConfigError", "ImbalanceXfmrCLI", "PretrainCLI", "check_config", "check_pretrain_config",
           "main", "make_cli", "make_pretrain_cli"]

DEFAULT_SEED = 42
# ckpt_path values that name no file: the Trainer resolves them ("registry:..." too).
LIGHTNING_CKPT_NAMES = ("last", "best", "hpc")
"""Seed used when a config gives none: fixed, so that two runs of the same config train the same model."""

PROGRESS_BAR_REFRESH_RATE = 10
"""Batches between two redraws of the progress bar the CLI adds (Lightning's default, 1, redraws and reads every
logged value every batch: a few percent of a small model's training time)."""

PARSER_KWARGS = {"allow_abbrev": False}
"""argparse would otherwise read the typo ``--data.text_colum`` as ``--data.text_column``."""


class ConfigError(ValueError):
    """An ``imbalance-xfmr`` config that cannot be used; the message names the key and what is wrong with it."""


class ImbalanceXfmrCLI(LightningCLIBase):
    """LightningCLI with the DataModule-to-model links, explicit seeding, checkpoint-restored data state, and the
    Trainer configuration of reproducible, resumable training (see the module docstring).

    What depends on the (model, DataModule) pair is in the class attributes, so that :class:`PretrainCLI` is this
    CLI over :class:`MaskedLanguageModel` and :class:`PretrainDataModule`."""

    task_classes: ClassVar[tuple[type[pl.LightningModule], type[pl.LightningDataModule]]] = (
        TextClassifier, TextDataModule)
    """The (model, DataModule) classes this CLI is built over (by :func:`make_cli` / :func:`make_pretrain_cli`)."""
    linked_from_data: ClassVar[tuple[str, ...]] = ("vocab_size", "num_classes", "class_counts", "pad_token_id")
    """DataModule properties given to the model's arguments of the same names when both are instantiated."""
    data_from_checkpoint: ClassVar[str] = "checkpoint_path"
    """The DataModule argument that a ``ckpt_path`` file sets: its data state (tokenizer) comes from that file."""
    command: ClassVar[str] = "imbalance-xfmr fit"
    """The command that writes this CLI's checkpoints (named in the error for a checkpoint of another)."""
    checkpoint_advice: ClassVar[str] = ("{subcommand} needs a classifier's checkpoint (a pretraining checkpoint "
                                        "starts one as data.tokenizer_path and model.init_from)")
    """What to give instead of a checkpoint of another command (``{subcommand}``: the subcommand run)."""
    defaults: ClassVar[dict[str, Any]] = {"trainer.deterministic": True}
    resumed: tuple[Path, Path | None] | None = None  # (folder, readable_checkpoint(folder)) of `ckpt_path: last`
    checkpoints_read: dict[str, dict] | None = None  # checkpoints read for their checks, by path (each read once)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        for name in self.linked_from_data:
            parser.link_arguments(f"data.{name}", f"model.{name}", apply_on="instantiate")
        parser.link_arguments("data.max_length", "model.max_length")
        # The checkpoint folder is written once: its encoder for the model, its own tokenizer for the data.
        parser.link_arguments("model.pretrained", "data.pretrained_tokenizer")
        self.add_output_arguments(parser)
        parser.add_class_arguments(CheckpointSettings, "checkpoints", help="The checkpoints fit writes.")
        parser.add_argument(
            "--reseed_every_batch", type=bool, default=True,
            help="Reseed torch from (seed_everything, epoch, batch index) before every training batch, so that a fit "
                 "resumed from a checkpoint trains exactly like an uninterrupted one. Ignored when seed_everything "
                 "is false.",
        )
        parser.set_defaults(self.defaults)

    def add_output_arguments(self, parser: LightningArgumentParser) -> None:
        """The sections of what the task writes besides checkpoints: ``prediction_writer``."""
        parser.add_lightning_class_args(ProbabilityWriter, "prediction_writer")

    def check_monitor(self, monitor: str | None, model: pl.LightningModule | None = None) -> None:
        """ConfigError unless ``checkpoints.monitor`` is None or a metric the model logs (for ``model``'s classes;
        None: for some number of classes)."""
        _check_monitor(monitor, None if model is None else model.hparams.num_classes)

    def parse_arguments(self, parser: LightningArgumentParser, args: object) -> None:
        super().parse_arguments(parser, args)
        config = self.subcommand_config()
        if config.get("seed_everything") is True:
            inherited = os.environ.get("PL_GLOBAL_SEED")
            if inherited is not None and os.environ.get("LOCAL_RANK", "0") != "0":
                # A DDP child that Lightning's launcher started with rank 0's environment, where seed_everything
                # set PL_GLOBAL_SEED: every rank must train (and resample) with rank 0's draw.
                config["seed_everything"] = int(inherited)
            else:
                # Replace Lightning's `seed_everything(None)` (seed 0) with a real draw, recorded like any seed.
                config["seed_everything"] = secrets.randbelow(2**32)

    def before_instantiate_classes(self) -> None:
        config = self.subcommand_config()
        seed = config.get("seed_everything")
        if seed is False:
            rank_zero_info("imbalance-xfmr: seed_everything=false, the run is not seeded and will not repeat.")
        else:
            rank_zero_info(f"imbalance-xfmr: seed_everything={seed} (recorded in the run's config.yaml).")
        self.check_training_config(config)
        checkpoint = config.get("ckpt_path")
        if checkpoint == "last" and config.checkpoints.dirpath is not None:
            checkpoint = self.resume_checkpoint(Path(config.checkpoints.dirpath))  # the file fit will resume from
        # Lightning also accepts "best", ... here; only a real file holds a tokenizer (and weights) to restore.
        if checkpoint and Path(checkpoint).is_file():
            if config.data.get(self.data_from_checkpoint) is None:
                config.data[self.data_from_checkpoint] = str(checkpoint)
            if config.data.get("pretrained_tokenizer") is not None:
                config.data.pretrained_tokenizer = None  # the checkpoint holds the folder's tokenizer
            if config.model.get("init_from") is not None:
                config.model.init_from = None  # the weights come from the checkpoint, not from the pretraining
            if config.model.get("pretrained") is not None:
                self.take_encoder_config_from(checkpoint)
        self.check_data_files(config.data)

    def take_encoder_config_from(self, checkpoint: str | Path) -> None:
        """For a run that resumes from ``checkpoint``: when it saved the configuration of an encoder from a checkpoint
        folder (``encoder_config``), ``model.pretrained`` is null and the encoder is rebuilt from that configuration
        (its weights come from the checkpoint), so the folder is not read and may be gone. (A ``ckpt_path`` file's
        saved hyper-parameters replace the config's anyway, in :meth:`apply_checkpoint_hyperparameters`.)"""
        config = self.subcommand_config()
        saved = self.read_checkpoint("ckpt_path", checkpoint).get("hyper_parameters") or {}
        if saved.get("encoder_config") is not None:
            config.model.pretrained = None
            config.model.encoder_config = saved["encoder_config"]

    def check_data_files(self, data: Namespace) -> None:
        """ConfigError naming the key unless the checkpoint and tokenizer files of the ``data`` section hold what
        the DataModule reads from them (read here, before anything is built, since a truncated checkpoint would
        otherwise fail deep inside the tokenizer's JSON reader)."""
        checkpoint_path = data.get("checkpoint_path")
        if checkpoint_path is not None and Path(checkpoint_path).is_file():
            checkpoint = self.read_checkpoint("data.checkpoint_path", checkpoint_path)
            self.check_checkpoint_task(checkpoint, "data.checkpoint_path", checkpoint_path)
        tokenizer_path = data.get("tokenizer_path")
        # With a checkpoint_path the DataModule takes its tokenizer from there, and does not read tokenizer_path.
        if checkpoint_path is None and tokenizer_path is not None and Path(tokenizer_path).is_file():
            _check_tokenizer_path(str(tokenizer_path))

    def instantiate_classes(self) -> None:
        """LightningCLI's, with the errors of bad input met while building the DataModule, the model and the
        Trainer (a data file, a checkpoint, an argument out of range: ValueError, KeyError, FileNotFoundError) as a
        one-line :class:`ConfigError` naming the section, e.g. ``model: init_from 'p.ckpt': d_model is 16 in the
        checkpoint, 8 here; set model.d_model to 16.`` (the original error is its ``__cause__``)."""
        try:
            super().instantiate_classes()
        except ConfigError:
            raise
        except (ValueError, KeyError, FileNotFoundError) as error:
            section = _section_of(error)
            if section is None:
                raise
            raise ConfigError(f"{section}: {_error_line(error)}") from error

    def check_training_config(self, config: Namespace) -> None:
        """The checks of the training keys that need no data: ``checkpoints`` and ``trainer.callbacks``."""
        if not isinstance(config.get("checkpoints"), (Namespace, CheckpointSettings)):
            raise ConfigError("checkpoints: must be a mapping with dirpath, monitor, mode and last_every_seconds (or "
                              "left out), not null")
        self.check_monitor(config.checkpoints.monitor)
        try:
            check_last_every_seconds(config.checkpoints.last_every_seconds)
        except ValueError as error:
            raise ConfigError(f"checkpoints.last_every_seconds: {error}") from None
        callbacks = config.get("trainer.callbacks")
        callbacks = [] if callbacks is None else callbacks if isinstance(callbacks, list) else [callbacks]
        for callback in callbacks:
            class_path = callback.get("class_path") if isinstance(callback, Namespace) else None
            klass = _import(class_path) if class_path else type(callback)
            if isinstance(klass, type) and issubclass(klass, ModelCheckpoint):
                raise ConfigError(f"trainer.callbacks: {class_path or klass.__qualname__} is not allowed here; the "
                                  "checkpoints are configured by checkpoints.dirpath / .monitor / .mode")

    def instantiate_trainer(self, **kwargs: Any) -> pl.Trainer:
        """The Trainer of the config, with the checkpoint callbacks of ``checkpoints``, :class:`BatchSeed` (with
        ``reseed_every_batch``), :class:`AtomicCheckpointIO` (unless ``trainer.plugins`` holds a CheckpointIO),
        :class:`NoProfiler` (unless ``trainer.profiler`` names one) and a progress bar redrawn every
        :data:`PROGRESS_BAR_REFRESH_RATE` batches (unless ``trainer.enable_progress_bar`` is false or
        ``trainer.callbacks`` holds a progress bar)."""
        config = self.subcommand_config()
        settings = self.config_section(self.config_init, "checkpoints")
        self.check_monitor(settings.monitor, self.model)
        trainer_config = {**self.config_section(self.config_init, "trainer", default={}), **kwargs}
        callbacks = [self.config_section(self.config_init, key)
                     for key in self.subcommand_parser(self.subcommand).callback_keys]
        if trainer_config.get("enable_checkpointing", True) is not False:
            callbacks += checkpoint_callbacks(settings)
        seed = config.get("seed_everything")
        if config.get("reseed_every_batch") and seed is not False:
            callbacks.append(BatchSeed(int(seed)))
        given = trainer_config.get("callbacks")
        given = [] if given is None else given if isinstance(given, list) else [given]
        if trainer_config.get("enable_progress_bar", True) is not False and not any(
                isinstance(callback, ProgressBar) for callback in [*given, *callbacks]):
            callbacks.append(TQDMProgressBar(refresh_rate=PROGRESS_BAR_REFRESH_RATE))
        if trainer_config.get("profiler") is None and not trainer_config.get("barebones"):
            trainer_config["profiler"] = NoProfiler()
        plugins = trainer_config.get("plugins")
        plugins = [] if plugins is None else list(plugins) if isinstance(plugins, (list, tuple)) else [plugins]
        if not any(isinstance(plugin, CheckpointIO) for plugin in plugins):
            plugins.append(AtomicCheckpointIO())
        trainer_config["plugins"] = plugins
        return self.build_trainer(trainer_config, callbacks)

    def fit(self, model: pl.LightningModule, ckpt_path: str | Path | None = None, **kwargs: Any) -> None:
        """``trainer.fit``; ``ckpt_path="last"`` resumes from :func:`readable_checkpoint` of the checkpoint folder
        (``checkpoints.dirpath``, else ``<log_dir>/checkpoints``), or trains from scratch when it has none.

        Before training, ConfigError when the checkpoint to resume from was written by a model of other
        hyper-parameters (:func:`check_resumable`), and when a fit without ``ckpt_path`` would write into a folder
        that holds an earlier run's checkpoints, unless ``checkpoints.overwrite`` (then they are deleted)."""
        settings = self.subcommand_config().checkpoints
        folder = checkpoint_folder(self.trainer, settings.dirpath)
        resuming = ckpt_path == "last"
        if resuming:
            ckpt_path = self.resume_checkpoint(folder)
            rank_zero_info(f"imbalance-xfmr: ckpt_path=last: resuming from {ckpt_path}." if ckpt_path else
                           f"imbalance-xfmr: ckpt_path=last: no checkpoint in {folder}, training from scratch.")
        elif ckpt_path is None:
            _start_anew_in(folder, settings.overwrite)
        if ckpt_path is not None and Path(ckpt_path).is_file():
            try:
                check_resumable(model, ckpt_path)
            except ValueError as error:
                anew = "give another checkpoints.dirpath" if resuming else "leave ckpt_path out"
                given = "last: " if resuming else ""
                raise ConfigError(f"ckpt_path: {given}{error}, or {anew} to train anew") from None
        with warnings.catch_warnings():
            if (resuming and ckpt_path is not None) or (ckpt_path is None and settings.overwrite):
                # Resuming into the folder of the earlier attempt is the point, not a mistake to warn about; so is
                # replacing its checkpoints when told to.
                warnings.filterwarnings("ignore", message="Checkpoint directory .* exists and is not empty")
            self.trainer.fit(model, ckpt_path=ckpt_path, **kwargs)

    def resume_checkpoint(self, folder: Path) -> Path | None:
        """:func:`readable_checkpoint` of ``folder``, looked up (and warned about) once a run."""
        if self.resumed is None or self.resumed[0] != folder:
            self.resumed = (folder, readable_checkpoint(folder))
        return self.resumed[1]

    def apply_checkpoint_hyperparameters(self) -> None:
        """LightningCLI's: the model hyper-parameters saved in ``ckpt_path`` override the config. Here a checkpoint
        that does not load, or one of the other command (a pretraining's given to ``predict``), is a
        :class:`ConfigError`; saved hyper-parameters that the model no longer takes (``checkpoint_monitor``,
        ``checkpoint_mode``: now ``checkpoints.monitor`` / ``.mode``) are dropped, so checkpoints written before
        they moved still predict; and ``init_from`` is null (the weights come from the checkpoint), so the
        pretraining checkpoint it named need not exist any more."""
        subcommand = self.config.get("subcommand")
        if not subcommand:
            return
        ckpt_path = self.config[subcommand].get("ckpt_path")
        if not ckpt_path or str(ckpt_path) in LIGHTNING_CKPT_NAMES or str(ckpt_path).startswith("registry:"):
            return  # resolved by the Trainer (or, for `fit --ckpt_path last`, by this CLI)
        if not Path(ckpt_path).is_file():
            raise ConfigError(f"ckpt_path: {str(ckpt_path)!r} is not a file; give the path of a checkpoint (.ckpt) "
                              f"that `{self.command}` wrote (its checkpoints folder holds last.ckpt)")
        checkpoint = self.read_checkpoint("ckpt_path", ckpt_path)
        self.check_checkpoint_task(checkpoint, "ckpt_path", ckpt_path)
        hparams = dict(checkpoint.get("hyper_parameters", {}))
        hparams.pop("_instantiator", None)
        accepted = inspect.signature(self.model_class.__init__).parameters
        hparams = {key: value for key, value in hparams.items() if key in accepted}
        for key in ("init_from", "pretrained"):  # the weights, and with encoder_config the architecture, are saved
            if key in accepted:
                hparams[key] = None
        if not hparams:
            return
        try:
            self.config = self.parser.parse_object({subcommand: {"model": hparams}}, self.config)
        except SystemExit:
            sys.stderr.write("Parsing of ckpt_path hyperparameters failed!\n")
            raise

    def read_checkpoint(self, key: str, path: str | Path) -> dict:
        """What the checks need of the checkpoint ``path`` (``weights_only``, on the CPU), read once a run: its
        top-level keys, with its ``hyper_parameters`` (every other value None: the weights are not kept).
        ConfigError naming ``key`` when it does not load."""
        if self.checkpoints_read is None:
            self.checkpoints_read = {}
        if str(path) not in self.checkpoints_read:
            try:
                checkpoint = torch.load(path, weights_only=True, map_location="cpu")
            except Exception as error:  # whatever torch.load raises, the file is not a checkpoint to start from
                raise ConfigError(f"{key}: {str(path)!r} is not a readable checkpoint ({_error_line(error)})") from None
            checkpoint = checkpoint if isinstance(checkpoint, dict) else {}
            self.checkpoints_read[str(path)] = {name: value if name == "hyper_parameters" else None
                                                for name, value in checkpoint.items()}
        return self.checkpoints_read[str(path)]

    def check_checkpoint_task(self, checkpoint: dict, key: str, path: str | Path) -> None:
        """ConfigError naming ``key`` when ``checkpoint`` was written by the other ``imbalance-xfmr`` command (it
        holds the other DataModule's state, and not this CLI's)."""
        ours = self.task_classes[1].__qualname__
        if ours in checkpoint:
            return
        for cli_class in (ImbalanceXfmrCLI, PretrainCLI):
            if cli_class.task_classes[1].__qualname__ in checkpoint:
                advice = self.checkpoint_advice.format(subcommand=self.config.get("subcommand") or "this command")
                raise ConfigError(f"{key}: {str(path)!r} is a checkpoint of `{cli_class.command}`, not of "
                                  f"`{self.command}`: {advice}")

    def subcommand_config(self) -> Namespace:
        """The running subcommand's section of the parsed config (the config itself without a subcommand)."""
        subcommand = self.config.get("subcommand")
        return self.config[subcommand] if subcommand else self.config


class PretrainCLI(ImbalanceXfmrCLI):
    """``imbalance-xfmr pretrain``: :class:`ImbalanceXfmrCLI` over :class:`MaskedLanguageModel` and
    :class:`PretrainDataModule`, with ``fit`` as its only subcommand (which ``pretrain`` names on the command line),
    no ``prediction_writer``, and ``checkpoints.monitor`` null by default (``last.ckpt`` only)."""

    task_classes = (MaskedLanguageModel, PretrainDataModule)
    linked_from_data = ("vocab_size", "pad_token_id", "mask_token_id", "n_special", "special_token_ids")
    data_from_checkpoint = "tokenizer_path"
    command = "imbalance-xfmr pretrain"
    checkpoint_advice = ("pretrain resumes from a pretraining checkpoint (--ckpt_path last, or the last.ckpt that "
                         "`imbalance-xfmr pretrain` wrote)")
    defaults: ClassVar[dict[str, Any]] = {**ImbalanceXfmrCLI.defaults, "checkpoints.monitor": None}

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        return {"fit": LightningCLI.subcommands()["fit"]}

    def setup_parser(self, add_subcommands: bool, main_kwargs: dict[str, Any],
                     subparser_kwargs: dict[str, Any]) -> None:
        super().setup_parser(add_subcommands, main_kwargs, subparser_kwargs)
        if add_subcommands:  # the command line calls `fit` `pretrain`: so do its usage, help and error tips
            fit = self.subcommand_parser("fit")
            fit.prog = f"{self.parser.prog} pretrain"
            fit.description = "Pretrain the encoder as a masked language model on unlabelled texts."

    def add_output_arguments(self, parser: LightningArgumentParser) -> None:
        pass  # pretraining writes checkpoints only

    def check_monitor(self, monitor: str | None, model: pl.LightningModule | None = None) -> None:
        if monitor is not None and monitor not in PRETRAINING_METRICS:
            raise ConfigError(f"checkpoints.monitor: {monitor!r} is not a pretraining validation metric; choose one "
                              f"of {', '.join(PRETRAINING_METRICS)}, or null")


# --------------------------------------------------------------------------------------------------------------------
# Checking a config


def _check_monitor(monitor: str | None, num_classes: int | None = None) -> None:
    """``monitor`` is None or a metric TextClassifier logs for ``num_classes`` (None: for some number of classes)."""
    if monitor is None:
        return
    if num_classes is not None:
        names = validation_metric_names(num_classes)
        if monitor not in names:
            raise ConfigError(f"checkpoints.monitor: {monitor!r} is not a validation metric of this "
                              f"{num_classes}-class task; choose one of {', '.join(names)}, or null")
    elif monitor not in validation_metric_names(2) and not re.fullmatch(r"val/recall_\d+", monitor):
        names = [name for name in validation_metric_names(2) if name not in ("val/recall_0", "val/recall_1")]
        raise ConfigError(f"checkpoints.monitor: {monitor!r} is not a validation metric; choose one of "
                          f"{', '.join(names)}, val/recall_<class index> (pr_auc and roc_auc: binary tasks only), "
                          "or null")


def _import(class_path: str) -> Any:
    module, _, name = class_path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return None  # the parser has already checked the class path; nothing to say here


class _ParseOnly:
    """Mixin for an ``imbalance-xfmr`` CLI class: the parser of ``run=False``, stopping after the parse: no global
    seeding, no instantiation, no data read, and parse errors raised as :class:`ConfigError`."""

    def parse_arguments(self, parser: LightningArgumentParser, args: object) -> None:
        try:
            super().parse_arguments(parser, args)
        except ArgumentError as error:
            raise ConfigError(_short_message(parser, args, error)) from None

    def seed_from_config(self) -> None:
        pass

    def add_checkpoint_instantiators(self) -> None:
        pass

    def before_instantiate_classes(self) -> None:
        self.check_training_config(self.config)

    def instantiate_classes(self) -> None:
        pass


class _ParseOnlyCLI(_ParseOnly, ImbalanceXfmrCLI):
    """:func:`check_config`'s parser."""


class _ParseOnlyPretrainCLI(_ParseOnly, PretrainCLI):
    """:func:`check_pretrain_config`'s parser."""


def _parse(cli_class: type[ImbalanceXfmrCLI], args: Mapping[str, Any]) -> Namespace:
    """The config dict ``args`` parsed by the parse-only ``cli_class`` (its checks, no instantiation)."""
    if not isinstance(args, Mapping):
        raise ConfigError(f"the config must be a mapping of keys to values, got {type(args).__name__}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")  # sys.argv is not ours to read
        return _build(cli_class, dict(args), run=False, save_config_callback=None,
                      parser_kwargs={**PARSER_KWARGS, "exit_on_error": False}).config


def check_config(args: Mapping[str, Any], num_classes: int | None = None) -> Namespace:
    """Parse and check the config dict ``args`` as ``imbalance-xfmr fit`` (and ``make_cli(args, run=False)``) would:
    every key known, every value of its declared type (DataModule, model, Trainer and callback signatures),
    ``checkpoints.monitor`` a validation metric, no ``ModelCheckpoint`` in ``trainer.callbacks``. Nothing is
    instantiated, no data is read and no global state (seeds) changes. Returns the parsed config; raises
    :class:`ConfigError` with a one-line message naming the offending key, e.g. ``data.resampling: 'smote' is not
    one of 'none', 'random_under', 'random_over', 'class_balanced'``.

    ``args`` holds no subcommand, nor ``fit``'s own ``ckpt_path``: what a caller gives :func:`make_cli` for
    each model it builds. With ``num_classes`` (known to a caller that has read its data) the checks that need
    it run too: ``checkpoints.monitor`` against the classes, and the argument ranges of ``TextDataModule`` and
    ``TextClassifier`` (e.g. ``model.d_model: d_model must be a positive integer, got -3.``), by building both
    with placeholders for what the data would link (a small model, no data read; ``model.init_from`` and
    ``data.tokenizer_path`` are not read, they may not exist yet). Without it those checks happen when
    :func:`make_cli` builds them, before any training.
    """
    config = _parse(_ParseOnlyCLI, args)
    if num_classes is not None:
        _check_monitor(config.checkpoints.monitor, num_classes)
        _check_instantiable(ImbalanceXfmrCLI, config, {"num_classes": num_classes, "class_counts": [1] * num_classes})
    return config


def check_pretrain_config(args: Mapping[str, Any]) -> Namespace:
    """:func:`check_config` for ``imbalance-xfmr pretrain`` (and ``make_pretrain_cli(args, run=False)``): parse and
    check the config dict ``args`` (no subcommand, no ``ckpt_path``) without reading data or changing global state,
    ``checkpoints.monitor`` null or one of ``val/loss``, ``val/accuracy``, and the argument ranges of
    ``PretrainDataModule`` and ``MaskedLanguageModel`` (built with placeholders for what the data would link).
    Returns the parsed config; raises :class:`ConfigError` with a one-line message naming the key."""
    config = _parse(_ParseOnlyPretrainCLI, args)
    tokenizer = SubwordTokenizer(mask_token=True)
    _check_instantiable(PretrainCLI, config, {"mask_token_id": tokenizer.mask_token_id,
                                              "n_special": tokenizer.n_special})
    return config


def _check_instantiable(cli_class: type[ImbalanceXfmrCLI], config: Namespace, linked: dict[str, Any]) -> None:
    """Build the DataModule and the model of ``config`` for ``cli_class`` to run their own argument checks, with
    ``linked`` (and the vocabulary at its largest, pad id 0) for what the data would link and no pretrained
    weights read; ConfigError names the section."""
    model_class, datamodule_class = cli_class.task_classes
    data = config.data.as_dict()
    try:
        datamodule_class(**data)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"data: {_error_line(error)}") from None
    linked = {"vocab_size": data["max_vocab_size"], "pad_token_id": SubwordTokenizer.pad_token_id, **linked}
    model = {key: value for key, value in config.model.as_dict().items() if key not in linked}
    for key in ("init_from", "pretrained"):  # not read: they may not exist yet
        if key in model:
            model[key] = None
    try:
        with torch.random.fork_rng(devices=[]):  # its random initialisation leaves the caller's generator alone
            model_class(**model, **linked)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"model: {_error_line(error)}") from None


def _error_line(error: BaseException) -> str:
    """The first line of ``error``'s message (its type name when the message is empty; a KeyError's message
    without the quotes its ``str`` adds)."""
    keyed = isinstance(error, KeyError) and len(error.args) == 1 and isinstance(error.args[0], str)
    text = (error.args[0] if keyed else str(error)).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _section_of(error: BaseException) -> str | None:
    """The config section whose object raised ``error``: ``data``, ``model`` or ``trainer`` for the innermost
    frame of its traceback that runs a method of a DataModule, a LightningModule or a Trainer; None for none."""
    section = None
    frame = error.__traceback__
    while frame is not None:
        owner = frame.tb_frame.f_locals.get("self")
        if isinstance(owner, pl.LightningDataModule):
            section = "data"
        elif isinstance(owner, pl.LightningModule):
            section = "model"
        elif isinstance(owner, pl.Trainer):
            section = "trainer"
        frame = frame.tb_next
    return section


def _check_tokenizer_path(path: str) -> None:
    """ConfigError unless ``path`` (``data.tokenizer_path``, an existing file) holds a tokenizer that
    :func:`~imbalance_xfmr.data.tokenized.read_tokenizer` reads: a tokenizer JSON, or a pretraining checkpoint."""
    try:
        read_tokenizer(path)
    except TokenizerFileError as error:  # not a zip archive, so read as a tokenizer JSON
        raise ConfigError(f"data.tokenizer_path: {path!r} is neither a tokenizer JSON (SubwordTokenizer.save) nor "
                          f"an imbalance-xfmr checkpoint: {error.reason}, nor a zip archive as a checkpoint is (a "
                          "truncated or damaged checkpoint is not one)") from None
    except KeyError as error:  # a checkpoint without a pretraining DataModule's state: the message names the file
        raise ConfigError(f"data.tokenizer_path: {_error_line(error)}") from None
    except (RuntimeError, pickle.UnpicklingError, EOFError, OSError, ValueError) as error:  # what torch.load raises
        raise ConfigError(f"data.tokenizer_path: {path!r} is a damaged checkpoint: it does not load "
                          f"({_error_line(error)})") from None


def _start_anew_in(folder: Path, overwrite: bool) -> None:
    """Before a fit without ``ckpt_path`` into ``folder``: ConfigError when it holds checkpoints, unless
    ``overwrite`` (``checkpoints.overwrite``), which deletes them (from rank 0)."""
    earlier = earlier_checkpoints(folder)
    if not earlier:
        return
    names = ", ".join(path.name for path in earlier)
    if not overwrite:
        raise ConfigError(f"checkpoints.dirpath: {str(folder)!r} holds the checkpoints of an earlier run ({names}): "
                          "add --ckpt_path last to resume it, set checkpoints.dirpath to another folder, or "
                          "checkpoints.overwrite to true to replace them")
    _delete(earlier)
    rank_zero_info(f"imbalance-xfmr: checkpoints.overwrite: deleted the earlier run's {names} in {folder}.")


@rank_zero_only
def _delete(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


_MISSING = object()


def _short_message(parser: LightningArgumentParser, args: object, error: ArgumentError) -> str:
    """jsonargparse's error as one line: the offending key, then what is wrong with it."""
    message = str(error).strip()
    unknown = re.fullmatch(r"Group '([^']+)' does not accept option '([^']+)'", message)
    if unknown:
        return _unknown_key(parser, f"{unknown.group(1)}.{unknown.group(2)}")
    unknown = re.fullmatch(r"Option '([^']+)' is not accepted", message)
    if unknown:
        return _unknown_key(parser, unknown.group(1))
    required = re.fullmatch(r"the following arguments are required: (.+)", message)
    if required:
        return f"{required.group(1)}: required, but not set"
    keyed = re.match(r'Parser key "([^"]+)":\s*(.*)', message, re.S)
    if not keyed:
        return _error_line(error)
    key, detail = keyed.groups()
    class_problem = re.search(r"Problem with given class_path '([^']+)':\s*\n\s*(.+)", detail)
    if class_problem:
        return f"{key}: class_path {class_problem.group(1)!r}: {class_problem.group(2).strip()}"
    value = _lookup(args, key)
    if value is _MISSING:
        given = re.search(r"(?:Got value|Given value): (.*)", detail)
        value = given.group(1) if given else _MISSING
    shown = "" if value is _MISSING else f"{value!r} "
    typehint = next((action_typehint(action) for action in parser_actions(parser) if action.dest == key), None)
    choices = _literal_choices(typehint)
    if choices is not None:
        allowed, nullable = choices
        return f"{key}: {shown}is not one of {', '.join(map(repr, allowed))}" + (" (or null)" if nullable else "")
    if typehint is not None:
        got = "" if value is _MISSING else f", got {value!r}"
        return f"{key}: expected {_type_name(typehint)}{got}"
    return f"{key}: {detail.strip().splitlines()[0]}"


_MOVED_KEYS = {"model.checkpoint_monitor": "checkpoints.monitor", "model.checkpoint_mode": "checkpoints.mode"}


def _unknown_key(parser: LightningArgumentParser, key: str) -> str:
    if key in _MOVED_KEYS:
        return f"{key}: unknown key; it is now {_MOVED_KEYS[key]}"
    group, _, _ = key.rpartition(".")
    siblings = [action.dest for action in parser_actions(parser)
                if action.dest.rpartition(".")[0] == group and action.dest not in ("config", "help")]
    guess = difflib.get_close_matches(key, siblings, n=1)
    where = f"the {group} section" if group else "the config"
    return f"{key}: unknown key, not an option of {where}" + (f"; did you mean {guess[0]}?" if guess else "")


def _lookup(args: object, key: str) -> Any:
    """The value at the dotted ``key`` of the nested mapping ``args`` (or at ``key`` itself), else _MISSING."""
    if not isinstance(args, Mapping):
        return _MISSING
    if key in args:
        return args[key]
    node: Any = args
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _literal_choices(typehint: Any) -> tuple[list[Any], bool] | None:
    """(allowed values, None allowed too) when ``typehint`` is a Literal or an Optional Literal, else None."""
    if typing.get_origin(typehint) is Literal:
        return list(typing.get_args(typehint)), False
    if typing.get_origin(typehint) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(typehint) if arg is not type(None)]
        if len(members) == 1 and typing.get_origin(members[0]) is Literal:
            return list(typing.get_args(members[0])), True
    return None


def _type_name(typehint: Any) -> str:
    """``typehint`` as a reader writes it: ``int or null``, ``list[float]``, ``'balanced'``."""
    if typehint is type(None):
        return "null"
    origin = typing.get_origin(typehint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(arg) for arg in typing.get_args(typehint))
    if origin is Literal:
        return " or ".join(map(repr, typing.get_args(typehint)))
    if isinstance(typehint, type):
        return typehint.__name__
    return str(typehint).replace("typing.", "")


def _build(cli_class: type[ImbalanceXfmrCLI], args: ArgsType, run: bool, **kwargs: Any) -> ImbalanceXfmrCLI:
    """``cli_class`` over its ``task_classes`` with the settings every ``imbalance-xfmr`` CLI has (``kwargs``
    adds or replaces LightningCLI arguments)."""
    settings = {
        "seed_everything_default": DEFAULT_SEED,
        "auto_configure_optimizers": False,  # the models' configure_optimizers own AdamW and its schedule
        "parser_kwargs": PARSER_KWARGS,
        **kwargs,
    }
    return cli_class(*cli_class.task_classes, args=args, run=run, **settings)


def make_cli(args: ArgsType = None, run: bool = True,
             save_config_kwargs: dict[str, Any] | None = None) -> ImbalanceXfmrCLI:
    """The ``imbalance-xfmr`` CLI over ``args`` (None: ``sys.argv[1:]``); ``run=False`` builds the DataModule,
    model and Trainer of the config without running a subcommand (``args`` then holds no subcommand: e.g. a dict
    that :func:`check_config` accepts; the Trainer then has the checkpoint callbacks, ``BatchSeed`` and
    ``AtomicCheckpointIO`` that ``fit`` would use, so ``cli.trainer.fit(cli.model, datamodule=cli.datamodule,
    ckpt_path=readable_checkpoint(folder), weights_only=True)`` trains exactly what ``imbalance-xfmr fit`` does).
    ``save_config_kwargs`` go to Lightning's ``SaveConfigCallback`` (e.g. ``{"overwrite": True}``)."""
    return _build(ImbalanceXfmrCLI, args, run, save_config_kwargs=save_config_kwargs)


def make_pretrain_cli(args: ArgsType = None, run: bool = True,
                      save_config_kwargs: dict[str, Any] | None = None) -> PretrainCLI:
    """:func:`make_cli` for ``imbalance-xfmr pretrain``: the :class:`PretrainCLI` over ``args`` (None:
    ``sys.argv[1:]``), which start with ``pretrain`` (or ``fit``, its one subcommand) when ``run``. ``run=False``
    builds the DataModule, model and Trainer of a config that :func:`check_pretrain_config` accepts."""
    if args is None:
        args = sys.argv[1:]
    if run and isinstance(args, (list, tuple)) and args[:1] == ["pretrain"]:
        args = ["fit", *args[1:]]
    with warnings.catch_warnings():
        # The command line read here, given as args: LightningCLI's warning about args beside sys.argv is moot.
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        return _build(PretrainCLI, args, run, save_config_kwargs=save_config_kwargs)


def main(args: list[str] | None = None) -> None:
    """Entry point of the ``imbalance-xfmr`` console script (``args`` replaces ``sys.argv[1:]``, for tests):
    ``imbalance-xfmr pretrain ...`` runs :func:`make_pretrain_cli`, every other subcommand :func:`make_cli`.

    A :class:`ConfigError` (found after parsing, e.g. a ``checkpoints.monitor`` the task does not log) ends the
    command like a parse error: its message on stderr, exit status 2, no traceback."""
    try:
        if (sys.argv[1:] if args is None else args)[:1] == ["pretrain"]:
            make_pretrain_cli(args)
        else:
            make_cli(args)
    except ConfigError as error:
        sys.stderr.write(f"imbalance-xfmr: error: {error}\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
