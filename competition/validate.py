"""Every check of the config, made once, before any step writes anything: :func:`check_config` (the config alone,
before the data is read: ranges, choices, the submitted model against the enabled ones), :func:`check_data_fit` (the
number of classes against the metric, the positive class, ``n_splits`` against the smallest class, the groups) and
:func:`check_trainings` (each resolved training's config parsed by the library's own parser, its DataModule and
model built with placeholders, so a bad ``transformer.data`` value is found before the folds are made, not inside
the first fold). Each problem names the key and what to write instead; all problems of a check are reported
together as one :class:`ConfigError`. :mod:`competition.plan` calls them in that order.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

from competition.config import PipelineConfig
from competition.data import Competition, is_missing
from competition.errors import PipelineError
from competition.fold_models import FoldModelConfigError, fit_args
from competition.layout import fold_model_paths
from competition.rules import threshold_metrics
from competition.splitting import classes_missing_from_training, make_folds
from imbalance_xfmr.cli import ConfigError as LightningConfigError
from imbalance_xfmr.cli import check_config as check_lightning_config
from imbalance_xfmr.cli import check_pretrain_config

MAX_SEED = 2**32 - 1  # numpy's and Lightning's seeds are 32-bit unsigned


class ConfigError(PipelineError):
    """The config cannot run; the message lists each key that is wrong and what to write instead."""


def _problems_without_data(config: PipelineConfig) -> list[str]:
    problems = []

    def at_least(key: str, value: Any, low: float, what: str = "an integer") -> None:
        if value is not None and value < low:
            problems.append(f"{key} must be {what} >= {low}, got {value}")

    at_least("seed", config.seed, 0)
    if config.seed > MAX_SEED:
        problems.append(f"seed must be at most {MAX_SEED}, got {config.seed}")
    at_least("folds.n_splits", config.folds.n_splits, 2)
    at_least("folds.seed", config.folds.seed, 0)
    at_least("transformer.n_seeds", config.transformer.n_seeds, 1)
    at_least("transformer.num_threads", config.transformer.num_threads, 1, "null (torch's default) or an integer")
    at_least("transformer.parallel", config.transformer.parallel, 1, "null (as the machine takes) or an integer")
    at_least("pretrain.max_steps", config.pretrain.max_steps, 1, "null (the preset's) or an integer")
    at_least("pretrain.n_seeds", config.pretrain.n_seeds, 1, "null (the preset's) or an integer")
    n_models, n_pretrainings = config.transformer.n_seeds, config.pretrain.n_seeds
    if n_models is not None and n_pretrainings is not None and n_pretrainings > max(n_models, 1):
        problems.append(f"pretrain.n_seeds {n_pretrainings} is more than transformer.n_seeds {n_models}: fold model j "
                        f"starts from pretraining j mod pretrain.n_seeds, so pretrainings past {n_models} would "
                        f"start none; set pretrain.n_seeds to at most {n_models}")
    if not 0 < config.pretrain.mask_probability < 1:
        problems.append(f"pretrain.mask_probability must be in (0, 1) (BERT: 0.15), got "
                        f"{config.pretrain.mask_probability}")
    at_least("baseline.min_df", config.baseline.min_df, 1)
    at_least("baseline.max_iter", config.baseline.max_iter, 1)
    if not config.baseline.C > 0:
        problems.append(f"baseline.C must be a number > 0, got {config.baseline.C}")
    for key in ("word_ngram_range", "char_ngram_range"):
        low, high = getattr(config.baseline, key)
        if not 1 <= low <= high:
            problems.append(f"baseline.{key} must be [low, high] with 1 <= low <= high, got [{low}, {high}]")
    pretrained = config.transformer.pretrained
    if pretrained is not None and not Path(pretrained).is_dir():
        problems.append(f"transformer.pretrained {pretrained!r} is not a folder: give a local checkpoint folder "
                        "(config.json, model.safetensors or pytorch_model.bin, tokenizer.json or vocab.txt); nothing "
                        "is downloaded, so download a Hub model first (e.g. `hf download NAME --local-dir DIR`)")
    elif pretrained is not None and config.transformer.lightning_config is not None:
        problems.append("transformer.pretrained is for settings derived from the data; with "
                        "transformer.lightning_config, put model.pretrained in that YAML instead")
    try:
        codecs.lookup(config.data.encoding)
    except LookupError:
        problems.append(f"data.encoding {config.data.encoding!r} is not a text encoding Python knows; write e.g. "
                        "utf-8, latin-1 or cp1252")
    enabled = config.trained_models()
    needs = {None: [], "transformer": ["transformer"], "baseline": ["baseline"],
             "blend": ["transformer", "baseline"]}[config.submission.source]
    disabled = [name for name in needs if name not in enabled]
    if not enabled:
        problems.append("transformer.enabled and baseline.enabled are both false: enable at least one model")
    elif disabled:
        problems.append(f"submission.source is {config.submission.source!r}, but {' and '.join(disabled)} "
                        f"{'is' if len(disabled) == 1 else 'are'} disabled ({disabled[0]}.enabled=false); enable "
                        f"it or set submission.source to {enabled[0]!r}")
    return problems


def _check_fold_model_config(config: PipelineConfig, user: dict[str, Any], num_classes: int) -> None:
    """Parse the fold models' config ``user`` with the ``imbalance-xfmr`` parser as fold 0's model would be, and
    build its DataModule and model with placeholders, so that their own range checks run too."""
    section = config.transformer
    args = fit_args(user, k=0, seed=config.seed, **fold_model_paths(config.output), checkpoint=section.checkpoint)
    try:
        check_lightning_config(args, num_classes)
    except LightningConfigError as err:
        base, where = ((section.lightning_config, "in the YAML or with") if section.lightning_config is not None
                       else ("the settings derived from the data", "with"))
        raise FoldModelConfigError(
            f"the fold models' config ({base} with transformer.data/.model/.trainer merged over it) is not valid for "
            f"`imbalance-xfmr fit`: {str(err).rstrip('.')}. Fix that key {where} --transformer.<section> "
            "'{key: value}'") from None
    trainer = user.get("trainer") or {}
    for key in ("max_epochs", "max_steps", "limit_train_batches"):
        if trainer.get(key) == 0:
            raise FoldModelConfigError(
                f"the fold models' trainer.{key} is 0, so they would train no step and write no checkpoint to "
                f"predict with; set it to at least 1 (--transformer.trainer '{{{key}: 1}}') or remove it")
    if section.checkpoint == "best" and (user.get("checkpoints") or {}).get("monitor", "") is None:
        raise FoldModelConfigError("transformer.checkpoint is 'best', but the fold models' checkpoints.monitor is "
                                   "null, so no best checkpoint is kept; set transformer.checkpoint=last or a monitor")


def _check_pretraining_config(args: dict[str, Any]) -> None:
    """Parse the pretraining's config with the ``imbalance-xfmr pretrain`` parser, as the pretrain step will."""
    try:
        check_pretrain_config(args)
    except LightningConfigError as err:
        raise FoldModelConfigError(
            f"the self-pretraining's config (the fold models' encoder and tokenizer with pretrain.model/.trainer/.data "
            f"merged over them) is not valid for `imbalance-xfmr pretrain`: {str(err).rstrip('.')}. Fix that key with "
            "--pretrain.<section> '{key: value}', or set pretrain.enabled=false") from None


