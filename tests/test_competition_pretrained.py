"""``python -m competition run --transformer.pretrained DIR``: the fold models fine-tune a checkpoint folder's
encoder with its own tokenizer, the settings derived for fine-tuning are logged and recorded with the checkpoint's
weight hashes, a rerun resumes, and a folder that is not a checkpoint is one error line before anything is written.

The checkpoint is a tiny random BERT built here with transformers (a test-only dependency); nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import transformers

from test_competition_faults import WORDS, error_of, run, write_competition

SIZES = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48)


@pytest.fixture(scope="module")
def bert(tmp_path_factory) -> Path:
    """A tiny BERT folder with a WordPiece vocab.txt of the test competition's words."""
    folder = tmp_path_factory.mktemp("bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted({w for words in WORDS.values() for w in words})]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    torch.manual_seed(0)
    transformers.BertModel(transformers.BertConfig(vocab_size=len(vocab), max_position_embeddings=64,
                                                   **SIZES)).save_pretrained(folder)
    return folder


FAST = ("--preset", "fast", "--folds.n_splits", "2", "--transformer.parallel", "1", "--baseline.min_df", "1")


def test_a_run_fine_tunes_the_checkpoint_and_records_it(tmp_path, bert, capsys):
    data = write_competition(tmp_path / "data")
    output = tmp_path / "run"
    run(data, output, *FAST, "--transformer.pretrained", str(bert))
    log = capsys.readouterr().err
    assert f"pretrained {bert}: bert, 2 layers x 32" in log and "model.safetensors sha256" in log
    assert "max_epochs 1: the preset's fine-tuning epochs" in log and "self-pretraining" not in log
    manifest = json.loads((output / "manifest.json").read_text())
    weights = manifest["pins"]["transformer"]["pretrained_weights"]
    assert list(weights) == ["model.safetensors"] and len(weights["model.safetensors"]) == 64
    assert manifest["config"]["transformer"]["n_seeds"] == 1 and not (output / "pretrain").exists()
    fit_config = next((output / "folds" / "fold_0" / "logs").glob("version_*/config.yaml")).read_text()
    assert f"pretrained: {bert}" in fit_config
    assert (output / "submission.csv").is_file() and (output / "oof.csv").is_file()
    run(data, output, *FAST, "--transformer.pretrained", str(bert))  # a rerun resumes: nothing trains again
    assert capsys.readouterr().err.count("already trained, skipped") == 2


@pytest.mark.parametrize("given, message", [
    ("sentence-transformers/all-MiniLM-L6-v2", "is not a folder: give a local checkpoint folder"),
    ("{empty}", "config.json does not exist"),
])
def test_a_folder_that_is_no_checkpoint_is_one_error_before_anything_is_written(tmp_path, capsys, given, message):
    data = write_competition(tmp_path / "data")
    (tmp_path / "empty").mkdir()
    error = error_of(capsys, data, tmp_path / "run", *FAST,
                     "--transformer.pretrained", given.format(empty=tmp_path / "empty"))
    assert "transformer.pretrained" in error and message in error
    assert not (tmp_path / "run").exists()


def test_task_adaptive_pretraining_continues_the_checkpoint_then_the_fold_models_start_from_it(tmp_path, bert, capsys):
    data = write_competition(tmp_path / "data")
    output = tmp_path / "run"
    run(data, output, *FAST, "--transformer.pretrained", str(bert), "--pretrain.enabled", "true",
        "--pretrain.max_steps", "3")
    log = capsys.readouterr().err
    assert "self-pretraining: 3 masked-LM steps (pretrain.max_steps)" in log and "fine-tuning lr 5e-05" in log
    pretrain_config = next((output / "pretrain" / "logs").glob("version_*/config.yaml")).read_text()
    assert f"pretrained: {bert}" in pretrain_config  # the masked LM starts from the checkpoint
    fit_config = next((output / "folds" / "fold_0" / "logs").glob("version_*/config.yaml")).read_text()
    checkpoint = output / "pretrain" / "checkpoints" / "last.ckpt"
    assert f"init_from: {checkpoint}" in fit_config and "pretrained: null" in fit_config
    assert (output / "submission.csv").is_file()
