"""A run without a config: fold-model settings derived from the data, the self-pretraining step, fold models that
start from its weights and tokenizer, its resume after a kill and its place in the manifest and the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from kills import SimulatedKill, kill_at_second_epoch
from tiny_competition import write_tiny_competition

import competition.pretrain
from competition.runner import main

# The fast preset, cut down to seconds: two folds, a few pretraining steps over 3-batch epochs, one epoch a fold.
TINY = ["--preset", "fast", "--folds.n_splits", "2", "--transformer.parallel", "1", "--pretrain.max_steps", "9",
        "--pretrain.trainer", "{limit_train_batches: 3, enable_progress_bar: false, enable_model_summary: false}",
        "--transformer.trainer",
        "{max_epochs: 1, limit_train_batches: 3, enable_progress_bar: false, enable_model_summary: false}",
        "--baseline.char_ngram_range", "[2, 3]"]
REPRODUCIBLE = ("folds.csv", "oof.csv", "test.csv", "decision.json", "submission.csv")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_tiny_competition(tmp_path_factory.mktemp("tiny_competition"), 20, 100, 40)


def run(data_dir: Path, output: Path, *extra: str) -> None:
    main(["run", "--data.dir", str(data_dir), "--output", str(output), *TINY, *extra])


@pytest.fixture(scope="module")
def first_run(data_dir, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("runs") / "first"
    run(data_dir, output)
    return output


def _weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    return torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]


def test_a_run_without_config_derives_its_settings_and_records_why(first_run):
    manifest = json.loads((first_run / "manifest.json").read_text())
    notes = manifest["derived"]["notes"]
    assert manifest["derived"]["preset"] == "fast"
    assert any(note.startswith("max_length ") and "of train texts whole" in note for note in notes)
    assert any(note.startswith("max_vocab_size ") for note in notes)
    pins = manifest["pins"]
    assert "pretrain" in pins and pins["transformer"]["pretrain"] == pins["pretrain"]
    assert "seeds" not in pins["pretrain"]  # one pretraining: the pin of a run folder written before there could be two
    assert any(note.startswith("pretrain.n_seeds 1: ") for note in notes)
    report = (first_run / "report" / "report.md").read_text()
    assert "Derived settings" in report and notes[0].split(":")[0] in report
    assert "Self-pretraining" in report and (first_run / "report" / "pretraining_loss.png").is_file()
    assert (first_run / "submission.csv").is_file()


def test_fold_models_start_from_the_pretrained_encoder_and_its_tokenizer(first_run):
    pretrained = first_run / "pretrain" / "checkpoints" / "last.ckpt"
    assert json.loads((first_run / "pretrain" / "done.json").read_text())["steps"] == 9
    fold = torch.load(first_run / "folds" / "fold_0" / "checkpoints" / "last.ckpt", map_location="cpu",
                      weights_only=True)
    assert fold["hyper_parameters"]["init_from"] == str(pretrained)
    pretraining = torch.load(pretrained, map_location="cpu", weights_only=True)
    assert fold["TextDataModule"]["tokenizer"] == pretraining["PretrainDataModule"]["tokenizer"]
    # One epoch of fine-tuning moved the weights, but the vocabulary is the pretraining's.
    encoder = {key for key in _weights(pretrained) if key.startswith("model.")}
    assert encoder and encoder <= set(fold["state_dict"])
    assert fold["state_dict"]["model.token_embedding.weight"].shape == \
        _weights(pretrained)["model.token_embedding.weight"].shape


def test_a_killed_pretraining_resumes_and_the_run_ends_with_the_same_bytes(first_run, data_dir, tmp_path,
                                                                            monkeypatch):
    output = tmp_path / "killed"
    build = competition.pretrain.build_pretraining

    def killing(args):
        cli = build(args)
        kill_at_second_epoch(cli.trainer)
        return cli

    with monkeypatch.context() as patch:
        patch.setattr(competition.pretrain, "build_pretraining", killing)
        with pytest.raises(SimulatedKill):
            run(data_dir, output)
    assert (output / "pretrain" / "checkpoints" / "last.ckpt").is_file()
    assert not (output / "pretrain" / "done.json").exists()
    run(data_dir, output)
    assert json.loads((output / "pretrain" / "done.json").read_text())["status"] == "resumed"
    final, uninterrupted = (_weights(run / "pretrain" / "checkpoints" / "last.ckpt") for run in (output, first_run))
    assert final.keys() == uninterrupted.keys()
    assert all(torch.equal(final[key], uninterrupted[key]) for key in final)
    for name in REPRODUCIBLE:
        assert (output / name).read_bytes() == (first_run / name).read_bytes(), name


TWO = ("--transformer.n_seeds", "2", "--pretrain.n_seeds", "2")


@pytest.fixture(scope="module")
def two_run(data_dir, tmp_path_factory) -> Path:
    """A run with two pretrainings, one after another in this process (the tiny config's parallel: 1)."""
    output = tmp_path_factory.mktemp("runs") / "two"
    run(data_dir, output, *TWO)
    return output


def test_two_pretrainings_with_their_own_seeds_each_start_every_other_fold_model(two_run, data_dir):
    output = two_run
    first = output / "pretrain" / "checkpoints" / "last.ckpt"
    second = output / "pretrain" / "seed_1" / "checkpoints" / "last.ckpt"
    assert json.loads((output / "pretrain" / "seed_1" / "done.json").read_text())["steps"] == 9
    for fold in (0, 1):
        for folder, pretrained in ((f"fold_{fold}", first), (f"fold_{fold}_seed_1", second)):
            checkpoint = output / "folds" / folder / "checkpoints" / "last.ckpt"
            assert torch.load(checkpoint, map_location="cpu", weights_only=True)["hyper_parameters"]["init_from"] == \
                str(pretrained)
    one, two = (torch.load(path, map_location="cpu", weights_only=True) for path in (first, second))
    assert one["PretrainDataModule"]["tokenizer"] == two["PretrainDataModule"]["tokenizer"]  # the run's one tokenizer
    assert not torch.equal(one["state_dict"]["model.token_embedding.weight"],
                           two["state_dict"]["model.token_embedding.weight"])  # another seed, other weights
    manifest = json.loads((output / "manifest.json").read_text())
    assert manifest["pins"]["pretrain"]["seeds"] == [0, 1000]
    assert "pretrain.n_seeds 2: pretrain.n_seeds; fold model j of a fold starts from pretraining j % 2" in \
        manifest["derived"]["notes"]
    report = json.loads((output / "report" / "report.json").read_text())
    assert [seed["steps"] for seed in report["pretraining"]["seeds"]] == [9, 9]
    assert "2 pretrainings, each with its own seed" in (output / "report" / "report.md").read_text()
    # A rerun finds both done and changes nothing.
    before = (output / "submission.csv").read_bytes()
    run(data_dir, output, *TWO)
    assert (output / "submission.csv").read_bytes() == before
    assert "pretrain seed 1 of 2: already done (9 steps), skipped" in (output / "run.log").read_text()


def test_pretrainings_in_parallel_workers_give_the_sequential_bytes(two_run, data_dir, tmp_path):
    output = tmp_path / "parallel"
    run(data_dir, output, *TWO, "--transformer.parallel", "2")
    assert "pretrain: 2 pretrainings, 2 at a time (one worker process each)" in (output / "run.log").read_text()
    for folder in ("pretrain", "pretrain/seed_1"):
        weights, sequential = (_weights(run / folder / "checkpoints" / "last.ckpt") for run in (output, two_run))
        assert weights.keys() == sequential.keys()
        assert all(torch.equal(weights[key], sequential[key]) for key in weights), folder
    for name in REPRODUCIBLE:
        assert (output / name).read_bytes() == (two_run / name).read_bytes(), name


def test_a_run_killed_in_its_second_pretraining_resumes_it_and_ends_with_the_same_bytes(two_run, data_dir, tmp_path,
                                                                                       monkeypatch):
    output, build = tmp_path / "killed", competition.pretrain.build_pretraining

    def killing_the_second(args):
        cli = build(args)
        if "seed_1" in args["checkpoints"]["dirpath"]:
            kill_at_second_epoch(cli.trainer)
        return cli

    with monkeypatch.context() as patch:
        patch.setattr(competition.pretrain, "build_pretraining", killing_the_second)
        with pytest.raises(SimulatedKill):
            run(data_dir, output, *TWO)
    assert (output / "pretrain" / "done.json").is_file() and not (output / "pretrain" / "seed_1" / "done.json").exists()
    run(data_dir, output, *TWO)
    log = (output / "run.log").read_text()
    assert "pretrain seed 0 of 2: already done (9 steps), skipped" in log and "pretrain seed 1 of 2: resumed" in log
    for name in REPRODUCIBLE:
        assert (output / name).read_bytes() == (two_run / name).read_bytes(), name


def test_more_pretrainings_than_fold_model_seeds_is_one_error_before_any_work(data_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        run(data_dir, tmp_path / "bad", "--transformer.n_seeds", "2", "--pretrain.n_seeds", "3")
    assert ("pretrain.n_seeds 3 is more than transformer.n_seeds 2: fold model j starts from pretraining j mod "
            "pretrain.n_seeds, so pretrainings past 2 would start none; set pretrain.n_seeds to at most 2") in \
        capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(data_dir, tmp_path / "bad0", "--pretrain.n_seeds", "0")
    assert "pretrain.n_seeds must be null (the preset's) or an integer >= 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists() and not (tmp_path / "bad0").exists()


def test_a_bad_pretraining_key_is_one_error_before_any_work(data_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        run(data_dir, tmp_path / "bad", "--pretrain.mask_probability", "1.5")
    assert "pretrain.mask_probability must be in (0, 1)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(data_dir, tmp_path / "bad2", "--pretrain.model", "{lr: -1}")
    assert "pretrain" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists() and not (tmp_path / "bad2").exists()


def test_a_lightning_config_run_does_not_pretrain_unless_asked(data_dir, tmp_path):
    output = tmp_path / "yaml"
    main(["run", "--config", "competition/configs/tiny_test_pipeline.yaml", "--data.dir", str(data_dir),
          "--output", str(output)])
    assert not (output / "pretrain").exists()
    assert "derived" not in json.loads((output / "manifest.json").read_text())


def test_only_seed_of_a_derived_run_is_checked_against_its_derived_fold_models_before_any_work(data_dir, tmp_path,
                                                                                              capsys):
    output = tmp_path / "job"
    with pytest.raises(SystemExit):
        main(["train", "--data.dir", str(data_dir), "--output", str(output), *TINY, "--only-fold", "0",
              "--only-seed", "1"])
    # The fast preset: one pretraining, one fold model per fold (transformer.n_seeds derived, not set).
    assert "--only-seed 1: seed indices are 0 to 0 (transformer.n_seeds=1)" in capsys.readouterr().err
    assert not output.exists()
