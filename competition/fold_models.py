"""The fold models' ``imbalance-xfmr`` config: the user's part (the YAML and the ``transformer.*`` overrides) and the
keys the pipeline owns (data files and columns, the fold, the seed, the folders).

A fold model is what ``imbalance-xfmr fit`` trains from :func:`fit_args` (each model's ``logs/version_*/
config.yaml`` is that config, runnable as it is): the library's CLI owns checkpointing, per-batch reseeding and
determinism, so the pipeline adds no callback and rewires nothing.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import torch
import yaml

from competition.config import PretrainConfig, TransformerConfig
from competition.errors import PipelineError
from competition.layout import FOLD, ID, LABEL, TEXT
from imbalance_xfmr.cli import ImbalanceXfmrCLI, make_cli, make_pretrain_cli


# What a training or prediction of the pipeline shows: no progress bar or model summary of its own (neither changes a
# number the model computes); the run shows one bar over its trainings and logs a line per finished one.
QUIET = {"trainer": {"enable_progress_bar": False, "enable_model_summary": False}}
# Lightning's loggers, whose info lines (devices found, seed set, checkpoint restored, a cloud-logging tip), said
# once per fold model, would bury the run's own log; their warnings and errors still show.
LIGHTNING_LOGGERS = ("pytorch_lightning", "lightning_fabric", "lightning")


def quiet_lightning() -> None:
    """Keep Lightning to its warnings and errors in this process (the run's own log says what happens), and drop
    the deprecation warning that Lightning's pytree helper raises on every fit (a Lightning matter, nothing a user
    can act on)."""
    for name in LIGHTNING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")


class FoldModelConfigError(PipelineError):
    """The transformer section cannot make fold models; the message names the key and what to write instead."""


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in, recursively for nested mappings (neither argument is modified)."""
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def user_config(section: TransformerConfig, derived: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The part of every fold model's config that the user chooses: ``transformer.lightning_config``'s YAML, or
    without one the ``derived`` settings (:func:`competition.autoconfig.derive`), with ``transformer.data`` /
    ``.model`` / ``.trainer`` merged over it."""
    overrides = {"data": section.data, "model": section.model, "trainer": section.trainer}
    if section.lightning_config is None:
        if derived is None:
            raise ValueError("fold-model settings without a lightning_config must be derived from the data first")
        return merge(derived, overrides)
    path = Path(section.lightning_config)
    if not path.is_file():
        raise FoldModelConfigError(f"transformer.lightning_config {str(path)!r} is not a file (working directory "
                                   f"{Path.cwd()}); give the path of an `imbalance-xfmr fit` YAML")
    try:
        base = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise FoldModelConfigError(f"transformer.lightning_config {str(path)!r} is not valid YAML: {err}") from err
    if not isinstance(base, dict):
        raise FoldModelConfigError(f"transformer.lightning_config {str(path)!r} must hold a mapping of sections "
                                   "(data, model, trainer...)")
    return merge(base, overrides)


def model_seed(seed: int, k: int, j: int, n_folds: int) -> int:
    """The training seed of fold ``k``'s model with seed index ``j``: ``seed + k`` for the first (so that adding
    seeds leaves it as it was), then ``seed + k + j * n_folds``, a different seed for every model of the run."""
    return seed + k + j * n_folds


def pretraining_seed(seed: int, p: int) -> int:
    """The seed of the run's pretraining with seed index ``p`` (``pretrain.n_seeds``): ``seed`` for the first (so
    that adding pretrainings leaves it as it was), then ``seed + 1000 * p``, away from the next runs' seeds."""
    return seed + 1000 * p


