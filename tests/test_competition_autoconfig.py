"""The settings a run gets without a fold-model YAML (competition/autoconfig.py): the preset's choices and the
fold-model settings derived from the data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from competition.autoconfig import (PRESETS, derive, derived_fold_seeds, derived_pretraining,
                                    derived_pretraining_seeds, pretraining_steps, resolve, sequence_length,
                                    vocabulary_size)
from competition.config import DataConfig, PipelineConfig, PretrainConfig, TransformerConfig
from competition.fold_models import pretrain_args, user_config
from competition.layout import pretrain_paths


def config(**changes) -> PipelineConfig:
    return dataclasses.replace(PipelineConfig(data=DataConfig(dir="."), output="run"), **changes)


def test_the_vocabulary_grows_with_the_repeated_words_within_bounds():
    few = ["a b c"] * 3
    assert vocabulary_size(few)[0] == 2000
    many = [" ".join(f"w{i}" for i in range(5500))] * 2  # 5,500 words, each twice
    size, note = vocabulary_size(many)
    assert size == 6000 and "5500 distinct words" in note
    assert vocabulary_size([" ".join(f"w{i}" for i in range(40000))] * 2)[0] == 16000
    assert vocabulary_size([" ".join(f"w{i}" for i in range(5500))])[0] == 2000  # seen once: not counted


def test_max_length_covers_the_95th_percentile_and_long_texts_keep_head_and_tail():
    lengths = np.arange(1, 101)  # 95th percentile 95.05 -> 95 -> 96
    length, truncation, note = sequence_length(lengths, cap=256)
    assert length == 96 and truncation == "head_tail"
    assert note.startswith("max_length 96: covers 96% of train texts whole") and "head and tail" in note
    assert sequence_length(np.full(50, 10), cap=256)[:2] == (16, "head")  # short texts: at least 16, nothing cut
    length, _, note = sequence_length(np.arange(1, 1001), cap=256)
    assert length == 256 and "capped at 256" in note


def _texts(n: int, words: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"word{i}" for i in range(300)])
    return [" ".join(rng.choice(vocabulary, words)) for _ in range(n)]


@pytest.mark.parametrize("preset", list(PRESETS))
def test_derived_settings_follow_the_row_count_and_the_preset(preset):
    budget = PRESETS[preset]
    small = derive(config(preset=preset), _texts(1000, 10), _texts(200, 10), [900, 100])
    large = derive(config(preset=preset), _texts(12000, 10), _texts(200, 10), [11000, 1000])
    assert small.lightning["model"]["d_model"] == 64
    assert large.lightning["model"]["d_model"] == budget.max_width
    # batches of 16 to 64 rows, about 250 a fold; epochs from the preset's step budget
    assert small.lightning["data"]["batch_size"] == 16 and large.lightning["data"]["batch_size"] == 32
    steps = 12000 * 4 // 5 // 32 + 1
    assert large.lightning["trainer"]["max_epochs"] == min(30, max(2, round(budget.fold_steps / steps)))
    assert len(small.notes) == 5 and all(isinstance(note, str) for note in small.notes)


def test_long_texts_get_smaller_batches_and_head_tail_truncation():
    derived = derive(config(), _texts(3000, 400), _texts(10, 400), [2000, 1000])
    data = derived.lightning["data"]
    assert data["max_length"] == 256 and data["truncation"] == "head_tail"
    assert data["batch_size"] * data["max_length"] <= 4096


def test_pretraining_fits_the_lengths_with_the_run_tokenizer_and_lowers_the_fine_tuning_rate():
    texts, test = _texts(500, 10), _texts(50, 10)
    on = derive(config(pretrain=PretrainConfig(enabled=True, max_steps=100)), texts, test, [400, 100])
    off = derive(config(pretrain=PretrainConfig(enabled=False)), texts, test, [400, 100])
    assert on.lightning["model"]["lr"] < off.lightning["model"]["lr"]
    assert not any("pretraining" in note for note in off.notes)
    steps, note = derived_pretraining(config(pretrain=PretrainConfig(enabled=True, max_steps=100)), 550,
                                      {"batch_size": 16, "max_length": 16})
    assert steps == 100 and note.startswith("self-pretraining: 100 masked-LM steps (pretrain.max_steps) on all 550")
    assert f"(fine-tuning lr {on.lightning['model']['lr']:g})" in note


def test_a_small_corpus_gets_the_presets_passes_within_the_token_budget():
    default = PRESETS["default"]
    # 5,500 texts in batches of 16 x 48: 25 passes are 8,594 steps, 6.6 million token positions: all of them
    steps, note = pretraining_steps(default, 5500, 16, 48)
    assert steps == -(-25 * 5500 // 16) == 8594 and "25 passes over the corpus" in note
    # batches of 16 x 160: the budget allows 3,125 steps (9 passes)
    steps, note = pretraining_steps(default, 5500, 16, 160)
    budget = default.pretrain_tokens
    assert steps == budget // (16 * 160) == 3125 and steps * 16 * 160 <= budget and "9 passes" in note
    # a large corpus (25,000 texts, 64 x 48) or long texts (16 x 256): never fewer than the preset's steps
    assert pretraining_steps(default, 25000, 64, 48) == (3000, "the preset's")
    assert pretraining_steps(default, 7700, 16, 256)[0] == 3000
    # a preset without passes keeps its steps; best: 50 passes within three times the default's token positions
    assert pretraining_steps(PRESETS["fast"], 100, 16, 16)[0] == PRESETS["fast"].pretrain_steps
    assert pretraining_steps(PRESETS["best"], 5500, 16, 48)[0] == -(-50 * 5500 // 16) == 17188
    assert pretraining_steps(PRESETS["best"], 25000, 64, 48)[0] == PRESETS["best"].pretrain_steps == 10000


def _pretraining_steps(transformer: TransformerConfig, pretrain: PretrainConfig) -> tuple[int, dict]:
    """What autoconfig.derive_run does: derive, make the pretraining's config, count its steps from its data section."""
    texts, test = _texts(2400, 10), _texts(100, 10)  # 2,500 texts: 25 passes in batches of 16 are 3,907 steps
    run = config(transformer=transformer, pretrain=pretrain)
    user = user_config(transformer, derive(run, texts, test, [2000, 400]).lightning)
    data = pretrain_args(user, pretrain, seed=0, **pretrain_paths("run"))["data"]
    return derived_pretraining(run, 2500, data)[0], user["data"]


