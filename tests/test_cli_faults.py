"""The faults of the CLI audit (issue 22, library part), each on the command line (``main``): one line on stderr
naming the file and what is wrong with it, exit status 2, no traceback, nothing run or written; and the private
Lightning/jsonargparse API kept behind :mod:`imbalance_xfmr._compat`.

The checkpoints every test starts from are written once, by tiny fits and a tiny pretraining (module fixture)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
from pytorch_lightning.cli import LightningCLI

from imbalance_xfmr.cli import main
from imbalance_xfmr.data import TextDataModule
from imbalance_xfmr.model.classifier import TextClassifier
from imbalance_xfmr.training import check_resumable

TINY_MODEL = ["--model.d_model=16", "--model.n_heads=2", "--model.n_layers=1", "--model.d_ff=32"]
QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false", "--trainer.logger=false",
         "--trainer.max_epochs=1"]
LIBRARY = Path(__file__).resolve().parents[1] / "imbalance_xfmr"


def data_args(root: Path, train: str = "train.csv") -> list[str]:
    return [f"--data.train_path={root / train}", f"--data.test_path={root / 'test.csv'}", "--data.max_vocab_size=60",
            "--data.min_frequency=1", "--data.max_length=16", "--data.batch_size=8"]


def fit_args(root: Path, checkpoints: Path, *extra: str, train: str = "train.csv") -> list[str]:
    """A tiny fit (one epoch of 3 batches) writing its checkpoints to ``checkpoints`` and its config.yaml to a
    folder of its own."""
    return ["fit", *data_args(root, train), *TINY_MODEL, *QUIET, f"--checkpoints.dirpath={checkpoints}",
            f"--trainer.default_root_dir={checkpoints}_run", *extra]


def pretrain_args(root: Path, checkpoints: Path, *extra: str) -> list[str]:
    return ["pretrain", f"--data.train_path={root / 'train.csv'}", f"--data.test_path={root / 'test.csv'}",
            "--data.max_vocab_size=60", "--data.min_frequency=1", "--data.max_length=16", "--data.batch_size=8",
            *TINY_MODEL, *QUIET, f"--checkpoints.dirpath={checkpoints}",
            f"--trainer.default_root_dir={checkpoints}_run", *extra]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """Tiny data (a binary train.csv, the same texts with 3 classes in train3.csv, a labelled test.csv) and the
    checkpoints of a binary fit (``binary/``), a 3-class fit (``three/``) and a pretraining (``pretrained/``), each
    with a d_model of 16; ``corrupt.ckpt``: the first 3000 bytes of a checkpoint."""
    root = tmp_path_factory.mktemp("faults")
    texts = [f"see you at lunch {i}" for i in range(24)] + [f"win free cash now {i}" for i in range(8)]
    frame = pd.DataFrame({"id": [f"r{i:02d}" for i in range(32)], "text": texts,
                          "label": ["ham"] * 24 + ["spam"] * 8})
    frame.to_csv(root / "train.csv", index=False)
    frame.iloc[::-1].to_csv(root / "test.csv", index=False)
    # The binary task's classes and one more: a 3-class model must not pass for a binary one either.
    frame.assign(label=["ham"] * 12 + ["eggs"] * 12 + ["spam"] * 8).to_csv(root / "train3.csv", index=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.argv", ["imbalance-xfmr"])
        main(fit_args(root, root / "binary", "--trainer.limit_train_batches=3"))
        main(fit_args(root, root / "three", "--trainer.limit_train_batches=3", train="train3.csv"))
        main(pretrain_args(root, root / "pretrained", "--trainer.limit_train_batches=3"))
    (root / "corrupt.ckpt").write_bytes((root / "binary" / "last.ckpt").read_bytes()[:3000])
    return root


@pytest.fixture(autouse=True)
def bare_argv(monkeypatch):
    """main(args) stands for the command line: pytest's own arguments must not look like extra ones."""
    monkeypatch.setattr("sys.argv", ["imbalance-xfmr"])