def fit_args(user: Mapping[str, Any], *, tables: tuple[Path, Path], k: int, seed: int,
             folder: Path, checkpoints: Path, logs: str, checkpoint: Literal["last", "best"]) -> dict[str, Any]:
    """The ``imbalance-xfmr fit`` config of fold ``k``'s model trained with ``seed`` in ``folder`` (the paths of
    :func:`competition.run_folder.fold_model_paths`), to predict with its ``checkpoint`` (``transformer.checkpoint``):
    ``user`` and the keys the pipeline owns. ``checkpoints`` is a fixed folder, where a rerun after a kill finds
    them; the logs go to ``folder/<logs>/version_<attempt>``, so each attempt keeps its own metrics.csv.

    With ``checkpoint="last"`` nothing reads a validation: the held-out fold is predicted from ``last.ckpt`` right
    after the fit (the out-of-fold predictions, scored by the pipeline), so the fit does not validate
    (``trainer.limit_val_batches`` 0, no sanity check) and keeps no best epoch (``checkpoints.monitor`` null: only
    ``last.ckpt``), unless ``user``'s trainer sets how often or how much it validates (``limit_val_batches``,
    ``check_val_every_n_epoch``, ``val_check_interval``) or adds callbacks (an ``EarlyStopping`` reads every
    validation). Validation changes no weight (every batch is reseeded), so the model and its predictions are the
    same, byte for byte, as with validation.
    """
    train_table, test_table = tables
    if checkpoint == "last" and _leaves_validation_to_the_pipeline(user.get("trainer") or {}):
        user = merge(user, {"trainer": {"limit_val_batches": 0}, "checkpoints": {"monitor": None}})
    return merge(user, {
        "seed_everything": seed,
        "data": {"train_path": str(train_table), "test_path": str(test_table), "id_column": ID, "text_column": TEXT,
                 "label_column": LABEL, "fold_column": FOLD, "val_fold": k, "predict_split": "test",
                 "checkpoint_path": None},
        "trainer": {"default_root_dir": str(folder),
                    "logger": {"class_path": "pytorch_lightning.loggers.CSVLogger",
                               "init_args": {"save_dir": str(folder), "name": logs}}},
        "checkpoints": {"dirpath": str(checkpoints)},
    })


VALIDATION_KEYS = ("limit_val_batches", "check_val_every_n_epoch", "val_check_interval")
"""The trainer keys that say how often or how much a fit validates: a fold model's config that sets one validates as
it says. (``num_sanity_val_steps`` is not one: turning the sanity check off asks for less validation, not more.)"""


def _leaves_validation_to_the_pipeline(trainer: Mapping[str, Any]) -> bool:
    """Whether a fold model's ``trainer`` section sets none of :data:`VALIDATION_KEYS` and no callbacks (which may
    read every validation)."""
    return not any(key in trainer for key in VALIDATION_KEYS) and not trainer.get("callbacks")


# What the pretraining takes from the fold models' config: the encoder's shape and the tokenizer's settings, so that
# its weights and vocabulary are the fold models'.
ENCODER_KEYS = ("pretrained", "d_model", "n_heads", "n_layers", "d_ff", "dropout", "activation", "norm_first",
                "positional")
TOKENIZER_KEYS = ("tokenizer", "max_vocab_size", "min_frequency", "lowercase", "max_length", "truncation",
                  "batch_size", "length_bucketing")


def pretrain_args(user: Mapping[str, Any], section: PretrainConfig, *, seed: int, tables: tuple[Path, Path],
                  folder: Path, checkpoints: Path, logs: str, checkpoint: Path) -> dict[str, Any]:
    """The ``imbalance-xfmr pretrain`` config of the run's self-pretraining (in the paths of
    :func:`competition.run_folder.pretrain_paths`): masked-LM pretraining of the fold models' encoder (``user``'s
    model shape and tokenizer settings) on every text of the fold tables, ``section.max_steps`` optimizer steps,
    with ``pretrain.model`` / ``.trainer`` / ``.data`` merged over it."""
    model, data = user.get("model") or {}, user.get("data") or {}
    base = {
        "seed_everything": seed,
        "data": {"train_path": str(tables[0]), "test_path": str(tables[1]), "text_column": TEXT, "split_seed": seed,
                 **{key: data[key] for key in TOKENIZER_KEYS if key in data}},
        "model": {**{key: model[key] for key in ENCODER_KEYS if key in model},
                  "mask_probability": section.mask_probability, "lr": 1e-3, "weight_decay": 0.01,
                  "warmup_fraction": 0.06, "decay": "cosine"},
        "checkpoints": {"monitor": None},
        "trainer": {"max_steps": section.max_steps, "max_epochs": -1, "gradient_clip_val": 1.0,
                    "log_every_n_steps": 50},
    }
    owned = {"checkpoints": {"dirpath": str(checkpoints)},
             "trainer": {"default_root_dir": str(folder),
                         "logger": {"class_path": "pytorch_lightning.loggers.CSVLogger",
                                    "init_args": {"save_dir": str(folder), "name": logs}}}}
    return merge(merge(base, {"data": section.data, "model": section.model, "trainer": section.trainer}), owned)