def test_derived_pretraining_steps_read_the_pretraining_batches():
    def steps(batch_size: int, length: int) -> int:
        return pretraining_steps(PRESETS["default"], 2500, batch_size, length)[0]

    derived, data = _pretraining_steps(TransformerConfig(), PretrainConfig(enabled=True))
    assert data["batch_size"] == 16 and derived == steps(16, data["max_length"]) == 3907
    folds_of_8, data = _pretraining_steps(TransformerConfig(data={"batch_size": 8}), PretrainConfig(enabled=True))
    assert folds_of_8 == steps(8, data["max_length"]) == 7813
    bigger, _ = _pretraining_steps(TransformerConfig(data={"batch_size": 8}),
                                   PretrainConfig(enabled=True, data={"batch_size": 64}))
    assert bigger == steps(64, data["max_length"]) == PRESETS["default"].pretrain_steps
    _, note = derived_pretraining(config(pretrain=PretrainConfig(enabled=True)), 2500,
                                  {"batch_size": 16, "max_length": data["max_length"]})
    assert note.startswith("self-pretraining: 3907 masked-LM steps (the preset's 25 passes over the corpus")


def test_resolve_fills_what_the_preset_decides_and_keeps_what_the_user_set():
    derived = resolve(config(preset="best"))
    assert derived.transformer.n_seeds is None  # derived_fold_seeds decides, from the pretrainings
    assert derived.pretrain.enabled is True and derived.pretrain.max_steps is None  # derive() counts the steps
    assert derived.pretrain.n_seeds is None  # derived_pretraining_seeds decides, from the pretraining's cost
    yaml_run = resolve(config(transformer=TransformerConfig(lightning_config="x.yaml")))
    assert yaml_run.transformer.n_seeds == 1 and yaml_run.pretrain.enabled is False
    assert yaml_run.pretrain.n_seeds == 1
    assert yaml_run.pretrain.max_steps == PRESETS["default"].pretrain_steps
    explicit = resolve(config(transformer=TransformerConfig(n_seeds=3), pretrain=PretrainConfig(enabled=False,
                                                                                                 max_steps=7)))
    assert explicit.transformer.n_seeds == 3 and explicit.pretrain.enabled is False
    assert explicit.pretrain.max_steps == 7
    zero = resolve(config(transformer=TransformerConfig(n_seeds=0), pretrain=PretrainConfig(max_steps=0)))
    assert zero.transformer.n_seeds == 0 and zero.pretrain.max_steps == 0  # left for the validation to refuse