def refused(args: list[str], capsys) -> str:
    """What ``main(args)`` writes to stderr, checked to be one ``imbalance-xfmr: error:`` line and exit status 2."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("imbalance-xfmr: error: ")]
    assert len(lines) == 1, err
    return lines[0].removeprefix("imbalance-xfmr: error: ")


def copy_of(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / folder.name))


# ----------------------------------------------------------------------------------------------------------------
# F2: predict with a checkpoint of another task


def test_predict_with_a_checkpoint_of_another_task_stops_before_predicting(runs, tmp_path, capsys):
    output = tmp_path / "probabilities.csv"
    predict = ["predict", *data_args(runs), *QUIET, f"--trainer.default_root_dir={tmp_path}",
               f"--ckpt_path={runs / 'three' / 'last.ckpt'}", f"--prediction_writer.output_path={output}"]
    message = refused(predict, capsys)
    assert message.startswith(f"data: checkpoint_path {str(runs / 'three' / 'last.ckpt')!r} holds a model of 3 "
                              "classes ['eggs', 'ham', 'spam']")
    assert f"train_path {str(runs / 'train.csv')!r} has 2 classes ['ham', 'spam'] in column 'label'" in message
    assert not output.exists()

    # The data it was trained on predicts: one column per class.
    main(["predict", *data_args(runs, train="train3.csv"), *QUIET, f"--trainer.default_root_dir={tmp_path}",
          f"--ckpt_path={runs / 'three' / 'last.ckpt'}", f"--prediction_writer.output_path={output}"])
    assert list(pd.read_csv(output).columns) == ["id", "eggs", "ham", "spam"]


# ----------------------------------------------------------------------------------------------------------------
# F5: a corrupt checkpoint as data.tokenizer_path


def test_a_corrupt_tokenizer_path_names_the_file_and_what_it_should_be(runs, tmp_path, capsys):
    corrupt = runs / "corrupt.ckpt"
    message = refused(fit_args(runs, tmp_path / "ck", f"--data.tokenizer_path={corrupt}"), capsys)
    assert message.startswith(f"data.tokenizer_path: {str(corrupt)!r} is neither a tokenizer JSON "
                              "(SubwordTokenizer.save) nor an imbalance-xfmr checkpoint")
    assert not (tmp_path / "ck").exists()
    classifier = runs / "binary" / "last.ckpt"  # a checkpoint, but its tokenizer is a classifier's, without [MASK]
    message = refused(fit_args(runs, tmp_path / "ck", f"--data.tokenizer_path={classifier}"), capsys)
    assert message.startswith(f"data.tokenizer_path: Checkpoint {str(classifier)!r} holds no PretrainDataModule state")
    # The library names it too, without the CLI.
    with pytest.raises(ValueError, match=rf"^{re.escape(repr(str(corrupt)))} is not a tokenizer JSON"):
        TextDataModule(str(runs / "train.csv"), tokenizer_path=str(corrupt)).vocab_size  # noqa: B018


# ----------------------------------------------------------------------------------------------------------------
# F9: checkpoints of another shape or kind, or corrupt, as model.init_from, as ckpt_path, and resumed


@pytest.mark.parametrize(
    ("init_from", "extra", "expected"),
    [("pretrained", ["--model.d_model=8", "--data.tokenizer_path={}"],
      r"model: init_from '{}': d_model is 16 in the checkpoint, 8 here; set model.d_model to 16\.$"),
     ("binary", [], r"model: init_from '{}' is not a pretraining checkpoint: it holds no masked-language-model head"),
     ("corrupt.ckpt", [], r"model: init_from '{}' is not a readable checkpoint \(truncated or corrupt")],
    ids=["another d_model", "a classifier's", "corrupt"],
)
def test_init_from_a_checkpoint_that_does_not_fit_is_one_clear_error(runs, tmp_path, capsys, init_from, extra,
                                                                     expected):
    path = runs / init_from
    path = path / "last.ckpt" if path.is_dir() else path
    extra = [arg.format(path) for arg in extra]  # the pretraining's tokenizer, so that only d_model differs
    message = refused(fit_args(runs, tmp_path / "ck", *extra, f"--model.init_from={path}"), capsys)
    assert re.match(expected.format(re.escape(str(path))), message), message
    assert not (tmp_path / "ck").exists()


def test_predict_from_a_pretraining_checkpoint_and_pretrain_from_a_classifier_are_one_clear_error(runs, tmp_path,
                                                                                                 capsys):
    pretrained = runs / "pretrained" / "last.ckpt"
    message = refused(["predict", *data_args(runs), *QUIET, f"--trainer.default_root_dir={tmp_path}",
                       f"--ckpt_path={pretrained}", f"--prediction_writer.output_path={tmp_path / 'p.csv'}"], capsys)
    assert message == (f"ckpt_path: {str(pretrained)!r} is a checkpoint of `imbalance-xfmr pretrain`, not of "
                       "`imbalance-xfmr fit`: predict needs a classifier's checkpoint (a pretraining checkpoint "
                       "starts one as data.tokenizer_path and model.init_from)")
    classifier = runs / "binary" / "last.ckpt"
    message = refused(pretrain_args(runs, tmp_path / "ck", f"--ckpt_path={classifier}"), capsys)
    assert message.startswith(f"ckpt_path: {str(classifier)!r} is a checkpoint of `imbalance-xfmr fit`, not of "
                              "`imbalance-xfmr pretrain`")
    assert not (tmp_path / "p.csv").exists() and not (tmp_path / "ck").exists()


def test_fit_ckpt_path_last_after_changing_the_model_is_one_clear_error(runs, tmp_path, capsys):
    folder = copy_of(runs / "binary", tmp_path)
    before = (folder / "last.ckpt").read_bytes()
    message = refused(fit_args(runs, folder, "--model.d_model=8", "--ckpt_path=last", "--trainer.max_epochs=2"),
                      capsys)
    assert message == (f"ckpt_path: last: {str(folder / 'last.ckpt')!r} does not fit this model: d_model is 16 in "
                       "the checkpoint, 8 here; set model.d_model to 16 to resume from it, or give another "
                       "checkpoints.dirpath to train anew")
    assert (folder / "last.ckpt").read_bytes() == before


def test_resuming_with_other_hyper_parameters_of_the_same_shapes_is_refused_too(runs):
    """n_heads changes no tensor's shape: Lightning would resume without a word and train a model that neither run
    describes."""
    path = runs / "binary" / "last.ckpt"
    saved = {name: value for name, value in torch.load(path, weights_only=True)["hyper_parameters"].items()
             if not name.startswith("_")}
    check_resumable(TextClassifier(**saved), path)
    with pytest.raises(ValueError, match=rf"^{re.escape(repr(str(path)))} does not fit this model: n_heads is 2 in "
                                         r"the checkpoint, 4 here; set model.n_heads to 2 to resume from it$"):
        check_resumable(TextClassifier(**{**saved, "n_heads": 4}), path)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [(["--data.train_path={root}/gone.csv"], "data: Data file '{root}/gone.csv' does not exist"),
     (["--data.text_column=body"], "data: '{root}/train.csv' has no column(s) ['body']; its columns are"),
     (["--model.d_model=-3"], "model: d_model must be a positive integer, got -3.")],
    ids=["missing file", "missing column", "argument out of range"],
)
def test_what_the_data_and_the_model_find_wrong_is_one_line_naming_the_section(runs, tmp_path, capsys, extra,
                                                                              expected):
    message = refused(fit_args(runs, tmp_path / "ck", *(arg.format(root=runs) for arg in extra)), capsys)
    assert message.startswith(expected.format(root=runs))


# ----------------------------------------------------------------------------------------------------------------
# F11: a second run into a checkpoint folder that holds checkpoints


def test_pretrain_again_into_the_same_folder_refuses_to_replace_its_checkpoint(runs, tmp_path, capsys):
    folder = copy_of(runs / "pretrained", tmp_path)
    before = (folder / "last.ckpt").read_bytes()
    message = refused(pretrain_args(runs, folder), capsys)
    assert message == (f"checkpoints.dirpath: {str(folder)!r} holds the checkpoints of an earlier run (last.ckpt): "
                       "add --ckpt_path last to resume it, set checkpoints.dirpath to another folder, or "
                       "checkpoints.overwrite to true to replace them")
    assert (folder / "last.ckpt").read_bytes() == before


def test_fit_again_into_the_same_folder_refuses_unless_told_to_overwrite(runs, tmp_path, capsys):
    folder = copy_of(runs / "binary", tmp_path)
    earlier = sorted(path.name for path in folder.glob("*.ckpt"))
    assert len(earlier) == 2 and earlier[0].startswith("best-")
    before = (folder / "last.ckpt").read_bytes()
    message = refused(fit_args(runs, folder), capsys)
    assert message.startswith(f"checkpoints.dirpath: {str(folder)!r} holds the checkpoints of an earlier run "
                              f"({', '.join(earlier)}): add --ckpt_path last")
    assert (folder / "last.ckpt").read_bytes() == before

    # Asked to: the earlier run's checkpoints are gone (none is left for a later `--ckpt_path last` to pick up).
    (folder / earlier[0]).rename(folder / "best-7-99.ckpt")  # a best epoch this run will not write
    main(fit_args(runs, folder, "--checkpoints.overwrite=true", "--trainer.limit_train_batches=1"))
    assert sorted(path.name for path in folder.glob("*.ckpt")) == ["best-0-1.ckpt", "last.ckpt"]
    assert torch.load(folder / "last.ckpt", weights_only=True)["global_step"] == 1


# ----------------------------------------------------------------------------------------------------------------
# Lightning's and jsonargparse's private API: in imbalance_xfmr/_compat.py only

PRIVATE_NAMES = ("_logger_connector", "_parse_ckpt_path", "_set_seed", "_add_instantiators", "_instantiate_trainer",
                 "_model_class", "_actions", "_typehint", "_current_fx_name", "_set_sampler_epoch", "_get", "_parser")
"""What the library reached on Lightning's and jsonargparse's objects before _compat (as a name of its own: after
a dot, a quote or a space, not inside a longer name such as ``parser_actions``)."""


@pytest.mark.parametrize("module", ["cli.py", "training.py", "model/classifier.py", "model/pretraining.py",
                                    "data/datamodule.py", "data/pretrain_datamodule.py"])
def test_no_private_lightning_or_jsonargparse_name_outside_compat(module):
    source = (LIBRARY / module).read_text()
    assert [name for name in PRIVATE_NAMES if re.search(rf"(?<!\w){name}\b", source)] == []


def test_the_private_api_compat_relies_on_is_there():
    """An upgrade of Lightning or jsonargparse that renames what _compat reaches fails here, not silently."""
    from imbalance_xfmr import _compat

    assert _compat.missing_private_api() == []
    for hook in _compat.OVERRIDDEN_LIGHTNING_CLI_HOOKS:
        assert callable(getattr(LightningCLI, hook))



# ----------------------------------------------------------------------------------------------------------------
# A ckpt_path that is no file (found by the README's review): one line, not Lightning's FileNotFoundError


def test_predict_from_a_ckpt_path_that_is_no_file_is_one_clear_error(runs, tmp_path, capsys):
    output = tmp_path / "probabilities.csv"
    missing = tmp_path / "nowhere" / "last.ckpt"
    message = refused(["predict", *data_args(runs), *QUIET, f"--trainer.default_root_dir={tmp_path}",
                       f"--ckpt_path={missing}", f"--prediction_writer.output_path={output}"], capsys)
    assert message.startswith(f"ckpt_path: {str(missing)!r} is not a file") and not output.exists()