def check_config(config: PipelineConfig, only_fold: int | None = None, only_seed: int | None = None) -> None:
    """Raise :class:`ConfigError` for a config that cannot run, before the data is read (``only_fold`` /
    ``only_seed``: ``train --only-fold`` / ``--only-seed``)."""
    problems = _problems_without_data(config)
    if only_fold is not None and not 0 <= only_fold < config.folds.n_splits:
        problems.append(f"--only-fold {only_fold}: folds are numbered 0 to {config.folds.n_splits - 1} "
                        f"(folds.n_splits={config.folds.n_splits})")
    if only_seed is not None and only_fold is None:
        problems.append("--only-seed needs --only-fold: give the fold whose model to train")
    if only_fold is not None and not config.transformer.enabled:
        problems.append("--only-fold trains Transformer fold models, but transformer.enabled is false")
    if problems:
        raise ConfigError("the config cannot run:\n- " + "\n- ".join(problems))


def _only_seed_problems(only_seed: int | None, n_seeds: int) -> list[str]:
    if only_seed is None or 0 <= only_seed < n_seeds:
        return []
    return [f"--only-seed {only_seed}: seed indices are 0 to {n_seeds - 1} (transformer.n_seeds={n_seeds})"]


def fold_seed_of(config: PipelineConfig) -> int:
    """The folds' seed: ``folds.seed``, or the run's ``seed`` when it is null."""
    return config.seed if config.folds.seed is None else config.folds.seed


