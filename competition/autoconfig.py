"""What a run gets without a fold-model YAML: the preset's budgets, and fold-model settings derived from the data.

``python -m competition run --data.dir DIR`` needs no config. With ``transformer.lightning_config`` null (the
default) the fold models' ``imbalance-xfmr`` config is built here from the competition's texts and labels, every
derived value with the reason it was chosen (written to the manifest and the report):

- the subword vocabulary from the number of distinct words that occur at least twice;
- ``max_length`` from the training texts' token lengths (the 95th percentile; longer texts keep their head and
  tail, Sun et al. 2019), capped so that a batch stays affordable on a CPU;
- the width and the batch size from the row count, and the epochs from the preset's budget of optimizer steps;
- self-pretraining (masked-language-model pretraining of the encoder on every train and test text, without labels;
  see :mod:`competition.pretrain`), the fold models starting from its weights: the preset's steps, or more passes
  over a small corpus while they stay within a budget of token positions (task-adaptive pretraining pays with
  passes, Gururangan et al. 2020; the budget bounds its time); a pretraining within that budget is repeated with
  other seeds, fold model j of every fold starting from pretraining j mod their number (a small corpus's
  pretraining varies most from seed to seed, and the fold ensemble then averages over several); with
  ``transformer.n_seeds`` null a fold then has one model per pretraining, at least the preset's ``n_seeds``.

Any derived value is overridden by its key (``--transformer.data '{max_length: 128}'``, ``--transformer.model
'{d_model: 64}'``, ``--transformer.trainer '{max_epochs: 5}'``, ``--pretrain.max_steps 500``). A YAML in
``transformer.lightning_config`` is a complete recipe: then nothing is derived, pretraining is off unless
``pretrain.enabled`` is true, and ``transformer.n_seeds`` is 1 unless set.

The rules are fixed formulas of the data's size and lengths, not values fitted to particular competitions; the
presets (``--preset fast|default|best``) only scale the budgets.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from competition.config import PipelineConfig
from competition.data import Competition
from competition.fold_models import FoldModelConfigError, pretrain_args, user_config
from competition.layout import pretrain_paths
from imbalance_xfmr.data.pretrained_tokenizer import PretrainedTokenizer
from imbalance_xfmr.model.hf_checkpoint import describe_checkpoint
from imbalance_xfmr.precision import choose_precision
from imbalance_xfmr.data.tokenizer import SubwordTokenizer


@dataclass(frozen=True)
class Preset:
    """The budgets of a preset: what ``--preset`` scales."""

    fold_steps: int  # optimizer steps each fold model aims at (epochs = this / steps per epoch, within bounds)
    fine_tune_epochs: int  # epochs of a fold model fine-tuning a pretrained checkpoint (BERT's recipe: 2 to 4)
    pretrain_steps: int  # optimizer steps of the self-pretraining, at least
    pretrain_passes: int  # more steps, up to this many passes over the corpus (0: none)...
    pretrain_tokens: int  # ...as long as they cost at most this many token positions (steps x batch x max_length)
    n_seeds: int  # fold models per fold (seed averaging), at least (one per pretraining)
    pretrain_seeds: int  # pretrainings, when one costs at most pretrain_tokens
    max_width: int  # the widest d_model the row count may earn
    max_length: int  # the longest sequence a fold model reads


PRESETS: dict[str, Preset] = {
    # fast: a first look at a new competition, minutes on a 2-core machine.
    "fast": Preset(fold_steps=400, fine_tune_epochs=1, pretrain_steps=300, pretrain_passes=0, pretrain_tokens=0,
                   n_seeds=1, pretrain_seeds=1, max_width=64, max_length=128),
    # default: a whole run of 20,000 short texts within 20 minutes on 2 cores (docs/PERFORMANCE.md has the timings).
    # Its token budget is a little under the 9.2 million of 3,000 steps on 20,000 short texts (batches of 64 x 48):
    # they keep their 3,000 steps, and one pretraining; a smaller corpus gets more passes and three pretrainings.
    "default": Preset(fold_steps=2000, fine_tune_epochs=3, pretrain_steps=3000, pretrain_passes=25,
                      pretrain_tokens=8_000_000, n_seeds=2, pretrain_seeds=3, max_width=128, max_length=256),
    # best: longer pretraining, three of them on a small corpus, and five seeds per fold.
    "best": Preset(fold_steps=3000, fine_tune_epochs=4, pretrain_steps=10000, pretrain_passes=50,
                   pretrain_tokens=24_000_000, n_seeds=5, pretrain_seeds=3, max_width=128, max_length=256),
}

WIDE_ROWS = 2500  # from this many training rows on, fold models are max_width wide (below, 64)
TOKENS_PER_BATCH = 4096  # a batch of long texts is cut to this many tokens (batch_size * max_length)
FINE_TUNING_LR = 5e-4  # the fold models' learning rate when they start from the self-pretraining (1e-3 without)
COVERED_SHARE = 95  # max_length covers this percentile of the training texts' token lengths


def resolve(config: PipelineConfig) -> PipelineConfig:
    """``config`` with the preset's choices filled in where the user left them null: ``pretrain.enabled`` (false
    with a ``transformer.lightning_config`` YAML), and with a YAML ``transformer.n_seeds`` 1, ``pretrain.max_steps``
    the preset's and ``pretrain.n_seeds`` 1. Derived settings derive those three from the data
    (:func:`pretraining_steps`, :func:`derived_pretraining_seeds`, :func:`derived_fold_seeds`), so they stay null
    here when the user left them null."""
    preset = PRESETS[config.preset]
    derived = config.transformer.lightning_config is None
    # `is None`, not `or`: an explicit 0 must reach the validation and its error, not become the preset's value.
    n_seeds, max_steps, enabled = config.transformer.n_seeds, config.pretrain.max_steps, config.pretrain.enabled
    transformer = dataclasses.replace(config.transformer, n_seeds=1 if n_seeds is None and not derived else n_seeds)
    pretrain_seeds = config.pretrain.n_seeds
    if not derived:
        max_steps = preset.pretrain_steps if max_steps is None else max_steps
        pretrain_seeds = 1 if pretrain_seeds is None else pretrain_seeds
    # A pretrained checkpoint is fine-tuned as it is unless the user asks for task-adaptive pretraining too.
    default_pretraining = derived and config.transformer.pretrained is None
    pretrain = dataclasses.replace(config.pretrain, enabled=default_pretraining if enabled is None else enabled,
                                   max_steps=max_steps, n_seeds=pretrain_seeds)
    return dataclasses.replace(config, transformer=transformer, pretrain=pretrain)


@dataclass(frozen=True)
class DerivedSettings:
    """The fold models' derived ``imbalance-xfmr`` config and why each value was chosen: ``notes[i]`` explains the
    value at ``keys[i]`` (``"section.key"`` of ``lightning``)."""

    lightning: dict[str, Any]
    notes: list[str]
    keys: list[str]
    pretrained_weights: dict[str, str] | None = None  # the checkpoint's weight files -> SHA-256 (fine-tuning only)

    def notes_after(self, merged: Mapping[str, Any]) -> list[str]:
        """The notes of the settings the fold models train with, ``merged`` (this config with the user's
        ``transformer.data`` / ``.model`` / ``.trainer`` merged over it): a value the user overrode is named as
        theirs, with what the data would have given, so that the log, manifest and report say what trains."""
        notes = []
        for note, key in zip(self.notes, self.keys):
            section, name = key.split(".")
            derived, used = self.lightning[section][name], (merged.get(section) or {}).get(name)
            notes.append(note if used == derived else
                         f"{name} {used}: set by --transformer.{section} (derived from the data: {note})")
        return notes


def vocabulary_size(texts: Sequence[str]) -> tuple[int, str]:
    """Subword vocabulary from the corpus: the distinct lowercased words (BERT-style split on spaces and
    punctuation) seen at least twice, rounded up to a thousand, within [2000, 16000]. Rarer words are split into
    subwords; a larger table than the corpus can train only adds untrained rows."""
    counts = Counter(word for text in texts for word in re.findall(r"\w+|[^\w\s]", text.lower()))
    repeated = sum(1 for count in counts.values() if count >= 2)
    size = int(min(16000, max(2000, math.ceil(repeated / 1000) * 1000)))
    return size, f"max_vocab_size {size}: {repeated} distinct words occur at least twice in the texts"


def sequence_length(lengths: np.ndarray, cap: int) -> tuple[int, str, str]:
    """``max_length`` (tokens, [CLS] included) from the training texts' token lengths: their 95th percentile, up
    to a multiple of 8, within [16, cap]; ``head_tail`` truncation when some text is longer."""
    wanted = int(np.percentile(lengths, COVERED_SHARE))
    length = int(min(cap, max(16, math.ceil(wanted / 8) * 8)))
    covered = float(np.mean(lengths <= length))
    truncation = "head_tail" if covered < 1 else "head"
    note = f"max_length {length}: covers {covered:.0%} of train texts whole (95th percentile {wanted} tokens"
    note += f", capped at {cap})" if wanted > cap else ")"
    if truncation == "head_tail":
        note += "; longer ones keep head and tail"
    return length, truncation, note


def pretraining_steps(preset: Preset, n_texts: int, batch_size: int, max_length: int) -> tuple[int, str]:
    """Optimizer steps of the self-pretraining on a corpus of ``n_texts`` read in batches of ``batch_size`` x
    ``max_length``: ``preset.pretrain_steps``, or up to ``preset.pretrain_passes`` passes over the corpus when those
    take more steps and cost at most ``preset.pretrain_tokens`` token positions (a small corpus of short texts gets
    its passes; a large or long one, whose steps cost more, keeps the preset's steps)."""
    budget = preset.pretrain_tokens
    passes = math.ceil(preset.pretrain_passes * n_texts / batch_size)
    steps = max(preset.pretrain_steps, min(passes, budget // (batch_size * max_length)))
    if steps == preset.pretrain_steps:
        return steps, "the preset's"
    if steps == passes:
        return steps, f"the preset's {preset.pretrain_passes} passes over the corpus, within {budget:,} token positions"
    return steps, f"{steps * batch_size / n_texts:.0f} passes over the corpus: as many as {budget:,} positions allow"


def _batch_shape(data: Mapping[str, Any]) -> tuple[int, int] | None:
    """(batch_size, max_length) of the pretraining's data section, or None when either is no positive integer (the
    pretraining's config check names it later; nothing here divides by it or converts it)."""
    shape = data.get("batch_size"), data.get("max_length")
    return shape if all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape) else None


def derived_pretraining(config: PipelineConfig, n_texts: int, data: Mapping[str, Any],
                        fine_tuning_lr: float = FINE_TUNING_LR) -> tuple[int, str]:
    """(optimizer steps, the note that says why) of the self-pretraining of derived fold-model settings on
    ``n_texts`` train and test texts, whose ``imbalance-xfmr pretrain`` data section is ``data``
    (:func:`competition.fold_models.pretrain_args`): ``pretrain.max_steps``, else :func:`pretraining_steps` of the
    batches ``data`` holds; ``fine_tuning_lr`` is the fold models' learning rate, for the note. A batch size or
    length that is no positive integer counts as the preset's steps; the pretraining's config check then names it."""
    steps, why = config.pretrain.max_steps, "pretrain.max_steps"
    if steps is None:
        shape = _batch_shape(data)
        if shape is not None:
            steps, why = pretraining_steps(PRESETS[config.preset], n_texts, *shape)
        else:
            steps, why = PRESETS[config.preset].pretrain_steps, "the preset's"
    return steps, (f"self-pretraining: {steps} masked-LM steps ({why}) on all {n_texts} train and test texts; the "
                   f"fold models start from its weights (fine-tuning lr {fine_tuning_lr:g})")


def derived_pretraining_seeds(config: PipelineConfig, steps: int, data: Mapping[str, Any]) -> tuple[int, str]:
    """(pretrainings, the note that says why) of derived fold-model settings whose self-pretraining takes ``steps``
    of the batches ``data`` holds (its ``imbalance-xfmr pretrain`` data section): ``pretrain.n_seeds``, else the
    preset's ``pretrain_seeds`` when those steps cost at most its ``pretrain_tokens`` token positions, else 1; never
    more than a ``transformer.n_seeds`` the user set, since fold model j starts from pretraining j mod their number
    (left null, the fold models follow: :func:`derived_fold_seeds`).

    Why: on a small corpus the pretraining's seed moves the fold models more than anything else (trec's
    Transformer, out of fold: 1.1 points between three pretraining seeds; 0.16 between two and five fine-tuning
    seeds of one), and such a pretraining is cheap; a large or long corpus, whose one pretraining hits the budget,
    keeps one."""
    n_models = config.transformer.n_seeds
    if config.pretrain.n_seeds is not None:
        n = config.pretrain.n_seeds
        why = "pretrain.n_seeds"
    else:
        preset = PRESETS[config.preset]
        shape = _batch_shape(data)
        tokens = None if shape is None else steps * shape[0] * shape[1]
        if tokens is not None and tokens <= preset.pretrain_tokens and preset.pretrain_seeds > 1:
            n = preset.pretrain_seeds if n_models is None else min(preset.pretrain_seeds, n_models)
            cap = "" if n_models is None else f", at most one per fold-model seed (transformer.n_seeds {n_models})"
            why = (f"a pretraining costs {tokens:,} token positions, within the preset's {preset.pretrain_tokens:,}: "
                   f"the preset's {preset.pretrain_seeds}{cap}")
        else:
            n = 1
            why = ("the preset's" if preset.pretrain_seeds == 1 or tokens is None else
                   f"a pretraining costs {tokens:,} token positions, more than the preset's {preset.pretrain_tokens:,}")
    starts = "every fold model starts from it" if n == 1 else f"fold model j of a fold starts from pretraining j % {n}"
    return n, f"pretrain.n_seeds {n}: {why}; {starts}"


def derived_fold_seeds(config: PipelineConfig, n_pretrainings: int) -> tuple[int, str | None]:
    """(fold models per fold, the note that says why, None when the user set it) of derived fold-model settings
    with ``n_pretrainings`` pretrainings (0 without): ``transformer.n_seeds``, else the preset's ``n_seeds`` or one
    per pretraining when there are more, so that every pretraining starts a model of every fold."""
    if config.transformer.n_seeds is not None:
        return config.transformer.n_seeds, None
    if config.transformer.pretrained is not None and n_pretrainings <= 1:
        return 1, ("transformer.n_seeds 1: one model per fold, since fine-tuning a pretrained encoder costs many "
                   "times a small encoder's training")
    preset = PRESETS[config.preset]
    if n_pretrainings > preset.n_seeds:
        return n_pretrainings, (f"transformer.n_seeds {n_pretrainings}: one fold model per pretraining (the preset's "
                                f"{preset.n_seeds} is fewer)")
    return preset.n_seeds, f"transformer.n_seeds {preset.n_seeds}: the preset's"


def derive(config: PipelineConfig, train_texts: Sequence[str], test_texts: Sequence[str],
           class_counts: Sequence[int]) -> DerivedSettings:
    """The fold models' config for this competition under ``config.preset`` (see the module docstring)."""
    if config.transformer.pretrained is not None:
        return derive_fine_tuning(config, train_texts, class_counts)
    preset = PRESETS[config.preset]
    pretrain = bool(config.pretrain.enabled)
    # The tokenizer the lengths are measured with is the one the fold models will use: the run's, fitted on every
    # text when pretraining (it needs the test texts' words too), else a fold's, fitted on training texts.
    corpus = [*train_texts, *test_texts] if pretrain else list(train_texts)
    vocab, vocab_note = vocabulary_size(corpus)
    tokenizer = SubwordTokenizer("bpe", vocab, 2, mask_token=pretrain).fit(corpus)
    lengths = tokenizer.encode(list(train_texts), max_length=10**9).lengths
    max_length, truncation, length_note = sequence_length(lengths, preset.max_length)

    n_rows = int(sum(class_counts))
    fit_rows = n_rows * (config.folds.n_splits - 1) // config.folds.n_splits
    width = preset.max_width if n_rows >= WIDE_ROWS else min(64, preset.max_width)
    batch = int(min(64, max(16, 2 ** round(math.log2(max(1, fit_rows / 250))))))
    batch = int(min(batch, max(8, TOKENS_PER_BATCH // max_length)))
    steps_per_epoch = math.ceil(fit_rows / batch)
    epochs = int(min(30, max(2, round(preset.fold_steps / steps_per_epoch))))
    notes = [
        vocab_note,
        length_note,
        f"d_model {width}, 2 layers: {n_rows} training rows ({'>=' if n_rows >= WIDE_ROWS else '<'} {WIDE_ROWS}; "
        f"preset {config.preset} allows up to {preset.max_width})",
        f"batch_size {batch}: about {fit_rows // batch} steps an epoch over a fold's {fit_rows} rows"
        + (f" (at most {TOKENS_PER_BATCH} tokens a batch)" if batch * max_length > TOKENS_PER_BATCH - batch else ""),
        f"max_epochs {epochs}: the preset's {preset.fold_steps} optimizer steps at {steps_per_epoch} steps an epoch "
        "(within 2-30)",
    ]
    lightning: dict[str, Any] = {
        "data": {"tokenizer": "bpe", "max_vocab_size": vocab, "min_frequency": 2, "max_length": max_length,
                 "truncation": truncation, "empty_texts": "keep", "resampling": "none", "batch_size": batch,
                 "length_bucketing": True},
        "model": {"d_model": width, "n_heads": 4, "n_layers": 2, "d_ff": 2 * width, "dropout": 0.1,
                  "norm_first": True, "positional": "sinusoidal", "pooling": "mean", "loss": "ce",
                  "lr": FINE_TUNING_LR if pretrain else 1e-3, "weight_decay": 0.01, "warmup_fraction": 0.1,
                  "decay": "cosine"},
        "checkpoints": {"monitor": "val/f1_macro"},
        "trainer": {"max_epochs": epochs, "gradient_clip_val": 1.0, "log_every_n_steps": 50},
    }
    # The self-pretraining's steps, its seeds and their notes come from its own batches, once its config is made
    # (derived_pretraining and derived_pretraining_seeds, called by derive_run).
    keys = ["data.max_vocab_size", "data.max_length", "model.d_model", "data.batch_size", "trainer.max_epochs"]
    return DerivedSettings(lightning, notes, keys)


FINE_TUNING_PRETRAINED_LR = 5e-5  # BERT's fine-tuning learning rate (Devlin et al. 2019 searched 2e-5 to 5e-5)


def derive_fine_tuning(config: PipelineConfig, train_texts: Sequence[str],
                       class_counts: Sequence[int]) -> DerivedSettings:
    """The fold models' config when they fine-tune the checkpoint ``transformer.pretrained``: its encoder, tokenizer
    and pooling; ``max_length`` from the training texts' lengths under its tokenizer (within its positions and the
    preset's cap); a batch of 16-32 rows; the preset's epochs; BERT's recipe (AdamW at 5e-5, 10% warmup, linear
    decay); bf16 autocast where the hardware has bf16 units (:func:`imbalance_xfmr.precision.choose_precision`)."""
    folder = config.transformer.pretrained
    preset = PRESETS[config.preset]
    try:
        facts = describe_checkpoint(folder)
        tokenizer = PretrainedTokenizer.from_pretrained(folder)
    except (ValueError, FileNotFoundError) as err:  # CheckpointError, CheckpointNotFoundError, a tokenizer's
        raise FoldModelConfigError(f"transformer.pretrained: {err}") from None
    lengths = tokenizer.encode(list(train_texts), max_length=10**9).lengths
    max_length, truncation, length_note = sequence_length(lengths, min(preset.max_length, facts["max_length"]))
    n_rows = int(sum(class_counts))
    fit_rows = n_rows * (config.folds.n_splits - 1) // config.folds.n_splits
    batch = int(min(32, max(16, 2 ** round(math.log2(max(1, fit_rows / 250))))))
    epochs = preset.fine_tune_epochs
    precision = choose_precision("cpu" if not torch.cuda.is_available() else "auto")
    weights = ", ".join(f"{name} sha256 {digest[:12]}" for name, digest in facts["weights"].items())
    notes = [
        f"pretrained {folder}: {facts['model_type']}, {facts['n_layers']} layers x {facts['d_model']}, positions up "
        f"to {facts['max_length']}, its own tokenizer and {facts['pooling']} pooling ({weights})",
        length_note,
        f"batch_size {batch}: about {fit_rows // batch} steps an epoch over a fold's {fit_rows} rows",
        f"max_epochs {epochs}: the preset's fine-tuning epochs (BERT's recipe: 2 to 4)",
        f"lr {FINE_TUNING_PRETRAINED_LR:g}: AdamW with 10% warmup and linear decay (BERT's fine-tuning recipe)",
        f"precision {precision.precision}: {precision.reason}",
    ]
    keys = ["model.pretrained", "data.max_length", "data.batch_size", "trainer.max_epochs", "model.lr",
            "trainer.precision"]
    lightning: dict[str, Any] = {
        "data": {"max_length": max_length, "truncation": truncation, "empty_texts": "keep", "resampling": "none",
                 "batch_size": batch, "length_bucketing": True},
        "model": {"pretrained": folder, "loss": "ce", "lr": FINE_TUNING_PRETRAINED_LR, "weight_decay": 0.01,
                  "warmup_fraction": 0.1, "decay": "linear"},
        "checkpoints": {"monitor": "val/f1_macro"},
        "trainer": {"max_epochs": epochs, "gradient_clip_val": 1.0, "log_every_n_steps": 50,
                    "precision": precision.precision},
    }
    return DerivedSettings(lightning, notes, keys, pretrained_weights=facts["weights"])


@dataclass(frozen=True)
class DerivedRun:
    """A config with every null filled, the fold models' user config, and why each derived value was chosen."""

    config: PipelineConfig  # transformer.n_seeds, pretrain.enabled / max_steps / n_seeds all set
    lightning: dict[str, Any] | None  # the fold models' user config (YAML or derived, with the transformer.*
    # overrides merged); None without the Transformer
    notes: list[str]  # empty with a lightning_config YAML
    pretrained_weights: dict[str, str] | None = None  # transformer.pretrained's weight files -> SHA-256


def derive_run(config: PipelineConfig, competition: Competition) -> DerivedRun:
    """Fill what ``config`` (with the preset's choices, :func:`resolve`) leaves null for the validated
    ``competition``: the one place where the run's settings are decided. Without a ``transformer.lightning_config``
    the fold models' settings (:func:`derive`, the user's ``transformer.*`` overrides merged over them), the
    self-pretraining's steps and count (:func:`derived_pretraining`, :func:`derived_pretraining_seeds`, from the
    batches its config holds) and the fold models per fold (:func:`derived_fold_seeds`)."""
    section, pretrain = config.transformer, config.pretrain
    derived = section.enabled and section.lightning_config is None
    lightning, notes, weights = None, [], None
    if section.enabled and not derived:
        lightning = user_config(section)
    if derived:
        settings = derive(config, competition.train_texts.tolist(), competition.test_texts.tolist(),
                          competition.class_counts.tolist())
        lightning = user_config(section, settings.lightning)
        notes, weights = settings.notes_after(lightning), settings.pretrained_weights
        if pretrain.enabled:  # its steps and count come from the batches its config holds
            data = pretrain_args(lightning, pretrain, seed=config.seed, **pretrain_paths(config.output))["data"]
            n_texts = len(competition.train_texts) + len(competition.test_texts)
            steps, note = derived_pretraining(config, n_texts, data, lightning["model"].get("lr"))
            n_seeds, seeds_note = derived_pretraining_seeds(config, steps, data)
            notes += [note, seeds_note]
            pretrain = dataclasses.replace(pretrain, max_steps=steps, n_seeds=n_seeds)
    if section.n_seeds is None:  # derived settings, the user left it null
        n_pretrainings = pretrain.n_seeds if lightning is not None and pretrain.enabled else 0
        n_models, note = derived_fold_seeds(config, n_pretrainings)
        notes += [note] if derived else []
        section = dataclasses.replace(section, n_seeds=n_models)
    return DerivedRun(dataclasses.replace(config, transformer=section, pretrain=pretrain), lightning, notes, weights)