@pytest.mark.parametrize("bad", [{"batch_size": 0}, {"batch_size": "x"}, {"max_length": -3}, {"batch_size": True}])
def test_a_bad_batch_key_is_left_to_the_config_checks(bad):
    # derived_pretraining must not divide by it or convert it: the pretraining's config check names it afterwards
    steps, note = derived_pretraining(config(pretrain=PretrainConfig(enabled=True)), 2500,
                                      {"batch_size": 16, "max_length": 16, **bad})
    assert steps == PRESETS["default"].pretrain_steps and "(the preset's)" in note


def test_a_small_corpus_is_pretrained_once_per_fold_model_seed_up_to_the_presets_count():
    small = {"batch_size": 16, "max_length": 24}  # trec: 9,300 steps of 16 x 24 are 3.6M token positions
    two_models = dataclasses.replace(resolve(config()).transformer, n_seeds=2)
    n, note = derived_pretraining_seeds(config(transformer=two_models), 9300, small)
    assert n == 2 and note.startswith("pretrain.n_seeds 2: a pretraining costs 3,571,200 token positions, within the "
                                      "preset's 8,000,000") and note.endswith("starts from pretraining j % 2")
    # transformer.n_seeds left null: the preset's count, and derived_fold_seeds gives a fold that many models.
    n, note = derived_pretraining_seeds(config(), 9300, small)
    assert n == PRESETS["default"].pretrain_seeds and "transformer.n_seeds" not in note
    # More token positions than the budget (the 20,000-text benchmark: 3,000 steps of 64 x 48): one pretraining.
    n, note = derived_pretraining_seeds(config(transformer=two_models), 3000, {"batch_size": 64, "max_length": 48})
    assert n == 1 and "9,216,000 token positions, more than the preset's 8,000,000" in note
    five = dataclasses.replace(two_models, n_seeds=5)
    assert derived_pretraining_seeds(config(preset="best", transformer=five), 18600, small)[0] == 3
    assert derived_pretraining_seeds(config(preset="fast", transformer=two_models), 300, small)[0] == 1
    one_model = dataclasses.replace(two_models, n_seeds=1)
    assert derived_pretraining_seeds(config(transformer=one_model), 9300, small)[0] == 1  # none for a second
    n, note = derived_pretraining_seeds(config(transformer=five, pretrain=PretrainConfig(n_seeds=4)), 9300, small)
    assert n == 4 and note.startswith("pretrain.n_seeds 4: pretrain.n_seeds;")
    unknown_batch = {"batch_size": "x", "max_length": 24}  # left to the pretraining's config check
    assert derived_pretraining_seeds(config(transformer=two_models), 9300, unknown_batch)[0] == 1


def test_fold_models_per_fold_are_the_presets_or_one_per_pretraining():
    default = PRESETS["default"].n_seeds
    assert derived_fold_seeds(config(), 0) == (default, f"transformer.n_seeds {default}: the preset's")
    assert derived_fold_seeds(config(), 1)[0] == default
    n, note = derived_fold_seeds(config(), default + 1)
    assert n == default + 1 and note == (f"transformer.n_seeds {default + 1}: one fold model per pretraining (the "
                                         f"preset's {default} is fewer)")
    assert derived_fold_seeds(config(preset="best"), 3)[0] == PRESETS["best"].n_seeds  # 5 models, 3 pretrainings
    assert derived_fold_seeds(config(transformer=TransformerConfig(n_seeds=1)), 4) == (1, None)  # the user's