def check_data_fit(config: PipelineConfig, competition: Competition) -> None:
    """Raise :class:`ConfigError` listing every way the config does not fit the validated ``competition`` (the
    number of classes against the metric, the positive class, ``n_splits`` against the smallest class, the group
    column and the folds it would make)."""
    problems = _problems_with_data(config, competition)
    if problems:
        raise ConfigError("the config does not fit this competition:\n- " + "\n- ".join(problems))


def check_trainings(config: PipelineConfig, fold_model: dict[str, Any] | None, pretrainings: list[dict[str, Any]],
                    n_classes: int, only_seed: int | None = None) -> None:
    """Raise :class:`ConfigError` / :class:`FoldModelConfigError` for resolved trainings that cannot run: the first
    fold model's ``imbalance-xfmr fit`` config and the first pretraining's ``imbalance-xfmr pretrain`` config
    (the others differ by their seed and folders only), each parsed and built with placeholders by the library's own
    parser, and ``--only-seed`` against the fold models per fold."""
    problems = _only_seed_problems(only_seed, config.transformer.n_seeds)
    if problems:
        raise ConfigError("the config cannot run:\n- " + "\n- ".join(problems))
    # The fold models' config first: the pretraining's is made from it, so a bad key of theirs is named as theirs.
    if fold_model is not None:
        _check_fold_model_config(config, fold_model, n_classes)
    if pretrainings:
        _check_pretraining_config(pretrainings[0])


def _problems_with_data(config: PipelineConfig, competition: Competition) -> list[str]:
    problems = []
    classes = competition.classes
    metrics = threshold_metrics(len(classes))
    if config.threshold.metric not in metrics:
        task = "binary" if len(classes) == 2 else f"{len(classes)}-class"
        problems.append(f"threshold.metric {config.threshold.metric!r} cannot be tuned for this {task} task; "
                        f"choose one of {list(metrics)}")
    positive = config.threshold.positive_class
    if positive is not None and positive not in classes.tolist():
        problems.append(f"threshold.positive_class {positive!r} is not a class of train.csv {classes.tolist()}")
    elif positive is not None and len(classes) > 2:
        problems.append(f"threshold.positive_class is for binary tasks; this one has {len(classes)} classes: "
                        "set it to null")
    n_splits, group_column = config.folds.n_splits, config.folds.group_column
    counts = competition.class_counts
    if counts.min() < 2:
        single = ", ".join(repr(c) for c, n in zip(classes, counts) if n < 2)
        problems.append(f"train.csv has a single row of class(es) {single}: a class needs at least 2 rows, one to "
                        "train on and one to score out of fold; add rows of it, or drop or merge that class")
    elif counts.min() < n_splits:
        rare = ", ".join(f"{c!r} ({n})" for c, n in zip(classes, counts) if n < n_splits)
        problems.append(f"folds.n_splits={n_splits}, but train.csv has fewer rows than that for class(es) {rare}: "
                        f"every fold must hold every class; set folds.n_splits to at most {counts.min()}")
    if group_column is not None:
        train = competition.train
        if group_column not in train.columns:
            problems.append(f"folds.group_column {group_column!r} is not a column of train.csv; its columns are "
                            f"{list(train.columns)}")
        elif is_missing(train[group_column]).any():
            problems.append(f"folds.group_column {group_column!r} has empty or NaN values in train.csv: fill them "
                            "in (one group per row), or set folds.group_column to null")
        elif (n_groups := train[group_column].nunique()) < n_splits:
            problems.append(f"train.csv has {n_groups} distinct {group_column!r} groups, fewer than "
                            f"folds.n_splits={n_splits}; set folds.n_splits to at most {n_groups}")
        elif not problems:
            # Rows of a group share a fold, so a class found in few groups can be absent from a fold's training rows.
            fold = make_folds(competition.train_labels, n_splits, fold_seed_of(config),
                              competition.groups(group_column))
            missing = classes_missing_from_training(competition.train_labels, fold, classes)
            if missing:
                where = "; ".join(f"fold {k}'s models would train without {', '.join(map(repr, absent))}"
                                  for k, absent in missing.items())
                problems.append(f"folds.group_column {group_column!r}: a group's rows share a fold, and {where} "
                                "(every row of that class is in that fold's groups). Give that class rows in more "
                                "groups, or set folds.group_column to null")
    return problems