def starting_from(user: Mapping[str, Any], checkpoint: Path) -> dict[str, Any]:
    """``user`` with the fold models starting from the pretraining ``checkpoint``: its weights and its tokenizer
    (and its architecture: a checkpoint folder the pretraining started from is not read again)."""
    model: dict[str, Any] = {"init_from": str(checkpoint)}
    if "pretrained" in (user.get("model") or {}):
        model["pretrained"] = None
    return merge(user, {"data": {"tokenizer_path": str(checkpoint)}, "model": model})


def saved_encoder_config(checkpoint: Path) -> dict[str, Any] | None:
    """The encoder configuration a fold model's ``checkpoint`` saved when its encoder came from a checkpoint (a
    pretrained folder, or a pretraining that started from one), else None."""
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True).get("hyper_parameters", {})
    return saved.get("encoder_config")


def predict_args(fit: Mapping[str, Any], checkpoint: Path, split: Literal["validation", "test"], output: Path,
                 encoder_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``imbalance-xfmr predict`` config that writes ``checkpoint``'s probabilities of ``split`` (the fold's
    held-out rows, or the test rows) to ``output``: the model's fit config with the tokenizer and labels taken
    from the checkpoint, no logger, and the run folder (not the writer) deciding what may be replaced.
    ``encoder_config``: what :func:`saved_encoder_config` read from ``checkpoint``."""
    # The checkpoint holds the weights and the tokenizer: nothing is read from a pretraining checkpoint or a
    # pretrained folder; an encoder that came from one is rebuilt from the configuration the checkpoint saved.
    model: dict[str, Any] = {"init_from": None}
    if encoder_config is not None:
        model.update(pretrained=None, encoder_config=encoder_config)
    return merge(fit, {
        "data": {"predict_split": split, "checkpoint_path": str(checkpoint), "tokenizer_path": None},
        "model": model,
        # One process predicts (the writer writes from one), whatever devices the model trained on.
        "trainer": {"logger": False, "devices": 1, "num_nodes": 1, "strategy": "auto", **QUIET["trainer"]},
        "prediction_writer": {"output_path": str(output), "overwrite": True},
    })


def is_distributed(args: Mapping[str, Any]) -> bool:
    """Whether the config trains on several devices or nodes (DDP): such a fit runs as its own command, since
    Lightning's DDP launcher starts one process per device from the command line."""
    trainer = args.get("trainer") or {}
    devices = trainer.get("devices", "auto")
    several = (isinstance(devices, int) and devices > 1) or (isinstance(devices, (list, tuple)) and len(devices) > 1)
    return several or int(trainer.get("num_nodes", 1) or 1) > 1 or str(trainer.get("strategy", "")).startswith("ddp")


def build(args: Mapping[str, Any]) -> ImbalanceXfmrCLI:
    """DataModule, model and Trainer of ``imbalance-xfmr`` for the config ``args``, without running anything."""
    quiet_lightning()
    with warnings.catch_warnings():
        # LightningCLI warns that sys.argv (here `python -m competition ...`) is ignored in favour of `args`: intended.
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        # A resumed fold model rewrites its config.yaml.
        return make_cli(dict(args), run=False, save_config_kwargs={"overwrite": True})


def build_pretraining(args: Mapping[str, Any]) -> ImbalanceXfmrCLI:
    """DataModule, model and Trainer of ``imbalance-xfmr pretrain`` for the config ``args``, without running it."""
    quiet_lightning()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        return make_pretrain_cli(dict(args), run=False, save_config_kwargs={"overwrite": True})


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (None: leave the setting alone), then restore it."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
